"""Options-flow steps of the entity bridge: the product definition, then the point mapping."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from homeassistant.config_entries import ConfigFlowResult, OptionsFlow
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.selector import (
    EntitySelector,
    EntitySelectorConfig,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
)
import probatio as vol

from .bridge import parse_mapping
from .bridge_values import Target, default_attribute, selector_domains, suggest
from .const import CONF_MAPPING, CONF_PRODUCT
from .protocol import ProductDefinitionError, ProductModel

CONF_EXAMPLE = "example"
CONF_PRODUCT_JSON = "product_json"
EXAMPLE_NONE = "none"
EXAMPLE_REMOVE = "remove"
EXAMPLES = ("smart_plug", "dimmable_light")
PRODUCTS_DIR = Path(__file__).parent / "products"


def describe_points(model: ProductModel) -> str:
    """One markdown line per data point: name, display name, type, access, range/options."""
    lines = []
    for point in model.points:
        detail = ""
        if point.is_uint:
            detail = f" {point.shown_min}…{point.shown_max}"
        elif point.options:
            detail = f" [{', '.join(point.options)}]"
        lines.append(
            f"- `{point.name}` ({point.display_name}): {point.data_type}{detail}, {point.access}"
        )
    return "\n".join(lines)


def _read_example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PRODUCTS_DIR / f"{name}.json").read_text("utf-8"))
    return data


class BridgeOptionsMixin(OptionsFlow):
    """The ``product`` and ``mapping`` steps (mixed into the integration's OptionsFlow)."""

    _product: dict[str, Any] | None = None

    async def async_step_product(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Paste a console JSON export or pick a shipped example; show what is wrong."""
        errors: dict[str, str] = {}
        placeholders = {"error": ""}
        options = self.config_entry.options
        if user_input is not None:
            example = user_input.get(CONF_EXAMPLE, EXAMPLE_NONE)
            text = str(user_input.get(CONF_PRODUCT_JSON) or "").strip()
            if example == EXAMPLE_REMOVE:
                kept = {k: v for k, v in options.items() if k not in (CONF_PRODUCT, CONF_MAPPING)}
                return self.async_create_entry(data=kept)
            try:
                if text:
                    raw: object = json.loads(text)
                elif example in EXAMPLES:
                    raw = await self.hass.async_add_executor_job(_read_example, example)
                else:
                    raise ProductDefinitionError("paste a product definition or pick an example")
                if not isinstance(raw, dict):
                    raise ProductDefinitionError("product definition: must be an object")
                ProductModel.from_json(raw)
            except ValueError as err:  # ProductDefinitionError and json's errors
                text_error = str(err)
                if not isinstance(err, ProductDefinitionError):
                    text_error = f"not JSON: {err}"
                errors["base"] = "invalid_product"
                placeholders["error"] = text_error
            else:
                self._product = raw
                return await self.async_step_mapping()
        schema = vol.Schema(
            {
                vol.Required(CONF_EXAMPLE, default=EXAMPLE_NONE): SelectSelector(
                    SelectSelectorConfig(
                        options=[
                            EXAMPLE_NONE,
                            *EXAMPLES,
                            *([EXAMPLE_REMOVE] if options.get(CONF_PRODUCT) else []),
                        ],
                        translation_key=CONF_EXAMPLE,
                        mode=SelectSelectorMode.DROPDOWN,
                    )
                ),
                vol.Optional(CONF_PRODUCT_JSON): TextSelector(TextSelectorConfig(multiline=True)),
            }
        )
        return self.async_show_form(
            step_id="product",
            data_schema=self.add_suggested_values_to_schema(schema, user_input or {}),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_mapping(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Map each data point to an entity (suggested by type and name); empty = native."""
        options = self.config_entry.options
        product = self._product if self._product is not None else options.get(CONF_PRODUCT)
        if not product:
            return self.async_abort(reason="no_product")
        model = ProductModel.from_json(product)
        mappable = [p for p in model.points if selector_domains(p)]
        if user_input is not None:
            mapping = {}
            for point in mappable:
                entity_id = user_input.get(point.name)
                if isinstance(entity_id, str) and "." in entity_id:
                    target = Target(entity_id, default_attribute(entity_id.split(".")[0], point))
                    mapping[point.name] = target.as_option()
            return self.async_create_entry(
                data={**options, CONF_PRODUCT: product, CONF_MAPPING: mapping}
            )
        own = [
            entry.entity_id
            for entry in er.async_entries_for_config_entry(
                er.async_get(self.hass), self.config_entry.entry_id
            )
        ]
        stored = parse_mapping(model, options.get(CONF_MAPPING))
        same_product = product == options.get(CONF_PRODUCT)
        candidates = [s for s in self.hass.states.async_all() if s.entity_id not in own]
        suggested: dict[str, str] = {}
        fields: dict[Any, Any] = {}
        for point in mappable:
            hint = stored.get(point.name) if same_product else suggest(point, candidates)
            if hint is not None:
                suggested[point.name] = hint.entity_id
            fields[vol.Optional(point.name)] = EntitySelector(
                EntitySelectorConfig(domain=selector_domains(point), exclude_entities=own)
            )
        return self.async_show_form(
            step_id="mapping",
            data_schema=self.add_suggested_values_to_schema(vol.Schema(fields), suggested),
            description_placeholders={
                "product": model.name,
                "points": describe_points(model),
            },
        )
