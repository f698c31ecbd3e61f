"""Sessions of an environment server: one environment each, found by an unguessable id, evicted when idle.

Every session carries an :class:`asyncio.Lock` so that its requests run one at a time (different sessions run in
parallel), a step counter for idempotent retries (a step sent again with the same ``step_index`` returns the
answer it already got instead of stepping twice) and the time of its last request. The store itself is guarded by
a plain lock, so it may be used from the event loop and from worker threads alike.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class UnknownSessionError(KeyError):
    """No open session has this id (never created, closed, or evicted after its timeout)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown session"


class StoreFullError(RuntimeError):
    """The server already holds ``max_sessions`` open sessions."""


@dataclass
class Session:
    """One client's environment and the bookkeeping around it."""

    id: str
    env: Any
    last_used: float
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    steps: int = 0
    """Actions taken since the last reset."""
    episodes: int = 0
    """Resets so far."""
    last_step: tuple[int, str, dict[str, Any]] | None = None
    """(step index, action, answer) of the latest step, replayed when the same step is sent again."""
    busy: int = 0
    """Requests in flight; a busy session is never evicted."""


class SessionStore:
    """Open sessions by id, at most ``max_sessions``, each evicted after ``timeout`` idle seconds."""

    def __init__(self, timeout: float, max_sessions: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.timeout = float(timeout)
        self.max_sessions = int(max_sessions)
        self.clock = clock
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._sessions)

    def add(self, env: Any) -> tuple[Session, list[Session]]:
        """Register ``env`` as a new session; returns it and the expired sessions dropped to make room.

        Raises :class:`StoreFullError` when ``max_sessions`` sessions are open and none has expired."""
        evicted = self.pop_expired()
        with self._lock:
            if len(self._sessions) >= self.max_sessions:
                raise StoreFullError(f"the server already holds {self.max_sessions} open sessions (max_sessions); "
                                     "close one or wait until an idle one expires")
            sid = secrets.token_urlsafe(12)
            session = Session(sid, env, self.clock())
            self._sessions[sid] = session
        return session, evicted

    def get(self, sid: str) -> Session:
        """The open session ``sid``, marked as used now. Raises :class:`UnknownSessionError`."""
        with self._lock:
            session = self._sessions.get(sid)
            now = self.clock()
            if session is not None and not session.busy and now - session.last_used > self.timeout:
                del self._sessions[sid]
                session = None
            if session is None:
                raise UnknownSessionError(f"unknown session {sid!r}: never created, closed, or evicted after "
                                          f"{self.timeout:g} s idle")
            session.last_used = now
            return session

    def pop(self, sid: str) -> Session:
        """Remove and return the session ``sid``. Raises :class:`UnknownSessionError`."""
        session = self.get(sid)
        with self._lock:
            self._sessions.pop(sid, None)
        return session

    def pop_expired(self) -> list[Session]:
        """Remove and return every session idle for longer than the timeout (busy ones are kept)."""
        now = self.clock()
        with self._lock:
            gone = [s for s in self._sessions.values() if not s.busy and now - s.last_used > self.timeout]
            for s in gone:
                del self._sessions[s.id]
        return gone

    def pop_all(self) -> list[Session]:
        """Remove and return every session (server shutdown)."""
        with self._lock:
            gone = list(self._sessions.values())
            self._sessions.clear()
        return gone
