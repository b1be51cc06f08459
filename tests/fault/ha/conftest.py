"""HA-level fault tests: the integration loaded in pytest-homeassistant-custom-component.

The fixtures are the integration tests' own (fast session timings, a device registered in the
emulator, a config entry, the smart plug bridged to HA helpers); see
tests/integration/conftest.py. `auto_lan_loopback` (autouse) keeps the LAN service on loopback
here too: no socket on a real interface, no start-up broadcast.
"""

from tests.integration.conftest import (
    auto_enable_custom_integrations,
    auto_lan_loopback,
    config_entry,
    device,
    fast_timing,
    setup_integration,
    unload_entries,
)

__all__ = [
    "auto_enable_custom_integrations",
    "auto_lan_loopback",
    "config_entry",
    "device",
    "fast_timing",
    "setup_integration",
    "unload_entries",
]
