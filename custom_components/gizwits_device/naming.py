"""Names of a Gizwits device: its product's name once a definition is loaded, a default before.

The title of a config entry is also the device's name. A title the integration chose (the
default or a product name it set) follows the product definition; a title the user typed is
never touched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
import re
from typing import TYPE_CHECKING, Any

from homeassistant.core import HomeAssistant, callback

from .const import CONF_AUTO_TITLE, CONF_PRODUCT, DOMAIN

if TYPE_CHECKING:
    from .runtime import GizwitsConfigEntry

DEFAULT_TITLE = "Gizwits device"
# Entry data: the title the integration last gave the entry.
_DEFAULT_RE = re.compile(rf"{re.escape(DEFAULT_TITLE)}( \d+)?")


def product_name(options: Mapping[str, Any]) -> str | None:
    """The name of the product definition in the options (None without one)."""
    product = options.get(CONF_PRODUCT)
    name = product.get("name") if isinstance(product, Mapping) else None
    return name.strip() or None if isinstance(name, str) else None


def unique_title(base: str, taken: Iterable[str]) -> str:
    """`base`, or `base 2`, `base 3`… when another entry already has that title."""
    used = set(taken)
    title, number = base, 2
    while title in used:
        title, number = f"{base} {number}", number + 1
    return title


def default_title(entries: Iterable[GizwitsConfigEntry]) -> str:
    """The title of a new entry: "Gizwits device" (numbered when taken)."""
    return unique_title(DEFAULT_TITLE, (entry.title for entry in entries))


def is_generated(entry: GizwitsConfigEntry) -> bool:
    """Whether the integration chose the entry's title (so it may change it)."""
    # (No auto title stored: the integration has not renamed the entry yet.)
    title = entry.title
    return title == entry.data.get(CONF_AUTO_TITLE) or _DEFAULT_RE.fullmatch(title) is not None


@callback
def async_follow_product(hass: HomeAssistant, entry: GizwitsConfigEntry) -> None:
    """Name a generated title after the options' product, or the default without one."""
    product = product_name(entry.options)
    if not is_generated(entry):
        return
    others = [
        other.title
        for other in hass.config_entries.async_entries(DOMAIN)
        if other.entry_id != entry.entry_id
    ]
    if product:
        wanted = unique_title(product, others)
    elif _DEFAULT_RE.fullmatch(entry.title) and entry.title not in others:
        wanted = entry.title
    else:
        wanted = unique_title(DEFAULT_TITLE, others)
    if wanted != entry.title:
        hass.config_entries.async_update_entry(
            entry, title=wanted, data={**entry.data, CONF_AUTO_TITLE: wanted}
        )
