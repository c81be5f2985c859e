"""Voice specs of the synthetic test callers: which are accepted, and the errors for the rest."""

from __future__ import annotations

import pytest

from careroute.speech import SpeechError, parse_voice


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param("piper:joe", ("piper", "joe", {}), id="piper"),
        pytest.param("piper:joe:ls=1.1", ("piper", "joe", {"ls": 1.1}), id="piper-options"),
        pytest.param("espeak-ng:en-us+m3:s=150", ("espeak-ng", "en-us+m3", {"s": 150.0}), id="espeak"),
    ],
)
def test_voice_spec_parsed(spec: str, expected: tuple[str, str, dict[str, float]]) -> None:
    assert parse_voice(spec) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        pytest.param("piper:nobody", r"Piper voice 'nobody', but only the bundled 'joe'", id="unknown-piper-voice"),
        pytest.param("festival:kal", r"voice spec 'festival:kal' is invalid", id="unknown-engine"),
        pytest.param("espeak-ng:", r"voice spec 'espeak-ng:' is invalid", id="no-voice"),
        pytest.param("piper:joe:ls", r"voice option 'ls' in 'piper:joe:ls' is not key=number", id="bad-option"),
    ],
)
def test_voice_spec_rejected(spec: str, message: str) -> None:
    with pytest.raises(SpeechError, match=message):
        parse_voice(spec)
