"""A precomposed decoding graph for Vosk models that ship a lookahead pair.

Small Vosk models ship ``graph/HCLr.fst`` and ``graph/Gr.fst`` and compose
them on the fly. Each ``KaldiRecognizer`` then grows with every second of
audio it decodes, and ``Reset`` does not free the memory. Measured on the
small English model: about 35 MiB after an 8 s call, about 200 MiB after six
minutes of audio. Composing the two graphs once, ahead of time, into a
read-only ``HCLG.fst`` that every recognizer shares removes that cost. On the
dev calls the same transcripts then cost a third to a fifth of the CPU and a
few MiB per recognizer. The shared model takes about 150 MiB more.

``build_static_model`` does the composition with the OpenFst command-line
tools (Debian packages ``libfst-tools`` and ``libfst22-plugins-base``) and
writes a model folder under ``cache_dir()/models-static``: symlinks to the
original model, plus ``graph/HCLG.fst`` and ``graph/words.txt``. The verified
model folder is never modified. ``static_model_path`` finds a built folder
without building anything, so loading a model never runs the tools.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from careroute.errors import ModelError
from careroute.paths import cache_dir

#: The file that marks a finished static model folder and records its source.
MARKER = Path("graph") / "careroute-static.json"
#: The lookahead pair a small Vosk model ships.
LOOKAHEAD_FILES = ("HCLr.fst", "Gr.fst", "disambig_tid.int")
#: The OpenFst programs the build runs.
FST_PROGRAMS = ("fstcompose", "fstrelabel", "fstconvert", "fstsymbols")
#: The plugin OpenFst needs to read ``HCLr.fst`` (its type is ``olabel_lookahead``).
LOOKAHEAD_PLUGIN = "olabel_lookahead-fst.so"
#: Folders searched for the plugin; Debian installs it under ``/usr/lib/<triplet>/fst/<abi>``.
PLUGIN_GLOBS = ("/usr/lib/*/fst/*", "/usr/lib/fst/*", "/usr/lib/fst", "/usr/local/lib/fst")
#: Environment variable that names the plugin folder when it is elsewhere.
PLUGIN_DIR_ENV = "CAREROUTE_FST_PLUGIN_DIR"
#: Hex digits of the source digest in the folder name, as for the tuned overlays.
HASH_DIGITS = 12
#: Upper bound on one tool run; composing the small English model takes about 25 s.
TOOL_TIMEOUT_S = 900.0

INSTALL_HINT = (
    "install the OpenFst tools (Debian: apt-get install libfst-tools libfst22-plugins-base) "
    "and run 'make model', or set recognizer.graph: lookahead"
)


@dataclass(frozen=True, slots=True)
class FstTools:
    """Locations of the OpenFst programs and of the lookahead plugin."""

    programs: dict[str, Path]
    plugin_dir: Path

    def environment(self) -> dict[str, str]:
        """Return the environment for a tool run, with the plugin folder on the library path."""
        env = dict(os.environ)
        current = env.get("LD_LIBRARY_PATH")
        env["LD_LIBRARY_PATH"] = f"{self.plugin_dir}:{current}" if current else str(self.plugin_dir)
        return env


def find_fst_tools() -> FstTools | None:
    """Return the OpenFst tools on ``PATH`` and the lookahead plugin, or None if any is missing."""
    programs: dict[str, Path] = {}
    for name in FST_PROGRAMS:
        found = shutil.which(name)
        if found is None:
            return None
        programs[name] = Path(found)
    plugin_dir = _find_plugin_dir()
    if plugin_dir is None:
        return None
    return FstTools(programs=programs, plugin_dir=plugin_dir)


def _find_plugin_dir() -> Path | None:
    override = os.environ.get(PLUGIN_DIR_ENV)
    candidates = [Path(override)] if override else []
    for pattern in PLUGIN_GLOBS:
        candidates.extend(sorted(Path("/").glob(pattern.lstrip("/")), reverse=True))
    for folder in candidates:
        if (folder / LOOKAHEAD_PLUGIN).is_file():
            return folder
    return None


def has_lookahead_graph(model_dir: Path) -> bool:
    """Return True when ``model_dir`` decodes with an on-the-fly composed pair of graphs."""
    graph = model_dir / "graph"
    return not (graph / "HCLG.fst").is_file() and all(
        (graph / name).is_file() for name in LOOKAHEAD_FILES
    )


def static_model_dir(model_dir: Path, root: Path | None = None) -> Path:
    """Return where the static folder for ``model_dir`` lives (built or not)."""
    source = model_dir.expanduser().resolve()
    parts = [str(source)]
    for name in LOOKAHEAD_FILES:
        stat = (source / "graph" / name).stat()
        parts.append(f"{name}:{stat.st_size}:{stat.st_mtime_ns}")
    digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:HASH_DIGITS]
    base = root if root is not None else cache_dir() / "models-static"
    return base / f"{source.name}-{digest}"


def static_model_path(model_dir: Path, root: Path | None = None) -> Path | None:
    """Return the built static folder for ``model_dir``, ``model_dir`` itself if it has an
    ``HCLG.fst`` already, or None when nothing is built yet."""
    source = model_dir.expanduser().resolve()
    if (source / "graph" / "HCLG.fst").is_file():
        return source
    if not has_lookahead_graph(source):
        return None
    target = static_model_dir(source, root)
    return target if (target / MARKER).is_file() else None


def build_static_model(
    model_dir: Path,
    tools: FstTools | None = None,
    root: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Compose ``model_dir``'s lookahead pair into a static graph and return the new model folder.

    A folder built before for the same source files is returned at once. The
    build happens in a temporary folder renamed into place, so a crash or a
    concurrent build never leaves a half folder under the final name.

    Raises:
        ModelError: the model has no lookahead pair, the OpenFst tools are
            missing, a tool fails, or the cache folder is not writable.
    """
    source = model_dir.expanduser().resolve()
    built = static_model_path(source, root)
    if built is not None:
        return built
    if not has_lookahead_graph(source):
        raise ModelError(
            f"{str(source)!r} has neither graph/HCLG.fst nor the graph/HCLr.fst + graph/Gr.fst "
            "pair; run 'make model' to fetch a complete Vosk model"
        )
    tools = tools if tools is not None else find_fst_tools()
    if tools is None:
        raise ModelError(
            f"the OpenFst tools ({', '.join(FST_PROGRAMS)}) or their lookahead plugin are missing; {INSTALL_HINT}"
        )

    target = static_model_dir(source, root)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=target.parent))
    except OSError as exc:
        raise ModelError(
            f"creating the static model folder under {str(target.parent)!r} failed ({exc.strerror}); "
            "make it writable or set CAREROUTE_CACHE_DIR to a writable folder"
        ) from exc
    try:
        _compose(source, staging, tools, progress)
        _mirror_model(source, staging)
        (staging / MARKER).write_text(
            json.dumps(
                {"source": str(source), "tools": {k: str(v) for k, v in tools.programs.items()}},
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )
        try:
            staging.rename(target)
        except OSError:
            # Another process renamed its identical folder into place first; keep that one.
            if not (target / MARKER).is_file():
                raise
        remove_stale_static_models(target)
    except OSError as exc:
        raise ModelError(
            f"writing the static model folder {str(target)!r} failed ({exc}); "
            "check that the cache folder is writable and has about 700 MB free"
        ) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def remove_stale_static_models(current: Path) -> list[Path]:
    """Delete the static folders built earlier from the same source model, and return them.

    A model fetched again gets new file times, so its graph is built into a new
    folder. Without this step the old folder (about 225 MB for the small English
    model) would stay in the cache. A process that loaded an old graph keeps its
    copy in memory, so deleting the files does not disturb it.
    """
    source = _marker_source(current)
    removed: list[Path] = []
    if source is None:
        return removed
    for folder in current.parent.iterdir():
        if folder == current or folder.name.startswith(".") or _marker_source(folder) != source:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _marker_source(folder: Path) -> str | None:
    try:
        recorded = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    source = recorded.get("source") if isinstance(recorded, dict) else None
    return source if isinstance(source, str) else None


def _compose(
    source: Path, staging: Path, tools: FstTools, progress: Callable[[str], None] | None
) -> None:
    graph = source / "graph"
    out = staging / "graph"
    out.mkdir()
    work = staging / "work"
    work.mkdir()

    # Gr.fst carries its word list as a symbol table. The tools failed to read the
    # composed graph back with it attached, so the list goes to words.txt instead.
    _run(
        tools,
        "fstsymbols",
        [f"--save_osymbols={out / 'words.txt'}", str(graph / "Gr.fst"), os.devnull],
    )
    _run(
        tools,
        "fstsymbols",
        ["--clear_isymbols", "--clear_osymbols", str(graph / "Gr.fst"), str(work / "G.fst")],
    )

    if progress is not None:
        progress("composing the static decoding graph (about half a minute)")
    _run(
        tools,
        "fstcompose",
        [str(graph / "HCLr.fst"), str(work / "G.fst"), str(work / "HCLG-disambig.fst")],
    )

    # The disambiguation symbols on the input side become epsilons, as Vosk's
    # on-the-fly composition does with disambig_tid.int.
    pairs = work / "disambig-to-eps.txt"
    symbols = (graph / "disambig_tid.int").read_text(encoding="utf-8").split()
    pairs.write_text("".join(f"{symbol} 0\n" for symbol in symbols), encoding="utf-8")
    _run(
        tools,
        "fstrelabel",
        [
            f"--relabel_ipairs={pairs}",
            str(work / "HCLG-disambig.fst"),
            str(work / "HCLG-vector.fst"),
        ],
    )
    _run(
        tools,
        "fstconvert",
        ["--fst_type=const", str(work / "HCLG-vector.fst"), str(out / "HCLG.fst")],
    )
    shutil.rmtree(work)


def _run(tools: FstTools, program: str, arguments: Sequence[str]) -> None:
    command = [str(tools.programs[program]), *arguments]
    try:
        result = subprocess.run(
            command,
            env=tools.environment(),
            capture_output=True,
            text=True,
            timeout=TOOL_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ModelError(f"running {' '.join(command)!r} failed ({exc}); {INSTALL_HINT}") from exc
    if result.returncode != 0:
        tail = result.stderr.strip().splitlines()[-3:]
        raise ModelError(
            f"{program} exited with {result.returncode} while building the static graph "
            f"({' / '.join(tail) or 'no message'}); {INSTALL_HINT}"
        )


def _mirror_model(source: Path, dest: Path) -> None:
    """Symlink every file of ``source`` into ``dest`` except the lookahead pair."""
    for folder, subfolders, files in os.walk(source, followlinks=True):
        relative = Path(folder).relative_to(source)
        for name in subfolders:
            (dest / relative / name).mkdir(exist_ok=True)
        for name in files:
            if relative == Path("graph") and name in LOOKAHEAD_FILES:
                continue
            link = dest / relative / name
            if not link.exists():
                link.symlink_to(Path(folder) / name)
