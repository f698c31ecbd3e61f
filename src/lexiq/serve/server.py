"""Running an ASGI app with uvicorn: in the foreground (``lexiq env serve``) or in a background thread.

:func:`serve` binds the socket itself, so ``port=0`` picks a free port and the printed URL is the real one.
:class:`ServerThread` serves any app on a free loopback port in this process (tests, benchmarks, notebooks) and
shuts it down cleanly on ``stop()`` or at the end of a ``with`` block.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
import threading
import time
from typing import Any

from lexiq.serve.config import ServeConfig


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening-ready TCP socket bound to ``host:port`` (IPv4 or IPv6 as ``host`` says; port 0 = any free)."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _is_loopback(sock: socket.socket) -> bool:
    return ipaddress.ip_address(sock.getsockname()[0]).is_loopback


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port}"


def _uvicorn_config(app: Any, log_level: str) -> Any:
    import uvicorn

    return uvicorn.Config(app, log_level=log_level, access_log=log_level in ("debug", "trace", "info"),
                          lifespan="on", timeout_keep_alive=30)


def serve(config: ServeConfig, app: Any = None) -> None:
    """Serve ``config.env`` (or the ready-made ``app``) until interrupted (Ctrl-C or SIGTERM). Prints one line with
    the URL when it listens."""
    import uvicorn

    if app is None:
        from lexiq.serve.app import create_app

        app = create_app(config)
    sock = bind_socket(config.host, config.port)
    if config.allow_client_options and not _is_loopback(sock):
        print("lexiq env serve: warning: listening beyond this machine while sessions may set env options (which "
              "can name files on this machine); pass --fixed-options on shared networks", file=sys.stderr)
    print(f"lexiq env serve: {config.env} on {url_of(sock)} (session timeout {config.session_timeout:g} s, "
          f"at most {config.max_sessions} sessions; Ctrl-C stops)", flush=True)
    try:
        uvicorn.Server(_uvicorn_config(app, config.log_level)).run(sockets=[sock])
    finally:
        sock.close()


class ServerThread:
    """Serve ``app`` on ``host:port`` (default: a free loopback port) in a daemon thread.

    ``with ServerThread(app) as url: ...`` starts it, waits until it answers and stops it at the end.
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, log_level: str = "error") -> None:
        import uvicorn

        self.sock = bind_socket(host, port)
        self.url = url_of(self.sock)
        self.server = uvicorn.Server(_uvicorn_config(app, log_level))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True,
                                       name=f"lexiq-serve {self.url}")

    def start(self, timeout: float = 10.0) -> str:
        """Start serving; returns the base URL once the server accepts requests."""
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the server at {self.url} did not start within {timeout:g} s")
            time.sleep(0.01)
        return self.url

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the server to finish its requests and exit, and wait for the thread."""
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout)
        self.sock.close()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

