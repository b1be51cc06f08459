"""DataPoints' reports around a control, without a session (protocol.md §5)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest

from custom_components.gizwits_device.protocol import (
    AppCommand,
    CommandSource,
    ProductModel,
    Value,
)
from custom_components.gizwits_device.protocol.device import DataPoints, ReportPacing
from emulator.p0 import Control, DataPointCodec, StatusReport
from tests.products import PRODUCTS

DEFINITION = (PRODUCTS / "smart_plug.json").read_text(encoding="utf-8")
# The control is written and the reports read with the emulator's own codec.
CODEC = DataPointCodec.from_definition(DEFINITION)
PACING = ReportPacing(debounce=0.01, min_interval=0.0, periodic=600.0)


def _points(sent: list[bytes]) -> DataPoints:
    return DataPoints(
        ProductModel.from_json(DEFINITION),
        send=sent.append,
        changed=lambda _values, _own: None,
        apps_online=lambda: True,
        followed=("switch",),
        pacing=PACING,
    )


def _command(values: Mapping[str, Value]) -> AppCommand:
    return AppCommand(CommandSource.CLOUD, "app", 1, CODEC.encode(Control(dict(values))))


def _reported(payload: bytes) -> dict[str, object]:
    report = CODEC.decode(payload)
    assert isinstance(report, StatusReport)
    return dict(report.values)


async def test_changes_made_while_a_control_is_applied_are_in_its_one_report() -> None:
    """What the applier changes (a followed entity's new state) goes out in the control's
    full report at once; no paced report is left waiting to repeat it."""
    sent: list[bytes] = []
    points = _points(sent)

    async def apply(values: Mapping[str, Value], _command: AppCommand) -> None:
        points.set_values(dict(values))  # as the followed entity's new state arrives

    points.set_applier(apply)
    assert await points.handle(_command({"switch": True})) is None
    assert [_reported(p)["switch"] for p in sent] == [True]
    assert points._report_handle is None
    await asyncio.sleep(PACING.debounce * 3)
    assert len(sent) == 1


async def test_an_applier_that_fails_still_gets_its_changes_reported() -> None:
    """An applier's bug (not a refusal) propagates; what it changed before failing is
    still reported, paced, so the apps never keep a stale value."""
    sent: list[bytes] = []
    points = _points(sent)

    async def broken(values: Mapping[str, Value], _command: AppCommand) -> None:
        points.set_values(dict(values))
        raise RuntimeError("applier bug")

    points.set_applier(broken)
    with pytest.raises(RuntimeError, match="applier bug"):
        await points.handle(_command({"switch": True}))
    assert sent == []
    await asyncio.sleep(PACING.debounce * 3)
    assert [_reported(p)["switch"] for p in sent] == [True]
    # Device-side changes outside a control are paced as before.
    points.set_values({"switch": False})
    await asyncio.sleep(PACING.debounce * 3)
    assert [_reported(p)["switch"] for p in sent] == [True, False]
