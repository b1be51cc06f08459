"""docs/library.md's script runs a device from a product definition against the emulator."""

from __future__ import annotations

import asyncio
from pathlib import Path
import re
from typing import Any

import pytest

from emulator.p0 import Control, DataPointCodec
from emulator.server import Emulator
from tests.conftest import PRODUCT_KEY
from tests.integration.helpers import wait_until
from tests.products import PRODUCTS

ROOT = Path(__file__).parents[2]
DOC = ROOT / "docs" / "library.md"
PRODUCT = PRODUCTS / "smart_plug.json"


def _script() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 1
    return blocks[0]


async def test_the_documented_script_runs_a_device(
    emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """protocol.md §2 (register, provision, login) and §5 (P0): an app switches the plug on
    and gets the status report back; the script printed the state and the command."""
    printed: list[str] = []

    def output() -> str:
        printed.append(capsys.readouterr().out)
        return "".join(printed)

    namespace: dict[str, Any] = {"__name__": "library_doc"}
    exec(compile(_script(), str(DOC), "exec"), namespace)
    running = asyncio.create_task(
        namespace["main"](emulator.gservice_url, PRODUCT_KEY, str(PRODUCT), 60.0)
    )
    try:
        await wait_until(lambda: bool(emulator.state.devices))
        (did,) = emulator.state.devices
        codec = DataPointCodec.from_definition(PRODUCT.read_text(encoding="utf-8"))
        app = await emulator.app(did)
        await wait_until(lambda: "connected" in output())
        ack = await app.send_acked(codec.encode(Control({"switch": True})))
        assert ack == b""
        await wait_until(lambda: "'switch': True" in output())
        assert "app: " in output()
        await app.close()
    finally:
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
