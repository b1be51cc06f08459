"""scripts/check_manifest.py: passes on the repo, names each kind of broken metadata."""

from __future__ import annotations

import json
from pathlib import Path
import shutil
import sys

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import check_manifest  # noqa: E402

INTEGRATION = ROOT / "custom_components" / "gizwits_device"


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "gizwits_device"
    shutil.copytree(INTEGRATION, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def problems(root: Path) -> list[str]:
    return check_manifest.Checker(root).run()


def test_repository_metadata_passes() -> None:
    assert check_manifest.Checker().run() == []


def test_manifest_order_pin_type_and_version(copy: Path) -> None:
    def change(data: dict) -> None:
        data["requirements"] = ["aiomqtt>=2"]
        data["integration_type"] = "hub"
        data["version"] = "not a version"
        del data["issue_tracker"]
        data["aaa"] = 1  # out of order after name

    path = copy / "manifest.json"
    edit_json(path, change)
    found = "\n".join(problems(copy))
    assert "pinned" in found
    assert "integration_type" in found
    assert "version 'not a version'" in found
    assert "'issue_tracker' is missing" in found
    assert "alphabetical" in found


def test_translation_tree_and_en_copy(copy: Path) -> None:
    edit_json(copy / "translations" / "zh-Hans.json", lambda d: d["services"].pop("send_log"))
    edit_json(copy / "translations" / "en.json", lambda d: d.update(extra="x"))
    found = "\n".join(problems(copy))
    assert "translations/en.json: differs from strings.json" in found
    assert "translations/zh-Hans.json: missing services.send_log.name" in found
    assert "translations/en.json: extra is not in strings.json" in found


def test_service_needs_texts_and_icon(copy: Path) -> None:
    edit_json(copy / "icons.json", lambda d: d["services"].pop("send_log"))
    edit_json(copy / "strings.json", lambda d: d["services"]["send_log"]["fields"].pop("tag"))
    found = "\n".join(problems(copy))
    assert "icons.json services.send_log: no icon" in found
    assert "field 'tag' has no name" in found


def test_quality_scale_statuses(copy: Path) -> None:
    (copy / "quality_scale.yaml").write_text(
        "rules:\n  config-flow: done\n  brands: maybe\n  discovery:\n    status: exempt\n"
    )
    found = "\n".join(problems(copy))
    assert "brands: status 'maybe'" in found
    assert "discovery: exempt needs a comment" in found
    assert "rule 'strict-typing' is missing" in found


def test_brand_icon_size(copy: Path) -> None:
    shutil.copy(copy / "brand" / "icon@2x.png", copy / "brand" / "icon.png")
    assert "brand/icon.png: is 512x512, must be 256x256" in problems(copy)
    (copy / "brand" / "icon.png").write_bytes(b"GIF89a" + bytes(30))
    assert "brand/icon.png: is not a PNG" in problems(copy)


def test_claimed_tier_needs_its_rules_done(copy: Path) -> None:
    (copy / "quality_scale.yaml").write_text(
        "rules:\n  docs-removal-instructions: todo\n  strict-typing: todo\n"
    )
    edit_json(copy / "manifest.json", lambda d: d.update(quality_scale="bronze"))
    found = "\n".join(problems(copy))
    assert "claims bronze, but bronze rule 'docs-removal-instructions' is todo" in found
    assert "platinum rule" not in found  # only the claimed tier and those below count
