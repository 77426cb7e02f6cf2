"""Make a Python process see only what the bento installs.

Put this folder on ``PYTHONPATH`` (and ``FRAUD_TEST_BENTO_ONLY=1``) and every process started
with that environment — ``bentoml serve`` and each of its workers — refuses to import a module
of an installed distribution that ``deployments/bento-requirements.txt`` does not pin, or a
project package the bento does not include, exactly as the image would (``ModuleNotFoundError``).
The service tests then run the service as the container does, without building one: a module
the service starts importing outside its requirements fails the tests, not the image.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.metadata
import os
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

PROJECT = Path(__file__).resolve().parents[3]
REQUIREMENTS = PROJECT / "deployments" / "bento-requirements.txt"
# The project's packages outside bentofile.yaml's `include` (service/ and fraud_detection/).
NOT_IN_BENTO = frozenset({"flows", "fraud_detection_cli", "devstack", "tests", "bench"})


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned() -> set[str]:
    """The distributions the bento installs (canonical names)."""
    lines = REQUIREMENTS.read_text().splitlines()
    return {_canonical(re.split(r"[=<>; ]", line, maxsplit=1)[0]) for line in lines if line and not line.startswith("#")}  # fmt: skip


def refused_modules() -> frozenset[str]:
    """Top-level modules that only distributions outside the bento provide."""
    allowed = pinned()
    return NOT_IN_BENTO | {
        module
        for module, distributions in importlib.metadata.packages_distributions().items()
        if not any(_canonical(d) in allowed for d in distributions)
    }


class BentoOnly(importlib.abc.MetaPathFinder):
    """A finder that answers "no such module" for refused names and asks ``finder`` otherwise,
    so ``import`` raises ModuleNotFoundError and ``importlib.util.find_spec`` returns None, as
    where the distribution is not installed."""

    def __init__(self, finder: object, refused: frozenset[str], pinned: set[str]) -> None:
        self.finder = finder
        self.refused = refused
        self.pinned = pinned

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] in self.refused:
            return None
        spec: importlib.machinery.ModuleSpec | None = self.finder.find_spec(  # type: ignore[attr-defined]
            fullname, path, target
        )
        return spec

    def find_distributions(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        """Installed distributions as ``importlib.metadata`` sees them: the bento's only."""
        find = getattr(self.finder, "find_distributions", None)
        for distribution in find(*args, **kwargs) if find else ():
            if _canonical(distribution.metadata["Name"] or "") in self.pinned:
                yield distribution

    def invalidate_caches(self) -> None:
        getattr(self.finder, "invalidate_caches", lambda: None)()


def install() -> None:
    refused, allowed = refused_modules(), pinned()
    built_in = (importlib.machinery.BuiltinImporter, importlib.machinery.FrozenImporter)
    sys.meta_path[:] = [
        f if f in built_in or isinstance(f, built_in) else BentoOnly(f, refused, allowed)
        for f in sys.meta_path
    ]
    for name in [m for m in sys.modules if m.partition(".")[0] in refused]:
        del sys.modules[name]  # imported by a .pth file before this ran: gone as well


if os.environ.get("FRAUD_TEST_BENTO_ONLY") == "1":
    install()
