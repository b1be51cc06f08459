"""Plumbing of the emulator's operator HTTP APIs: JSON bodies in, `{"error": ...}` answers out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class OperatorError(Exception):
    """An operator request the emulator cannot act on (answered with 400)."""


async def json_object(request: web.Request, *, empty_ok: bool = False) -> dict[str, Any]:
    """The request's JSON object; `{}` for a request without a body when `empty_ok`."""
    if empty_ok and not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except ValueError as err:
        raise OperatorError("body must be JSON") from err
    if not isinstance(body, dict):
        raise OperatorError("body must be a JSON object")
    return body


def json_errors(handler: Handler, *, unknown_status: int = 400) -> Handler:
    """`handler` answering bad input with `{"error": ...}`: a KeyError (a missing field or an
    unknown name) with `unknown_status`, anything else malformed with 400."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except KeyError as err:
            return web.json_response({"error": str(err)}, status=unknown_status)
        except (OperatorError, ValueError, TypeError) as err:
            return web.json_response({"error": str(err)}, status=400)

    return wrapped
