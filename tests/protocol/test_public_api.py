"""The library's boundary: the HA layer uses only `protocol`'s public API; the library is pure."""

from __future__ import annotations

import ast
from pathlib import Path

from custom_components.gizwits_device import protocol

COMPONENT = Path(protocol.__file__).parents[1]
LIBRARY = COMPONENT / "protocol"


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            found.append((node.level, node.module or ""))
        elif isinstance(node, ast.Import):
            found.extend((0, alias.name) for alias in node.names)
    return found


# The LAN side and the device are sub-packages with a public API of their own
# (protocol/lan/__init__.py, protocol/device/__init__.py).
PUBLIC_PACKAGES = frozenset({"protocol", "protocol.lan", "protocol.device"})


def test_the_ha_layer_imports_the_library_only_through_its_package() -> None:
    offenders = [
        f"{path.name}: {module}"
        for path in COMPONENT.glob("*.py")
        for level, module in _imports(path)
        if level == 1 and module.startswith("protocol.") and module not in PUBLIC_PACKAGES
    ]
    assert offenders == []


def test_the_library_does_not_import_home_assistant() -> None:
    offenders = [
        f"{path.relative_to(LIBRARY)}: {module}"
        for path in LIBRARY.rglob("*.py")
        for level, module in _imports(path)
        if level == 0 and module.split(".")[0] == "homeassistant"
    ]
    assert offenders == []


def test_every_public_name_is_defined() -> None:
    assert all(hasattr(protocol, name) for name in protocol.__all__)
    assert len(protocol.__all__) < 70
