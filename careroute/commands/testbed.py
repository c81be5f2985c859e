"""``careroute testbed``: build, run or check the local Asterisk test bed."""

from __future__ import annotations

import argparse
import signal
import sys
import threading


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        choices=("build", "run", "check"),
        help="build: only build the cached root; run: start Asterisk and keep it running "
        "until Ctrl-C or SIGTERM; check: start, query ARI, stop",
    )


def run(args: argparse.Namespace) -> int:
    import httpx

    from careroute.errors import TestbedError
    from careroute.testbed import Testbed, TestbedSettings, ensure_root

    def progress(message: str) -> None:
        print(f"careroute testbed: {message}", file=sys.stderr)

    settings = TestbedSettings()
    if settings.rtp_start > settings.rtp_end:
        raise TestbedError(
            f"CAREROUTE_TESTBED_RTP_START={settings.rtp_start} is above "
            f"CAREROUTE_TESTBED_RTP_END={settings.rtp_end}; set the start port at or below the end port"
        )
    root = ensure_root(progress=progress)
    if args.action == "build":
        print(f"Asterisk test-bed root: {root}")
        return 0

    bed = Testbed(root, settings)
    bed.start()
    try:
        info = httpx.get(
            f"{bed.ari_url}/asterisk/info", auth=(bed.ari_user, bed.ari_password), timeout=5.0
        ).json()
        print(f"Asterisk {info['system']['version']} is up.")
        print(f"  ARI:  {bed.ari_url}  user {bed.ari_user!r} password {bed.ari_password!r}")
        print(f"  AMI:  127.0.0.1:{bed.ami_port}  user {bed.settings.ami_user!r} secret {bed.settings.ami_password!r}")
        print(f"  CLI:  chroot {root} asterisk -C {bed.chroot_run_dir}/etc/asterisk.conf -r")
        print(f"  log:  {bed.log_path}")
        if args.action == "run":
            stopped = threading.Event()
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: stopped.set())
            print("Press Ctrl-C to stop.")
            while not stopped.wait(1.0):
                if not bed.running:
                    print(f"Asterisk exited.\n{bed.log_tail()}", file=sys.stderr)
                    return 1
    finally:
        bed.stop()
        print("Asterisk stopped.")
    return 0
