"""End to end: a synthesized caller's words come out of Asterisk and through Vosk.

The caller audio leaves Asterisk the way the app takes it: a snoop channel on
the caller (spy=in) bridged to an externalMedia channel that sends slin16 RTP
to a UDP port this test assigned.
"""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import numpy as np
import pytest
import vosk
import websockets

from ari_app.media import RtpPortPool, open_rtp_receiver
from careroute.audio import AudioFormat
from careroute.speech import synthesize
from careroute.testbed import Testbed
from careroute.testcallers import place_call

UTTERANCE = "Hello, I need a refill of my blood pressure medicine please."
# Words every run recognized with both voices. The espeak voice's other words
# come out differently from run to run, because the RTP frames reach Vosk with
# a different alignment each time.
KEY_WORDS = ("blood", "pressure")
PROBE_APP = "careroute-probe"


async def _next_event(ws: websockets.ClientConnection, kind: str, limit_s: float = 15.0) -> dict:
    async with asyncio.timeout(limit_s):
        while True:
            event = json.loads(await ws.recv())
            if event["type"] == kind:
                return event


@pytest.mark.asyncio
@pytest.mark.parametrize("voice", ["piper:joe", "espeak-ng:en-us:s=140"])
async def test_caller_speech_reaches_vosk_through_ari(testbed: Testbed, vosk_model_dir, voice: str) -> None:
    wav = synthesize(UTTERANCE, voice)
    auth = (testbed.ari_user, testbed.ari_password)
    ws_url = (
        f"ws://127.0.0.1:{testbed.settings.http_port}/ari/events"
        f"?app={PROBE_APP}&subscribeAll=false"
    )
    headers = {"Authorization": httpx.BasicAuth(*auth)._auth_header}
    pool = RtpPortPool(range(40000, 40050))
    receiver, port = await open_rtp_receiver(pool, AudioFormat.SLIN16)
    snoop_id, bridge_id, media_id = (f"probe-{uuid.uuid4().hex[:8]}" for _ in range(3))

    async with websockets.connect(ws_url, additional_headers=headers) as ws, httpx.AsyncClient(
        base_url=testbed.ari_url, auth=auth, timeout=5
    ) as ari:
        await place_call(testbed, wav, delay_s=0.5, hold_s=1.0, entry="tb-stasis")
        start = await _next_event(ws, "StasisStart")
        caller_id = start["channel"]["id"]

        r = await ari.post(f"/channels/{caller_id}/snoop", params={"spy": "in", "app": PROBE_APP, "snoopId": snoop_id})
        assert r.status_code == 200, r.text
        r = await ari.post("/bridges", params={"type": "mixing", "bridgeId": bridge_id})
        assert r.status_code == 200, r.text
        r = await ari.post(
            "/channels/externalMedia",
            params={
                "app": PROBE_APP, "channelId": media_id, "external_host": f"127.0.0.1:{port}",
                "format": "slin16", "encapsulation": "rtp", "transport": "udp",
            },
        )
        assert r.status_code == 200, r.text
        # A channel can join a bridge only once its StasisStart was sent.
        waiting = {snoop_id, media_id}
        async with asyncio.timeout(10):
            while waiting:
                event = await _next_event(ws, "StasisStart")
                waiting.discard(event["channel"]["id"])
        r = await ari.post(f"/bridges/{bridge_id}/addChannel", params={"channel": f"{snoop_id},{media_id}"})
        assert r.status_code == 204, r.text

        # The caller hangs up after speaking; collect audio until then.
        pcm = bytearray()
        async with asyncio.timeout(30):
            ended = asyncio.create_task(_next_event(ws, "StasisEnd", limit_s=30))
            while not ended.done():
                try:
                    frame = await asyncio.wait_for(receiver.frames.get(), 0.5)
                except TimeoutError:
                    continue
                if frame is not None:
                    pcm.extend(frame)
            await ended

        # The externalMedia channel and the bridge outlive the caller: delete them.
        assert (await ari.get(f"/channels/{media_id}")).status_code == 200
        assert (await ari.delete(f"/channels/{media_id}")).status_code == 204
        assert (await ari.delete(f"/bridges/{bridge_id}")).status_code == 204
        # Asterisk finishes destroying the bridge after the DELETE returns.
        destroyed = await _next_event(ws, "BridgeDestroyed")
        assert destroyed["bridge"]["id"] == bridge_id
        assert (await ari.get(f"/bridges/{bridge_id}")).status_code == 404
    receiver.close()
    pool.release(port)

    assert receiver.stats.packets > 50
    assert receiver.stats.malformed == 0
    samples = np.frombuffer(bytes(pcm), dtype="<i2")
    assert np.sqrt(np.mean(samples.astype(np.float64) ** 2)) > 200  # speech, not silence

    vosk.SetLogLevel(-1)
    recognizer = vosk.KaldiRecognizer(vosk.Model(str(vosk_model_dir)), AudioFormat.SLIN16.sample_rate)
    recognizer.AcceptWaveform(bytes(pcm))
    transcript = json.loads(recognizer.FinalResult())["text"]
    for word in KEY_WORDS:
        assert word in transcript.split(), transcript
