"""Unit tests of the ARI client's REST side against a fake ARI server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from ari_app import (
    AriBadRequest,
    AriClient,
    AriConflict,
    AriConnectionError,
    AriError,
    AriNotFound,
    AriServerError,
    AriTimeout,
    AriUnprocessable,
    encode_query,
    suppress_gone,
)
from tests.fakes.ari_server import FakeAriServer, Reply

USER = "careroute"
PASSWORD = "s3cret:with:colons"
AUTHORIZATION = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


@pytest_asyncio.fixture
async def server() -> AsyncIterator[FakeAriServer]:
    async with FakeAriServer(authorization=AUTHORIZATION) as fake:
        yield fake


@pytest_asyncio.fixture
async def client(server: FakeAriServer) -> AsyncIterator[AriClient]:
    async with AriClient(server.base_url, USER, PASSWORD, "careroute", request_timeout=2.0) as ari:
        yield ari


CHANNEL = {"id": "c1", "name": "Local/s@inbound-00000001;2", "state": "Up"}


@pytest.mark.asyncio
async def test_request_sends_authorization_header(server: FakeAriServer, client: AriClient) -> None:
    server.reply("POST", "/ari/channels/c1/answer", Reply(204))

    await client.answer("c1")

    assert server.requests[-1].headers["authorization"] == AUTHORIZATION


@pytest.mark.asyncio
async def test_request_keeps_credentials_out_of_url(
    server: FakeAriServer, client: AriClient
) -> None:
    server.reply("POST", "/ari/channels/c1/answer", Reply(204))

    await client.answer("c1")

    assert PASSWORD not in server.requests[-1].raw_query
    assert PASSWORD not in client.events_url


def test_client_rejects_credentials_in_base_url() -> None:
    with pytest.raises(ValueError, match="credentials"):
        AriClient("http://user:pw@127.0.0.1:8088/ari", "user", "pw", "careroute")


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, AriBadRequest),
        (404, AriNotFound),
        (409, AriConflict),
        (422, AriUnprocessable),
        (500, AriServerError),
        (503, AriServerError),
    ],
    ids=["400-bad-request", "404-not-found", "409-conflict", "422-unprocessable", "500", "503"],
)
async def test_request_raises_typed_error_per_status(
    server: FakeAriServer, client: AriClient, status: int, error_class: type[AriError]
) -> None:
    server.reply(
        "POST",
        "/ari/channels/c1/answer",
        Reply(status, {"message": "Channel not in Stasis application"}),
    )

    with pytest.raises(error_class) as caught:
        await client.answer("c1")

    assert caught.value.status == status
    assert caught.value.method == "POST"
    assert caught.value.path == "/channels/c1/answer"
    assert caught.value.asterisk_message == "Channel not in Stasis application"


@pytest.mark.asyncio
async def test_request_timeout_raises_ari_timeout(server: FakeAriServer) -> None:
    never = asyncio.Event()
    server.reply("GET", "/ari/asterisk/info", Reply(200, {}, hold=never))

    async with AriClient(server.base_url, USER, PASSWORD, "careroute", request_timeout=0.2) as ari:
        with pytest.raises(AriTimeout) as caught:
            await ari.asterisk_info()

    assert caught.value.__cause__ is not None
    assert caught.value.path == "/asterisk/info"
    never.set()


@pytest.mark.asyncio
async def test_request_refused_raises_connection_error() -> None:
    async with FakeAriServer() as fake:
        base_url = fake.base_url
    async with AriClient(base_url, USER, PASSWORD, "careroute", request_timeout=2.0) as ari:
        with pytest.raises(AriConnectionError) as caught:
            await ari.list_channels()

    assert caught.value.__cause__ is not None


@pytest.mark.asyncio
async def test_hangup_missing_ok_treats_404_as_done(
    server: FakeAriServer, client: AriClient
) -> None:
    server.reply("DELETE", "/ari/channels/gone", Reply(404, {"message": "Channel not found"}))

    removed = await client.hangup("gone", missing_ok=True)

    assert removed is False


@pytest.mark.asyncio
async def test_destroy_bridge_missing_ok_treats_422_as_done(
    server: FakeAriServer, client: AriClient
) -> None:
    server.reply("DELETE", "/ari/bridges/b1", Reply(422, {"message": "Bridge not found"}))

    removed = await client.destroy_bridge("b1", missing_ok=True)

    assert removed is False


@pytest.mark.asyncio
async def test_hangup_without_missing_ok_raises_not_found(
    server: FakeAriServer, client: AriClient
) -> None:
    server.reply("DELETE", "/ari/channels/gone", Reply(404, {"message": "Channel not found"}))

    with pytest.raises(AriNotFound):
        await client.hangup("gone")


@pytest.mark.asyncio
async def test_suppress_gone_keeps_conflict(server: FakeAriServer, client: AriClient) -> None:
    server.reply(
        "POST",
        "/ari/channels/c1/continue",
        Reply(409, {"message": "Channel not in Stasis application"}),
    )

    with pytest.raises(AriConflict), suppress_gone():
        await client.continue_in_dialplan("c1", "careroute-queues", "nurse")


@pytest.mark.asyncio
async def test_suppress_gone_swallows_not_found(server: FakeAriServer, client: AriClient) -> None:
    server.reply("POST", "/ari/channels/c1/continue", Reply(404, {"message": "Channel not found"}))

    with suppress_gone():
        await client.continue_in_dialplan("c1", "careroute-queues", "nurse")

    assert server.requests[-1].params == {
        "context": "careroute-queues",
        "extension": "nurse",
        "priority": "1",
    }


@pytest.mark.asyncio
async def test_add_channels_sends_comma_list_in_query(
    server: FakeAriServer, client: AriClient
) -> None:
    server.reply("POST", "/ari/bridges/b1/addChannel", Reply(204))

    await client.add_channels_to_bridge("b1", ["snoop-1", "em-1"])

    request = server.requests[-1]
    assert request.raw_query == "channel=snoop-1,em-1"
    assert request.body is None


@pytest.mark.asyncio
async def test_add_channels_rejects_plain_string(client: AriClient) -> None:
    with pytest.raises(ValueError, match="list of channel ids"):
        await client.add_channels_to_bridge("b1", "snoop-1,em-1")


@pytest.mark.asyncio
async def test_originate_dialplan_omits_app(server: FakeAriServer, client: AriClient) -> None:
    server.reply("POST", "/ari/channels", Reply(200, dict(CHANNEL, id="caller-1")))

    channel = await client.originate_dialplan(
        "Local/s@inbound",
        channel_id="caller-1",
        context="caller",
        extension="s",
        variables={"SPEECH_FILE": "careroute/test-1"},
    )

    request = server.requests[-1]
    assert "app" not in request.params
    assert request.params["context"] == "caller"
    assert request.params["channelId"] == "caller-1"
    assert request.body == {"variables": {"SPEECH_FILE": "careroute/test-1"}}
    assert channel.id == "caller-1"


@pytest.mark.asyncio
async def test_originate_app_sends_client_app(server: FakeAriServer, client: AriClient) -> None:
    server.reply("POST", "/ari/channels", Reply(200, CHANNEL))

    await client.originate_app("Local/s@inbound", channel_id="c1")

    request = server.requests[-1]
    assert request.params["app"] == "careroute"
    assert "context" not in request.params


@pytest.mark.asyncio
async def test_set_channel_var_sends_function_name(
    server: FakeAriServer, client: AriClient
) -> None:
    server.reply("POST", "/ari/channels/c1/variable", Reply(204))

    await client.set_channel_var("c1", "TIMEOUT(absolute)", "0")

    request = server.requests[-1]
    assert request.raw_query == "variable=TIMEOUT(absolute)&value=0"


@pytest.mark.asyncio
async def test_get_channel_var_returns_value(server: FakeAriServer, client: AriClient) -> None:
    server.reply("GET", "/ari/channels/c1/variable", Reply(200, {"value": "7"}))

    value = await client.get_channel_var("c1", "QUEUE_PRIO")

    assert value == "7"


@pytest.mark.asyncio
async def test_snoop_sends_spy_in_and_app(server: FakeAriServer, client: AriClient) -> None:
    server.reply("POST", "/ari/channels/c1/snoop", Reply(200, dict(CHANNEL, id="snoop-1")))

    snoop = await client.snoop("c1", snoop_id="snoop-1")

    params = server.requests[-1].params
    assert params == {"snoopId": "snoop-1", "spy": "in", "whisper": "none", "app": "careroute"}
    assert snoop.id == "snoop-1"


@pytest.mark.asyncio
async def test_external_media_returns_rtp_port(server: FakeAriServer, client: AriClient) -> None:
    channel_json = dict(
        CHANNEL,
        id="em-1",
        channelvars={"UNICASTRTP_LOCAL_ADDRESS": "127.0.0.1", "UNICASTRTP_LOCAL_PORT": "41072"},
    )
    server.reply("POST", "/ari/channels/externalMedia", Reply(200, channel_json))

    channel = await client.external_media(channel_id="em-1", external_host="127.0.0.1:19090")

    params = server.requests[-1].params
    assert params == {
        "channelId": "em-1",
        "app": "careroute",
        "external_host": "127.0.0.1:19090",
        "format": "slin16",
        "encapsulation": "rtp",
        "transport": "udp",
    }
    assert channel.channelvars["UNICASTRTP_LOCAL_PORT"] == "41072"


@pytest.mark.asyncio
async def test_play_sends_playback_id(server: FakeAriServer, client: AriClient) -> None:
    server.reply(
        "POST",
        "/ari/channels/c1/play",
        Reply(201, {"id": "pb-1", "media_uri": "sound:hello", "state": "queued"}),
    )

    playback = await client.play("c1", "sound:hello", playback_id="pb-1")

    assert server.requests[-1].params == {"media": "sound:hello", "playbackId": "pb-1"}
    assert playback.state == "queued"


@pytest.mark.asyncio
async def test_create_bridge_sends_type_and_id(server: FakeAriServer, client: AriClient) -> None:
    server.reply(
        "POST",
        "/ari/bridges",
        Reply(
            200,
            {"id": "b1", "technology": "simple_bridge", "bridge_type": "mixing", "channels": []},
        ),
    )

    bridge = await client.create_bridge(bridge_id="b1")

    assert server.requests[-1].params == {"bridgeId": "b1", "type": "mixing"}
    assert bridge.technology == "simple_bridge"


@pytest.mark.asyncio
async def test_get_application_lists_channel_ids(server: FakeAriServer, client: AriClient) -> None:
    server.reply(
        "GET",
        "/ari/applications/careroute",
        Reply(200, {"name": "careroute", "channel_ids": ["c1", "em-1"], "bridge_ids": ["b1"]}),
    )

    application = await client.get_application()

    assert application.channel_ids == ("c1", "em-1")
    assert application.bridge_ids == ("b1",)


@pytest.mark.asyncio
async def test_asterisk_info_reads_version(server: FakeAriServer, client: AriClient) -> None:
    server.reply(
        "GET",
        "/ari/asterisk/info",
        Reply(200, {"system": {"version": "22.10.1", "entity_id": "x"}}),
    )

    info = await client.asterisk_info()

    assert info.version == "22.10.1"


def test_encode_query_skips_none_and_encodes_bool() -> None:
    encoded = encode_query({"a": None, "subscribeAll": False, "name": "x y&z"})

    assert encoded == "subscribeAll=false&name=x%20y%26z"


def test_encode_query_quotes_commas_inside_list_items() -> None:
    encoded = encode_query({"channel": ["a,b", "c"]})

    assert encoded == "channel=a%2Cb,c"
