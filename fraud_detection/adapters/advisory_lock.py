"""PostgreSQL's advisory lock on MLflow's own database: the promotion lock when MLflow's store
is PostgreSQL and this process reaches it directly (a ``postgresql://`` tracking URI).

The lock belongs to one database session: the server releases it when the session ends, a killed
or partitioned holder included (TCP keepalives end a silent session within seconds), and no clock
is involved. ``confirm`` asks the server whether this session still holds it.
"""

from __future__ import annotations

import hashlib
import time
from types import TracebackType
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

# libpq: notice a dead peer within ~25 s rather than the kernel's two hours.
KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
}
_HELD = text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
    "AND pid = pg_backend_pid() AND classid = :high AND objid = :low AND objsubid = 1"
)


class AdvisoryLockTimeout(RuntimeError):
    """Another session kept the advisory lock for longer than we were willing to wait."""


class AdvisoryLockLost(RuntimeError):
    """The session that held the lock is gone: nothing more may be written under it."""


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for a lock name (the same in every process)."""
    digest = hashlib.sha256(f"fraud-detection:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class AdvisoryLock:
    """A session-level ``pg_advisory_lock`` held by one process at a time (see the module)."""

    def __init__(self, uri: str, name: str, *, wait: float = 90, poll: float = 0.2) -> None:
        self.uri, self.name, self.wait, self.poll = uri, name, wait, poll
        self.key = advisory_key(name)
        self._engine: Engine | None = None
        self._connection: Connection | None = None

    def __enter__(self) -> AdvisoryLock:
        self._engine = create_engine(
            self.uri, poolclass=NullPool, connect_args=_connect_args(self.uri)
        )
        self._connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        deadline = time.monotonic() + self.wait
        try:
            while not self._connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
            ).scalar_one():
                if time.monotonic() > deadline:
                    raise AdvisoryLockTimeout(
                        f"advisory lock {self.name!r} still held after {self.wait:g} s"
                    )
                time.sleep(self.poll)
        except BaseException:
            self._close()
            raise
        return self

    def confirm(self) -> None:
        """Raise :class:`AdvisoryLockLost` unless this session still holds the lock."""
        assert self._connection is not None, "confirm() outside the lock"
        high, low = divmod(self.key % 2**64, 2**32)
        try:
            held = self._connection.execute(_HELD, {"high": high, "low": low}).scalar_one()
        except Exception as exc:  # the session itself is gone
            raise AdvisoryLockLost(f"advisory lock {self.name!r}: session lost ({exc})") from exc
        if not held:
            raise AdvisoryLockLost(f"advisory lock {self.name!r} is no longer held")

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        try:
            if self._connection is not None:
                self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
        finally:
            self._close()  # ending the session releases the lock in any case

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
        if self._engine is not None:
            self._engine.dispose()
        self._connection = self._engine = None

    def __repr__(self) -> str:
        return f"AdvisoryLock({self.name!r})"


def _connect_args(uri: str) -> dict[str, Any]:
    """Keepalives for the libpq drivers (psycopg2, psycopg), which take them as parameters."""
    driver = uri.split("://", 1)[0]
    return (
        dict(KEEPALIVES)
        if driver in ("postgresql", "postgresql+psycopg2", "postgresql+psycopg")
        else {}
    )
