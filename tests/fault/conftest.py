"""The fault suite's size knob.

Tests marked `heavy` run in every suite run at a reduced size, and at full size when the run
selects them (`scripts/test -m heavy`) or when GIZWITS_FAULT_FULL=1 is set. The `fault_size`
fixture tells a test which sizes to use; tests assert behaviour only, never time.
"""

from __future__ import annotations

from dataclasses import dataclass
import os

import pytest


@dataclass(frozen=True, slots=True)
class FaultSize:
    """How hard the heavy tests push."""

    full: bool
    broker_restarts: int
    hostile_frames: int
    ha_hostile_frames: int


REDUCED = FaultSize(full=False, broker_restarts=5, hostile_frames=2_000, ha_hostile_frames=400)
FULL = FaultSize(full=True, broker_restarts=50, hostile_frames=100_000, ha_hostile_frames=10_000)


def full_size_requested(config: pytest.Config) -> bool:
    """True when the run asks for the full-size variants."""
    if os.environ.get("GIZWITS_FAULT_FULL", "").lower() in ("1", "true", "yes"):
        return True
    markexpr = str(config.getoption("markexpr", default="") or "")
    return "heavy" in markexpr and "not heavy" not in markexpr


@pytest.fixture(scope="session")
def fault_size(pytestconfig: pytest.Config) -> FaultSize:
    """Full sizes for `-m heavy`, reduced ones otherwise."""
    return FULL if full_size_requested(pytestconfig) else REDUCED
