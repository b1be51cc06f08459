"""Errors raised towards Home Assistant, with messages from strings.json `exceptions`."""

from homeassistant.exceptions import HomeAssistantError

from .const import DOMAIN


def translated[E: HomeAssistantError](kind: type[E], key: str, /, **placeholders: str) -> E:
    """A `kind` of error whose message is the integration's translation `key`."""
    return kind(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders=placeholders or None,
    )
