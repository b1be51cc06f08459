"""Product definitions shared by the P0 tests (protocol.md §5).

Sources the shapes follow (cited as [KEY] in the tests):

- [PET] github.com/Apollon77/node-ph803w, wireshark/gizwits_gizkit_soc_pet.lua: a real standard
  export ("My WeChat Pet House SOC", packetVersion "0x00000004", protocolType "standard") fetched
  from api.gizwits.com/app/datapoint; its "ui" section shows the shown ranges the app derives
  from uint_spec (Motor_Speed -5..5 from min 0, max 10, addition -5).
- [VSMART] github.com/HateBaozi/ha-vaillant-vsmart-cn, README.md: a real ``var_len`` export
  (every position is byte_offset 0 / bit_offset 0; uint_spec ratios 0.1 and 0.5).
- [SDK] Gizwits MCU/SoC SDK V03030000 (code the Gizwits console generates): gizwits_protocol.h
  ``actionType_t`` (0x01-0x06; var_len builds 0x11-0x14), gizwits_protocol.c
  gizDataPoints2ReportData / gizDataPoint2Event, dataPointTools.c gizByteOrderExchange,
  gizAcrossByteJudge, gizStandardCompressValue, gizVarlenCompressValue, gizX2Y / gizY2X; a
  generated gizwits_product.h for 16 read-only bools DI1..DI16 with DI8 at BYTEOFFSET 22 /
  BITOFFSET 7 and DI9 at BYTEOFFSET 23 / BITOFFSET 8.
- [GOKIT] github.com/gitdreambox/gokit-soc-esp8266, app/Gizwits/gizwits_protocol.c: X2Y
  (y = k * x + m), Y2X (x = (y - m) / k), gizIssuedProcess switching on inData[0].

The JSON here is rebuilt with ``attr()`` in the console's shape, not copied.
"""

from pathlib import Path
from typing import Any

from custom_components.gizwits_device.protocol.product import ProductModel

PRODUCTS_DIR = Path(__file__).parents[2] / "custom_components" / "gizwits_device" / "products"

type Json = dict[str, Any]


def attr(  # noqa: PLR0917 - positional offsets keep the tables below readable
    point_id: int,
    name: str,
    data_type: str,
    access: str,
    byte_offset: int = 0,
    bit_offset: int = 0,
    length: int = 1,
    *,
    spec: tuple[float, float, float, float] | None = None,
    options: list[str] | None = None,
) -> Json:
    """One ``attrs`` entry; spec = (min, max, ratio, addition)."""
    unit = "bit" if data_type in ("bool", "enum") else "byte"
    entry: Json = {
        "display_name": name.replace("_", " "),
        "name": name,
        "data_type": data_type,
        "position": {
            "byte_offset": byte_offset,
            "unit": unit,
            "len": length,
            "bit_offset": bit_offset,
        },
        "type": access,
        "id": point_id,
        "desc": "",
    }
    if spec is not None:
        low, high, ratio, addition = spec
        entry["uint_spec"] = {"addition": addition, "max": high, "ratio": ratio, "min": low}
    if options is not None:
        entry["enum"] = options
    return entry


def product(attrs: list[Json], protocol: str = "standard", name: str = "Test") -> Json:
    """A whole export around ``attrs``."""
    return {
        "name": name,
        "packetVersion": "0x00000004",
        "protocolType": protocol,
        "product_key": "0123456789abcdef0123456789abcdef",
        "entities": [{"display_name": name, "attrs": attrs, "name": "entity0", "id": 0}],
    }


W, R, A, F = "status_writable", "status_readonly", "alert", "fault"

# [PET]: same ids, types, positions and uint_spec as the real export.
PET_HOUSE = product(
    [
        attr(0, "LED_OnOff", "bool", W, 0, 0),
        attr(1, "LED_Color", "enum", W, 0, 1, 2, options=["Customize", "Yellow", "Purple", "Pink"]),
        attr(2, "LED_R", "uint8", W, 1, spec=(0, 254, 1, 0)),
        attr(3, "LED_G", "uint8", W, 2, spec=(0, 254, 1, 0)),
        attr(4, "LED_B", "uint8", W, 3, spec=(0, 254, 1, 0)),
        attr(5, "Motor_Speed", "uint8", W, 4, spec=(0, 10, 1, -5)),
        attr(6, "Infrared", "bool", R, 5, 0),
        attr(7, "Temperature", "uint8", R, 6, spec=(0, 200, 1, -13)),
        attr(8, "Humidity", "uint8", R, 7, spec=(0, 100, 1, 0)),
        attr(9, "Alert_1", "bool", A, 8, 0),
        attr(10, "Alert_2", "bool", A, 8, 1),
        attr(11, "Fault_LED", "bool", F, 9, 0),
        attr(12, "Fault_Motor", "bool", F, 9, 1),
        attr(13, "Fault_TemHum", "bool", F, 9, 2),
        attr(14, "Fault_IR", "bool", F, 9, 3),
    ],
    name="My WeChat Pet House SOC",
)

# A standard product whose writable bit region spans two bytes, with an enum across the byte
# boundary (gizAcrossByteJudge's "cross byte" case), plus 16 read-only bools like [SDK]'s DI1..16,
# a uint32 and a binary.
WIDE_BITS = product(
    [
        *(attr(i, f"a{i}", "bool", W, 0, i) for i in range(7)),
        attr(7, "level", "enum", W, 0, 7, 2, options=["off", "low", "mid", "high"]),
        attr(8, "b0", "bool", W, 0, 9),
        attr(9, "speed", "uint8", W, 2, spec=(0, 255, 1, 0)),
        *(attr(10 + i, f"DI{i + 1}", "bool", R, 3, i) for i in range(16)),
        attr(26, "counter", "uint32", R, 5, length=4, spec=(0, 4294967295, 1, 0)),
        attr(27, "blob", "binary", R, 9, length=4),
    ],
    name="Wide bits",
)

# [VSMART]-shaped var_len product: zero positions, fractional ratios, mixed access order.
BOILER = product(
    [
        attr(0, "Heating_Enable", "bool", W),
        attr(1, "Brand", "enum", R, length=3, options=[f"b{i}" for i in range(7)]),
        attr(2, "Heating_Curve", "uint8", W, spec=(0, 100, 0.1, 0)),
        attr(3, "Room_Setpoint", "uint8", W, spec=(0, 50, 0.5, 5)),
        attr(4, "Flow_Temp", "uint16", R, length=2, spec=(0, 1000, 0.1, -20)),
        attr(5, "DHW_Function", "enum", W, length=2, options=["warm", "tank", "none", "unset"]),
        attr(6, "Serial", "binary", R, length=3),
        attr(7, "Burner_Fault", "bool", F),
    ],
    protocol="var_len",
    name="vSmart-like",
)


def load(name: str) -> ProductModel:
    """One of the shipped example products."""
    return ProductModel.from_json((PRODUCTS_DIR / f"{name}.json").read_text(encoding="utf-8"))


def models() -> dict[str, ProductModel]:
    """Every product the tests use, by name."""
    return {
        "smart_plug": load("smart_plug"),
        "dimmable_light": load("dimmable_light"),
        "pet_house": ProductModel.from_json(PET_HOUSE),
        "wide_bits": ProductModel.from_json(WIDE_BITS),
        "boiler": ProductModel.from_json(BOILER),
    }
