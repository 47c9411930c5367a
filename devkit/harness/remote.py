"""A stand-in for the plugin daemon's remote-debugging TCP server (``internal/core/debugging_runtime``).

What dify_plugin 0.10.2 does with ``INSTALL_METHOD=remote`` (``plugin.py`` ``_launch_remote_stream``,
``core/server/tcp/request_reader.py``):
- it reads ``REMOTE_INSTALL_URL`` (``host:port``, or a URL with a scheme) and falls back to ``REMOTE_INSTALL_HOST`` and
  ``REMOTE_INSTALL_PORT`` only when the URL is unset; ``REMOTE_INSTALL_KEY`` is mandatory;
- it connects, sends ``{"type":"handshake","data":{"key":…}}`` and then, without waiting for any answer, the
  ``manifest_declaration``, ``model_declaration`` (a list with one provider, models inlined), ``asset_chunk``s of 8 KiB
  (base64, ``end`` on the last chunk of each file) and ``end``, each as a JSON line;
- then heartbeats and session replies flow over the socket in the stdio envelopes; log events still go to stdout.

The real daemon never acknowledges a good handshake. On any registration error it writes the error as a plain-text
line (for example ``handshake failed, invalid key``) and closes the connection; this stand-in does the same.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from . import messages as m
from . import validation as v
from .process import Demux, Reply, _with_no_proxy

MAX_ASSET_BYTES = 50 * 1024 * 1024  # debugging_runtime allows at most 50 MB of assets


class StandInDaemon:
    """Accepts one remote-debugging plugin connection on 127.0.0.1 and plays the daemon's side of it."""

    def __init__(self, key: str = "k-123", host: str = "127.0.0.1") -> None:
        self.key = key
        self.host = host
        self.handshake_key: str | None = None
        self.handshake_ok = False
        self.manifest: dict | None = None
        self.declaration: dict | None = None  # the first (only) provider of model_declaration
        self.assets: dict[str, bytes] = {}
        self.registration_errors: list[str] = []  # what the daemon would have written back before closing
        self.initialized = threading.Event()
        self.closed = threading.Event()
        self._asset_bytes = 0
        self._conn: socket.socket | None = None
        self._write_lock = threading.Lock()
        self._plugin: subprocess.Popen | None = None
        # Not a pipe: nobody drains the plugin's stdout in remote mode, and a full pipe would stall its logging.
        self._plugin_log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self.demux = Demux(expect_manifest=False, alive=lambda: not self.closed.is_set(), describe=self._describe)
        self._server = socket.create_server((host, 0))
        self.port = self._server.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, name=f"standin-daemon-{self.port}", daemon=True)
        self._thread.start()

    # ---- plugin side helpers ----

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def plugin_env(self, key: str | None = None, base: dict | None = None) -> dict[str, str]:
        env = dict(base) if base is not None else dict(os.environ)
        env.update(
            INSTALL_METHOD="remote",
            REMOTE_INSTALL_URL=self.address,
            # Older SDKs only read HOST/PORT; 0.10.2 prefers the URL, so setting all three is harmless.
            REMOTE_INSTALL_HOST=self.host,
            REMOTE_INSTALL_PORT=str(self.port),
            REMOTE_INSTALL_KEY=self.key if key is None else key,
        )
        return _with_no_proxy(env)

    def spawn(
        self,
        plugin_dir: str | os.PathLike,
        python: str = sys.executable,
        key: str | None = None,
        env: dict | None = None,
    ) -> subprocess.Popen:
        """Start ``python -m main`` in remote mode against this daemon; its stdout/stderr go to a temp file."""
        self._plugin = subprocess.Popen(
            [python, "-m", "main"],
            cwd=Path(plugin_dir),
            env=self.plugin_env(key, env),
            stdin=subprocess.DEVNULL,
            stdout=self._plugin_log,
            stderr=subprocess.STDOUT,
        )
        return self._plugin

    def plugin_output(self) -> str:
        self._plugin_log.seek(0)
        return self._plugin_log.read().decode("utf-8", "replace")

    def _describe(self) -> str:
        tail = self.plugin_output()[-2000:] if self._plugin else ""
        return f"\n[stand-in daemon; plugin output tail]\n{tail}" if tail else ""

    # ---- server loop ----

    def _serve(self) -> None:
        try:
            self._server.settimeout(60)
            conn, _ = self._server.accept()
        except OSError:
            self.closed.set()
            return
        finally:
            self._server.close()  # one plugin per stand-in, like a debugging key bound to one runtime
        self._conn = conn
        buffer = b""
        try:
            while not self.closed.is_set():
                data = conn.recv(1 << 20)
                if not data:
                    break
                buffer += data
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    if line.strip() and not self._on_line(line, time.perf_counter()):
                        return
        except OSError:
            pass
        finally:
            self.closed.set()
            self.demux.notify()

    def _on_line(self, line: bytes, ts: float) -> bool:
        """Handle one line; False means the connection was closed."""
        if self.initialized.is_set():
            self.demux.feed_line(line, ts)
            return True
        try:
            payload = json.loads(line)
            kind, data = payload["type"], payload["data"]
        except (ValueError, KeyError, TypeError):
            return self._reject("handshake failed, invalid handshake message")
        if not self.handshake_ok and kind != "handshake":
            return self._reject("handshake failed, registration message before handshake")
        handler = getattr(self, f"_on_{kind}", None)
        if handler is None:  # tool/endpoint/... declarations: not expected from a model plugin
            return self._reject(f"unexpected registration message {kind!r} from a model plugin")
        error = handler(data)
        return self._reject(error) if error else True

    def _on_handshake(self, data: dict) -> str | None:
        if self.handshake_ok:
            return "handshake already completed"
        self.handshake_key = data.get("key") if isinstance(data, dict) else None
        if not self.handshake_key:
            return "handshake failed, invalid handshake message"
        if self.handshake_key != self.key:
            return "handshake failed, invalid key"
        self.handshake_ok = True
        return None

    def _on_manifest_declaration(self, data: dict) -> str | None:
        if self.manifest is not None:
            return "declaration already registered"
        self.manifest = data
        problems = v.check_manifest_declaration(data)
        return f"handshake failed, invalid plugin declaration: {problems}" if problems else None

    def _on_model_declaration(self, data: list) -> str | None:
        if self.declaration is not None:
            return "models declaration already registered"
        if not isinstance(data, list) or not data:
            return "models register failed, invalid models declaration: expected a non-empty list"
        self.declaration = data[0]
        problems = v.check_provider_declaration(data[0])
        return f"models register failed, invalid models declaration: {problems}" if problems else None

    def _on_asset_chunk(self, data: dict) -> str | None:
        try:
            chunk = base64.b64decode(data["data"], validate=True)
        except (KeyError, TypeError, ValueError) as exc:
            return f"assets decode failed, error: {exc}"
        self._asset_bytes += len(chunk)
        if self._asset_bytes > MAX_ASSET_BYTES:
            return "assets too large, at most 50MB"
        self.assets[data["filename"]] = self.assets.get(data["filename"], b"") + chunk
        return None

    def _on_end(self, data: dict) -> str | None:
        if self.declaration is None:
            return "no registration transferred, cannot initialize"
        missing = sorted(set(self._icon_references()) - set(self.assets))
        if missing:
            # RemapAssets: every icon named by the manifest or the provider must have been transferred.
            return f"assets remap failed, invalid assets data, cannot remap: missing {missing}"
        self.initialized.set()
        return None

    def _icon_references(self) -> list[str]:
        refs = [(self.manifest or {}).get("icon"), (self.manifest or {}).get("icon_dark")]
        for key in ("icon_small", "icon_large", "icon_small_dark", "icon_large_dark"):
            refs += list(((self.declaration or {}).get(key) or {}).values())
        return [r for r in refs if r]

    def _reject(self, message: str) -> bool:
        self.registration_errors.append(message)
        with self._write_lock:
            try:
                if self._conn is not None:
                    self._conn.sendall(message.encode() + b"\n")
                    self._conn.close()
            except OSError:
                pass
        self.closed.set()
        return False

    # ---- test side ----

    @property
    def heartbeats(self) -> list[float]:
        return self.demux.heartbeats

    def wait_registered(self, timeout: float = 30) -> StandInDaemon:
        deadline = time.monotonic() + timeout
        while not self.initialized.is_set():
            if self.closed.is_set():
                raise ConnectionError(f"registration failed: {self.registration_errors}{self._describe()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"plugin did not register within {timeout}s{self._describe()}")
            time.sleep(0.02)
        return self

    def wait_closed(self, timeout: float = 30) -> bool:
        return self.closed.wait(timeout)

    def wait_heartbeat(self, timeout: float = 30) -> float:
        deadline = time.monotonic() + timeout
        while not self.demux.heartbeats:
            if time.monotonic() > deadline or self.closed.is_set():
                raise TimeoutError(f"no heartbeat over TCP{self._describe()}")
            time.sleep(0.02)
        return self.demux.heartbeats[0]

    def request(self, data: dict, timeout: float = 60) -> Reply:
        """Send one request envelope over the socket (``\\n``-terminated, as ``RemotePluginRuntime.Write``)."""
        if not self.initialized.is_set() or self._conn is None:
            raise RuntimeError("the plugin has not completed registration")
        env = m.envelope(data)
        self.demux.open(env["session_id"], data.get("action"))
        line = json.dumps(env, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        with self._write_lock:
            self._conn.sendall(line)
        return self.demux.wait(env["session_id"], timeout)

    def close(self) -> None:
        if self._plugin is not None and self._plugin.poll() is None:
            self._plugin.terminate()
            try:
                self._plugin.wait(5)
            except subprocess.TimeoutExpired:
                self._plugin.kill()
                self._plugin.wait(5)
        self.closed.set()
        for sock in (self._conn, self._server):
            if sock is None:
                continue
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in accept()/recv(); close() alone may not
            sock.close()
        self._thread.join(2)
        self._plugin_log.close()

    def __enter__(self) -> StandInDaemon:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
