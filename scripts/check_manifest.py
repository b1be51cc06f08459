"""Offline hassfest/HACS-style checks of the integration's metadata (run by scripts/lint).

    .venv/bin/python scripts/check_manifest.py

Checks manifest.json, hacs.json, strings.json against translations/, services.yaml against
strings.json and icons.json, quality_scale.yaml (if present) and brand/icon.png. Prints one line
per problem and exits 1 if there is any.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
import json
from pathlib import Path
import re
import struct
import sys
from typing import Any

from awesomeversion import AwesomeVersion, AwesomeVersionStrategy
import yaml  # type: ignore[import-untyped]  # PyYAML ships no stubs

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = "gizwits_device"
INTEGRATION = ROOT / "custom_components" / DOMAIN

REQUIRED_MANIFEST_KEYS = (
    "domain",
    "name",
    "codeowners",
    "config_flow",
    "documentation",
    "integration_type",
    "iot_class",
    "issue_tracker",
    "requirements",
    "version",
)
# The version strategies hassfest accepts for a custom integration.
VERSION_STRATEGIES = {
    AwesomeVersionStrategy.CALVER,
    AwesomeVersionStrategy.SEMVER,
    AwesomeVersionStrategy.SIMPLEVER,
    AwesomeVersionStrategy.BUILDVER,
    AwesomeVersionStrategy.PEP440,
}
HACS_KEYS = {
    "name",
    "content_in_root",
    "zip_release",
    "filename",
    "hide_default_branch",
    "country",
    "homeassistant",
    "hacs",
    "persistent_directory",
    "render_readme",
}
# The Integration Quality Scale rules by tier, as hassfest knows them (one list, kept in this file).
RULES_FILE = Path(__file__).resolve().parent / "quality_scale_rules.yaml"


def load_tiers(path: Path = RULES_FILE) -> dict[str, tuple[str, ...]]:
    """{tier: rule names} from the rules file."""
    tiers = yaml.safe_load(path.read_text(encoding="utf-8"))["tiers"]
    return {tier: tuple(rules) for tier, rules in tiers.items()}


TIERS = load_tiers()
TIER_ORDER = ("bronze", "silver", "gold", "platinum")
RULE_STATUSES = {"done", "todo", "exempt"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


class Checker:
    """Collects problems; each check method adds to `problems`."""

    def __init__(self, root: Path = INTEGRATION) -> None:
        self.root = root
        self.problems: list[str] = []

    def fail(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def load(self, name: str) -> Any:
        """Parse a JSON or YAML file (by its suffix); None, and a problem, when that fails."""
        path = self.root / name
        try:
            text = path.read_text(encoding="utf-8")
            return yaml.safe_load(text) if path.suffix == ".yaml" else json.loads(text)
        except FileNotFoundError:
            self.fail(name, "missing")
        except (json.JSONDecodeError, yaml.YAMLError) as err:
            self.fail(name, f"invalid {path.suffix.removeprefix('.').upper()}: {err}")
        return None

    # -- manifest.json ---------------------------------------------------------------------

    def manifest(self) -> dict[str, Any] | None:
        where = "manifest.json"
        data = self.load(where)
        if data is None:
            return None
        if not isinstance(data, dict):
            self.fail(where, "must be a JSON object")
            return None
        keys = list(data)
        expected = ["domain", "name", *sorted(k for k in keys if k not in ("domain", "name"))]
        if keys != expected:
            self.fail(where, f"keys must be domain, name, then alphabetical: {expected}")
        for key in REQUIRED_MANIFEST_KEYS:
            if key not in data:
                self.fail(where, f"required key {key!r} is missing")
        if data.get("domain") != self.root.name:
            self.fail(where, f"domain {data.get('domain')!r} is not the folder {self.root.name!r}")
        if not isinstance(data.get("name"), str) or not data.get("name"):
            self.fail(where, "name must be a non-empty string")
        owners = data.get("codeowners")
        if not isinstance(owners, list) or not owners:
            self.fail(where, "codeowners must be a non-empty list")
        else:
            for owner in owners:
                if not isinstance(owner, str) or not owner.startswith("@"):
                    self.fail(where, f"code owner {owner!r} must start with @")
        if "config_flow" in data and data["config_flow"] is not True:
            self.fail(where, "config_flow must be true")
        for key in ("documentation", "issue_tracker"):
            url = data.get(key)
            if key in data and (not isinstance(url, str) or not url.startswith("https://")):
                self.fail(where, f"{key} must be an https:// URL, not {url!r}")
        if "integration_type" in data and data["integration_type"] != "device":
            self.fail(where, f"integration_type must be 'device', not {data['integration_type']!r}")
        if "iot_class" in data and data["iot_class"] != "cloud_push":
            self.fail(where, f"iot_class must be 'cloud_push', not {data['iot_class']!r}")
        requirements = data.get("requirements")
        if "requirements" in data and not isinstance(requirements, list):
            self.fail(where, "requirements must be a list")
        for requirement in requirements if isinstance(requirements, list) else []:
            if not isinstance(requirement, str) or not re.fullmatch(
                r"[A-Za-z0-9][A-Za-z0-9._\-\[\],]*==[A-Za-z0-9.+!\-]+", requirement
            ):
                self.fail(where, f"requirement {requirement!r} must be pinned as name==version")
        for key in ("dependencies", "after_dependencies", "loggers"):
            value = data.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                self.fail(where, f"{key} must be a list of strings")
        version = data.get("version")
        if "version" in data:
            strategy = AwesomeVersion(str(version)).strategy
            if not isinstance(version, str) or strategy not in VERSION_STRATEGIES:
                self.fail(where, f"version {version!r} is not a valid version (got {strategy})")
        scale = data.get("quality_scale")
        if scale is not None and scale not in (*TIER_ORDER, "internal", "legacy"):
            self.fail(where, f"quality_scale {scale!r} is not a tier")
        return data

    # -- hacs.json -------------------------------------------------------------------------

    def hacs(self) -> None:
        where = "hacs.json"
        path = ROOT / where
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            self.fail(where, "missing (repository root)")
            return
        except json.JSONDecodeError as err:
            self.fail(where, f"invalid JSON: {err}")
            return
        if not isinstance(data, dict):
            self.fail(where, "must be a JSON object")
            return
        for key in sorted(set(data) - HACS_KEYS):
            self.fail(where, f"unknown key {key!r}")
        if not isinstance(data.get("name"), str) or not data.get("name"):
            self.fail(where, "name must be a non-empty string")
        minimum = data.get("homeassistant")
        if not isinstance(minimum, str) or not AwesomeVersion(minimum).valid:
            self.fail(where, f"homeassistant must be a minimum HA version, not {minimum!r}")

    # -- strings / translations ------------------------------------------------------------

    def translations(self) -> dict[str, Any] | None:
        strings = self.load("strings.json")
        if not isinstance(strings, dict):
            return None
        folder = self.root / "translations"
        english = self.load("translations/en.json")
        if english is not None and english != strings:
            self.fail("translations/en.json", "differs from strings.json (copy it over)")
        reference = dict(_leaves(strings))
        for path in sorted(folder.glob("*.json")):
            where = f"translations/{path.name}"
            data = self.load(where)
            if not isinstance(data, dict):
                continue
            leaves = dict(_leaves(data))
            for key in sorted(set(reference) - set(leaves)):
                self.fail(where, f"missing {key}")
            for key in sorted(set(leaves) - set(reference)):
                self.fail(where, f"{key} is not in strings.json")
            for key in sorted(set(reference) & set(leaves)):
                want = set(_PLACEHOLDER.findall(reference[key]))
                got = set(_PLACEHOLDER.findall(leaves[key]))
                if want != got:
                    self.fail(where, f"{key}: placeholders {sorted(got)} != {sorted(want)}")
        return strings

    # -- services --------------------------------------------------------------------------

    def services(self, strings: Mapping[str, Any]) -> None:
        services = self.load("services.yaml")
        icons = self.load("icons.json")
        if services is None:
            return
        if not isinstance(services, dict):
            self.fail("services.yaml", "must be a mapping of services")
            return
        texts = strings.get("services", {})
        service_icons = (icons or {}).get("services", {})
        for service, spec in services.items():
            where = f"strings.json services.{service}"
            text = texts.get(service)
            if not isinstance(text, dict):
                self.fail(where, "missing")
                text = {}
            for key in ("name", "description"):
                if not isinstance(text.get(key), str) or not text.get(key):
                    self.fail(where, f"no {key}")
            fields = _service_fields(spec or {})
            field_texts = text.get("fields", {})
            for field, field_spec in fields.items():
                field_text = field_texts.get(field)
                if not isinstance(field_text, dict) or not field_text.get("name"):
                    self.fail(where, f"field {field!r} has no name")
                elif not field_text.get("description"):
                    self.fail(where, f"field {field!r} has no description")
                self._selector_options(strings, service, field, field_spec)
            for field in sorted(set(field_texts) - set(fields)):
                self.fail(where, f"field {field!r} is not in services.yaml")
            if not isinstance(service_icons.get(service), dict) or not service_icons[service].get(
                "service"
            ):
                self.fail(f"icons.json services.{service}", "no icon")
        for service in sorted(set(texts) - set(services)):
            self.fail(f"strings.json services.{service}", "is not in services.yaml")

    def _selector_options(
        self, strings: Mapping[str, Any], service: str, field: str, spec: Any
    ) -> None:
        select = ((spec or {}).get("selector") or {}).get("select") or {}
        key = select.get("translation_key")
        if not key:
            return
        options = strings.get("selector", {}).get(key, {}).get("options", {})
        for option in select.get("options", []):
            value = option.get("value") if isinstance(option, dict) else option
            if value not in options:
                self.fail(
                    f"strings.json selector.{key}.options",
                    f"no text for {value!r} (services.yaml {service}.{field})",
                )

    # -- quality_scale.yaml ----------------------------------------------------------------

    def quality_scale(self, manifest: Mapping[str, Any] | None) -> None:
        where = "quality_scale.yaml"
        if not (self.root / where).exists():
            return
        data = self.load(where)
        if not isinstance(data, dict) or not isinstance(data.get("rules"), dict):
            self.fail(where, "must have a `rules:` mapping")
            return
        rules: dict[str, Any] = data["rules"]
        known = {rule for tier in TIERS.values() for rule in tier}
        statuses: dict[str, str] = {}
        for rule, value in rules.items():
            if rule not in known:
                self.fail(where, f"unknown rule {rule!r}")
            status: object = value
            comment: object = None
            if isinstance(value, dict):
                status, comment = value.get("status"), value.get("comment")
                for key in sorted(set(value) - {"status", "comment"}):
                    self.fail(where, f"{rule}: unknown key {key!r}")
            if status not in RULE_STATUSES:
                self.fail(where, f"{rule}: status {status!r} is not one of done/todo/exempt")
                continue
            has_comment = isinstance(comment, str) and bool(comment.strip())
            # As hassfest: the mapping form needs its comment; exempt and todo say why.
            if status != "done" and not has_comment:
                self.fail(where, f"{rule}: {status} needs a comment saying why")
            elif isinstance(value, dict) and not has_comment:
                self.fail(where, f"{rule}: a status mapping needs a comment (or write `{status}`)")
            statuses[rule] = status
        for rule in sorted(known - set(rules)):
            self.fail(where, f"rule {rule!r} is missing")
        claimed = (manifest or {}).get("quality_scale")
        if claimed in TIER_ORDER:
            for tier in TIER_ORDER[: TIER_ORDER.index(claimed) + 1]:
                for rule in TIERS[tier]:
                    if statuses.get(rule) == "todo":
                        self.fail(
                            where,
                            f"manifest.json claims {claimed}, but {tier} rule {rule!r} is todo",
                        )

    # -- brand -----------------------------------------------------------------------------

    def brand(self) -> None:
        for name, size, required in (("icon.png", 256, True), ("icon@2x.png", 512, False)):
            where = f"brand/{name}"
            path = self.root / "brand" / name
            if not path.exists():
                if required:
                    self.fail(where, "missing")
                continue
            dimensions = png_size(path.read_bytes()[:24])
            if dimensions is None:
                self.fail(where, "is not a PNG")
            elif dimensions != (size, size):
                self.fail(where, f"is {dimensions[0]}x{dimensions[1]}, must be {size}x{size}")

    def run(self) -> list[str]:
        manifest = self.manifest()
        self.hacs()
        strings = self.translations()
        if strings is not None:
            self.services(strings)
        self.quality_scale(manifest)
        self.brand()
        return self.problems


def png_size(head: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG's signature + IHDR chunk, or None if it is not a PNG."""
    if len(head) < 24 or not head.startswith(PNG_SIGNATURE) or head[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def _leaves(tree: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(dotted key, text) for every string in a translation tree."""
    for key, value in tree.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping):
            yield from _leaves(value, path)
        else:
            yield path, str(value)


def _service_fields(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A service's fields, including those inside collapsible sections."""
    fields: dict[str, Any] = {}
    for name, field in (spec.get("fields") or {}).items():
        if isinstance(field, Mapping) and "fields" in field and "selector" not in field:
            fields.update(field["fields"])  # a section
        else:
            fields[name] = field
    return fields


def main() -> int:
    """Print the problems; 0 when there are none."""
    problems = Checker().run()
    for problem in problems:
        print(f"check_manifest: {problem}", file=sys.stderr)
    if problems:
        print(f"check_manifest: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print("check_manifest: manifest, hacs, translations, services, quality scale, brand: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
