"""requirements_dev.txt pins what Home Assistant would pip-install while scripts/develop runs, at
the versions of the installed Home Assistant, so that it starts and onboards without a network."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
import re

from homeassistant import components
from homeassistant.auth.mfa_modules import notify, totp
from homeassistant.components.onboarding.views import CoreConfigOnboardingView
import pytest

ROOT = Path(__file__).parents[2]
COMPONENTS = Path(components.__file__).parent
# Set up by every start of the develop configuration (default_config is not used).
ALWAYS = ("frontend", "conversation")


def pins() -> set[str]:
    """The requirement lines of requirements_dev.txt, names lower-cased."""
    lines = (ROOT / "requirements_dev.txt").read_text(encoding="utf-8").splitlines()
    return {line.strip().lower() for line in lines if line.strip() and not line.startswith("#")}


def onboarding_integrations() -> list[str]:
    """The integrations onboarding sets up when its core-config step finishes."""
    source = inspect.getsource(CoreConfigOnboardingView.post)
    found = re.search(r"onboard_integrations = \[(.*?)\]", source, re.DOTALL)
    assert found is not None, "onboarding no longer lists its integrations this way"
    return re.findall(r'"(\w+)"', found.group(1))


def manifest_requirements(domain: str) -> list[str]:
    manifest = json.loads((COMPONENTS / domain / "manifest.json").read_text(encoding="utf-8"))
    requirements: list[str] = manifest.get("requirements", [])
    return requirements


def test_onboarding_still_sets_up_what_is_pinned() -> None:
    assert set(onboarding_integrations()) == {
        "google_translate",
        "met",
        "radio_browser",
        "shopping_list",
    }


@pytest.mark.parametrize("domain", [*ALWAYS, *onboarding_integrations()])
def test_integration_requirements_are_pinned(domain: str) -> None:
    """Each requirement at exactly the installed manifest's version."""
    missing = [req for req in manifest_requirements(domain) if req.lower() not in pins()]
    assert not missing


def test_mfa_module_requirements_are_pinned() -> None:
    """HA loads the TOTP and notify MFA modules at start; a missing one stops the start."""
    required = {*totp.REQUIREMENTS, *notify.REQUIREMENTS}
    assert {req.lower() for req in required} <= pins()
