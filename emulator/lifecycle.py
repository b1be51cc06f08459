"""One async-context-manager shape for the emulator's long-running parts."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Service:
    """`async with` runs `start()`, then `stop()` on exit — and also when `start()` fails
    half-way, so a partly started broker or server never outlives its test."""

    async def start(self) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
