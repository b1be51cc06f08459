"""Import a Gizwits product definition: the console's data-point JSON export (protocol.md §5).

The export looks like (keys as Gizwits writes them)::

    {"name": ..., "product_key": ..., "packetVersion": "0x00000004",
     "protocolType": "standard" | "var_len",
     "entities": [{"id": 0, "name": "entity0", "attrs": [
        {"id": 0, "name": "switch", "display_name": ..., "desc": ...,
         "data_type": "bool" | "enum" | "uint8" | "uint16" | "uint32" | "binary",
         "type": "status_writable" | "status_readonly" | "alert" | "fault",
         "position": {"byte_offset": 0, "bit_offset": 0, "len": 1, "unit": "bit" | "byte"},
         "uint_spec": {"min": 0, "max": 100, "ratio": 1, "addition": 0},   # uint* only
         "enum": ["a", "b"]},                                            # enum only
     ]}]}

``uint_spec.min``/``max`` bound the *raw* (sent) value x; the shown value is
y = x * ratio + addition (gizX2Y / gizY2X in the MCU SDK). Standard products lay the status
out by ``position``: one section per access kind in the order writable, read-only, alert,
fault; each section is a bit region (bool/enum bit fields) followed by the byte fields.
``var_len`` exports carry all-zero positions; only ``len``/``unit`` matter there.

Bit fields: ``bit_offset`` counts across the whole region (a 9th switch has bit_offset 8).
Two forms of ``byte_offset`` describe the same wire layout, and both are accepted:

- the console form, what the Gizwits console exports and ``/app/datapoint`` serves: every bit
  field of a region keeps ``byte_offset`` at the region's first byte (bit_offset 8, 9 … 20 all
  at byte_offset 0);
- the MCU-SDK header form: ``byte_offset`` is the byte holding the bit, region start +
  bit_offset // 8, as the SDK's generated ``*_BYTEOFFSET`` / ``*_BITOFFSET`` constants give it
  (``BYTEOFFSET 1`` / ``BITOFFSET 8``).

The region's start follows from the layout (sections back to back), so each point is read in
whichever form fits it, and the model holds the header form (`DataPoint.region_start`). A
``byte_offset`` that fits neither reading is refused, naming the point. See p0.py for the byte
order on the wire.

Every defect is a `ProductDefinitionError` that says where it is (``attrs[3] "speed": ...``).
"""

from collections.abc import Mapping, Sequence
from enum import StrEnum
import json
import math
import re
from typing import TypedDict

from .product import (
    ACCESS_ORDER,
    UINT_WIDTH,
    Access,
    DataPoint,
    DataType,
    Number,
    ProductDefinitionError,
    ProtocolType,
    Unit,
)

__all__ = ["ProductFields", "parse_product"]

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_PACKET_VERSION_RE = re.compile(r"0[xX][0-9A-Fa-f]{1,8}\Z")


class ProductFields(TypedDict):
    """The fields of a ProductModel, checked."""

    name: str
    product_key: str
    packet_version: int
    protocol_type: ProtocolType
    points: tuple[DataPoint, ...]


def parse_product(data: str | bytes | Mapping[str, object]) -> ProductFields:
    """Parse and validate a console export; ProductDefinitionError names the first defect."""
    if isinstance(data, str | bytes):
        try:
            parsed: object = json.loads(data)
        except (ValueError, RecursionError) as err:
            raise ProductDefinitionError(f"not JSON: {err}") from err
    else:
        parsed = data
    top = _mapping(parsed, "product definition")
    name = _string(top, "name", "product")
    product_key = _string(top, "product_key", "product")
    packet_version = _packet_version(top)
    protocol_type = _choice(top, "protocolType", ProtocolType, "product")
    entities = _list(top, "entities", "product")
    if len(entities) != 1:
        raise ProductDefinitionError(f"entities: must hold exactly one entity, got {len(entities)}")
    entity = _mapping(entities[0], "entities[0]")
    attrs = _list(entity, "attrs", "entities[0]")
    if not attrs:
        raise ProductDefinitionError("entities[0].attrs: must not be empty")
    parsed_points = [_parse_attr(raw, index) for index, raw in enumerate(attrs)]
    _check_unique(parsed_points)
    ordered = sorted(parsed_points, key=lambda item: item[1].id)
    if protocol_type is ProtocolType.STANDARD:
        ordered = _check_standard_layout(ordered)
    return ProductFields(
        name=name,
        product_key=product_key,
        packet_version=packet_version,
        protocol_type=protocol_type,
        points=tuple(point for _, point in ordered),
    )


# --- parsing helpers -------------------------------------------------------------------------


def _where(index: int, name: str | None) -> str:
    return f'attrs[{index}] "{name}"' if name is not None else f"attrs[{index}]"


def _mapping(value: object, where: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise ProductDefinitionError(f"{where}: must be an object, got {type(value).__name__}")
    return value


def _field(obj: Mapping[str, object], key: str, where: str) -> object:
    if key not in obj:
        raise ProductDefinitionError(f"{where}: missing field {key}")
    return obj[key]


def _list(obj: Mapping[str, object], key: str, where: str) -> Sequence[object]:
    value = _field(obj, key, where)
    if not isinstance(value, list):
        raise ProductDefinitionError(f"{where}: {key} must be a list")
    return value


def _string(obj: Mapping[str, object], key: str, where: str, default: str | None = None) -> str:
    if default is not None and key not in obj:
        return default
    value = _field(obj, key, where)
    if not isinstance(value, str):
        raise ProductDefinitionError(f"{where}: {key} must be a string")
    return value


def _integer(obj: Mapping[str, object], key: str, where: str) -> int:
    value = _field(obj, key, where)
    if isinstance(value, bool) or not isinstance(value, int | float) or not _is_int(value):
        raise ProductDefinitionError(f"{where}: {key} must be an integer")
    return int(value)


def _is_int(value: int | float) -> bool:
    return isinstance(value, int) or (math.isfinite(value) and value.is_integer())


def _number(obj: Mapping[str, object], key: str, where: str) -> Number:
    value = _field(obj, key, where)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ProductDefinitionError(f"{where}: {key} must be a finite number")
    return value


def _choice[E: StrEnum](obj: Mapping[str, object], key: str, kind: type[E], where: str) -> E:
    value = _field(obj, key, where)
    allowed = ", ".join(member.value for member in kind)
    if not isinstance(value, str) or value not in kind.__members__.values():
        raise ProductDefinitionError(f"{where}: {key} must be one of {allowed}, got {value!r}")
    return kind(value)


def _packet_version(top: Mapping[str, object]) -> int:
    value = _field(top, "packetVersion", "product")
    if not isinstance(value, str) or not _PACKET_VERSION_RE.match(value):
        raise ProductDefinitionError(
            f'product: packetVersion must be a hex string like "0x00000004", got {value!r}'
        )
    return int(value, 16)


def _parse_attr(raw: object, index: int) -> tuple[int, DataPoint]:
    attr = _mapping(raw, _where(index, None))
    name_value = attr.get("name")
    where = _where(index, name_value if isinstance(name_value, str) else None)
    name = _string(attr, "name", where)
    if not _NAME_RE.match(name):
        raise ProductDefinitionError(
            f"{where}: name must be an identifier ([A-Za-z_][A-Za-z0-9_]*)"
        )
    point_id = _integer(attr, "id", where)
    if point_id < 0:
        raise ProductDefinitionError(f"{where}: id must be >= 0")
    data_type = _choice(attr, "data_type", DataType, where)
    access = _choice(attr, "type", Access, where)
    position = _mapping(_field(attr, "position", where), f"{where}: position")
    pos_where = f"{where}: position"
    byte_offset = _integer(position, "byte_offset", pos_where)
    bit_offset = _integer(position, "bit_offset", pos_where)
    length = _integer(position, "len", pos_where)
    unit = _choice(position, "unit", Unit, pos_where)
    if byte_offset < 0 or bit_offset < 0:
        raise ProductDefinitionError(f"{where}: position offsets must be >= 0")
    _check_shape(where, data_type, unit, length, bit_offset)
    point = DataPoint(
        id=point_id,
        name=name,
        display_name=_string(attr, "display_name", where, default=name),
        description=_string(attr, "desc", where, default=""),
        data_type=data_type,
        access=access,
        byte_offset=byte_offset,
        bit_offset=bit_offset,
        length=length,
        unit=unit,
    )
    if data_type is DataType.ENUM:
        point = _with_enum(attr, where, point)
    elif data_type in UINT_WIDTH:
        point = _with_uint_spec(attr, where, point)
    return index, point


def _check_shape(where: str, data_type: DataType, unit: Unit, length: int, bit_offset: int) -> None:
    bit_types = (DataType.BOOL, DataType.ENUM)
    expected_unit = Unit.BIT if data_type in bit_types else Unit.BYTE
    if unit is not expected_unit:
        raise ProductDefinitionError(
            f"{where}: position.unit must be {expected_unit} for {data_type} points"
        )
    if data_type is DataType.BOOL and length != 1:
        raise ProductDefinitionError(f"{where}: position.len must be 1 for bool points")
    if data_type in UINT_WIDTH and length != UINT_WIDTH[data_type]:
        raise ProductDefinitionError(
            f"{where}: position.len must be {UINT_WIDTH[data_type]} for {data_type} points"
        )
    if length < 1:
        raise ProductDefinitionError(f"{where}: position.len must be >= 1")
    if unit is Unit.BYTE and bit_offset != 0:
        raise ProductDefinitionError(f"{where}: position.bit_offset must be 0 for byte fields")


def _with_enum(attr: Mapping[str, object], where: str, point: DataPoint) -> DataPoint:
    options = _list(attr, "enum", where)
    if not options:
        raise ProductDefinitionError(f"{where}: enum must not be empty")
    if not all(isinstance(option, str) for option in options):
        raise ProductDefinitionError(f"{where}: enum options must be strings")
    names = tuple(str(option) for option in options)
    if len(set(names)) != len(names):
        raise ProductDefinitionError(f"{where}: enum options must be distinct")
    if len(names) > 1 << point.length:
        raise ProductDefinitionError(
            f"{where}: {len(names)} enum options do not fit in position.len {point.length} bits"
        )
    return _replace(point, options=names)


def _with_uint_spec(attr: Mapping[str, object], where: str, point: DataPoint) -> DataPoint:
    spec = _mapping(_field(attr, "uint_spec", where), f"{where}: uint_spec")
    spec_where = f"{where}: uint_spec"
    minimum = _integer(spec, "min", spec_where)
    maximum = _integer(spec, "max", spec_where)
    ratio = _number(spec, "ratio", spec_where)
    addition = _number(spec, "addition", spec_where)
    if minimum < 0:
        raise ProductDefinitionError(f"{where}: uint_spec.min must be >= 0")
    if maximum < minimum:
        raise ProductDefinitionError(f"{where}: uint_spec.max must be >= min")
    limit = (1 << (8 * point.length)) - 1
    if maximum > limit:
        raise ProductDefinitionError(
            f"{where}: uint_spec.max {maximum} does not fit in {point.data_type} (max {limit})"
        )
    if ratio <= 0:
        raise ProductDefinitionError(f"{where}: uint_spec.ratio must be > 0")
    return _replace(point, minimum=minimum, maximum=maximum, ratio=ratio, addition=addition)


def _replace(point: DataPoint, **changes: object) -> DataPoint:
    values = {name: getattr(point, name) for name in DataPoint.__dataclass_fields__}
    values.update(changes)
    return DataPoint(**values)


def _check_unique(points: Sequence[tuple[int, DataPoint]]) -> None:
    seen_ids: dict[int, int] = {}
    seen_names: dict[str, int] = {}
    for index, point in points:
        where = _where(index, point.name)
        if point.id in seen_ids:
            raise ProductDefinitionError(
                f"{where}: duplicate id {point.id} (also attrs[{seen_ids[point.id]}])"
            )
        if point.name in seen_names:
            raise ProductDefinitionError(
                f"{where}: duplicate name (also attrs[{seen_names[point.name]}])"
            )
        seen_ids[point.id] = index
        seen_names[point.name] = index


def _check_standard_layout(points: Sequence[tuple[int, DataPoint]]) -> list[tuple[int, DataPoint]]:
    """Sections in ACCESS_ORDER, back to back; each = bit region, then byte fields.

    Returns the points (same order) with bit fields in the header form (module docstring).
    """
    cursor = 0
    normalised: dict[int, DataPoint] = {}
    for access in ACCESS_ORDER:
        section = [(i, p) for i, p in points if p.access is access]
        bits = [(i, p) for i, p in section if p.is_bit_field]
        if bits:
            size, placed = _check_bit_region(bits, cursor, access)
            normalised.update(placed)
            cursor += size
        byte_fields = sorted(
            ((i, p) for i, p in section if not p.is_bit_field), key=lambda item: item[1].byte_offset
        )
        previous: tuple[int, DataPoint] | None = None
        for index, point in byte_fields:
            where = _where(index, point.name)
            if point.byte_offset < cursor and previous is not None:
                other = _where(*_named(previous))
                raise ProductDefinitionError(f"{where}: position overlaps {other}")
            if point.byte_offset != cursor:
                raise ProductDefinitionError(
                    f"{where}: position.byte_offset must be {cursor} "
                    f"({access} byte fields follow its bit region with no gaps)"
                )
            cursor += point.length
            previous = (index, point)
    return [(i, normalised.get(i, p)) for i, p in points]


def _named(item: tuple[int, DataPoint]) -> tuple[int, str]:
    return item[0], item[1].name


def _check_bit_region(
    bits: Sequence[tuple[int, DataPoint]], start: int, access: Access
) -> tuple[int, dict[int, DataPoint]]:
    """Validate one bit region starting at ``start``: its length in bytes, its points normalised.

    A point's byte_offset is read in the console form (``start``) or the header form
    (``start + bit_offset // 8``); the two agree below bit 8.
    """
    taken: list[tuple[int, int, tuple[int, DataPoint]]] = []
    placed: dict[int, DataPoint] = {}
    for index, point in bits:
        where = _where(index, point.name)
        holding = start + point.bit_offset // 8
        if point.byte_offset not in {start, holding}:
            forms = (
                f"{start}"
                if holding == start
                else f"{start} (console form) or {holding} (MCU SDK header form)"
            )
            raise ProductDefinitionError(
                f"{where}: position.byte_offset must be {forms} "
                f"(bit {point.bit_offset} of the {access} bit region, which starts at byte {start})"
            )
        low, high = point.bit_offset, point.bit_offset + point.length
        for other_low, other_high, other in taken:
            if low < other_high and other_low < high:
                raise ProductDefinitionError(f"{where}: position overlaps {_where(*_named(other))}")
        taken.append((low, high, (index, point)))
        placed[index] = (
            point if point.byte_offset == holding else _replace(point, byte_offset=holding)
        )
    return (max(high for _, high, _ in taken) + 7) // 8, placed
