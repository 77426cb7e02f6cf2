"""A lease in the lake: one holder at a time, across processes and machines, whatever their clocks.

Promotions take it so that the deployment, ``fraud-detection retrain`` and ``fraud-detection
promote`` can never interleave the champion check and the alias set (when no PostgreSQL store or
Prefect server offers a lock of its own: see adapters/stores.py).

The lease is one small file changed only by compare-and-set (adapters/conditional_files.py), and all time
is the storage's: a lease is expired when the storage says its last write is more than ``ttl``
old — no two machines' clocks are compared. So that:

- expiry is stamped by the write that wins the lease, whenever that attempt comes;
- the holder renews it from a heartbeat thread every ``ttl / 4``, each renewal conditional on
  the file being the one it last wrote;
- a contender takes over an expired lease only if the file is still the one it judged (a renewal
  that lands meanwhile wins), and a holder deletes the file on release only if it is still its
  own, never a newer holder's;
- a holder that could not renew within ``ttl`` (on its own monotonic clock, counted from when it
  *sent* its last successful write, so never later than the storage's stamp) has lost the lease
  and knows it: :meth:`Lease.confirm`, called before every write made under the lease, raises
  :class:`LeaseLost` once less than a quarter of ``ttl`` is left;
- every write carries the holder's token and a counter, so an answer lost on the way back (the
  write landed, the caller saw an error) is recognised as the holder's own on the next read.
"""

from __future__ import annotations

import json
import logging
import os
import random
import socket
import threading
import time
import uuid
from types import TracebackType
from typing import Any

from fraud_detection.adapters.conditional_files import STORAGE_CLOCK_RESOLUTION_S, Stamped
from fraud_detection.adapters.lake import Lake, LakeError

logger = logging.getLogger("fraud_detection.lease")
# I/O failures worth another attempt (s3fs raises OSError kinds; a lake error wraps them).
TRANSIENT = (OSError, LakeError)
RELEASE_ATTEMPTS = 3


class LeaseTimeout(RuntimeError):
    """Another holder kept the lease for longer than we were willing to wait."""


class LeaseLost(RuntimeError):
    """The lease expired or was taken over while we held it: nothing more may be written."""


class Lease:
    """A lease in the lake: held by one process at a time; see the module docstring."""

    def __init__(
        self, lake: Lake, name: str, *, ttl: float = 30, wait: float = 90, poll: float = 0.2
    ) -> None:
        self.files = lake.stamped
        self.name, self.ttl, self.wait, self.poll = name, ttl, wait, poll
        self.directory = f"{lake.root}/_leases"
        self.path = f"{self.directory}/{name}.json"
        self.token = uuid.uuid4().hex
        self.margin = ttl / 4  # confirm() refuses once less than this is left
        self._guard = threading.Lock()  # the heartbeat and the holder's thread share the state
        self._beat = 0
        self._sent: dict[int, float] = {}  # write number → monotonic time it was sent
        self._tag: str | None = None
        self._valid_until = 0.0  # monotonic; the storage cannot expire us before this
        self._lost: str | None = None
        self._stop = threading.Event()
        self._heart: threading.Thread | None = None

    # -- taking it -----------------------------------------------------------------------------
    def __enter__(self) -> Lease:
        deadline = time.monotonic() + self.wait
        while True:
            failure: BaseException | None = None
            try:
                if self._attempt():
                    break
            except TRANSIENT as exc:  # the store hiccuped: the next attempt sorts it out
                failure = exc
            if time.monotonic() > deadline:
                raise LeaseTimeout(
                    f"lease {self.name!r} still held after {self.wait:g} s"
                ) from failure
            time.sleep(self.poll * (0.5 + random.random()))  # contenders out of step
        self._heart = threading.Thread(target=self._heartbeat, name=f"lease-{self.name}")
        self._heart.daemon = True
        self._heart.start()
        return self

    def _attempt(self) -> bool:
        tag = self.files.create(self.path, self._body())
        if tag is not None:
            return self._won(tag, self._beat)
        held = self.files.read(self.path)
        if held is None:
            return False  # released meanwhile: the next attempt may create it
        mine = self._own_write(held)
        if mine is not None:  # our create landed but its answer was lost
            return self._won(held.tag, mine)
        if held.age <= _ttl_of(held, self.ttl) + STORAGE_CLOCK_RESOLUTION_S:
            return False  # alive: its holder renewed it less than ttl ago
        tag = self.files.replace(self.path, self._body(), held.tag)  # only if still that file
        return tag is not None and self._won(tag, self._beat)

    def _body(self) -> bytes:
        """The next write's bytes (unique: token and counter), remembering when it was sent."""
        self._beat += 1
        self._sent[self._beat] = time.monotonic()
        holder = f"{socket.gethostname()}:{os.getpid()}"
        return json.dumps(
            {"token": self.token, "write": self._beat, "ttl": self.ttl, "holder": holder}
        ).encode()

    def _own_write(self, held: Stamped) -> int | None:
        """The number of our write that this file is, if it is one of ours."""
        body = _parse(held.body)
        if body.get("token") != self.token:
            return None
        number = body.get("write")
        return number if isinstance(number, int) and number in self._sent else None

    def _won(self, tag: str, write: int) -> bool:
        with self._guard:
            self._tag = tag
            self._valid_until = self._sent[write] + self.ttl
        return True

    # -- holding it ----------------------------------------------------------------------------
    def confirm(self) -> None:
        """Raise :class:`LeaseLost` unless the lease is certainly still ours for a while."""
        with self._guard:
            if self._lost is None and time.monotonic() > self._valid_until - self.margin:
                self._lost = f"lease {self.name!r} not renewed for {self.ttl - self.margin:g} s"
            if self._lost is not None:
                raise LeaseLost(self._lost)

    def _heartbeat(self) -> None:
        interval = self.ttl / 4
        while not self._stop.wait(interval):
            try:
                renewed = self._renew()
            except TRANSIENT as exc:
                logger.warning("lease %r: renewal failed, retrying: %s", self.name, exc)
                renewed = True
                interval = min(self.ttl / 10, 1.0)
            else:
                interval = self.ttl / 4
            with self._guard:
                if time.monotonic() > self._valid_until and self._lost is None:
                    self._lost = f"lease {self.name!r} could not be renewed within {self.ttl:g} s"
                if not renewed or self._lost is not None:
                    return

    def _renew(self) -> bool:
        """One conditional rewrite of our file; False when the lease is no longer ours."""
        with self._guard:
            if self._lost is not None or self._tag is None:
                return False
            expected = self._tag
        body = self._body()
        write = self._beat
        tag = self.files.replace(self.path, body, expected)
        if tag is None:  # not the file we last wrote: a lost answer of ours, or another holder
            held = self.files.read(self.path)
            found = self._own_write(held) if held is not None else None
            if held is None or found is None:
                with self._guard:
                    self._lost = f"lease {self.name!r} was taken over"
                return False
            tag, write = held.tag, found
        with self._guard:
            if self._lost is None and time.monotonic() <= self._valid_until:
                self._tag, self._valid_until = tag, self._sent[write] + self.ttl
        return True

    # -- giving it back ------------------------------------------------------------------------
    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._heart is not None:
            self._heart.join()
        for attempt in range(RELEASE_ATTEMPTS):
            try:
                self._release()
                return
            except TRANSIENT as exc:
                if attempt + 1 == RELEASE_ATTEMPTS:
                    # The work under the lease is done; the file expires on its own after ttl.
                    logger.warning(
                        "lease %r not released (%s); it expires by itself", self.name, exc
                    )
                time.sleep(self.poll)

    def _release(self) -> None:
        """Delete the file if it is still ours (a newer holder's is left alone)."""
        with self._guard:
            tag = self._tag
        if tag is not None and self.files.delete(self.path, tag):
            return
        held = self.files.read(self.path)
        if held is not None and self._own_write(held) is not None:
            self.files.delete(self.path, held.tag)  # our renewal landed unseen: still ours

    def __repr__(self) -> str:
        return f"Lease({self.name!r}, ttl={self.ttl:g})"


def _parse(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _ttl_of(held: Stamped, default: float) -> float:
    """The ttl its holder renews against (its own, which may differ from ours)."""
    ttl = _parse(held.body).get("ttl")
    return float(ttl) if isinstance(ttl, int | float) and ttl > 0 else default
