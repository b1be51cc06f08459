"""Options-flow steps of the entity bridge: the product definition, then the point mapping."""

from __future__ import annotations

from contextlib import suppress
import json
from pathlib import Path
from typing import Any

from homeassistant.components.file_upload import process_uploaded_file
from homeassistant.config_entries import ConfigFlowResult, OptionsFlow
from homeassistant.core import HomeAssistant
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

from .bridge import parse_mapping
from .bridge_values import (
    STATE,
    Target,
    attribute_choices,
    attribute_problem,
    default_attribute,
    selector_domains,
    suggest,
)
from .const import CONF_MAPPING, CONF_PRODUCT
from .protocol import ProductDefinitionError, ProductModel

CONF_EXAMPLE = "example"
CONF_PRODUCT_JSON = "product_json"
CONF_PRODUCT_FILE = "product_file"
EXAMPLE_NONE = "none"
EXAMPLE_REMOVE = "remove"
EXAMPLES = ("smart_plug", "dimmable_light")
PRODUCTS_DIR = Path(__file__).parent / "products"
# Console exports are a few KiB; anything near this is not a product definition.
MAX_PRODUCT_FILE = 256 * 1024


class ProductFileError(ValueError):
    """An uploaded file that cannot be read: its error key and what went wrong."""

    def __init__(self, key: str, detail: str = "") -> None:
        super().__init__(detail or key)
        self.key = key
        self.detail = detail


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


def _read_limited(path: Path) -> str:
    size = path.stat().st_size
    if size > MAX_PRODUCT_FILE:
        raise ProductFileError("file_too_large", str(size))
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ProductFileError("upload_failed", f"not UTF-8 text: {err.reason}") from err


def read_uploaded_product(hass: HomeAssistant, file_id: str) -> str:
    """The uploaded file's text (run in the executor; the upload is deleted afterwards)."""
    try:
        with process_uploaded_file(hass, file_id) as path:
            return _read_limited(path)
    except ProductFileError:
        raise
    except (ValueError, OSError) as err:  # unknown/expired file ID, or it vanished
        raise ProductFileError("upload_failed", str(err)) from err


def _checked_product(raw: object) -> dict[str, Any]:
    """``raw`` if it is a valid product definition (ProductDefinitionError names the problem)."""
    if not isinstance(raw, dict):
        raise ProductDefinitionError("product definition: must be an object")
    ProductModel.from_json(raw)
    return raw


def _attribute_option(attribute: str | None) -> str:
    return STATE if attribute is None else attribute


class BridgeOptionsMixin(OptionsFlow):
    """The ``product``, ``mapping`` and ``attributes`` steps (mixed into the OptionsFlow)."""

    _product: dict[str, Any] | None = None
    _targets: dict[str, Target] | None = None

    async def _async_product_source(self, user_input: dict[str, Any]) -> dict[str, Any]:
        """The raw product definition from exactly one of paste / upload / example."""
        example = user_input.get(CONF_EXAMPLE, EXAMPLE_NONE)
        text = str(user_input.get(CONF_PRODUCT_JSON) or "").strip()
        file_id = user_input.get(CONF_PRODUCT_FILE)
        given = [bool(text), bool(file_id), example != EXAMPLE_NONE]
        if sum(given) != 1:
            if file_id:  # not used: free the upload now rather than at shutdown
                with suppress(ProductFileError):
                    await self.hass.async_add_executor_job(
                        read_uploaded_product, self.hass, file_id
                    )
            raise ProductFileError("one_source")
        if file_id:
            text = await self.hass.async_add_executor_job(read_uploaded_product, self.hass, file_id)
        if text:
            try:
                raw = json.loads(text)
            except ValueError as err:
                raise ProductDefinitionError(f"not JSON: {err}") from err
            return _checked_product(raw)
        if example not in EXAMPLES:
            raise ProductFileError("one_source")
        return _checked_product(await self.hass.async_add_executor_job(_read_example, example))

    async def async_step_product(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Paste or upload a console JSON export, or pick an example; show what is wrong."""
        errors: dict[str, str] = {}
        placeholders = {"error": "", "max_kib": str(MAX_PRODUCT_FILE // 1024)}
        options = self.config_entry.options
        if user_input is not None:
            if user_input.get(CONF_EXAMPLE) == EXAMPLE_REMOVE and not (
                user_input.get(CONF_PRODUCT_JSON) or user_input.get(CONF_PRODUCT_FILE)
            ):
                kept = {k: v for k, v in options.items() if k not in (CONF_PRODUCT, CONF_MAPPING)}
                return self.async_create_entry(data=kept)
            try:
                raw = await self._async_product_source(user_input)
            except ProductFileError as err:
                errors["base"] = err.key
                placeholders["error"] = err.detail
            except ProductDefinitionError as err:
                errors["base"] = "invalid_product"
                placeholders["error"] = str(err)
            else:
                self._product = raw
                self._targets = None
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
                vol.Optional(CONF_PRODUCT_FILE): FileSelector(
                    FileSelectorConfig(accept=".json,application/json")
                ),
            }
        )
        # An upload is consumed when read: never offer the old file ID again.
        kept_input = {k: v for k, v in (user_input or {}).items() if k != CONF_PRODUCT_FILE}
        return self.async_show_form(
            step_id="product",
            data_schema=self.add_suggested_values_to_schema(schema, kept_input),
            errors=errors,
            description_placeholders=placeholders,
        )

    def _model(self) -> ProductModel | None:
        product = (
            self._product
            if self._product is not None
            else self.config_entry.options.get(CONF_PRODUCT)
        )
        return ProductModel.from_json(product) if product else None

    async def async_step_mapping(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Map each data point to an entity (suggested by type and name); empty = native."""
        options = self.config_entry.options
        model = self._model()
        if model is None:
            return self.async_abort(reason="no_product")
        product = self._product if self._product is not None else options.get(CONF_PRODUCT)
        stored = parse_mapping(model, options.get(CONF_MAPPING))
        same_product = product == options.get(CONF_PRODUCT)
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
            return self._save_mapping(targets)
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
                return self._save_mapping(chosen)
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

    def _save_mapping(self, targets: dict[str, Target]) -> ConfigFlowResult:
        options = self.config_entry.options
        product = self._product if self._product is not None else options.get(CONF_PRODUCT)
        mapping = {name: target.as_option() for name, target in targets.items()}
        return self.async_create_entry(
            data={**options, CONF_PRODUCT: product, CONF_MAPPING: mapping}
        )
