"""``careroute eval``: live end-to-end evaluation through Asterisk and the real app.

By default it starts its own test-bed Asterisk (on ports apart from the
tests' test bed) and runs the triage service in this process. ``--ari-url``
uses a test bed that is already running; ``--external-app`` also leaves the
app to a service that is already connected to it. Each manifest row becomes a
caller. One line per call is printed as the call ends. A JSON line with the
figures (see ``careroute.livemetrics``) follows, and goes to ``--output`` too.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from careroute.liveeval import DEFAULT_CALL_TIMEOUT_S, DEFAULT_CONCURRENCY
from careroute.paths import repo_root

if TYPE_CHECKING:
    from careroute.testbed import Testbed

#: Ports of the test bed ``careroute eval`` starts: apart from the tests'
#: test bed (18088, 15038, RTP 24000-24999) so both can run at once.
EVAL_HTTP_PORT = 18388
EVAL_AMI_PORT = 15338
EVAL_RTP_RANGE = (26000, 26999)
#: App RTP ports of the in-process service, apart from the tests' 33000-33099.
EVAL_APP_RTP_PORTS = (33400, 33499)
#: Environment variables with the passwords of an Asterisk given by --ari-url.
ARI_PASSWORD_ENV = "CAREROUTE_ARI_PASSWORD"
AMI_PASSWORD_ENV = "CAREROUTE_AMI_SECRET"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--manifest", type=Path, required=True, help="JSON Lines manifest of labelled calls")
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY,
                        help=f"calls in flight at once (default: {DEFAULT_CONCURRENCY})")
    parser.add_argument("--limit", type=int, default=None, help="evaluate only the first N calls")
    parser.add_argument("--call-timeout", type=float, default=DEFAULT_CALL_TIMEOUT_S,
                        help=f"seconds a call may take to reach a queue (default: {DEFAULT_CALL_TIMEOUT_S:.0f})")
    parser.add_argument("--ari-url", default=None,
                        help="use the running test bed at this loopback URL (password from "
                             f"${ARI_PASSWORD_ENV}) instead of starting one")
    parser.add_argument("--ari-user", default="careroute", help="ARI user for --ari-url (default: careroute)")
    parser.add_argument("--ami-port", type=int, default=None,
                        help="AMI port of the --ari-url test bed (default: the test bed's)")
    parser.add_argument("--ami-user", default="careroute",
                        help=f"AMI user for --ari-url (password from ${AMI_PASSWORD_ENV}; default: careroute)")
    parser.add_argument("--external-app", action="store_true",
                        help="do not run the app in this process; a service is connected already")
    parser.add_argument("--output", type=Path, default=repo_root() / "build" / "eval" / "live.json",
                        help="where to write the figures and per-call rows (default: build/eval/live.json)")


def run(args: argparse.Namespace) -> int:
    import asyncio
    import json
    import os
    import time

    from agi.ami import AmiError
    from careroute.commands.ami_errors import ami_failure, quiet_ami_library
    from careroute.errors import CareRouteError
    from careroute.livecalls import PASSWORD_ENV, harness_config
    from careroute.liveeval import read_manifest, run_live_eval
    from careroute.livemetrics import CallResult, format_row, summary
    from careroute.logs import configure_logging
    from careroute.model_fetch import ensure_model

    if args.concurrency < 1:
        raise CareRouteError(f"--concurrency {args.concurrency!r} must be at least 1")
    if args.limit is not None and args.limit < 1:
        raise CareRouteError(f"--limit {args.limit!r} must be at least 1")
    if args.external_app and args.ari_url is None:
        raise CareRouteError("--external-app needs --ari-url: the running app and the test bed must be the same")
    calls = read_manifest(args.manifest, args.limit)
    configure_logging("warning")
    quiet_ami_library()

    testbed, owned = _testbed(args)
    started = time.monotonic()
    try:
        config = None
        if not args.external_app:
            # The service reads its password from the environment, as in production.
            os.environ[PASSWORD_ENV] = testbed.ari_password
            config = harness_config(
                f"http://127.0.0.1:{testbed.settings.http_port}",
                testbed.ari_user,
                PASSWORD_ENV,
                ensure_model(progress=lambda message: None),
                rtp_ports=EVAL_APP_RTP_PORTS,
                health_port=testbed.settings.http_port + 11,
                # Escalation over AMI needs the secret file of a test bed this command started.
                ami={
                    "enabled": owned,
                    "port": testbed.ami_port,
                    "user": testbed.settings.ami_user,
                    "secret_file": str(testbed.ami_secret_file) if owned else None,
                },
            )

        def report(result: CallResult) -> None:
            print(format_row(result), flush=True)

        try:
            results = asyncio.run(
                run_live_eval(
                    calls, testbed, config,
                    concurrency=args.concurrency, call_timeout_s=args.call_timeout, on_result=report,
                )
            )
        except AmiError as exc:
            start_hint = (
                "pass the running test bed's AMI port with --ami-port"
                if args.ari_url is not None
                else f"see the test bed's log {str(testbed.log_path)!r}"
            )
            raise ami_failure(
                exc, testbed.ami_port, start_hint, f"pass its secret in ${AMI_PASSWORD_ENV}"
            ) from exc
    finally:
        if owned:
            testbed.stop()
    figures = summary(results)
    figures["wall_s"] = round(time.monotonic() - started, 1)
    figures["concurrency"] = args.concurrency
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps({"summary": figures, "calls": [result.row() for result in results]}, indent=2) + "\n"
    )
    print(json.dumps(figures))
    return 0


def _testbed(args: argparse.Namespace) -> tuple[Testbed, bool]:
    """Return the test bed to call into and whether this command started it."""
    import os
    from urllib.parse import urlsplit

    from careroute.errors import CareRouteError
    from careroute.testbed import Testbed, TestbedSettings, ensure_root, root_path

    if args.ari_url is None:
        settings = TestbedSettings(
            http_port=EVAL_HTTP_PORT, ami_port=EVAL_AMI_PORT, rtp_start=EVAL_RTP_RANGE[0], rtp_end=EVAL_RTP_RANGE[1]
        )
        bed = Testbed(ensure_root(), settings, name=f"eval-{EVAL_HTTP_PORT}")
        bed.start()
        return bed, True
    url = urlsplit(args.ari_url)
    if url.hostname not in ("127.0.0.1", "localhost") or url.port is None:
        raise CareRouteError(
            f"--ari-url {args.ari_url!r} must name a loopback test bed with its port, e.g. http://127.0.0.1:18088"
        )
    defaults = TestbedSettings()
    settings = TestbedSettings(
        http_port=url.port,
        ami_port=args.ami_port or defaults.ami_port,
        ari_user=args.ari_user,
        ari_password=os.environ.get(ARI_PASSWORD_ENV) or defaults.ari_password,
        ami_user=args.ami_user,
        ami_password=os.environ.get(AMI_PASSWORD_ENV) or defaults.ami_password,
    )
    # The callers' sound files go into the running test bed's folder under the root.
    return Testbed(root_path(), settings), False
