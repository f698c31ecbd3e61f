"""HTTP calls for environments that live behind a server (:class:`~lexiq.envs.remote.client.RemoteEnv`, the
visual-dialogue client): timeouts, retries with exponential backoff and one-line errors.

A request is retried after ``backoff * 2**k`` seconds (k = 0, 1, ...; at most 5 s) when the connection fails or
times out, or when the server answers a status the caller calls retryable (by default any 5xx: a server that is
restarting, overloaded or briefly broken). After the last attempt a transport failure raises
:class:`RemoteUnavailableError` (a :class:`ConnectionError`); a 4xx answer raises :class:`RemoteRequestError`
(a :class:`ValueError`: the request was wrong) and a 5xx answer :class:`RemoteServerError`. Every message is one
line naming the request, the status and what the server said. ``httpx`` is imported only when a client is built.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MAX_BACKOFF_S = 5.0


class RemoteError(RuntimeError):
    """A remote environment or model server failed a request. ``status`` is the HTTP status (None: no answer)."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class RemoteRequestError(RemoteError, ValueError):
    """The server answered 4xx: the request was invalid (bad field, unknown session, action out of turn ...)."""


class RemoteServerError(RemoteError):
    """The server answered 5xx, also after the retries."""


class RemoteUnavailableError(RemoteError, ConnectionError):
    """The server could not be reached (refused, reset, timed out), also after the retries."""


@dataclass
class HttpOptions:
    """How a client talks to its server."""

    timeout: float = 30.0
    """Seconds to wait for one request (connect, send and read each)."""
    retries: int = 3
    """Extra attempts after a connection error, a timeout or a retryable 5xx answer (0 = no retry)."""
    backoff: float = 0.25
    """Seconds before the first retry, doubled before every next one (at most 5 s)."""

    def __post_init__(self) -> None:
        if not self.timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds, got {self.timeout}")
        if self.retries < 0:
            raise ValueError(f"retries must be >= 0, got {self.retries}")
        if self.backoff < 0:
            raise ValueError(f"backoff must be >= 0 seconds, got {self.backoff}")


def new_client(base_url: str, options: HttpOptions) -> Any:
    """An ``httpx.Client`` for ``base_url`` with the timeout of ``options`` (raises ImportError without httpx)."""
    try:
        import httpx
    except ImportError:
        raise ImportError("talking to an environment server needs httpx: pip install 'lexiq[serve]'") from None
    if not base_url.startswith(("http://", "https://")):
        raise ValueError(f"expected an http:// or https:// URL, got {base_url!r}")
    return httpx.Client(base_url=base_url.rstrip("/"), timeout=options.timeout)


def _detail(response: Any) -> tuple[str | None, str]:
    """(error code, one-line detail) of an error answer: lexiq's ``{"error": code, "detail": text}``, an
    ``{"error": text}`` object, or the raw body."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        body = None
    if isinstance(body, dict) and "detail" in body:  # lexiq's form
        code = body.get("error") if isinstance(body.get("error"), str) else None
        return code, " ".join(str(body["detail"]).split())
    if isinstance(body, dict) and isinstance(body.get("error"), str):  # {"error": message}
        return None, " ".join(body["error"].split())
    text = " ".join(response.text.split())
    return None, (text[:200] + "...") if len(text) > 200 else (text or response.reason_phrase)


def _server_retryable(response: Any) -> bool:
    return response.status_code >= 500


def request(client: Any, method: str, path: str, options: HttpOptions,
            retryable: Callable[[Any], bool] = _server_retryable, **kwargs: Any) -> Any:
    """Send ``method path`` with retries (see the module docstring) and return the JSON of a 2xx answer.

    ``kwargs`` go to ``httpx.Client.request`` (``json=``, ``data=``, ...). ``retryable(response)`` says whether an
    error answer may be retried (default: any 5xx); a 4xx is never retried.
    """
    import httpx

    what = f"{method} {client.base_url}{path}"
    response, failure, attempts = None, "", 0
    for attempt in range(options.retries + 1):
        attempts = attempt + 1
        if attempt:
            time.sleep(min(MAX_BACKOFF_S, options.backoff * 2 ** (attempt - 1)))
        try:
            response = client.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            response = None
            failure = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            continue
        if response.status_code < 400:
            try:
                return response.json()
            except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
                raise RemoteServerError(f"{what}: HTTP {response.status_code} but the body is not JSON",
                                        response.status_code) from None
        if response.status_code < 500 or not retryable(response):
            break
    tries = f" (after {attempts} attempts)" if attempts > 1 else ""
    if response is None:
        raise RemoteUnavailableError(f"{what}: no answer{tries}: {' '.join(failure.split())}")
    code, detail = _detail(response)
    label = f"HTTP {response.status_code}" + (f" {code}" if code else "")
    if response.status_code < 500:
        raise RemoteRequestError(f"{what}: {label}: {detail}", response.status_code, code)
    raise RemoteServerError(f"{what}: {label}{tries}: {detail}", response.status_code, code)
