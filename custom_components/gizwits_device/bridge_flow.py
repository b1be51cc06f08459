"""Options-flow steps of the entity bridge: product definition, point mapping, attributes, units.

product → (product_mismatch) → mapping → (attributes) → (units) → saved. A new product the user
accepted is kept when the dialog is closed before the end (its points are then native).
"""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigFlowResult, OptionsFlow
from homeassistant.core import callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.selector import (
    EntitySelector,
    EntitySelectorConfig,
    FileSelector,
    FileSelectorConfig,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
)
import probatio as vol

from .bridge_targets import (
    attribute_choices,
    attribute_problem,
    default_attribute,
    parse_mapping,
    selector_domains,
    suggest,
)
from .bridge_values import (
    STATE,
    Target,
)
from .const import CONF_BASE_URL, CONF_MAPPING, CONF_PRODUCT, CONF_PRODUCT_KEY
from .product_source import (
    EXAMPLES,
    MAX_PRODUCT_FILE,
    ProductFileError,
    async_download_product,
    checked_product,
    describe_points,
    parse_product_text,
    read_example,
    read_uploaded_product,
)
from .protocol import ProductDefinitionError, ProductModel
from .units import CONF_UNITS, NO_UNIT, PRESETS, suggest_unit

CONF_EXAMPLE = "example"
CONF_PRODUCT_JSON = "product_json"
CONF_PRODUCT_FILE = "product_file"
CONF_APP_ID = "app_id"
# The product step's sources (menu options = step ids); "mapping" keeps the loaded product.
STEP_KEEP = "mapping"
STEP_PASTE = "product_paste"
STEP_UPLOAD = "product_upload"
STEP_EXAMPLE = "product_example"
STEP_DOWNLOAD = "product_download"
STEP_REMOVE = "product_remove"

__all__ = ["MAX_PRODUCT_FILE", "BridgeOptionsMixin"]


def _attribute_option(attribute: str | None) -> str:
    return STATE if attribute is None else attribute


def _show_source_error(
    err: ProductFileError | ProductDefinitionError,
    errors: dict[str, str],
    placeholders: dict[str, str],
) -> None:
    """Show on the form why a product source gave no valid definition."""
    if isinstance(err, ProductFileError):
        errors[err.field] = err.key
        placeholders.update(err.placeholders)
    else:
        errors["base"] = "invalid_product"
        placeholders["error"] = str(err)


class BridgeOptionsMixin(OptionsFlow):
    """The bridge's options steps (mixed into the OptionsFlow)."""

    # A new product: waiting for the key-mismatch answer, then accepted (mapping onwards).
    _pending: dict[str, Any] | None = None
    _product: dict[str, Any] | None = None
    _targets: dict[str, Target] | None = None
    _finished = False

    # -- product -------------------------------------------------------------------------

    async def async_step_product(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Where the definition comes from: one source, each with only its own fields."""
        loaded = self._stored_product() is not None
        sources = [
            *([STEP_KEEP] if loaded else []),
            STEP_PASTE,
            STEP_UPLOAD,
            STEP_EXAMPLE,
            STEP_DOWNLOAD,
            *([STEP_REMOVE] if loaded else []),
        ]
        current = self.config_entry.options.get(CONF_PRODUCT) or {}
        return self.async_show_menu(
            step_id="product",
            menu_options=sources,
            description_placeholders={"current": str(current.get("name", "")) or "—"},
        )

    async def async_step_product_remove(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Delete the definition, its mapping and units (its native entities go)."""
        dropped = (CONF_PRODUCT, CONF_MAPPING, CONF_UNITS)
        options = self.config_entry.options
        return self._save_options({k: v for k, v in options.items() if k not in dropped})

    async def async_step_product_paste(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The console's JSON export, pasted."""
        errors: dict[str, str] = {}
        placeholders = {"error": ""}
        if user_input is not None:
            try:
                raw = parse_product_text(str(user_input.get(CONF_PRODUCT_JSON, "")))
            except ProductDefinitionError as err:
                _show_source_error(err, errors, placeholders)
            else:
                return await self._async_use_definition(raw)
        schema = vol.Schema(
            {vol.Required(CONF_PRODUCT_JSON): TextSelector(TextSelectorConfig(multiline=True))}
        )
        return self.async_show_form(
            step_id=STEP_PASTE,
            data_schema=self.add_suggested_values_to_schema(schema, user_input or {}),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_product_upload(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The console's JSON export as a file (read once, then deleted)."""
        errors: dict[str, str] = {}
        placeholders = {"error": "", "max_kib": str(MAX_PRODUCT_FILE // 1024)}
        if user_input is not None:
            try:
                text = await self.hass.async_add_executor_job(
                    read_uploaded_product, self.hass, str(user_input[CONF_PRODUCT_FILE])
                )
                raw = parse_product_text(text)
            except (ProductFileError, ProductDefinitionError) as err:
                _show_source_error(err, errors, placeholders)
            else:
                return await self._async_use_definition(raw)
        # An upload is consumed when read: the form never offers the old file ID again.
        schema = vol.Schema(
            {
                vol.Required(CONF_PRODUCT_FILE): FileSelector(
                    FileSelectorConfig(accept=".json,application/json")
                )
            }
        )
        return self.async_show_form(
            step_id=STEP_UPLOAD,
            data_schema=schema,
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_product_example(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """One of the shipped example definitions."""
        if user_input is not None and user_input.get(CONF_EXAMPLE) in EXAMPLES:
            example = str(user_input[CONF_EXAMPLE])
            raw = checked_product(await self.hass.async_add_executor_job(read_example, example))
            return await self._async_use_definition(raw)
        schema = vol.Schema(
            {
                vol.Required(CONF_EXAMPLE, default=EXAMPLES[0]): SelectSelector(
                    SelectSelectorConfig(
                        options=list(EXAMPLES),
                        translation_key=CONF_EXAMPLE,
                        mode=SelectSelectorMode.LIST,
                    )
                )
            }
        )
        return self.async_show_form(step_id=STEP_EXAMPLE, data_schema=schema)

    async def async_step_product_download(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Gizwits' own copy: /app/datapoint for the device's product key with an App ID.

        The App ID is used for this one request and not stored.
        """
        errors: dict[str, str] = {}
        data = self.config_entry.data
        placeholders = {
            "error": "",
            "error_code": "",
            "error_message": "",
            "product_key": str(data[CONF_PRODUCT_KEY]),
            "server": str(data[CONF_BASE_URL]),
        }
        if user_input is not None:
            try:
                raw = await async_download_product(
                    self.hass,
                    str(data[CONF_BASE_URL]),
                    str(data[CONF_PRODUCT_KEY]),
                    str(user_input.get(CONF_APP_ID, "")),
                )
            except (ProductFileError, ProductDefinitionError) as err:
                _show_source_error(err, errors, placeholders)
            else:
                return await self._async_use_definition(raw)
        schema = vol.Schema({vol.Required(CONF_APP_ID): TextSelector()})
        return self.async_show_form(
            step_id=STEP_DOWNLOAD,
            data_schema=self.add_suggested_values_to_schema(schema, user_input or {}),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def _async_use_definition(self, raw: dict[str, Any]) -> ConfigFlowResult:
        """A checked definition from any source: the key-mismatch question, then the mapping."""
        product_key = ProductModel.from_json(raw).product_key
        if product_key.lower() != str(self.config_entry.data[CONF_PRODUCT_KEY]).lower():
            self._pending = raw
            return await self.async_step_product_mismatch()
        return await self._async_accept(raw)

    async def async_step_product_mismatch(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The definition is another product's: use it anyway, or choose another."""
        if self._pending is None:
            return await self.async_step_product()
        model = ProductModel.from_json(self._pending)
        return self.async_show_menu(
            step_id="product_mismatch",
            menu_options=["accept_product", "product"],
            description_placeholders={
                "product": model.name,
                "product_key": model.product_key,
                "device_key": str(self.config_entry.data[CONF_PRODUCT_KEY]),
            },
        )

    async def async_step_accept_product(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Use the definition although its product key is not the device's."""
        if self._pending is None:
            return await self.async_step_product()
        raw, self._pending = self._pending, None
        return await self._async_accept(raw)

    async def _async_accept(self, raw: dict[str, Any]) -> ConfigFlowResult:
        self._product = raw
        self._targets = None
        return await self.async_step_mapping()

    def _stored_product(self) -> dict[str, Any] | None:
        product = self.config_entry.options.get(CONF_PRODUCT)
        return product if isinstance(product, dict) and product else None

    def _current_product(self) -> dict[str, Any] | None:
        return self._product if self._product is not None else self._stored_product()

    def _model(self) -> ProductModel | None:
        product = self._current_product()
        return ProductModel.from_json(product) if product else None

    # -- mapping -------------------------------------------------------------------------

    async def async_step_mapping(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Map each data point to an entity (suggested by type and name); empty = native."""
        options = self.config_entry.options
        model = self._model()
        if model is None:
            return self.async_abort(reason="no_product")
        stored = parse_mapping(model, options.get(CONF_MAPPING))
        same_product = self._current_product() == self._stored_product()
        mappable = [p for p in model.points if selector_domains(p)]
        if user_input is not None:
            targets: dict[str, Target] = {}
            for point in mappable:
                entity_id = user_input.get(point.name)
                if isinstance(entity_id, str) and "." in entity_id:
                    domain = entity_id.split(".")[0]
                    previous = stored.get(point.name) if same_product else None
                    attribute = (
                        previous.attribute
                        if previous is not None and previous.entity_id == entity_id
                        else default_attribute(domain, point)
                    )
                    targets[point.name] = Target(entity_id, attribute)
            self._targets = targets
            if any(
                len(attribute_choices(t.domain, model.point(n))) > 1 for n, t in targets.items()
            ):
                return await self.async_step_attributes()
            return await self._async_mapped(targets)
        own = [
            entry.entity_id
            for entry in er.async_entries_for_config_entry(
                er.async_get(self.hass), self.config_entry.entry_id
            )
        ]
        candidates = [s for s in self.hass.states.async_all() if s.entity_id not in own]
        suggested: dict[str, str] = {}
        fields: dict[Any, Any] = {}
        for point in mappable:
            domains = selector_domains(point)
            hint = (
                stored.get(point.name) if same_product else suggest(point, candidates, model.name)
            )
            # A mapping stored before the picker was limited may name an entity it refuses.
            if hint is not None and hint.domain in domains:
                suggested[point.name] = hint.entity_id
            fields[vol.Optional(point.name)] = EntitySelector(
                EntitySelectorConfig(domain=domains, exclude_entities=own)
            )
        return self.async_show_form(
            step_id="mapping",
            data_schema=self.add_suggested_values_to_schema(vol.Schema(fields), suggested),
            description_placeholders={"product": model.name, **describe_points(model)},
        )

    async def async_step_attributes(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Which attribute each point follows where the entity has several (light, climate…)."""
        model = self._model()
        if model is None or self._targets is None:
            return self.async_abort(reason="no_product")
        targets = self._targets
        choosing = {
            name: target
            for name, target in targets.items()
            if len(attribute_choices(target.domain, model.point(name))) > 1
        }
        errors: dict[str, str] = {}
        if user_input is not None:
            chosen = dict(targets)
            for name, target in choosing.items():
                picked = user_input.get(name, _attribute_option(target.attribute))
                attribute = None if picked == STATE else str(picked)
                chosen[name] = Target(target.entity_id, attribute)
                problem = attribute_problem(
                    model.point(name), chosen[name], self.hass.states.get(target.entity_id)
                )
                if problem is not None:
                    errors[name] = problem
            if not errors:
                return await self._async_mapped(chosen)
            self._targets = chosen
            choosing = {name: chosen[name] for name in choosing}
        fields: dict[Any, Any] = {}
        for name, target in choosing.items():
            choices = attribute_choices(target.domain, model.point(name))
            fields[vol.Required(name, default=_attribute_option(target.attribute))] = (
                SelectSelector(
                    SelectSelectorConfig(
                        options=[_attribute_option(c) for c in choices],
                        translation_key="point_attribute",
                        mode=SelectSelectorMode.DROPDOWN,
                    )
                )
            )
        lines = [f"- `{name}` → {target.entity_id}" for name, target in choosing.items()]
        return self.async_show_form(
            step_id="attributes",
            data_schema=vol.Schema(fields),
            errors=errors,
            description_placeholders={"points": "\n".join(lines)},
        )

    # -- units ---------------------------------------------------------------------------

    async def _async_mapped(self, targets: dict[str, Target]) -> ConfigFlowResult:
        self._targets = targets
        model = self._model()
        if model is not None and any(p.is_uint and p.name not in targets for p in model.points):
            return await self.async_step_units()
        return self._save_bridge(targets, {})

    async def async_step_units(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Unit and device class of each native number/sensor, suggested from its words."""
        model = self._model()
        if model is None or self._targets is None:
            return self.async_abort(reason="no_product")
        targets = self._targets
        points = [p for p in model.points if p.is_uint and p.name not in targets]
        if user_input is not None:
            units = {
                point.name: str(user_input[point.name])
                for point in points
                if user_input.get(point.name) in PRESETS
            }
            return self._save_bridge(targets, units)
        stored = self.config_entry.options.get(CONF_UNITS) or {}
        same_product = self._current_product() == self._stored_product()
        suggested = {
            p.name: (stored.get(p.name, NO_UNIT) if same_product else suggest_unit(p))
            for p in points
        }
        # No typed units: with custom values the frontend shows the options' keys, untranslated.
        unit_select = SelectSelector(
            SelectSelectorConfig(
                options=[NO_UNIT, *PRESETS],
                translation_key="point_unit",
                mode=SelectSelectorMode.DROPDOWN,
            )
        )
        lines = [f"- `{p.name}` ({p.display_name}): {p.description or '—'}" for p in points]
        return self.async_show_form(
            step_id="units",
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema({vol.Optional(p.name): unit_select for p in points}), suggested
            ),
            description_placeholders={"points": "\n".join(lines)},
        )

    # -- saving --------------------------------------------------------------------------

    def _save_bridge(self, targets: dict[str, Target], units: dict[str, str]) -> ConfigFlowResult:
        mapping = {name: target.as_option() for name, target in targets.items()}
        return self._save_options(
            {
                **self.config_entry.options,
                CONF_PRODUCT: self._current_product(),
                CONF_MAPPING: mapping,
                CONF_UNITS: units,
            }
        )

    def _save_options(self, options: dict[str, Any]) -> ConfigFlowResult:
        self._finished = True
        return self.async_create_entry(data=options)

    @callback
    def async_remove(self) -> None:
        """Closed before the end: keep a new product the user accepted (mapping as before)."""
        if self._finished or self._product is None or self._product == self._stored_product():
            return
        options = self.config_entry.options
        model = ProductModel.from_json(self._product)
        kept = parse_mapping(model, options.get(CONF_MAPPING))
        units = options.get(CONF_UNITS) or {}
        self.hass.config_entries.async_update_entry(
            self.config_entry,
            options={
                **options,
                CONF_PRODUCT: self._product,
                CONF_MAPPING: {name: target.as_option() for name, target in kept.items()},
                CONF_UNITS: {p.name: units[p.name] for p in model.points if p.name in units},
            },
        )
