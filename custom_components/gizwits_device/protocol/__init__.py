"""Gizwits device library: be a Gizwits device towards GService, M2M and apps.

Pure asyncio, no Home Assistant imports. This module is the public API; the submodules hold
the wire-level details and are imported directly only by the library's own tests and tools:
`frame_fields` / `frames` / `frame_codec` (cloud frames), `topics`, `p0_messages` / `p0`
(data-point payloads), `product` / `product_import` (product definitions), `gservice_wire` /
`gservice` (GService HTTP), `session` / `session_state` / `commands` / `mqtt_client` (M2M),
`firmware`, `lan`.

- `GServiceClient`: register / disable / provision / OTA checks over HTTP (with a Product
  Secret, the encrypted register and provision).
- `M2MSession`: the MQTT session (`connect()` once, or `run()` with reconnects), app commands
  answered by one `set_command_handler()` callback, frames for listeners.
- `P0Codec` over a `ProductModel`: the data-point payloads apps send and receive.
- `download_firmware`: size-capped, MD5-checked firmware download.
- `device`: the device as one object (`device.Device`): session, commands, data points with
  their report pacing, firmware offers and downloads, LAN membership; immutable states for
  listeners and a separate command stream, persisted through an injected `DeviceStore`.
- `download_product_definition`: a product's data points from the Open API (`/app/datapoint`).
- `lan`: the device's side towards apps on the local network (its own namespace: discovery,
  binding window, TCP server for several devices).
Every error is a `GizwitsError`.
"""

from . import lan
from .commands import AppCommand, CommandSource
from .errors import GizwitsError, GizwitsValueError
from .firmware import DownloadedFirmware, FirmwareError, download_firmware
from .frame_fields import MAX_PAYLOAD, FirmwareType, FrameError, LogLevel
from .frames import (
    AckedPassthrough,
    AppPassthrough,
    DeviceLog,
    OnlineAppCount,
    OtaCheckNotification,
    OtaNotification,
    SetLogLevel,
)
from .gservice import GServiceClient
from .gservice_wire import (
    REGIONS,
    GServiceCannotConnect,
    GServiceError,
    GServiceInvalidCredentials,
    GServiceMalformedResponse,
    GServiceRejected,
    GServiceSecretMismatch,
    GServiceServerError,
    GServiceTimeout,
    GServiceUnknownProduct,
    M2MEndpoint,
    normalize_base_url,
    normalize_mac,
    normalize_version,
    validate_did,
    validate_passcode,
    validate_product_key,
)
from .p0 import P0Codec
from .p0_messages import (
    Control,
    P0Action,
    P0Error,
    P0FlagError,
    P0Message,
    P0PointError,
    ReadReply,
    ReadRequest,
    StatusReport,
    Value,
)
from .product import Access, DataPoint, DataType, ProductDefinitionError, ProductModel
from .product_download import (
    ProductDownloadError,
    ProductDownloadRefused,
    download_product_definition,
)
from .product_secret import validate_product_secret
from .session import M2MSession
from .session_state import (
    AckTimeoutError,
    ConnectionState,
    ConnectionStatus,
    HeartbeatLostError,
    M2MAuthenticationError,
    M2MError,
    M2MNotConnectedError,
    M2MTimeoutError,
    M2MUnreachableError,
    ReceivedFrame,
    SessionTiming,
)

__all__ = [
    "MAX_PAYLOAD",
    "REGIONS",
    "Access",
    "AckTimeoutError",
    "AckedPassthrough",
    "AppCommand",
    "AppPassthrough",
    "CommandSource",
    "ConnectionState",
    "ConnectionStatus",
    "Control",
    "DataPoint",
    "DataType",
    "DeviceLog",
    "DownloadedFirmware",
    "FirmwareError",
    "FirmwareType",
    "FrameError",
    "GServiceCannotConnect",
    "GServiceClient",
    "GServiceError",
    "GServiceInvalidCredentials",
    "GServiceMalformedResponse",
    "GServiceRejected",
    "GServiceSecretMismatch",
    "GServiceServerError",
    "GServiceTimeout",
    "GServiceUnknownProduct",
    "GizwitsError",
    "GizwitsValueError",
    "HeartbeatLostError",
    "LogLevel",
    "M2MAuthenticationError",
    "M2MEndpoint",
    "M2MError",
    "M2MNotConnectedError",
    "M2MSession",
    "M2MTimeoutError",
    "M2MUnreachableError",
    "OnlineAppCount",
    "OtaCheckNotification",
    "OtaNotification",
    "P0Action",
    "P0Codec",
    "P0Error",
    "P0FlagError",
    "P0Message",
    "P0PointError",
    "ProductDefinitionError",
    "ProductDownloadError",
    "ProductDownloadRefused",
    "ProductModel",
    "ReadReply",
    "ReadRequest",
    "ReceivedFrame",
    "SessionTiming",
    "SetLogLevel",
    "StatusReport",
    "Value",
    "download_firmware",
    "download_product_definition",
    "lan",
    "normalize_base_url",
    "normalize_mac",
    "normalize_version",
    "validate_did",
    "validate_passcode",
    "validate_product_key",
    "validate_product_secret",
]
