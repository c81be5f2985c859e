"""Unit tests for careroute.static_graph: composing a model's lookahead pair into one graph.

The build runs against stand-in OpenFst programs (shell scripts that record
their arguments), so these tests pin what is run and what lands where. The
last two tests load the real model with its real static graph, which
'make model' builds.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from careroute.errors import ModelError
from careroute.recognizer import StreamingRecognizer, load_vosk_model
from careroute.speech import read_pcm16, synthesize
from careroute.static_graph import (
    FST_PROGRAMS,
    LOOKAHEAD_PLUGIN,
    MARKER,
    PLUGIN_DIR_ENV,
    build_static_model,
    find_fst_tools,
    static_model_path,
)

#: Stand-in for every OpenFst program: logs its arguments, writes its output file.
FAKE_TOOL = """#!/bin/sh
echo "$(basename "$0") $*" >> "{log}"
{fail}
for arg in "$@"; do
    case "$arg" in --save_osymbols=*) echo "<eps> 0" > "${{arg#--save_osymbols=}}";; esac
    last="$arg"
done
[ "$last" = /dev/null ] || echo "output of $(basename "$0")" > "$last"
"""
MODEL_FILES = (
    "am/final.mdl",
    "conf/model.conf",
    "graph/HCLr.fst",
    "graph/Gr.fst",
    "graph/phones/word_boundary.int",
    "ivector/final.ie",
)


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "vosk-model-test"
    for name in MODEL_FILES:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(f"contents of {name}\n", encoding="utf-8")
    (folder / "graph" / "disambig_tid.int").write_text("10015\n10016\n", encoding="utf-8")
    return folder


def _install_fake_tools(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str | None = None
) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "tools.log"
    for name in FST_PROGRAMS:
        fail = 'echo "bad graph header" >&2; exit 3' if name == failing else ""
        script = bin_dir / name
        script.write_text(FAKE_TOOL.format(log=log, fail=fail), encoding="utf-8")
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / LOOKAHEAD_PLUGIN).write_bytes(b"")
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv(PLUGIN_DIR_ENV, str(plugins))
    return log


def test_find_tools_returns_none_without_programs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_fst_tools() is None


def test_find_tools_puts_plugin_folder_on_library_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _install_fake_tools(tmp_path, monkeypatch)
    tools = find_fst_tools()
    assert tools is not None
    assert tools.environment()["LD_LIBRARY_PATH"].split(":")[0] == str(tmp_path / "plugins")


def test_build_without_tools_names_the_packages(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ModelError, match="libfst-tools libfst22-plugins-base"):
        build_static_model(model_dir, root=tmp_path / "static")


def test_build_writes_graph_and_words(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_fake_tools(tmp_path, monkeypatch)
    built = build_static_model(model_dir, root=tmp_path / "static")
    assert (built / "graph" / "HCLG.fst").read_text(encoding="utf-8") == "output of fstconvert\n"
    assert (built / "graph" / "words.txt").read_text(encoding="utf-8") == "<eps> 0\n"


def test_build_links_model_files_but_not_the_pair(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_fake_tools(tmp_path, monkeypatch)
    built = build_static_model(model_dir, root=tmp_path / "static")
    assert (built / "am" / "final.mdl").resolve() == model_dir / "am" / "final.mdl"
    assert (built / "graph" / "phones" / "word_boundary.int").is_symlink()
    assert not (built / "graph" / "HCLr.fst").exists()
    assert not (built / "graph" / "Gr.fst").exists()


def test_build_relabels_disambiguation_symbols_to_epsilon(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = _install_fake_tools(tmp_path, monkeypatch)
    build_static_model(model_dir, root=tmp_path / "static")
    relabel = next(line for line in log.read_text().splitlines() if line.startswith("fstrelabel"))
    assert "--relabel_ipairs=" in relabel


def test_build_composes_the_pair_in_order(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = _install_fake_tools(tmp_path, monkeypatch)
    build_static_model(model_dir, root=tmp_path / "static")
    compose = next(line for line in log.read_text().splitlines() if line.startswith("fstcompose"))
    assert compose.split()[1] == str(model_dir / "graph" / "HCLr.fst")


def test_built_folder_is_found_again(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_fake_tools(tmp_path, monkeypatch)
    built = build_static_model(model_dir, root=tmp_path / "static")
    assert static_model_path(model_dir, root=tmp_path / "static") == built


def test_rebuild_after_refetch_removes_old_folder(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_fake_tools(tmp_path, monkeypatch)
    old = build_static_model(model_dir, root=tmp_path / "static")
    os.utime(model_dir / "graph" / "Gr.fst", ns=(1, 1))
    new = build_static_model(model_dir, root=tmp_path / "static")
    assert new != old
    assert not old.exists()
    assert (new / MARKER).is_file()


def test_rebuild_keeps_other_models_folders(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_fake_tools(tmp_path, monkeypatch)
    other_model = tmp_path / "other" / model_dir.name
    shutil.copytree(model_dir, other_model)
    other = build_static_model(other_model, root=tmp_path / "static")
    build_static_model(model_dir, root=tmp_path / "static")
    assert (other / MARKER).is_file()


def test_second_build_runs_no_tool(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = _install_fake_tools(tmp_path, monkeypatch)
    build_static_model(model_dir, root=tmp_path / "static")
    runs = len(log.read_text().splitlines())
    build_static_model(model_dir, root=tmp_path / "static")
    assert len(log.read_text().splitlines()) == runs


def test_failing_tool_is_named_with_its_message(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_fake_tools(tmp_path, monkeypatch, failing="fstcompose")
    with pytest.raises(ModelError, match=r"fstcompose exited with 3 .*bad graph header"):
        build_static_model(model_dir, root=tmp_path / "static")


def test_failing_tool_leaves_no_folder(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_fake_tools(tmp_path, monkeypatch, failing="fstconvert")
    with pytest.raises(ModelError):
        build_static_model(model_dir, root=tmp_path / "static")
    assert list((tmp_path / "static").iterdir()) == []


def test_unbuilt_model_has_no_static_path(model_dir: Path, tmp_path: Path) -> None:
    assert static_model_path(model_dir, root=tmp_path / "static") is None


def test_model_with_hclg_used_as_is(model_dir: Path, tmp_path: Path) -> None:
    (model_dir / "graph" / "HCLG.fst").write_text("graph\n", encoding="utf-8")
    assert static_model_path(model_dir, root=tmp_path / "static") == model_dir


def test_marker_records_the_source(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_fake_tools(tmp_path, monkeypatch)
    built = build_static_model(model_dir, root=tmp_path / "static")
    assert str(model_dir) in (built / MARKER).read_text(encoding="utf-8")


def test_static_choice_without_graph_is_refused(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAREROUTE_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(ModelError, match=r"recognizer\.graph is 'static'"):
        load_vosk_model(model_dir, graph="static")


def test_real_model_has_a_built_static_graph(vosk_model_dir: Path) -> None:
    assert static_model_path(vosk_model_dir) is not None, "run 'make model' to build it"


def test_static_graph_transcribes_like_the_lookahead_pair(vosk_model_dir: Path) -> None:
    pcm, rate = read_pcm16(synthesize("I need a refill of my blood pressure pills", "piper:joe"))
    transcripts = []
    for graph in ("static", "lookahead"):
        stream = StreamingRecognizer(load_vosk_model(vosk_model_dir, graph=graph), input_rate=rate)
        stream.accept(pcm)
        stream.finish()
        transcripts.append(stream.transcript)
    assert transcripts[0] == transcripts[1]
