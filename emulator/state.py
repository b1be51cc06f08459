"""The emulated cloud's GService state: products, devices, OTA offers, M2M endpoint, faults.

Gizwits-side facts it mimics (see also docs in custom_components/.../protocol/gservice.py):
- DIDs are 22 characters. Every DID seen in public GAgent samples (e.g.
  `GdzuSRncfDPGHGo2LxwgM2`, `DrfomHVPFi7ALnZrA6NE6R`) fits the `shortuuid` alphabet (base57:
  no 0, 1, I, O, l) that a 22-character shortuuid of a UUID4 produces; Gizwits' API is Django.
- Error codes are Gizwits' GIZ_OPENAPI_* values (9002, 9014, 9015, 9016, 9023, 9027) and the
  two v4.1 "no update" answers the Linux GAgent recognises (9500, 9502).

Emulator decision (Gizwits does not document it): registering a product_key + MAC whose DID is
still enabled returns the *same* DID and replaces its passcode (GAgent makes a fresh passcode
after every reset and registers again); if that DID was disabled, a *new* DID is issued.
Either way listeners get a `registered` event with the current passcode.

Every product has a Product Secret for the safe calls (protocol.md §9): the one the operator
gave, else one derived from the product key (so a restarted emulator keeps it). Each device
records which API (`plain` or `safe`) it last registered and provisioned with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
import hashlib
import logging
import secrets
import time
from typing import Literal

_LOGGER = logging.getLogger(__name__)

DID_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
DID_LENGTH = 22

ERROR_PRODUCT_KEY_INVALID = 9002
ERROR_DEVICE_NOT_FOUND = 9014
ERROR_FORM_INVALID = 9015
ERROR_DID_PASSCODE_INVALID = 9016
ERROR_DEVICE_DISABLED = 9023
ERROR_FIRMWARE_NOT_FOUND = 9027
ERROR_OTA_NO_PUSH_RULE = 9500
ERROR_OTA_ALREADY_UPGRADED = 9502

# Endpoint names used for fault injection.
ENDPOINTS = frozenset(
    {"register", "disable", "provision", "ota_target_fid", "ota_update_and_check", "firmware"}
)
type FaultKind = Literal["status", "garbage", "hang", "stall"]
FAULT_KINDS: frozenset[str] = frozenset({"status", "garbage", "hang", "stall"})


class CloudError(Exception):
    """A Gizwits-style refusal: answered as HTTP `status` with a JSON error body."""

    def __init__(self, error_code: int, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message
        self.status = status


def default_product_secret(product_key: str) -> str:
    """A product's secret when the operator gives none: stable for the product key."""
    seed = f"gizwits-emulator product secret {product_key.lower()}".encode()
    return hashlib.sha256(seed).hexdigest()[:32]


def generate_did() -> str:
    """A random 22-character DID in the shortuuid alphabet."""
    return "".join(secrets.choice(DID_ALPHABET) for _ in range(DID_LENGTH))


@dataclass(slots=True)
class Device:
    """A registered device. `versions[firmware_type] = (hard_version, soft_version)`."""

    did: str
    passcode: str
    product_key: str
    mac: str
    enabled: bool = True
    versions: dict[int, tuple[str, str]] = field(default_factory=dict)
    current_fid: dict[int, int] = field(default_factory=dict)
    # {"register" | "provision": the API used last}
    apis: dict[str, Api] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DeviceEvent:
    """Told to listeners: a device was registered (or got a new passcode) or disabled."""

    kind: Literal["registered", "disabled"]
    did: str
    passcode: str
    product_key: str
    mac: str
    api: Api = "plain"


@dataclass(frozen=True, slots=True)
class FirmwareOffer:
    """A firmware the operator offers. `hard_version=None` matches every hardware."""

    firmware_type: int
    soft_version: str
    data: bytes
    target_fid: int = 0
    hard_version: str | None = None
    md5: str = field(init=False)

    def __post_init__(self) -> None:
        if self.firmware_type not in (1, 2):
            raise ValueError("firmware_type must be 1 (WiFi) or 2 (MCU)")
        object.__setattr__(self, "md5", hashlib.md5(self.data, usedforsecurity=False).hexdigest())


@dataclass(slots=True)
class Fault:
    """An injected misbehaviour for the next `count` requests on one endpoint."""

    kind: FaultKind
    count: int = 1
    status: int = 500


type Api = Literal["plain", "safe"]
type DeviceListener = Callable[[DeviceEvent], None]


class CloudState:
    """Everything the emulated GService knows. Single event loop; no locking needed."""

    def __init__(
        self,
        *,
        products: dict[str, str] | None = None,
        m2m_host: str = "127.0.0.1",
        m2m_port: int = 1883,
    ) -> None:
        self.products: dict[str, str] = {}
        self.product_secrets: dict[str, str] = {}
        for product_key, name in (products or {}).items():
            self.add_product(product_key, name)
        self.devices: dict[str, Device] = {}
        self.m2m_host = m2m_host
        self.m2m_port = m2m_port
        # Extra `key=value` pairs appended to provision answers (clients must ignore them).
        self.m2m_extra: dict[str, str] = {}
        self.faults: dict[str, list[Fault]] = {}
        self._offers: dict[tuple[str, int], FirmwareOffer] = {}
        self._next_fid = 1000
        self._listeners: list[DeviceListener] = []
        # (call, DID, API) of every successful register and provision, oldest first.
        self.api_calls: list[tuple[str, str, Api]] = []

    # Products ---------------------------------------------------------------------------

    def add_product(self, product_key: str, name: str = "", secret: str | None = None) -> None:
        """Make a product key known (the operator's "create product") with its secret."""
        product_key = product_key.lower()
        self.products[product_key] = name
        if secret is not None:
            if len(secret) != 32 or any(c not in "0123456789abcdefABCDEF" for c in secret):
                raise ValueError("a product secret is 32 hex digits")
            self.product_secrets[product_key] = secret.lower()
        else:
            self.product_secrets.setdefault(product_key, default_product_secret(product_key))

    def product_secret(self, product_key: str) -> str:
        """The secret of a known product, else the "product key invalid" refusal."""
        secret = self.product_secrets.get(product_key.lower())
        if secret is None:
            raise CloudError(ERROR_PRODUCT_KEY_INVALID, "product_key invalid!")
        return secret

    # Listeners --------------------------------------------------------------------------

    def add_listener(self, callback: DeviceListener) -> Callable[[], None]:
        """Call `callback` on every device event; returns a function that removes it."""
        self._listeners.append(callback)

        def remove() -> None:
            if callback in self._listeners:
                self._listeners.remove(callback)

        return remove

    def _emit(
        self, kind: Literal["registered", "disabled"], device: Device, api: Api = "plain"
    ) -> None:
        event = DeviceEvent(kind, device.did, device.passcode, device.product_key, device.mac, api)
        for callback in list(self._listeners):
            try:
                callback(event)
            except Exception:
                _LOGGER.exception("device listener failed on %s", event)

    # Devices ----------------------------------------------------------------------------

    def find(self, product_key: str, mac: str) -> Device | None:
        """The enabled device registered for product_key + MAC, if any."""
        for device in self.devices.values():
            if device.enabled and device.product_key == product_key and device.mac == mac:
                return device
        return None

    def register(self, product_key: str, mac: str, passcode: str, *, api: Api = "plain") -> Device:
        """Register (or re-register, see module doc) a device through `api`; returns it."""
        product_key = product_key.lower()
        mac = mac.upper()
        if product_key not in self.products:
            raise CloudError(ERROR_PRODUCT_KEY_INVALID, "product_key invalid!")
        device = self.find(product_key, mac)
        if device is None:
            did = generate_did()
            while did in self.devices:  # pragma: no cover - 57**22 space
                did = generate_did()
            device = Device(did, passcode, product_key, mac)
            self.devices[did] = device
        else:
            device.passcode = passcode
        self.record_call("register", device, api)
        self._emit("registered", device, api)
        return device

    def record_call(self, call: Literal["register", "provision"], device: Device, api: Api) -> None:
        """Remember which API a device used for `call` (the operator's view and the log)."""
        device.apis[call] = api
        self.api_calls.append((call, device.did, api))
        _LOGGER.info("device %s: %s through the %s API", device.did, call, api)

    def authenticate(self, did: str, passcode: str) -> Device:
        """The enabled device with this DID and passcode, else a CloudError."""
        device = self.devices.get(did)
        if device is None:
            raise CloudError(ERROR_DEVICE_NOT_FOUND, "device not found!")
        if not secrets.compare_digest(device.passcode, passcode):
            raise CloudError(ERROR_DID_PASSCODE_INVALID, "did or passcode invalid!")
        if not device.enabled:
            raise CloudError(ERROR_DEVICE_DISABLED, "device is disabled!")
        return device

    def lookup(self, did: str) -> Device:
        """The enabled device with this DID (no passcode check, as provision has none)."""
        device = self.devices.get(did)
        if device is None:
            raise CloudError(ERROR_DEVICE_NOT_FOUND, "device not found!")
        if not device.enabled:
            raise CloudError(ERROR_DEVICE_DISABLED, "device is disabled!")
        return device

    def disable(self, did: str, passcode: str) -> Device:
        """Disable a DID (device reset). The record stays, marked disabled."""
        device = self.authenticate(did, passcode)
        device.enabled = False
        self._emit("disabled", device)
        return device

    # OTA offers -------------------------------------------------------------------------

    def set_offer(
        self, offer: FirmwareOffer, *, product_key: str | None = None, did: str | None = None
    ) -> FirmwareOffer:
        """Offer firmware to a whole product or to one DID (a DID offer wins).

        A `target_fid` of 0 gets a fresh id. Returns the stored offer.
        """
        if did is not None and product_key is None:
            scope = f"did:{did}"
        elif product_key is not None and did is None:
            scope = f"pk:{product_key.lower()}"
        else:
            raise ValueError("give exactly one of product_key or did")
        if offer.target_fid == 0:
            self._next_fid += 1
            offer = replace(offer, target_fid=self._next_fid)
        self._offers[(scope, offer.firmware_type)] = offer
        return offer

    def clear_offers(self) -> None:
        """Withdraw every offer."""
        self._offers.clear()

    def offer_for(self, device: Device, firmware_type: int) -> FirmwareOffer | None:
        """The offer that applies to `device` for `firmware_type`, if any."""
        for scope in (f"did:{device.did}", f"pk:{device.product_key}"):
            offer = self._offers.get((scope, firmware_type))
            if offer is None:
                continue
            reported = device.versions.get(firmware_type)
            if offer.hard_version is not None and (
                reported is None or reported[0] != offer.hard_version
            ):
                continue
            return offer
        return None

    def offer_by_fid(self, fid: int) -> FirmwareOffer | None:
        """The offer with this firmware id (for downloads)."""
        for offer in self._offers.values():
            if offer.target_fid == fid:
                return offer
        return None

    # Faults -----------------------------------------------------------------------------

    def inject_fault(
        self, endpoint: str, kind: FaultKind, *, count: int = 1, status: int = 500
    ) -> None:
        """Make the next `count` requests on `endpoint` misbehave.

        kinds: `status` (answer `status` with a plain body), `garbage` (200 with an
        undecodable body), `hang` (never answer), `stall` (firmware only: send half the body,
        then never finish).
        """
        if endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}")
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}")
        if count < 1:
            raise ValueError("count must be >= 1")
        self.faults.setdefault(endpoint, []).append(Fault(kind, count, status))

    def clear_faults(self) -> None:
        """Remove every pending fault."""
        self.faults.clear()

    def take_fault(self, endpoint: str) -> Fault | None:
        """Consume one use of the oldest pending fault on `endpoint`."""
        queue = self.faults.get(endpoint)
        if not queue:
            return None
        fault = queue[0]
        fault.count -= 1
        if fault.count <= 0:
            queue.pop(0)
        return fault

    # Misc -------------------------------------------------------------------------------

    @staticmethod
    def server_ts() -> int:
        """The server timestamp handed out in provision answers."""
        return int(time.time())
