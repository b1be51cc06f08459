"""The one LAN service of Home Assistant: Gizwits apps on the local network (GAgent's LAN side).

Every config entry that answers apps on the local network adds its device to one shared
service (hass.data): one TCP listener routes each login to the device whose passcode it
carries, one UDP responder answers discovery once per device, and each device announces itself
with the start-up broadcast when it joins. Listening starts with the first device and stops
with the last. TCP and the broadcasts use the interfaces the entries chose, or else the
adapters enabled in Home Assistant's network settings; the UDP responder binds the wildcard
address, the only way to hear the apps' broadcasts. Every status report to all apps is also
broadcast on UDP 12414 (``0x0091 | 06 <MAC> | report``, protocol.md §8) unless the entry's
options turn that off.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Interface
import logging

from homeassistant.components import network
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN, REPORT_MIN_INTERVAL
from .protocol import P0Action, lan as gizwits_lan
from .protocol.device import LanState

_LOGGER = logging.getLogger(__name__)

DATA_LAN: HassKey[GizwitsLanService] = HassKey(f"{DOMAIN}_lan")

# Repair issues of the service (not of one entry): translation key per failure kind.
ISSUE_LAN_PORT_IN_USE = "lan_port_in_use"
ISSUE_LAN_BIND_FAILED = "lan_bind_failed"
NO_INTERFACE = "no enabled network interface has an IPv4 address"
# P0 actions of a status report: the payloads the UDP status broadcast carries.
_STATUS_REPORTS = frozenset({P0Action.REPORT, P0Action.VARLEN_REPORT})


@dataclass(frozen=True, slots=True)
class LanPorts:
    """Where the service listens and announces; tests bind loopback on free ports."""

    discovery: int = gizwits_lan.DEFAULT_DISCOVERY_PORT
    broadcast: int = gizwits_lan.DEFAULT_BROADCAST_PORT
    tcp: int = gizwits_lan.DEFAULT_TCP_PORT
    # The wildcard address is the only one that hears broadcasts (see the module docstring).
    discovery_host: str = "0.0.0.0"  # noqa: S104
    broadcast_count: int = 30
    broadcast_interval: float = 1.0
    # Where status reports are broadcast (real devices: the discovery port).
    status_broadcast: int = gizwits_lan.DEFAULT_DISCOVERY_PORT
    # TCP silence that closes a logged-in client, and the time to log in (protocol.md §8).
    heartbeat_timeout: float = gizwits_lan.DEFAULT_HEARTBEAT_TIMEOUT
    login_timeout: float = gizwits_lan.DEFAULT_LOGIN_TIMEOUT
    # "address/prefix" interfaces to use instead of HA's network settings and the options
    # (None: those); a harness without HA's network integration pins loopback here.
    interfaces: tuple[str, ...] | None = None


LAN_PORTS = LanPorts()


async def async_lan_interfaces(
    hass: HomeAssistant, names: Iterable[str] = ()
) -> dict[str, IPv4Interface]:
    """IPv4 address -> interface of the chosen adapters (none chosen: the enabled ones)."""
    if LAN_PORTS.interfaces is not None:
        return {str(i.ip): i for i in map(IPv4Interface, LAN_PORTS.interfaces)}
    chosen = set(names)
    return {
        ip["address"]: IPv4Interface(f"{ip['address']}/{ip['network_prefix']}")
        for adapter in await network.async_get_adapters(hass)
        if (adapter["name"] in chosen if chosen else adapter["enabled"])
        for ip in adapter["ipv4"]
    }


@dataclass(slots=True)
class _Member:
    """One entry's device in the service."""

    device: gizwits_lan.LanDevice
    interfaces: dict[str, IPv4Interface]
    changed: Callable[[LanState], None]
    # None while the entry's options turn the UDP status broadcast off.
    status_broadcaster: gizwits_lan.StatusBroadcaster | None = None
    unsubscribe: list[Callable[[], None]] = field(default_factory=list)


@callback
def async_get_lan_service(hass: HomeAssistant) -> GizwitsLanService:
    """The service of this Home Assistant (created idle on first use, kept while HA runs)."""
    if (service := hass.data.get(DATA_LAN)) is None:
        service = hass.data[DATA_LAN] = GizwitsLanService(hass)
    return service


class GizwitsLanService:
    """TCP server, discovery responder and start-up broadcasts shared by every entry."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.hass = hass
        self.stats = gizwits_lan.LanStats()
        self._rate_limiter = gizwits_lan.LoginRateLimiter()
        self._members: dict[str, _Member] = {}
        self._server: gizwits_lan.LanServer | None = None
        self._server_hosts: tuple[str, ...] = ()
        self._responder: gizwits_lan.DiscoveryResponder | None = None
        self._errors: dict[str, str] = {}  # "tcp" / "udp" -> why it is not listening
        self._broadcasts: dict[str, asyncio.Task[None]] = {}
        self._lock = asyncio.Lock()

    # -- members -------------------------------------------------------------------------

    async def async_add(
        self,
        entry_id: str,
        device: gizwits_lan.LanDevice,
        interfaces: dict[str, IPv4Interface],
        changed: Callable[[LanState], None],
        *,
        status_broadcast: bool = True,
    ) -> None:
        """Serve an entry's device; raises LanConfigError when its DID or passcode is served.

        With `status_broadcast`, status reports also go to UDP 12414 on the broadcast
        addresses of `interfaces`.
        """
        async with self._lock:
            member = _Member(device, interfaces, changed)
            if self._server is not None:
                self._server.add_device(device)  # checks DID and passcode against the others
            if status_broadcast:
                self._open_status_broadcaster(member)
            self._members[entry_id] = member
            member.unsubscribe.append(device.binding.add_listener(lambda _: self._notify()))
            await self._async_listen()
            self._start_broadcast(entry_id, member)
        self._notify()

    def set_status_broadcast(self, entry_id: str, on: bool) -> None:
        """Turn an entry's UDP status broadcast on or off in place: its LAN apps stay."""
        member = self._members[entry_id]
        if not on and member.status_broadcaster is not None:
            member.status_broadcaster.close()
            member.status_broadcaster = None
        elif on and member.status_broadcaster is None:
            self._open_status_broadcaster(member)

    def _open_status_broadcaster(self, member: _Member) -> None:
        member.status_broadcaster = gizwits_lan.StatusBroadcaster(
            member.device.announcement.mac,
            _broadcast_addresses(member.interfaces),
            port=LAN_PORTS.status_broadcast,
            min_interval=REPORT_MIN_INTERVAL,
            stats=self.stats,
        )

    async def async_remove(self, entry_id: str) -> None:
        """Stop serving an entry's device (one async_add served); the last one stops the service."""
        async with self._lock:
            member = self._members.pop(entry_id)
            if (task := self._broadcasts.pop(entry_id, None)) is not None:
                task.cancel()
            for unsubscribe in member.unsubscribe:
                unsubscribe()
            if member.status_broadcaster is not None:
                member.status_broadcaster.close()
            member.device.binding.close()
            # async_add made the server; only _async_stop, once no member is left, drops it.
            assert self._server is not None
            self._server.remove_device(member.device.did)
            if self._members:
                await self._async_listen()
            else:
                await self._async_stop()
        self._notify()

    def send_to_all(self, did: str, payload: bytes) -> int:
        """0x0091 to every LAN app logged in to this device; how many it went to.

        A status report (P0 0x04/0x14) is also broadcast on UDP (protocol.md §8), for apps
        listening without a session; they are not counted.
        """
        if payload[:1] and payload[0] in _STATUS_REPORTS:
            for member in self._members.values():
                if member.device.did == did and member.status_broadcaster is not None:
                    member.status_broadcaster.send(payload)
        return 0 if self._server is None else self._server.send_to_all(did, payload)

    def state(self, entry_id: str) -> LanState:
        """What the entry's entities show."""
        member = self._members[entry_id]
        did = member.device.did
        server = self._server
        return LanState(
            listening=self.listening,
            error="; ".join(self._errors.values()) or None,
            clients=tuple(server.logged_in_clients(did)) if server is not None else (),
            binding=member.device.binding.is_open,
        )

    @property
    def listening(self) -> bool:
        """True while both the TCP listener and the discovery responder are bound."""
        return bool(
            self._server is not None
            and self._server.listening
            and self._responder is not None
            and self._responder.listening
        )

    @property
    def tcp_port(self) -> int:
        """The bound TCP port (LAN_PORTS.tcp until bound)."""
        return LAN_PORTS.tcp if self._server is None else self._server.port

    @property
    def discovery_port(self) -> int:
        """The bound UDP discovery port (LAN_PORTS.discovery until bound)."""
        return LAN_PORTS.discovery if self._responder is None else self._responder.port

    def diagnostics(self) -> dict[str, object]:
        """Listening state, why not, addresses, ports and counters."""
        return {
            "listening": self.listening,
            "errors": dict(self._errors),
            "tcp": {"hosts": list(self._server_hosts), "port": self.tcp_port},
            "udp": {"host": LAN_PORTS.discovery_host, "port": self.discovery_port},
            "devices": len(self._members),
            "stats": self.stats.as_dict(),
        }

    @callback
    def _notify(self, did: str | None = None) -> None:
        for entry_id, member in self._members.items():
            if did is None or member.device.did == did:
                member.changed(self.state(entry_id))

    # -- listening -----------------------------------------------------------------------

    def _interfaces(self) -> dict[str, IPv4Interface]:
        merged: dict[str, IPv4Interface] = {}
        for member in self._members.values():
            merged.update(member.interfaces)
        return merged

    async def _async_listen(self) -> None:
        """Bind what is not bound yet; rebind TCP when the interfaces changed."""
        hosts = tuple(sorted(self._interfaces()))
        server = self._server
        if server is None or hosts != self._server_hosts or not server.listening:
            if server is not None:
                await server.stop()
            server = self._server = gizwits_lan.LanServer(
                hosts=hosts,
                port=LAN_PORTS.tcp,
                heartbeat_timeout=LAN_PORTS.heartbeat_timeout,
                login_timeout=LAN_PORTS.login_timeout,
                rate_limiter=self._rate_limiter,
                stats=self.stats,
            )
            self._server_hosts = hosts
            for member in self._members.values():
                server.add_device(member.device)
            server.add_clients_listener(lambda did, _count: self._notify(did))
            if hosts:
                await self._async_bind("tcp", server.start)
            else:
                self._errors["tcp"] = NO_INTERFACE
                _LOGGER.warning("Gizwits LAN service not listening: %s", NO_INTERFACE)
        if self._responder is None or not self._responder.listening:
            self._responder = gizwits_lan.DiscoveryResponder(
                lambda: [m.device.announcement for m in self._members.values()],
                hosts=(LAN_PORTS.discovery_host,),
                port=LAN_PORTS.discovery,
                stats=self.stats,
            )
            await self._async_bind("udp", self._responder.start)

    async def _async_bind(self, transport: str, start: Callable[[], Awaitable[None]]) -> None:
        issue_id = f"lan_{transport}"
        try:
            await start()
        except gizwits_lan.LanBindError as err:
            self._errors[transport] = str(err)
            _LOGGER.warning("Gizwits LAN service: %s", err)
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key=ISSUE_LAN_PORT_IN_USE
                if isinstance(err, gizwits_lan.LanPortInUseError)
                else ISSUE_LAN_BIND_FAILED,
                translation_placeholders={
                    "transport": transport.upper(),
                    "port": str(err.port),
                    "error": str(err),
                },
            )
            return
        self._errors.pop(transport, None)
        ir.async_delete_issue(self.hass, DOMAIN, issue_id)

    async def _async_stop(self) -> None:
        """Unbind; the last member has left (async_remove cancelled its broadcast)."""
        server, responder = self._server, self._responder
        # Both exist while a member is served: _async_listen makes them whether they bind or not.
        assert server is not None
        assert responder is not None
        await server.stop()
        responder.stop()
        self._server = self._responder = None
        self._server_hosts = ()
        self._errors.clear()
        for transport in ("tcp", "udp"):
            ir.async_delete_issue(self.hass, DOMAIN, f"lan_{transport}")

    # -- start-up broadcast --------------------------------------------------------------

    def _start_broadcast(self, entry_id: str, member: _Member) -> None:
        """0x0005 for this device to the broadcast address of each of its interfaces."""
        addresses = _broadcast_addresses(member.interfaces)
        if not addresses or self._server is None or not self._server.listening:
            return
        announcement: gizwits_lan.DeviceAnnouncement = member.device.announcement
        task = self.hass.async_create_background_task(
            self._async_broadcast(entry_id, [announcement], addresses),
            f"{DOMAIN} LAN start-up broadcast",
        )
        # Started eagerly: one that failed at once (no socket) has ended already.
        if not task.done():
            self._broadcasts[entry_id] = task

    async def _async_broadcast(
        self,
        entry_id: str,
        announcements: list[gizwits_lan.DeviceAnnouncement],
        addresses: list[str],
    ) -> None:
        try:
            await gizwits_lan.send_startup_broadcasts(
                lambda: announcements,
                addresses,
                port=LAN_PORTS.broadcast,
                count=LAN_PORTS.broadcast_count,
                interval=LAN_PORTS.broadcast_interval,
                stats=self.stats,
            )
        except OSError as err:
            _LOGGER.debug("Gizwits LAN start-up broadcast failed: %s", err)
        finally:
            if self._broadcasts.get(entry_id) is asyncio.current_task():
                del self._broadcasts[entry_id]


def _broadcast_addresses(interfaces: dict[str, IPv4Interface]) -> list[str]:
    """The broadcast address of each interface (lo 127.0.0.1/8: 127.255.255.255)."""
    return sorted({str(i.network.broadcast_address) for i in interfaces.values()})
