"""Unit tests for careroute.model_tuning: the decoder-settings overlay of a Vosk model folder."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from careroute.errors import ModelError
from careroute.model_tuning import (
    FEATURE_CONF,
    MODEL_CONF,
    DecoderSettings,
    read_option,
    rewrite_model_conf,
    tuned_model_path,
)
from careroute.paths import CACHE_DIR_ENV
from careroute.recognizer import StreamingRecognizer, load_vosk_model
from careroute.speech import read_pcm16, synthesize

#: The decoder lines of vosk-model-small-en-us-0.15's conf/model.conf, plus a comment.
SMALL_MODEL_CONF = """# decoder settings
--min-active=200
--max-active=3000
--beam=10.0
--lattice-beam=2.0
--acoustic-scale=1.0
--frame-subsampling-factor=3
"""
MODEL_FILES = ("am/final.mdl", "conf/mfcc.conf", "graph/HCLr.fst", "graph/phones/word_boundary.int")
CHEAP = DecoderSettings(max_active=1000, beam=8.0)


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "vosk-model-test"
    for name in MODEL_FILES:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(f"contents of {name}\n", encoding="utf-8")
    (folder / MODEL_CONF).write_text(SMALL_MODEL_CONF, encoding="utf-8")
    return folder


def test_overlay_conf_carries_settings(model_dir: Path, tmp_path: Path) -> None:
    overlay = tuned_model_path(model_dir, CHEAP, root=tmp_path / "tuned")
    conf = (overlay / MODEL_CONF).read_text(encoding="utf-8")
    assert read_option(conf, "max-active") == "1000"
    assert read_option(conf, "beam") == "8.0"
    assert read_option(conf, "lattice-beam") == "2.0"
    assert read_option(conf, "min-active") == "200"
    assert conf.startswith("# decoder settings\n")


def test_overlay_conf_appends_frames_per_chunk(model_dir: Path, tmp_path: Path) -> None:
    overlay = tuned_model_path(
        model_dir, DecoderSettings(frames_per_chunk=9), root=tmp_path / "tuned"
    )
    assert (
        read_option((overlay / MODEL_CONF).read_text(encoding="utf-8"), "frames-per-chunk") == "9"
    )


def test_overlay_writes_dither_to_feature_conf(model_dir: Path, tmp_path: Path) -> None:
    overlay = tuned_model_path(model_dir, DecoderSettings(dither=0.0), root=tmp_path / "tuned")
    features = (overlay / FEATURE_CONF).read_text(encoding="utf-8")
    assert not (overlay / FEATURE_CONF).is_symlink()
    assert read_option(features, "dither") == "0.0"
    assert features.startswith("contents of conf/mfcc.conf\n")


def test_overlay_links_feature_conf_without_dither(model_dir: Path, tmp_path: Path) -> None:
    overlay = tuned_model_path(model_dir, CHEAP, root=tmp_path / "tuned")
    assert (overlay / FEATURE_CONF).is_symlink()


def test_overlay_differs_by_dither(model_dir: Path, tmp_path: Path) -> None:
    plain = tuned_model_path(model_dir, CHEAP, root=tmp_path / "tuned")
    undithered = tuned_model_path(
        model_dir, DecoderSettings(max_active=1000, beam=8.0, dither=0.0), root=tmp_path / "tuned"
    )
    assert plain != undithered


def test_dither_without_feature_conf_is_named(model_dir: Path, tmp_path: Path) -> None:
    (model_dir / FEATURE_CONF).unlink()
    with pytest.raises(ModelError, match=r"mfcc\.conf.*set recognizer\.dither to null"):
        tuned_model_path(model_dir, DecoderSettings(dither=0.0), root=tmp_path / "tuned")


def test_overlay_conf_is_a_real_file(model_dir: Path, tmp_path: Path) -> None:
    overlay = tuned_model_path(model_dir, CHEAP, root=tmp_path / "tuned")
    assert not (overlay / MODEL_CONF).is_symlink()


def test_overlay_links_every_other_file(model_dir: Path, tmp_path: Path) -> None:
    overlay = tuned_model_path(model_dir, CHEAP, root=tmp_path / "tuned")
    for name in MODEL_FILES:
        assert (overlay / name).is_symlink(), name
        assert (overlay / name).resolve() == (model_dir / name).resolve(), name


def test_overlay_leaves_model_untouched(model_dir: Path, tmp_path: Path) -> None:
    tuned_model_path(model_dir, CHEAP, root=tmp_path / "tuned")
    assert (model_dir / MODEL_CONF).read_text(encoding="utf-8") == SMALL_MODEL_CONF


def test_overlay_name_and_location(model_dir: Path, tmp_path: Path) -> None:
    overlay = tuned_model_path(model_dir, CHEAP, root=tmp_path / "tuned")
    assert overlay.parent == tmp_path / "tuned"
    assert overlay.name.startswith("vosk-model-test-")


def test_overlay_reused_on_second_call(model_dir: Path, tmp_path: Path) -> None:
    first = tuned_model_path(model_dir, CHEAP, root=tmp_path / "tuned")
    marker = first / "marker"
    marker.write_text("kept", encoding="utf-8")
    second = tuned_model_path(model_dir, CHEAP, root=tmp_path / "tuned")
    assert second == first
    assert marker.is_file()


def test_overlay_leaves_no_staging_folder(model_dir: Path, tmp_path: Path) -> None:
    tuned_model_path(model_dir, CHEAP, root=tmp_path / "tuned")
    tuned_model_path(model_dir, CHEAP, root=tmp_path / "tuned")
    assert [path.name for path in (tmp_path / "tuned").iterdir() if path.name.startswith(".")] == []


def test_overlay_differs_per_setting(model_dir: Path, tmp_path: Path) -> None:
    cheap = tuned_model_path(model_dir, CHEAP, root=tmp_path / "tuned")
    other = tuned_model_path(
        model_dir, DecoderSettings(max_active=1000, beam=9.0), root=tmp_path / "tuned"
    )
    assert cheap != other


def test_overlay_differs_when_model_conf_changes(model_dir: Path, tmp_path: Path) -> None:
    before = tuned_model_path(model_dir, CHEAP, root=tmp_path / "tuned")
    (model_dir / MODEL_CONF).write_text(SMALL_MODEL_CONF + "--min-active=300\n", encoding="utf-8")
    after = tuned_model_path(model_dir, CHEAP, root=tmp_path / "tuned")
    assert after != before


def test_overlay_default_root_is_cache(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "cache"))
    overlay = tuned_model_path(model_dir, CHEAP)
    assert overlay.parent == tmp_path / "cache" / "models-tuned"


def test_overlay_skipped_without_settings(model_dir: Path, tmp_path: Path) -> None:
    assert tuned_model_path(model_dir, DecoderSettings(), root=tmp_path / "tuned") == model_dir
    assert not (tmp_path / "tuned").exists()


def test_overlay_rejects_max_active_below_min_active(model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"max_active = 150 is below --min-active=200"):
        tuned_model_path(model_dir, DecoderSettings(max_active=150), root=tmp_path / "tuned")


def test_overlay_rejects_model_without_conf(model_dir: Path, tmp_path: Path) -> None:
    (model_dir / MODEL_CONF).unlink()
    with pytest.raises(ModelError, match=r"model\.conf' failed .* set recognizer.max_active"):
        tuned_model_path(model_dir, CHEAP, root=tmp_path / "tuned")


def test_overlay_unwritable_cache(model_dir: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(ModelError, match=r"creating the tuned model folder under .* failed"):
        tuned_model_path(model_dir, CHEAP, root=blocker / "tuned")


def test_rewrite_conf_appends_missing_option() -> None:
    text = rewrite_model_conf("--min-active=200\n", {"beam": "9.0"})
    assert text == "--min-active=200\n--beam=9.0\n"


def test_rewrite_conf_replaces_in_place() -> None:
    text = rewrite_model_conf("--beam=10.0\n--lattice-beam=2.0\n", {"beam": "8.0"})
    assert text == "--beam=8.0\n--lattice-beam=2.0\n"


def test_read_option_last_line_wins() -> None:
    assert read_option("--beam=10.0\n--beam=9.0  # tuned\n", "beam") == "9.0"


def test_read_option_missing() -> None:
    assert read_option("--beam=10.0\n", "max-active") is None


def test_settings_options_skip_none() -> None:
    assert DecoderSettings(beam=9.0).options() == {"beam": "9.0"}


def test_load_model_with_decoder_uses_overlay(
    vosk_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path))
    settings = DecoderSettings(max_active=1500, beam=9.0, lattice_beam=1.5)
    model = load_vosk_model(vosk_model_dir, decoder=settings)
    (overlay,) = (tmp_path / "models-tuned").iterdir()
    conf = (overlay / MODEL_CONF).read_text(encoding="utf-8")
    assert read_option(conf, "max-active") == "1500"
    assert read_option(conf, "beam") == "9.0"
    assert read_option(conf, "lattice-beam") == "1.5"
    assert load_vosk_model(vosk_model_dir, decoder=settings) is model
    assert load_vosk_model(vosk_model_dir) is not model


def test_load_model_tuned_decodes_speech(
    vosk_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path))
    model = load_vosk_model(vosk_model_dir, decoder=CHEAP)
    pcm, rate = read_pcm16(synthesize("I need a refill of my inhaler.", "piper:joe"))
    recognizer = StreamingRecognizer(model, input_rate=rate)
    recognizer.accept(pcm)
    recognizer.finish()
    assert "refill" in recognizer.transcript


def _update_gaps_ms(model: object, pcm: bytes, rate: int) -> list[int]:
    """Return the audio time between successive recognizer updates, fed in 20 ms frames."""
    recognizer = StreamingRecognizer(model, input_rate=rate)
    frame = rate // 50 * 2
    times = []
    for index, start in enumerate(range(0, len(pcm), frame)):
        if recognizer.accept(pcm[start : start + frame]) is not None:
            times.append((index + 1) * 20)
    return [later - earlier for earlier, later in itertools.pairwise(times)]


def test_smaller_chunk_gives_more_frequent_partials(vosk_model_dir: Path) -> None:
    pcm, rate = read_pcm16(
        synthesize("I need a refill of my inhaler and my blood pressure pills.", "piper:joe")
    )
    default_gaps = _update_gaps_ms(
        load_vosk_model(vosk_model_dir, decoder=DecoderSettings(frames_per_chunk=20)), pcm, rate
    )
    small_gaps = _update_gaps_ms(
        load_vosk_model(vosk_model_dir, decoder=DecoderSettings(frames_per_chunk=9)), pcm, rate
    )
    assert min(default_gaps) >= 200
    assert min(small_gaps) <= 120


def _transcripts_of_repeats(model: object) -> list[str]:
    """Decode one sentence three times, with other speech decoded in between."""
    target = read_pcm16(synthesize("I took like thirty of my pills an hour ago.", "espeak-ng:en-us+m3"))
    others = [
        read_pcm16(synthesize(text, voice))
        for text in ("My mother's face is drooping on one side.", "hi um my chest feels tight and heavy")
        for voice in ("espeak-ng:en-us+m3", "espeak-ng:en-us+f2:s=160")
    ]
    transcripts = []
    for _ in range(3):
        for pcm, rate in [target, *others]:
            recognizer = StreamingRecognizer(model, input_rate=rate)
            recognizer.accept(pcm)
            recognizer.finish()
            if (pcm, rate) == target:
                transcripts.append(recognizer.transcript)
    return transcripts


def test_zero_dither_decodes_repeatably(vosk_model_dir: Path) -> None:
    # With Kaldi's default dither this sentence decoded as "... an hour ago" and
    # "... how hour ago" in one process, depending on the audio decoded before.
    model = load_vosk_model(vosk_model_dir, decoder=DecoderSettings(frames_per_chunk=9, dither=0.0))
    transcripts = _transcripts_of_repeats(model)
    assert len(set(transcripts)) == 1, transcripts
