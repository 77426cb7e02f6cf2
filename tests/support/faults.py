"""Faults on demand: proxies around the real adapters that make one chosen call fail once.

A :class:`FaultPlan` numbers the calls made through its proxies (once armed) and makes the k-th
raise ``ConnectionError`` — before the call (the request never reached the store) or after it
(the store did it, the answer was lost on the way back). The adapters are the real ones.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any


class FaultPlan:
    """Which call fails, and a record of every call made through the proxies while armed."""

    def __init__(self, fail_at: int | None = None, *, lost_answer: bool = False) -> None:
        self.fail_at, self.lost_answer = fail_at, lost_answer
        self.armed = False
        self.calls: list[str] = []
        self.injected: list[str] = []
        self._lock = threading.Lock()

    def arm(self) -> None:
        """Start numbering calls (e.g. once the month's decision is made)."""
        self.armed = True

    def call(self, label: str, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            number = None
            if self.armed:
                self.calls.append(label)
                number = len(self.calls)
        failing = number is not None and number == self.fail_at
        if failing and not self.lost_answer:
            self.injected.append(label)
            raise ConnectionError(f"injected failure of call {number} ({label})")
        result = method(*args, **kwargs)
        if failing:
            self.injected.append(label)
            raise ConnectionError(f"injected lost answer of call {number} ({label})")
        return result


class Faulty:
    """A real adapter behind the plan: its public methods are called through ``plan.call``;
    the attributes named in ``nested`` are proxied the same way (e.g. the lake's ``stamped``)."""

    def __init__(
        self, target: Any, plan: FaultPlan, label: str, nested: Iterable[str] = ()
    ) -> None:
        self._target, self._plan, self._label = target, plan, label
        self._nested = frozenset(nested)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if name in self._nested:
            return Faulty(value, self._plan, f"{self._label}.{name}")
        if name.startswith("_") or not callable(value):
            return value
        plan, label = self._plan, f"{self._label}.{name}"

        def through_plan(*args: Any, **kwargs: Any) -> Any:
            return plan.call(label, value, *args, **kwargs)

        return through_plan
