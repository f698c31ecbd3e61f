"""Settings of an environment server (``lexiq env serve``); the field docs are the command's help."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ServeConfig:
    """One served environment: which, where, and the limits that keep the server alive under any load."""

    env: str = "wordle"
    """Registered lexiq environment to serve (`lexiq env list`)."""
    env_options: dict[str, Any] = field(default_factory=dict)
    """Default keyword arguments of the environment; a session's own env_options are laid over them."""
    allow_client_options: bool = True
    """Whether sessions may set env_options of their own (false: every session gets exactly env_options)."""
    host: str = "127.0.0.1"
    """Address to listen on (0.0.0.0 = every interface; the server has no authentication)."""
    port: int = 8765
    """TCP port to listen on."""
    session_timeout: float = 600.0
    """Seconds a session may stay idle before it is evicted (its next request answers 404)."""
    max_sessions: int = 1024
    """Open sessions at most; creating one more answers 503 until a session closes or expires."""
    max_body_bytes: int = 65_536
    """Largest request body accepted; a larger one answers 413."""
    log_level: str = "warning"
    """uvicorn log level (debug, info, warning, error); info also logs every request."""

    def __post_init__(self) -> None:
        if not self.session_timeout > 0:
            raise ValueError(f"session_timeout must be > 0 seconds, got {self.session_timeout}")
        if self.max_sessions < 1:
            raise ValueError(f"max_sessions must be >= 1, got {self.max_sessions}")
        if self.max_body_bytes < 256:
            raise ValueError(f"max_body_bytes must be >= 256, got {self.max_body_bytes}")
        if not 0 <= self.port <= 65_535:
            raise ValueError(f"port must be in 0..65535, got {self.port}")
