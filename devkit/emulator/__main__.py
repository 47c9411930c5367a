"""Run the emulator as a process: `python -m devkit.emulator --port 0`.

Connection details go to stderr as `key=value` lines (stdout stays free for the caller), then it serves until
SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import ssl
import sys
import tempfile
import threading
from pathlib import Path

from devkit.emulator.client import tls_contexts
from devkit.emulator.server import DEFAULT_SCOPE, GigaChatEmulator


def _tls_context(ca_out: Path) -> ssl.SSLContext:
    import trustme  # dev-only dependency, needed just for --tls

    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(ca_out))
    return tls_contexts(ca, "127.0.0.1", "localhost")[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devkit.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before every answer")
    parser.add_argument("--chunk-delay", type=float, default=0.0, help="seconds between SSE events")
    parser.add_argument("--scope", default=DEFAULT_SCOPE, help="scope of the printed credentials")
    parser.add_argument("--user", help="register user:password for POST /token")
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with a throwaway CA (printed as ca_file)")
    args = parser.parse_args(argv)

    ca_file = Path(tempfile.mkdtemp(prefix="gigachat-emulator-")) / "ca.pem" if args.tls else None
    emu = GigaChatEmulator(
        ssl_context=_tls_context(ca_file) if ca_file else None,
        latency=args.latency,
        chunk_delay=args.chunk_delay,
        host=args.host,
        port=args.port,
    )
    if args.user:
        user, _, password = args.user.partition(":")
        emu.add_user(user, password)
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    try:
        _serve(emu, args.scope, ca_file, done)
    finally:
        if ca_file:
            shutil.rmtree(ca_file.parent, ignore_errors=True)
    return 0


def _serve(emu: GigaChatEmulator, scope: str, ca_file: Path | None, done: threading.Event) -> None:
    with emu:
        lines = [
            f"base_url={emu.base_url}",
            f"auth_url={emu.auth_url}",
            f"credentials={emu.credentials(scope)}",
            f"scope={scope}",
            f"access_token={emu.issue_access_token()}",
        ]
        if ca_file:
            lines.append(f"ca_file={ca_file}")
        print("\n".join(lines), file=sys.stderr, flush=True)
        done.wait()


if __name__ == "__main__":
    sys.exit(main())
