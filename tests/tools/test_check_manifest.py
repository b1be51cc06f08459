"""scripts/check_manifest.py: passes on the repo, names each kind of broken metadata."""

from __future__ import annotations

import json
from pathlib import Path
import shutil
import sys

import pytest
import yaml

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


def test_quality_scale_with_a_rule_removed_fails(copy: Path) -> None:
    """Each rule of the 2026.10 list, docs-conditions and docs-triggers included, is required."""
    path = copy / "quality_scale.yaml"
    data = yaml.safe_load(path.read_text())
    for rule in ("docs-conditions", "docs-triggers", "strict-typing"):
        del data["rules"][rule]
    path.write_text(yaml.safe_dump(data))
    assert problems(copy) == [
        f"quality_scale.yaml: rule {rule!r} is missing"
        for rule in ("docs-conditions", "docs-triggers", "strict-typing")
    ]


def test_quality_scale_unknown_rule_and_missing_comments(copy: Path) -> None:
    path = copy / "quality_scale.yaml"
    data = yaml.safe_load(path.read_text())
    data["rules"]["docs-everything"] = "done"
    data["rules"]["docs-examples"] = "todo"
    data["rules"]["exception-translations"] = {"status": "done"}
    data["rules"]["stale-devices"] = {"status": "exempt", "comment": "  "}
    path.write_text(yaml.safe_dump(data))
    assert sorted(problems(copy)) == [
        "quality_scale.yaml: docs-examples: todo needs a comment saying why",
        "quality_scale.yaml: exception-translations: a status mapping needs a comment"
        " (or write `done`)",
        "quality_scale.yaml: manifest.json claims platinum, but gold rule 'docs-examples' is todo",
        "quality_scale.yaml: stale-devices: exempt needs a comment saying why",
        "quality_scale.yaml: unknown rule 'docs-everything'",
    ]


def test_rule_list_is_home_assistant_2026_10(tmp_path: Path) -> None:
    """The one rule list: 20 bronze (with the two 2026.10 rules), 10 silver, 21 gold, 3 platinum."""
    tiers = check_manifest.load_tiers()
    assert {tier: len(rules) for tier, rules in tiers.items()} == {
        "bronze": 20,
        "silver": 10,
        "gold": 21,
        "platinum": 3,
    }
    assert {"docs-conditions", "docs-triggers"} <= set(tiers["bronze"])
    names = [rule for rules in tiers.values() for rule in rules]
    assert len(names) == len(set(names))
    other = tmp_path / "rules.yaml"
    other.write_text("tiers:\n  bronze: [brands]\n")
    assert check_manifest.load_tiers(other) == {"bronze": ("brands",)}


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
