"""Configuration sections as frozen dataclasses, with their defaults.

Each field's ``metadata["check"]`` names a validator in ``careroute.config.checks``
that the loader runs on the value. ``config/careroute.yaml`` documents every
key, and a unit test keeps that file equal to these defaults.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from careroute.errors import ConfigError
from careroute.model_tuning import DecoderSettings
from careroute.paths import vosk_model_path

# -- ari ---------------------------------------------------------------------
#: Asterisk's HTTP server listens on port 8088 by default (http.conf).
DEFAULT_ARI_URL = "http://127.0.0.1:8088"
#: The Stasis application name that the dialplan's ``Stasis()`` line uses.
DEFAULT_ARI_APP = "careroute"
DEFAULT_ARI_USER = "careroute"
#: Environment variable that contains the ARI password unless a file is configured.
DEFAULT_ARI_PASSWORD_ENV = "CAREROUTE_ARI_PASSWORD"
#: Seconds per ARI REST request. Set-up requests took 2-85 ms on loopback
#: (measured on Asterisk 22.10.1), so 5 s only fires on a hung Asterisk.
DEFAULT_REQUEST_TIMEOUT = 5.0
#: Reconnect backoff starts here and doubles per failed attempt.
DEFAULT_RECONNECT_BACKOFF_MIN = 0.5
#: Backoff cap, so a restarted Asterisk is found again within this many seconds.
DEFAULT_RECONNECT_BACKOFF_MAX = 10.0

# -- media -------------------------------------------------------------------
#: RTP from externalMedia must stay on the machine.
DEFAULT_MEDIA_BIND_HOST = "127.0.0.1"
#: UDP ports the app assigns to calls, one per call. They lie above Asterisk's
#: own default rtp.conf range (10000-20000) so the two never clash.
DEFAULT_RTP_PORT_MIN = 31000
DEFAULT_RTP_PORT_MAX = 31999
#: Asterisk's 16 kHz signed linear: no resampling before the 16 kHz model.
DEFAULT_MEDIA_FORMAT: Final = "slin16"
#: Seconds without any RTP packet after the media bridge is up before the call
#: raises an alarm and goes to the fallback queue. The first packet arrived
#: within 20 ms of the bridge on loopback (Asterisk 22.10.1), so 2 s means something is broken.
DEFAULT_NO_RTP_TIMEOUT = 2.0

# -- recognizer ----------------------------------------------------------------
#: The Vosk small English model accepts 16 kHz audio only.
DEFAULT_MODEL_SAMPLE_RATE = 16000
#: Kaldi decoder settings written into an overlay of the model folder; None keeps the
#: model's own conf/model.conf value (vosk-model-small-en-us-0.15 ships max-active 3000,
#: beam 10.0, lattice-beam 2.0). With the static graph (careroute.static_graph) the
#: model's own values cost less CPU than max-active 1500 and beam 8.0 did on the
#: on-the-fly graph, and they recognize a little better (docs/benchmarks.md,
#: "Decoder settings").
DEFAULT_MAX_ACTIVE: int | None = None
DEFAULT_BEAM: float | None = None
DEFAULT_LATTICE_BEAM: float | None = None
#: A chunk of 9 frames lets a partial result change every 90 ms instead of about
#: every 210 ms (Kaldi's 20, rounded up to the model's subsampling factor of 3). It
#: costs about half again the decoding CPU and recognized the dev calls slightly
#: better; docs/benchmarks.md has the measurements.
DEFAULT_FRAMES_PER_CHUNK: int | None = 9
#: No dither. Kaldi's default of 1.0 adds random noise, and with it the same call
#: decoded, and could route, differently depending on the calls decoded before it in
#: the process (seen with the small English model). Routing accuracy on the dev
#: calls without dither was within the run-to-run spread.
DEFAULT_DITHER: float | None = 0.0

# -- routing -------------------------------------------------------------------
#: Minimum top-queue probability for a decision on a partial result. At 0.70 the
#: app routed most dev calls four seconds before the caller finished, often on a
#: misheard opening. At 0.90 live queue accuracy rose from 0.67 to 0.73-0.78 (four
#: runs), and the median time to the queue grew by about half a second
#: (docs/benchmarks.md, "Partial-result threshold").
DEFAULT_QUEUE_THRESHOLD = 0.90
#: Consecutive decided partials that must agree on the top queue.
DEFAULT_STABLE_PARTIALS = 2
#: Minimum top-queue probability at a final result; below it the call goes to
#: the fallback queue. Lower than the partial threshold because a final result
#: ends the caller's sentence, and the caller then waits for a reply.
DEFAULT_FINAL_THRESHOLD = 0.45
#: Seconds of listening without speech before the reprompt, and again after
#: the reprompt before the fallback queue.
DEFAULT_NO_SPEECH_TIMEOUT = 6.0
#: Seconds to wait after a final result the classifier cannot place ("hello?",
#: "um") before the reprompt plays. More speech in that time cancels it, because a
#: filler word and a short pause end Vosk's sentence while the caller goes on.
DEFAULT_REPROMPT_DELAY_SECONDS = 1.5
#: Seconds from the start of listening until the call goes to the fallback queue.
DEFAULT_MAX_LISTEN_SECONDS = 20.0
DEFAULT_FALLBACK_QUEUE = "front_desk"
#: Queue that takes every emergency (the on-call nurse).
DEFAULT_EMERGENCY_QUEUE = "nurse"
#: Queue for urgent (not emergency) red flags that the classifier did not place.
DEFAULT_URGENT_RED_FLAG_QUEUE = "nurse"
#: DTMF digit that sends the caller to the fallback queue at once.
DEFAULT_OPERATOR_DIGIT = "0"
#: ``QUEUE_PRIO`` values: app_queue serves higher numbers first.
DEFAULT_PRIORITY_EMERGENCY = 10
DEFAULT_PRIORITY_URGENT = 5
DEFAULT_PRIORITY_ROUTINE = 0
#: Dialplan context with one extension per queue.
DEFAULT_DIALPLAN_CONTEXT = "careroute-queues"
#: Minimum probability of the urgency model's "emergency" (without a red-flag
#: rule) for a partial to count towards an emergency decision. Short or
#: misrecognized partials ("parking lot") reached 0.9 on the first trained
#: model, so the model alone must also hold it over stable_partials partials
#: and model_emergency_min_words words; red-flag rules still decide at once.
DEFAULT_MODEL_EMERGENCY_THRESHOLD = 0.85
#: Minimum words in a transcript before the urgency model alone may call an emergency.
DEFAULT_MODEL_EMERGENCY_MIN_WORDS = 5
#: Seconds the app keeps listening after a routine or urgent decision, so an
#: emergency mentioned later in the caller's sentence still moves the caller
#: to the emergency queue. Callers in the dev recordings spoke 3-15 s, and an
#: early decision can come 1-2 s in, so 20 s covers the rest of the sentence.
DEFAULT_ESCALATION_WINDOW_SECONDS = 20.0

# -- ami -----------------------------------------------------------------------
#: Asterisk's manager interface listens on port 5038 by default (manager.conf).
DEFAULT_AMI_PORT = 5038
DEFAULT_AMI_USER = "careroute"
DEFAULT_AMI_SECRET_ENV = "CAREROUTE_AMI_SECRET"

# -- prompts, logging, health --------------------------------------------------
#: Sound names relative to Asterisk's sounds folder, without extension.
DEFAULT_GREETING_SOUND = "careroute/greeting"
DEFAULT_REPROMPT_SOUND = "careroute/reprompt"
DEFAULT_LOG_LEVEL: Final = "info"
DEFAULT_HEALTH_BIND = "127.0.0.1"
DEFAULT_HEALTH_PORT = 9188

# -- eagi ----------------------------------------------------------------------
#: The EAGI engine accepts relay connections from the Asterisk host only.
DEFAULT_EAGI_BIND = "127.0.0.1"
#: TCP port of ``careroute eagi-serve``. FastAGI's default is 4573 (res_agi's
#: agi:// URLs), so this stays clear of an existing FastAGI server.
DEFAULT_EAGI_PORT = 4578
#: Seconds the EAGI engine keeps listening after a routine or urgent decision
#: before it releases the caller to the queue. The ARI app escalates a routed
#: caller later, but over EAGI the audio ends with the relay. Early decisions
#: came 1-3 s into a sentence whose red flag followed within about 2 s
#: (synthesized test callers on the test bed), so 4 s covers that.
DEFAULT_EAGI_WATCH_SECONDS = 4.0


def _check(name: str) -> dict[str, str]:
    return {"check": name}


def read_secret(
    file: Path | None, env: str | None, *, file_key: str, env_key: str, what: str, source: str
) -> str:
    """Read a secret from ``file`` when set, else from the environment variable ``env``.

    ``file_key`` and ``env_key`` are the config keys named in errors, ``what``
    is the secret ("ARI password") and ``source`` where the admin finds it
    ("ari.conf").

    Raises:
        ConfigError: neither source is configured, the file cannot be read or
            is empty, or the variable is unset or empty.
    """
    if file is not None:
        try:
            secret = file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"{file_key} {str(file)!r} cannot be read ({exc.strerror}); "
                f"create it with the {what} or point {file_key} at it"
            ) from exc
        if not secret:
            raise ConfigError(f"{file_key} {str(file)!r} is empty; write the {what} into it")
        return secret
    if env is None:
        raise ConfigError(
            f"no {what} source: set {env_key} to an environment variable "
            f"name or {file_key} to a file that contains the {what}"
        )
    secret = os.environ.get(env, "")
    if not secret:
        raise ConfigError(
            f"environment variable {env!r} ({env_key}) is unset or empty; "
            f"export it with the {what} from {source}"
        )
    return secret


@dataclass(frozen=True, slots=True)
class AriConfig:
    """Connection to Asterisk's REST Interface."""

    url: str = field(default=DEFAULT_ARI_URL, metadata=_check("http_url"))
    app: str = field(default=DEFAULT_ARI_APP, metadata=_check("identifier"))
    user: str = field(default=DEFAULT_ARI_USER, metadata=_check("non_empty"))
    password_env: str | None = field(default=DEFAULT_ARI_PASSWORD_ENV, metadata=_check("env_name"))
    password_file: Path | None = None
    request_timeout: float = field(default=DEFAULT_REQUEST_TIMEOUT, metadata=_check("positive"))
    reconnect_backoff_min: float = field(
        default=DEFAULT_RECONNECT_BACKOFF_MIN, metadata=_check("positive")
    )
    reconnect_backoff_max: float = field(
        default=DEFAULT_RECONNECT_BACKOFF_MAX, metadata=_check("positive")
    )

    def password(self) -> str:
        """Read the ARI password from ``password_file`` or else the ``password_env`` variable.

        Raises:
            ConfigError: neither source is configured, the file cannot be read,
                or the variable is unset or empty.
        """
        return read_secret(
            self.password_file, self.password_env,
            file_key="ari.password_file", env_key="ari.password_env",
            what="ARI password", source="ari.conf",
        )


@dataclass(frozen=True, slots=True)
class MediaConfig:
    """Transport and format of the caller audio."""

    transport: Literal["rtp"] = "rtp"
    bind_host: str = field(default=DEFAULT_MEDIA_BIND_HOST, metadata=_check("ip_address"))
    rtp_port_min: int = field(default=DEFAULT_RTP_PORT_MIN, metadata=_check("port"))
    rtp_port_max: int = field(default=DEFAULT_RTP_PORT_MAX, metadata=_check("port"))
    format: Literal["slin16", "slin", "ulaw"] = DEFAULT_MEDIA_FORMAT
    no_rtp_timeout: float = field(default=DEFAULT_NO_RTP_TIMEOUT, metadata=_check("positive"))


@dataclass(frozen=True, slots=True)
class RecognizerConfig:
    """The Vosk speech recognizer."""

    model_path: Path | None = None
    """Unpacked Vosk model folder; None means ``careroute.paths.vosk_model_path()``."""
    sample_rate: int = field(default=DEFAULT_MODEL_SAMPLE_RATE, metadata=_check("sample_rate"))
    max_active: int | None = field(default=DEFAULT_MAX_ACTIVE, metadata=_check("max_active"))
    """Kaldi ``--max-active``: maximum active decoder states per frame; None keeps the model's."""
    beam: float | None = field(default=DEFAULT_BEAM, metadata=_check("positive"))
    """Kaldi ``--beam``: decoding beam; None keeps the model's."""
    lattice_beam: float | None = field(default=DEFAULT_LATTICE_BEAM, metadata=_check("positive"))
    """Kaldi ``--lattice-beam``: lattice pruning beam; None keeps the model's."""
    frames_per_chunk: int | None = field(
        default=DEFAULT_FRAMES_PER_CHUNK, metadata=_check("frames_per_chunk")
    )
    """Kaldi ``--frames-per-chunk``: 10 ms frames scored at a time; None keeps Kaldi's 20."""
    dither: float | None = field(default=DEFAULT_DITHER, metadata=_check("non_negative"))
    """Kaldi ``--dither`` for the features: noise added before analysis; None keeps Kaldi's 1.0."""
    graph: Literal["auto", "static", "lookahead"] = "auto"
    """Decoding graph: "static" needs the graph 'make model' precomposes, "lookahead" composes
    on the fly per call, "auto" takes the static one when it is built (see careroute.static_graph)."""

    def resolved_model_path(self) -> Path:
        """Return the configured model folder, or the default cache location."""
        return self.model_path if self.model_path is not None else vosk_model_path()

    def decoder_settings(self) -> DecoderSettings:
        """Return the decoder settings to apply on top of the model's ``conf/model.conf``."""
        return DecoderSettings(
            max_active=self.max_active,
            beam=self.beam,
            lattice_beam=self.lattice_beam,
            frames_per_chunk=self.frames_per_chunk,
            dither=self.dither,
        )


@dataclass(frozen=True, slots=True)
class ClassifierConfig:
    """The intent and urgency classifier."""

    artifact_path: Path | None = None
    """Trained classifier artifact; None means the artifact shipped in ``models/``."""


@dataclass(frozen=True, slots=True)
class PrioritiesConfig:
    """``QUEUE_PRIO`` per urgency."""

    emergency: int = field(default=DEFAULT_PRIORITY_EMERGENCY, metadata=_check("non_negative"))
    urgent: int = field(default=DEFAULT_PRIORITY_URGENT, metadata=_check("non_negative"))
    routine: int = field(default=DEFAULT_PRIORITY_ROUTINE, metadata=_check("non_negative"))

    def for_urgency(self, urgency: str) -> int:
        """Return the priority for ``urgency`` (emergency, urgent or routine)."""
        if urgency == "emergency":
            return self.emergency
        if urgency == "urgent":
            return self.urgent
        if urgency == "routine":
            return self.routine
        raise ValueError(f"urgency {urgency!r} is not one of emergency, urgent, routine")


@dataclass(frozen=True, slots=True)
class RoutingConfig:
    """Thresholds and targets of the routing policy."""

    queue_threshold: float = field(default=DEFAULT_QUEUE_THRESHOLD, metadata=_check("probability"))
    stable_partials: int = field(default=DEFAULT_STABLE_PARTIALS, metadata=_check("positive"))
    final_threshold: float = field(default=DEFAULT_FINAL_THRESHOLD, metadata=_check("probability"))
    no_speech_timeout: float = field(
        default=DEFAULT_NO_SPEECH_TIMEOUT, metadata=_check("positive")
    )
    reprompt_delay_seconds: float = field(
        default=DEFAULT_REPROMPT_DELAY_SECONDS, metadata=_check("non_negative")
    )
    max_listen_seconds: float = field(
        default=DEFAULT_MAX_LISTEN_SECONDS, metadata=_check("positive")
    )
    fallback_queue: str = field(default=DEFAULT_FALLBACK_QUEUE, metadata=_check("identifier"))
    emergency_queue: str = field(default=DEFAULT_EMERGENCY_QUEUE, metadata=_check("identifier"))
    urgent_red_flag_queue: str = field(
        default=DEFAULT_URGENT_RED_FLAG_QUEUE, metadata=_check("identifier")
    )
    operator_digit: str = field(default=DEFAULT_OPERATOR_DIGIT, metadata=_check("dtmf_digit"))
    priorities: PrioritiesConfig = field(default_factory=PrioritiesConfig)
    dialplan_context: str = field(default=DEFAULT_DIALPLAN_CONTEXT, metadata=_check("identifier"))
    model_emergency_threshold: float = field(
        default=DEFAULT_MODEL_EMERGENCY_THRESHOLD, metadata=_check("probability")
    )
    model_emergency_min_words: int = field(
        default=DEFAULT_MODEL_EMERGENCY_MIN_WORDS, metadata=_check("positive")
    )
    escalation_window_seconds: float = field(
        default=DEFAULT_ESCALATION_WINDOW_SECONDS, metadata=_check("non_negative")
    )
    """Seconds of listening after a non-emergency decision; 0 turns escalation off."""


@dataclass(frozen=True, slots=True)
class AmiConfig:
    """Connection to Asterisk's manager interface, used to escalate routed callers.

    A caller who has left Stasis for a queue can be moved only over AMI
    (``Setvar`` and ``Redirect``), so escalation needs it.
    """

    enabled: bool = True
    """On by default: without AMI an emergency named after routing is not escalated."""
    host: str = field(default=DEFAULT_MEDIA_BIND_HOST, metadata=_check("ip_address"))
    port: int = field(default=DEFAULT_AMI_PORT, metadata=_check("port"))
    user: str = field(default=DEFAULT_AMI_USER, metadata=_check("non_empty"))
    secret_env: str | None = field(default=DEFAULT_AMI_SECRET_ENV, metadata=_check("env_name"))
    secret_file: Path | None = None

    def secret(self) -> str:
        """Read the AMI secret from ``secret_file`` or else the ``secret_env`` variable.

        Raises:
            ConfigError: neither source is configured, the file cannot be read,
                or the variable is unset or empty.
        """
        return read_secret(
            self.secret_file, self.secret_env,
            file_key="ami.secret_file", env_key="ami.secret_env",
            what="AMI secret", source="manager.conf (or set ami.enabled: false)",
        )


@dataclass(frozen=True, slots=True)
class PromptsConfig:
    """Sound files that Asterisk plays to the caller."""

    greeting: str = field(default=DEFAULT_GREETING_SOUND, metadata=_check("sound_name"))
    reprompt: str = field(default=DEFAULT_REPROMPT_SOUND, metadata=_check("sound_name"))


@dataclass(frozen=True, slots=True)
class LoggingConfig:
    """Structured logging."""

    level: Literal["debug", "info", "warning", "error"] = DEFAULT_LOG_LEVEL
    debug_text: bool = False
    """Write transcript text and caller identity to the log (troubleshooting only)."""


@dataclass(frozen=True, slots=True)
class HealthConfig:
    """The HTTP health and readiness endpoint."""

    bind: str = field(default=DEFAULT_HEALTH_BIND, metadata=_check("ip_address"))
    port: int = field(default=DEFAULT_HEALTH_PORT, metadata=_check("port"))


@dataclass(frozen=True, slots=True)
class EagiConfig:
    """The resident engine behind the EAGI relay (``careroute eagi-serve``)."""

    bind: str = field(default=DEFAULT_EAGI_BIND, metadata=_check("ip_address"))
    port: int = field(default=DEFAULT_EAGI_PORT, metadata=_check("port"))
    watch_seconds: float = field(
        default=DEFAULT_EAGI_WATCH_SECONDS, metadata=_check("non_negative")
    )
    """Seconds of listening after a routine or urgent decision; 0 routes at once."""


@dataclass(frozen=True, slots=True)
class CareRouteConfig:
    """The whole CareRoute configuration."""

    ari: AriConfig = field(default_factory=AriConfig)
    ami: AmiConfig = field(default_factory=AmiConfig)
    media: MediaConfig = field(default_factory=MediaConfig)
    recognizer: RecognizerConfig = field(default_factory=RecognizerConfig)
    classifier: ClassifierConfig = field(default_factory=ClassifierConfig)
    routing: RoutingConfig = field(default_factory=RoutingConfig)
    prompts: PromptsConfig = field(default_factory=PromptsConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    health: HealthConfig = field(default_factory=HealthConfig)
    eagi: EagiConfig = field(default_factory=EagiConfig)
