"""JSON error answers of the environment server: ``{"error": CODE, "detail": ONE LINE}`` with a 4xx/5xx status.

Codes: ``invalid_json`` (400), ``invalid_request`` (422, a missing field or a wrong type), ``not_found`` (404,
no such endpoint), ``unknown_session`` (404), ``method_not_allowed`` (405), ``step_conflict`` (409, a
``step_index`` out of turn), ``env_state`` (409, the environment refuses the call now: step before reset, step after
the end), ``body_too_large`` (413), ``env_rejected`` (422, the environment rejected an option or an action),
``env_error`` (500, the environment raised; never worth retrying), ``internal_error`` (500), ``server_full`` (503).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

MAX_DETAIL_CHARS = 500


class ApiError(Exception):
    """An error answer: raise it anywhere in a request (also in a worker thread) to answer ``status``."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail


def one_line(text: str) -> str:
    """``text`` on one line, at most :data:`MAX_DETAIL_CHARS` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_DETAIL_CHARS else text[: MAX_DETAIL_CHARS - 3] + "..."


def error_response(status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": code, "detail": one_line(detail)}, status_code=status, headers=headers)


def exception_text(exc: BaseException) -> str:
    """``TypeName: message`` of an exception (the type alone if it has no message)."""
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def validation_detail(errors: list[dict[str, Any]]) -> tuple[int, str, str]:
    """(status, code, one-line detail) of pydantic validation errors: 400 for malformed JSON, else 422."""
    for err in errors:
        if err.get("type") == "json_invalid":
            reason = (err.get("ctx") or {}).get("error", "not JSON")
            return 400, "invalid_json", f"malformed JSON body ({reason}); expected one JSON object"
    parts = []
    for err in errors[:3]:
        loc = ".".join(str(x) for x in err.get("loc", ()) if x != "body") or "body"
        if err.get("type") == "model_type":
            parts.append(f"body: expected a JSON object, got {type(err.get('input')).__name__}")
            continue
        got = err.get("input")
        shown = "" if err.get("type") == "missing" else f" (got {type(got).__name__} {got!r:.40})"
        parts.append(f"{loc}: {err.get('msg', 'invalid')}{shown}")
    more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
    return 422, "invalid_request", "; ".join(parts) + more


def install_error_handlers(app: FastAPI) -> None:
    """Answer every failure with the JSON error form (never an HTML page, never a dead server)."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        headers = {"Retry-After": "1"} if exc.status == 503 else None
        return error_response(exc.status, exc.code, exc.detail, headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        status, code, detail = validation_detail(list(exc.errors()))
        return error_response(status, code, detail)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return error_response(404, "not_found", f"no endpoint {request.method} {request.url.path}; "
                                                    "GET /info lists the endpoints")
        if exc.status_code == 405:
            return error_response(405, "method_not_allowed",
                                  f"{request.method} is not allowed on {request.url.path}")
        if exc.status_code == 413:
            return error_response(413, "body_too_large", str(exc.detail))
        code = "invalid_request" if exc.status_code < 500 else "internal_error"
        return error_response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return error_response(500, "internal_error", f"{request.method} {request.url.path}: {exception_text(exc)}")
