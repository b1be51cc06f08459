"""Reading an HTTP answer's body up to a size cap (GService answers, product definitions)."""

from __future__ import annotations

import aiohttp

_CHUNK = 16 * 1024


async def read_capped(response: aiohttp.ClientResponse, cap: int) -> bytes:
    """The body, or its first `cap` + 1 bytes when it is longer (the caller refuses it).

    ``content.read(n)`` returns only what has arrived so far, not n bytes: an answer split
    across TCP writes would come back cut, so the chunks are collected up to the cap.
    """
    body = bytearray()
    async for chunk in response.content.iter_chunked(_CHUNK):
        body += chunk
        if len(body) > cap:
            break
    return bytes(body[: cap + 1])
