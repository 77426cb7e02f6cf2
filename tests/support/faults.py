"""Faults on demand: proxies around the real adapters that make one chosen call fail once.

A :class:`FaultPlan` numbers the calls made through its proxies (once armed) and makes the k-th
raise ``ConnectionError`` — before the call (the request never reached the store) or after it
(the store did it, the answer was lost on the way back) — or, with ``every_call``, makes every
call fail the first time it is reached. The adapters are the real ones.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any


class FaultPlan:
    """Which call fails, and a record of every call made through the proxies while armed."""

    def __init__(
        self,
        fail_at: int | None = None,
        *,
        every_call: bool = False,
        lost_answer: bool = False,
        context: Callable[[], object] = lambda: None,
    ) -> None:
        self.fail_at, self.every_call, self.lost_answer = fail_at, every_call, lost_answer
        self.context = context
        self.armed = False
        self.calls: list[str] = []
        self.injected: list[str] = []
        self._lock = threading.Lock()
        # every_call: a call is known by its context (e.g. the task run it is made in), its
        # label and its rank among the calls of that label since the last failure. A retry
        # (Prefect's of the task, or an adapter's own) replays the calls before the one that
        # failed: those pass, the next new one fails, and so on until every call of the
        # sequence has failed once.
        self._failed: set[tuple[object, str, int]] = set()
        self._since_failure: Counter[str] = Counter()

    def arm(self) -> None:
        """Start numbering calls (e.g. once the month's decision is made)."""
        self.armed = True

    def call(self, label: str, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            failing = self.armed and self._fails(label)
            number = len(self.calls)
        if failing and not self.lost_answer:
            raise ConnectionError(f"injected failure of call {number} ({label})")
        result = method(*args, **kwargs)
        if failing:
            raise ConnectionError(f"injected lost answer of call {number} ({label})")
        return result

    def _fails(self, label: str) -> bool:
        self.calls.append(label)
        if self.every_call:
            self._since_failure[label] += 1
            key = (self.context(), label, self._since_failure[label])
            failing = key not in self._failed
            if failing:
                self._failed.add(key)
                self._since_failure.clear()
        else:
            failing = len(self.calls) == self.fail_at
        if failing:
            self.injected.append(label)
        return failing


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
