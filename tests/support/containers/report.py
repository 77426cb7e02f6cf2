"""Numbers the container tier promises to print (build times, sizes, time to ready), gathered
while it runs and shown at the end of the session (tests/container/conftest.py)."""

from __future__ import annotations

REFRESH_S = 1.0  # the service's champion poll interval in the container tests

REPORTED: list[str] = []


def report(what: str, value: str) -> None:
    """Print a number now and keep it for the end-of-session summary."""
    REPORTED.append(f"{what}: {value}")
    print(f"\n[container] {what}: {value}", flush=True)
