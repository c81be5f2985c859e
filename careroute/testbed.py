"""A real Asterisk 22 on loopback for tests, evaluation and benchmarks.

The Asterisk build is Debian sid's package, unpacked by ``mmdebstrap`` into a
root folder under the CareRoute cache (see ``careroute.paths``). The folder is
named after a hash of the build recipe, so a changed recipe builds a new root,
and it is renamed into place only after the build finished.

Each instance writes the project's configs into
``/srv/careroute-testbed/<name>`` inside the root: the shipped ``dialplan/`` folder plus the test-only configs in
``tests/asterisk/``, with ports and credentials filled in. Asterisk runs in
the foreground under ``chroot`` with HTTP/ARI and AMI bound to 127.0.0.1 on
non-default ports. Nothing is mounted, so stopping the process leaves nothing
behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from careroute.errors import TestbedError
from careroute.paths import cache_dir, repo_root
from careroute.tools import require_tool

#: Build recipe of the root. Changing any of it builds a new root.
RECIPE: dict[str, object] = {
    "suite": "sid",
    "variant": "apt",
    "components": ["main"],
    # sid's Release files may be older than their Valid-Until date on a
    # snapshot; the packages are still signed, so only the date check is off.
    "aptopts": ['Acquire::Check-Valid-Until "false"'],
    # python3-minimal runs the EAGI relay (agi/eagi_relay.py) inside the root.
    "packages": ["asterisk", "asterisk-modules", "asterisk-core-sounds-en-gsm", "python3-minimal"],
}

#: Folder inside the root that contains each instance's configs, logs and sounds.
RUN_BASE = "/srv/careroute-testbed"
#: Path of the EAGI relay script inside the root. It is the default of
#: CAREROUTE_EAGI_RELAY in dialplan/extensions_careroute_eagi.conf.
RELAY_PATH = "/usr/local/lib/careroute/eagi_relay.py"

#: A cold build took 16-91 s depending on load and the mirror; 15 minutes
#: only catches a hung download.
BUILD_TIMEOUT_S = 900
#: Asterisk 22.10.1 served ARI about 1-5 s after start on a 2-core machine.
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
LOG_TAIL_LINES = 40


def recipe_hash() -> str:
    """Return a short hash of RECIPE, used in the root folder name."""
    encoded = json.dumps(RECIPE, sort_keys=True).encode()
    return hashlib.sha256(encoded).hexdigest()[:12]


def root_path() -> Path:
    """Return the cached root folder for the current recipe (it may not exist yet)."""
    return cache_dir() / "asterisk" / f"root-{recipe_hash()}"


def _is_complete(root: Path) -> bool:
    return (root / ".careroute-complete").is_file() and (root / "usr/sbin/asterisk").is_file()


def ensure_root(progress: Callable[[str], None] = print) -> Path:
    """Return a built Asterisk root, building it with mmdebstrap when missing.

    Raises:
        MissingToolError: mmdebstrap is not installed.
        TestbedError: the build failed; the message has the tail of its output.
    """
    root = root_path()
    if _is_complete(root):
        return root
    mmdebstrap = require_tool("mmdebstrap")
    if os.geteuid() != 0:
        raise TestbedError("building the Asterisk root needs root (chroot and device nodes); run as root")
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".build-", dir=root.parent))
    target = staging / "root"
    command = [
        mmdebstrap,
        f"--variant={RECIPE['variant']}",
        *[f"--aptopt={opt}" for opt in RECIPE["aptopts"]],  # type: ignore[attr-defined]
        "--include=" + ",".join(RECIPE["packages"]),  # type: ignore[arg-type]
        "--components=" + ",".join(RECIPE["components"]),  # type: ignore[arg-type]
        str(RECIPE["suite"]),
        str(target),
    ]
    progress(f"building the Asterisk test-bed root in {root} (about a minute)")
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False)
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-LOG_TAIL_LINES:])
            raise TestbedError(f"mmdebstrap failed (exit {result.returncode}):\n{tail}")
        (target / ".careroute-complete").write_text(json.dumps(RECIPE, sort_keys=True))
        if not _is_complete(root):
            shutil.rmtree(root, ignore_errors=True)
            target.rename(root)
    except subprocess.TimeoutExpired as exc:
        raise TestbedError(f"mmdebstrap did not finish within {BUILD_TIMEOUT_S} s") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    progress("Asterisk test-bed root ready")
    return root


def _env_port(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        port = int(raw)
    except ValueError:
        raise TestbedError(f"{name}={raw!r} is not a port number; use an integer 1024-65535") from None
    if not 1024 <= port <= 65535:
        raise TestbedError(f"{name}={raw!r} is out of range; use an integer 1024-65535")
    return port


@dataclass(frozen=True)
class TestbedSettings:
    """Ports and credentials of one test-bed Asterisk."""

    __test__ = False

    http_port: int = field(default_factory=lambda: _env_port("CAREROUTE_TESTBED_HTTP_PORT", 18088))
    ami_port: int = field(default_factory=lambda: _env_port("CAREROUTE_TESTBED_AMI_PORT", 15038))
    rtp_start: int = field(default_factory=lambda: _env_port("CAREROUTE_TESTBED_RTP_START", 24000))
    rtp_end: int = field(default_factory=lambda: _env_port("CAREROUTE_TESTBED_RTP_END", 24999))
    ari_user: str = "careroute"
    ari_password: str = "testbed-ari-secret"
    ami_user: str = "careroute"
    ami_password: str = "testbed-ami-secret"
    #: Seconds before the dialplan watchdog releases a caller from the app.
    watchdog_s: int = 30


def _check_port_free(port: int, what: str, kind: int = socket.SOCK_STREAM) -> None:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise TestbedError(
                f"{what} port {port} on 127.0.0.1 is already in use ({exc.strerror}); stop the "
                f"process using it (ss -ltnp 'sport = :{port}') or choose another port "
                "with the CAREROUTE_TESTBED_*_PORT variables"
            ) from exc


class Testbed:
    """One running Asterisk inside the test-bed root."""

    __test__ = False

    def __init__(self, root: Path, settings: TestbedSettings | None = None, name: str | None = None) -> None:
        self.root = root
        self.settings = settings or TestbedSettings()
        # Named after the HTTP port, so test beds on different ports never share a run folder.
        self.name = name or f"port-{self.settings.http_port}"
        self.chroot_run_dir = f"{RUN_BASE}/{self.name}"
        self.run_dir = root / self.chroot_run_dir.lstrip("/")
        self._process: subprocess.Popen[bytes] | None = None
        self._console_log: Path = self.run_dir / "console.log"

    # -- paths ---------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """Process id of the running Asterisk, or None when it is not running."""
        return self._process.pid if self._process is not None and self._process.poll() is None else None

    @property
    def ari_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.http_port}/ari"

    @property
    def ari_user(self) -> str:
        return self.settings.ari_user

    @property
    def ari_password(self) -> str:
        return self.settings.ari_password

    @property
    def ami_port(self) -> int:
        return self.settings.ami_port

    @property
    def ami_secret_file(self) -> Path:
        """File with the AMI secret, for ``ami.secret_file`` in a service config."""
        return self.run_dir / "ami-secret"

    @property
    def log_path(self) -> Path:
        return self.run_dir / "log" / "full"

    def to_chroot(self, host_path: Path) -> str:
        """Return the path of a file under the root as Asterisk, inside the chroot, opens it."""
        return "/" + str(host_path.resolve().relative_to(self.root.resolve()))

    def install_sound(self, source: Path, name: str | None = None) -> str:
        """Copy an 8 kHz WAV into the run's sounds folder; return the Playback() path."""
        if source.suffix != ".wav":
            raise TestbedError(f"sound {str(source)!r} must be an 8 kHz .wav file")
        sounds = self.run_dir / "sounds"
        sounds.mkdir(parents=True, exist_ok=True)
        stem = name or source.stem
        shutil.copyfile(source, sounds / f"{stem}.wav")
        return f"{self.chroot_run_dir}/sounds/{stem}"

    # -- lifecycle -----------------------------------------------------

    def _render_configs(self) -> None:
        settings = self.settings
        values = {
            "@ROOT@": self.chroot_run_dir,
            "@HTTP_PORT@": str(settings.http_port),
            "@AMI_PORT@": str(settings.ami_port),
            "@RTP_START@": str(settings.rtp_start),
            "@RTP_END@": str(settings.rtp_end),
            "@ARI_USER@": settings.ari_user,
            "@ARI_PASSWORD@": settings.ari_password,
            "@AMI_USER@": settings.ami_user,
            "@AMI_PASSWORD@": settings.ami_password,
            "@WATCHDOG@": str(settings.watchdog_s),
        }
        if self.run_dir.exists():
            shutil.rmtree(self.run_dir)
        etc = self.run_dir / "etc"
        etc.mkdir(parents=True)
        for sub in ("lib", "spool", "run", "log", "agi-bin", "sounds"):
            (self.run_dir / sub).mkdir()
        templates = repo_root() / "tests" / "asterisk"
        for template in sorted(templates.glob("*.conf")):
            text = template.read_text()
            for key, value in values.items():
                text = text.replace(key, value)
            (etc / template.name).write_text(text)
        shutil.copytree(repo_root() / "dialplan", self.run_dir / "dialplan")
        self.ami_secret_file.write_text(settings.ami_password + "\n")
        self.ami_secret_file.chmod(0o600)
        # The app plays its prompts as sound:careroute/<name>; Asterisk looks for
        # sounds under astdatadir, which is /usr/share/asterisk on Debian.
        prompts = self.root / "usr/share/asterisk/sounds/careroute"
        prompts.mkdir(parents=True, exist_ok=True)
        for prompt in (repo_root() / "dialplan" / "sounds").glob("*.wav"):
            shutil.copyfile(prompt, prompts / prompt.name)
        # The relay goes to the path the README gives admins, which the EAGI dialplan uses.
        # Other test beds may share the root, so the file is replaced in one rename.
        relay = self.root / RELAY_PATH.lstrip("/")
        relay.parent.mkdir(parents=True, exist_ok=True)
        staged = relay.with_name(f".{relay.name}.{os.getpid()}")
        shutil.copyfile(repo_root() / "agi" / "eagi_relay.py", staged)
        staged.chmod(0o755)
        staged.replace(relay)

    def start(self) -> None:
        """Start Asterisk and wait until ARI responds.

        Raises:
            TestbedError: a port is taken, Asterisk exited, or ARI did not
                respond in time; the message has the tail of Asterisk's log.
        """
        settings = self.settings
        _check_port_free(settings.http_port, "ARI/HTTP")
        _check_port_free(settings.ami_port, "AMI")
        self._render_configs()
        console = self._console_log.open("wb")
        self._process = subprocess.Popen(
            ["chroot", str(self.root), "/usr/sbin/asterisk", "-f", "-q", "-n",
             "-C", f"{self.chroot_run_dir}/etc/asterisk.conf"],
            stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        console.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        auth = (settings.ari_user, settings.ari_password)
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise TestbedError(
                    f"Asterisk exited with code {self._process.returncode} during start-up.\n{self.log_tail()}"
                )
            try:
                response = httpx.get(f"{self.ari_url}/asterisk/info", auth=auth, timeout=2.0)
                if response.status_code == 200:
                    return
                last_error = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                last_error = str(exc) or type(exc).__name__
            # Asterisk offers no readiness signal to wait on, so poll ARI.
            time.sleep(0.25)
        self.stop()
        raise TestbedError(
            f"Asterisk did not respond to GET {self.ari_url}/asterisk/info within "
            f"{START_TIMEOUT_S:.0f} s ({last_error}).\n{self.log_tail()}"
        )

    def cli(self, command: str, timeout: float = 10.0) -> str:
        """Run an Asterisk CLI command through the control socket and return its output."""
        result = subprocess.run(
            ["chroot", str(self.root), "/usr/sbin/asterisk", "-C", f"{self.chroot_run_dir}/etc/asterisk.conf",
             "-rx", command],
            capture_output=True, text=True, timeout=timeout, check=False,
        )
        if result.returncode != 0:
            raise TestbedError(f"asterisk -rx {command!r} failed: {result.stderr.strip()}")
        return result.stdout

    def stop(self) -> None:
        """Stop Asterisk: 'core stop now', then SIGTERM, then SIGKILL of its process group."""
        process = self._process
        if process is None or process.poll() is not None:
            self._process = None
            return
        # A failed graceful stop falls through to the signals below.
        with contextlib.suppress(TestbedError, subprocess.TimeoutExpired):
            self.cli("core stop now", timeout=5.0)
        for sig in (None, signal.SIGTERM, signal.SIGKILL):
            if sig is not None:
                try:
                    os.killpg(process.pid, sig)
                except ProcessLookupError:
                    break
            try:
                process.wait(timeout=STOP_TIMEOUT_S / 3)
                break
            except subprocess.TimeoutExpired:
                continue
        self._process = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """Return the last lines of Asterisk's log (or its console output)."""
        for path in (self.log_path, self._console_log):
            if path.is_file():
                text = path.read_text(errors="replace").splitlines()
                if text:
                    return f"--- last {min(lines, len(text))} lines of {path} ---\n" + "\n".join(text[-lines:])
        return "(Asterisk wrote no log)"

    def __enter__(self) -> Testbed:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
