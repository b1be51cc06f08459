"""Topic names (protocol.md §2.6, §4)."""

from custom_components.gizwits_device.protocol.topics import (
    SERVER_REQUEST_TOPIC,
    ReceivedTopic,
    TopicKind,
    app_topic,
    device_subscriptions,
    parse_received_topic,
)

DID = "d" * 22
PK = "0123456789abcdef0123456789abcdef"


def test_subscriptions_in_gagent_order() -> None:
    """§7: ser2cli_noti/<pk>, ser2cli_res/<did>, app2dev/<did>/#."""
    assert device_subscriptions(DID, PK) == (
        f"ser2cli_noti/{PK}",
        f"ser2cli_res/{DID}",
        f"app2dev/{DID}/#",
    )


def test_online_apps_request_goes_to_cli2ser_req() -> None:
    """protocol.md §4 ruling: 0x020F is published on `cli2ser_req`, never on `ser2cli_req`.

    `ser2cli_*` topics are server -> client only; the real cloud ignores a device publishing
    there, so the online-app count would never arrive.
    """
    assert SERVER_REQUEST_TOPIC == "cli2ser_req"


def test_app_topics() -> None:
    """§4: dev2app/<did> for every bound app, dev2app/<did>/<app> for one."""
    assert app_topic(DID) == f"dev2app/{DID}"
    assert app_topic(DID, "app1") == f"dev2app/{DID}/app1"


def test_parse_received_topics() -> None:
    assert parse_received_topic(f"ser2cli_res/{DID}", DID, PK) == ReceivedTopic(
        TopicKind.CLOUD_RESPONSE
    )
    assert parse_received_topic(f"ser2cli_noti/{PK}", DID, PK) == ReceivedTopic(
        TopicKind.CLOUD_NOTIFICATION
    )
    assert parse_received_topic(f"app2dev/{DID}/a1", DID, PK) == ReceivedTopic(TopicKind.APP, "a1")
    for bad in (
        f"app2dev/{DID}/",
        f"app2dev/{DID}/a/b",
        f"app2dev/{DID}/+",
        f"ser2cli_res/{'x' * 22}",
        "dev2app/x",
    ):
        assert parse_received_topic(bad, DID, PK) is None
