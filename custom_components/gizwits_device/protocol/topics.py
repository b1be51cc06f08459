"""M2M topic names (protocol.md §2.6, §4)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# Where the device publishes 0x020F: every Gizwits firmware (GAgent `Mqtt_ReqOnlineClient`, the
# ESP8266/ESP32 firmwares) uses `cli2ser_req`; the protocol document's `ser2cli_req` is a typo, and
# the cloud never answers a device publishing there (`ser2cli_*` is server -> client only).
SERVER_REQUEST_TOPIC = "cli2ser_req"


class TopicKind(StrEnum):
    """Where a message received by the device came from."""

    APP = "app"  # app2dev/<did>/<app client id>
    CLOUD_RESPONSE = "cloud_response"  # ser2cli_res/<did>
    CLOUD_NOTIFICATION = "cloud_notification"  # ser2cli_noti/<product key>


@dataclass(frozen=True, slots=True)
class ReceivedTopic:
    """A parsed topic of a message the device received."""

    kind: TopicKind
    app_client_id: str | None = None


def device_subscriptions(did: str, product_key: str) -> tuple[str, ...]:
    """Topics a device subscribes to, in the order GAgent uses (protocol.md §7)."""
    return (f"ser2cli_noti/{product_key}", f"ser2cli_res/{did}", f"app2dev/{did}/#")


def app_topic(did: str, app_client_id: str | None = None) -> str:
    """Topic for a device → app frame: one app, or every bound app when no id is given."""
    if app_client_id is None:
        return f"dev2app/{did}"
    return f"dev2app/{did}/{app_client_id}"


def parse_received_topic(topic: str, did: str, product_key: str) -> ReceivedTopic | None:
    """Classify a topic the device received on; None for anything it did not subscribe to."""
    if topic == f"ser2cli_res/{did}":
        return ReceivedTopic(TopicKind.CLOUD_RESPONSE)
    if topic == f"ser2cli_noti/{product_key}":
        return ReceivedTopic(TopicKind.CLOUD_NOTIFICATION)
    prefix = f"app2dev/{did}/"
    if topic.startswith(prefix):
        app_client_id = topic[len(prefix) :]
        # One level only: the id is echoed back as a topic level when replying.
        if app_client_id and "/" not in app_client_id and "+" not in app_client_id:
            return ReceivedTopic(TopicKind.APP, app_client_id)
    return None
