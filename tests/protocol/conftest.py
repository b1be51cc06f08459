"""Fixtures shared by the library's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest


@pytest.fixture
async def http(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """An aiohttp session for the library's HTTP clients (loopback servers only)."""
    async with aiohttp.ClientSession() as session:
        yield session
