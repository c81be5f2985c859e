"""Put the Vosk small English model in the cache, verified, from the first source that works.

Sources, in order:

1. the cache itself (``~/.cache/careroute/models`` or ``$CAREROUTE_MODEL_DIR``);
2. the official Vosk model archive, checked against its published SHA-256;
3. the Maven Central artifact ``com.alphacephei:vosk-model-en``, an Android
   AAR whose ``assets/model-en-us`` folder holds the same model. It is fetched
   with ``mvn dependency:copy`` and every file is checked against the listing
   in ``careroute/data/vosk-model-small-en-us-0.15.sha256``.

Every source unpacks into a temporary folder beside the cache entry and is
renamed into place only after it was verified, so a failed or interrupted
download never leaves a half model behind.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from careroute.errors import ModelError
from careroute.paths import VOSK_MODEL_NAME, models_dir, vosk_model_path
from careroute.tools import require_tool

OFFICIAL_URL = f"https://alphacephei.com/vosk/models/{VOSK_MODEL_NAME}.zip"
#: SHA-256 of the official ``vosk-model-small-en-us-0.15.zip``.
OFFICIAL_SHA256 = "30f26242c4eb449f948e42cb302dd7a686cb29a3423a8367f99ff41780942498"

MAVEN_ARTIFACT = "com.alphacephei:vosk-model-en:0.3.45:aar"
#: Folder inside the AAR that holds the model.
MAVEN_MODEL_PREFIX = "assets/model-en-us/"

LISTING_PATH = Path(__file__).parent / "data" / f"{VOSK_MODEL_NAME}.sha256"

#: Files whose presence makes a folder a usable Vosk model.
REQUIRED_FILES = ("am/final.mdl", "conf/model.conf", "conf/mfcc.conf", "graph/HCLr.fst", "graph/Gr.fst")

#: Seconds to wait for the official server before moving on. The archive is
#: about 40 MB, so the read timeout is per chunk, not for the whole body.
HTTP_CONNECT_TIMEOUT_S = 10.0
HTTP_READ_TIMEOUT_S = 30.0

#: Maven resolves from its own settings; a cold fetch of the 41 MB AAR took
#: under 10 s here, so 10 minutes only catches a hung resolver.
MAVEN_TIMEOUT_S = 600


@dataclass(frozen=True)
class Attempt:
    """One source that was tried and why it failed."""

    source: str
    error: str


def is_model_dir(path: Path) -> bool:
    """Return True when ``path`` looks like an unpacked Vosk model."""
    return all((path / name).is_file() for name in REQUIRED_FILES)


def expected_listing() -> dict[str, str]:
    """Return relative path -> SHA-256 for every file of the small English model."""
    listing: dict[str, str] = {}
    for line in LISTING_PATH.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            listing[name.strip()] = digest
    return listing


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_listing(model_dir: Path) -> None:
    """Raise ModelError unless every listed file exists in ``model_dir`` with its SHA-256."""
    for name, digest in expected_listing().items():
        path = model_dir / name
        if not path.is_file():
            raise ModelError(f"model file {str(path)!r} is missing after unpacking")
        actual = _sha256_file(path)
        if actual != digest:
            raise ModelError(
                f"model file {str(path)!r} has SHA-256 {actual}, expected {digest}; "
                "the download is corrupt"
            )


def _download(url: str, target: Path, progress: Callable[[str], None]) -> None:
    timeout = httpx.Timeout(HTTP_READ_TIMEOUT_S, connect=HTTP_CONNECT_TIMEOUT_S)
    with httpx.stream("GET", url, timeout=timeout, follow_redirects=True) as response:
        response.raise_for_status()
        expected = int(response.headers.get("content-length", "0"))
        received = 0
        with target.open("wb") as handle:
            for chunk in response.iter_bytes(1 << 20):
                handle.write(chunk)
                received += len(chunk)
        if expected and received != expected:
            raise ModelError(
                f"download of {url} into {str(target)!r} stopped at {received} of {expected} bytes"
            )
    progress(f"downloaded {received} bytes from {url}")


def _unzip_checked(archive: Path, dest: Path, prefix: str) -> None:
    """Extract the members of ``archive`` under ``prefix`` into ``dest``, stripping the prefix."""
    try:
        with zipfile.ZipFile(archive) as zipped:
            bad = zipped.testzip()
            if bad is not None:
                raise ModelError(f"archive {str(archive)!r} is corrupt: member {bad!r} fails its CRC")
            for member in zipped.infolist():
                if not member.filename.startswith(prefix) or member.is_dir():
                    continue
                relative = member.filename[len(prefix):]
                if not relative or ".." in Path(relative).parts:
                    continue
                target = dest / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                with zipped.open(member) as source, target.open("wb") as sink:
                    shutil.copyfileobj(source, sink)
    except (zipfile.BadZipFile, EOFError) as exc:
        raise ModelError(f"archive {str(archive)!r} is truncated or not a zip file: {exc}") from exc


def fetch_official(staging: Path, progress: Callable[[str], None], url: str = OFFICIAL_URL) -> Path:
    """Download the official archive into ``staging``, verify it and unpack the model."""
    archive = staging / f"{VOSK_MODEL_NAME}.zip"
    try:
        _download(url, archive, progress)
    except httpx.HTTPError as exc:
        raise ModelError(f"download of {url} failed: {exc}") from exc
    actual = _sha256_file(archive)
    if actual != OFFICIAL_SHA256:
        raise ModelError(
            f"archive {str(archive)!r} has SHA-256 {actual}, expected {OFFICIAL_SHA256}; "
            "the download is corrupt or the file was replaced"
        )
    unpacked = staging / "model"
    _unzip_checked(archive, unpacked, f"{VOSK_MODEL_NAME}/")
    if not is_model_dir(unpacked):
        raise ModelError(f"archive {str(archive)!r} does not contain a Vosk model under {VOSK_MODEL_NAME}/")
    return unpacked


def fetch_maven(staging: Path, progress: Callable[[str], None], artifact: str = MAVEN_ARTIFACT) -> Path:
    """Fetch the Android AAR with Maven into ``staging`` and unpack its model, file by file verified."""
    mvn = require_tool("mvn")
    out_dir = staging / "maven"
    out_dir.mkdir()
    command = [
        mvn, "--batch-mode", "--quiet",
        "org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy",
        f"-Dartifact={artifact}",
        f"-DoutputDirectory={out_dir}",
        "-Dmdep.useBaseVersion=true",
    ]
    progress(f"fetching {artifact} with Maven")
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=MAVEN_TIMEOUT_S, cwd=staging, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise ModelError(f"mvn dependency:copy of {artifact} timed out after {MAVEN_TIMEOUT_S} s") from exc
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-5:])
        raise ModelError(f"mvn dependency:copy of {artifact} failed (exit {result.returncode}):\n{tail}")
    archives = sorted(out_dir.glob("*.aar"))
    if not archives:
        raise ModelError(f"mvn dependency:copy of {artifact} produced no .aar file in {str(out_dir)!r}")
    unpacked = staging / "model"
    _unzip_checked(archives[0], unpacked, MAVEN_MODEL_PREFIX)
    verify_listing(unpacked)
    return unpacked


Source = Callable[[Path, Callable[[str], None]], Path]


def ensure_model(
    progress: Callable[[str], None] = print,
    sources: list[tuple[str, Source]] | None = None,
    target: Path | None = None,
) -> Path:
    """Return the path of a verified Vosk model, fetching it into the cache when missing.

    Raises:
        ModelError: every source failed; the message lists each attempt and
            how to place a model by hand.
    """
    target = target or vosk_model_path()
    if is_model_dir(target):
        return target

    if sources is None:
        sources = [("official Vosk archive " + OFFICIAL_URL, fetch_official),
                   ("Maven artifact " + MAVEN_ARTIFACT, fetch_maven)]
    target.parent.mkdir(parents=True, exist_ok=True)
    attempts = [Attempt(f"cache {str(target)!r}", "no model there")]
    for name, source in sources:
        staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=target.parent))
        try:
            unpacked = source(staging, progress)
            if target.exists():
                # Another process finished first; keep its copy.
                return target
            unpacked.rename(target)
            progress(f"model ready from {name}")
            return target
        except (ModelError, OSError) as exc:
            attempts.append(Attempt(name, str(exc)))
            progress(f"{name}: {exc}")
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    tried = "\n".join(f"  - {a.source}: {a.error}" for a in attempts)
    raise ModelError(
        f"could not get the Vosk model {VOSK_MODEL_NAME}. Tried:\n{tried}\n"
        f"To place it by hand, unzip {VOSK_MODEL_NAME}.zip so that "
        f"{str(target / 'am' / 'final.mdl')!r} exists, or set CAREROUTE_MODEL_DIR "
        f"to a folder that holds an unpacked Vosk model (currently {str(models_dir())!r})."
    )
