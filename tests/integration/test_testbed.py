"""The Asterisk test bed itself: it runs the project's config on loopback and stops cleanly."""

from __future__ import annotations

import socket
import subprocess

import httpx
import pytest

from careroute.errors import TestbedError
from careroute.testbed import Testbed, TestbedSettings


def test_testbed_answers_ari_info(testbed: Testbed) -> None:
    response = httpx.get(
        f"{testbed.ari_url}/asterisk/info", auth=(testbed.ari_user, testbed.ari_password), timeout=5
    )
    assert response.status_code == 200
    assert response.json()["system"]["version"].startswith("22.")


def test_testbed_http_bound_to_loopback(testbed: Testbed) -> None:
    status = testbed.cli("http show status")
    assert "127.0.0.1:" + str(testbed.settings.http_port) in status


def test_testbed_loads_careroute_dialplan(testbed: Testbed) -> None:
    dialplan = testbed.cli("dialplan show careroute-queues")
    for queue in ("nurse", "refill", "billing", "scheduling", "front_desk"):
        assert f"'{queue}'" in dialplan


def test_testbed_has_no_pjsip_listener(testbed: Testbed) -> None:
    modules = testbed.cli("module show like pjsip")
    assert "res_pjsip.so" not in modules


def test_testbed_port_in_use_names_port(testbed: Testbed) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy_port = holder.getsockname()[1]
        other = Testbed(
            testbed.root, TestbedSettings(http_port=busy_port, ami_port=busy_port + 1), name="busy"
        )
        with pytest.raises(TestbedError, match=str(busy_port)):
            other.start()
    assert not other.running


def test_testbed_stop_leaves_no_process(testbed: Testbed) -> None:
    settings = TestbedSettings(http_port=18188, ami_port=15138, rtp_start=32000, rtp_end=32099)
    second = Testbed(testbed.root, settings, name="stopcheck")
    second.start()
    pid = second._process.pid if second._process else -1
    second.stop()
    assert not second.running
    ps = subprocess.run(["ps", "-o", "pid=", "-g", str(pid)], capture_output=True, text=True)
    assert ps.stdout.strip() == ""


def test_testbed_failed_start_shows_log_tail(testbed: Testbed, tmp_path) -> None:
    settings = TestbedSettings(http_port=18288, ami_port=15238, rtp_start=32100, rtp_end=32199)
    broken = Testbed(testbed.root, settings, name="broken")
    broken._render_configs()
    original = broken._render_configs

    def render_then_break() -> None:
        original()
        (broken.run_dir / "etc" / "asterisk.conf").write_text("[directories]\nastmoddir => /nonexistent\n")

    broken._render_configs = render_then_break  # type: ignore[method-assign]
    with pytest.raises(TestbedError, match=r"last .* lines|wrote no log"):
        broken.start()
    assert not broken.running


@pytest.mark.asyncio
async def test_testbed_plays_careroute_greeting(testbed: Testbed) -> None:
    """The shipped prompt is where Asterisk looks for sound:careroute/greeting."""
    import asyncio
    import time

    from ari_app import AriClient, PlaybackFinished, PlaybackStarted, StasisStart
    from careroute.testcallers import place_call

    async with AriClient(testbed.ari_url, testbed.ari_user, testbed.ari_password, "careroute-probe") as ari:
        listener = asyncio.create_task(ari.connect_with_backoff())
        async with asyncio.timeout(20), ari.events() as events:
            await ari.connected.wait()
            await place_call(testbed, None, hold_s=10, entry="tb-stasis")
            started_at = finished_at = 0.0
            async for event in events:
                if isinstance(event, StasisStart):
                    await ari.play(event.channel.id, "sound:careroute/greeting", playback_id="probe-greeting")
                elif isinstance(event, PlaybackStarted):
                    started_at = time.monotonic()
                elif isinstance(event, PlaybackFinished):
                    finished_at = time.monotonic()
                    await ari.hangup(event.playback.target_uri.removeprefix("channel:"), missing_ok=True)
                    break
        await ari.stop_events()
        listener.cancel()
    # dialplan/sounds/greeting.wav lasts 4.0 s; a missing file finishes at once.
    assert finished_at - started_at > 3.0
