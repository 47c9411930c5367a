"""The emulator's HTTP side: a threading (TLS-capable) server and the handler that answers each request the way the
emulator's state, scripts and faults say; server.py holds that state."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import sys
import time
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from devkit.emulator import routes, v2
from devkit.emulator.faults import NGINX_PAGE, STREAM_KINDS, Fault
from devkit.emulator.raw import RawAnswer
from devkit.emulator.replies import last_user_text
from devkit.emulator.routes import RecordedRequest, Response

if TYPE_CHECKING:
    from devkit.emulator.server import GigaChatEmulator


class LoopbackHTTPServer(ThreadingHTTPServer):
    """A threaded HTTP server for tests on loopback, the emulator's and any stand-in's (such as Dify's file server)."""

    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client going away mid-connection is normal (a plugin process stopped with idle keep-alive connections);
        # anything else is the server's own bug and is printed.
        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            super().handle_error(request, client_address)


class EmulatorServer(LoopbackHTTPServer):
    request_queue_size = 256  # the bench opens 64+ connections at once; the default backlog of 5 drops SYNs

    def __init__(self, address: tuple[str, int], handler: type[Handler], ssl_context: ssl.SSLContext | None):
        self.ssl_context = ssl_context
        super().__init__(address, handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.ssl_context is None:
            super().finish_request(request, client_address)
            return
        # Handshake in the connection's own thread so a slow or rejected client never blocks accept().
        request.settimeout(10)
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            with contextlib.suppress(OSError):
                tls.shutdown(socket.SHUT_RDWR)
            tls.close()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nginx"
    sys_version = ""
    disable_nagle_algorithm = True  # SSE events are small writes; Nagle would batch them and skew latency
    timeout = 120
    emulator: GigaChatEmulator
    _holding = False  # whether the request being answered counts against the stream limit

    def setup(self) -> None:
        super().setup()
        with self.emulator._lock:
            self.emulator._conns.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.emulator._lock:
                self.emulator._conns.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        emu = self.emulator
        body = self._read_body()
        path, _, query = self.path.partition("?")
        req = RecordedRequest(
            method=self.command,
            path=path,
            query=query,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            json=routes.json_or_none(body),
            time=time.time(),
            client_cert=bool(getattr(self.connection, "getpeercert", lambda: None)()),
            peer=f"{self.client_address[0]}:{self.client_address[1]}",
        )
        emu._record(req)
        # A stream is held from the request until its answer is written; signing in (OAuth, /token) takes none.
        self._holding = routes.is_api(path) and routes.api_rest(path) != "/token"
        try:
            if self._holding and not emu._enter():
                self._holding = False
                self._send(routes.error(429, "Too Many Requests"))
                return
            self._answer(req, path)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, TimeoutError):
            self.close_connection = True
        finally:
            self._release()

    def _release(self) -> None:
        """Free this request's stream before its last bytes go out, so a client's next request, sent the moment it
        has the answer, never finds the stream still taken."""
        if self._holding:
            self._holding = False
            self.emulator._leave()

    def _answer(self, req: RecordedRequest, path: str) -> None:
        emu = self.emulator
        if (gate := emu.gate) is not None:
            gate.pass_through(path)
        emu._wait(emu.latency)
        raw: RawAnswer | None = emu._take(emu._raw, path)
        if raw is not None:
            self._send_raw(raw, req)
            return
        is_api = path == routes.OAUTH_PATH or routes.is_api(path)
        fault: Fault | None = emu._take(emu._faults, path) if is_api else None
        streaming = routes.is_chat_stream(req)
        if fault is not None and not (streaming and fault.kind in STREAM_KINDS):
            if self._apply_fault(fault, req):
                return
            fault = fault if fault.kind in ("malformed_event", "no_final_event", "trickle") else None
        resp = routes.dispatch(emu, req, fault)
        resp.headers.update(self._trace_headers(req))
        if resp.events is not None:
            self._send_stream(resp, fault, req)
        elif fault is not None and fault.kind == "malformed_event" and resp.status == 200:
            self._send(Response(payload=b"{not json", headers=resp.headers))
        else:
            self._send(resp, drip=fault.seconds if fault is not None and fault.kind == "trickle" else 0.0)

    def _apply_fault(self, fault: Fault, req: RecordedRequest) -> bool:
        """Answer a response-level fault; False means the request goes on to normal handling."""
        if fault.kind in ("drop", "cut_stream"):
            self.close_connection = True
        elif fault.kind == "stall":
            self.emulator._wait(fault.seconds)
            return False
        elif fault.kind == "status":
            self._send_status_fault(fault)
        elif fault.kind == "html":
            reason = HTTPStatus(fault.code).phrase
            page = NGINX_PAGE.format(status=fault.code, reason=reason).encode()
            self._send(Response(fault.code, page, "text/html"))
        elif fault.kind == "echo_prompt":
            body = v2.legacy_view(req.json) if req.path in v2.CHAT_PATHS and isinstance(req.json, dict) else req.json
            message = f"Internal error while processing request: {last_user_text(body or {})}"
            self._send(routes.error(fault.code, message))
        elif fault.kind == "echo_request":
            quoted = req.headers.get("authorization", "") if fault.body == "authorization" else req.body[:2000]
            text = quoted if isinstance(quoted, str) else quoted.decode("utf-8", "replace")
            self._send(routes.error(fault.code, f"Request refused: {text}"))
        else:
            return False
        return True

    def _send_status_fault(self, fault: Fault) -> None:
        headers = dict(fault.headers or {})
        if isinstance(fault.body, bytes):
            content_type = headers.pop("Content-Type", "application/json")
            self._send(Response(fault.code, fault.body, content_type, headers))
        elif fault.body is None:
            self._send(
                Response(fault.code, {"status": fault.code, "message": HTTPStatus(fault.code).phrase}, headers=headers)
            )
        elif isinstance(fault.body, str):
            self._send(Response(fault.code, fault.body.encode(), "text/plain", headers))
        else:
            self._send(Response(fault.code, fault.body, headers=headers))

    def _trace_headers(self, req: RecordedRequest) -> dict[str, str]:
        return {
            "X-Request-Id": req.headers.get("x-request-id") or str(uuid.uuid4()),
            "X-Session-Id": req.headers.get("x-session-id") or str(uuid.uuid4()),
        }

    def _send(self, resp: Response, drip: float = 0.0) -> None:
        """Write the answer; with `drip`, its body one byte at a time, `drip` seconds apart."""
        if isinstance(resp.payload, bytes):
            data = resp.payload
        else:
            data = json.dumps(resp.payload, ensure_ascii=False).encode()
        self._release()
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        if drip:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(data)))
        for name, value in resp.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if not drip:
            self.wfile.write(data)
            return
        for byte in data:
            if self.emulator._stopping.wait(drip):
                self.close_connection = True
                return
            self._write_chunk(bytes([byte]))
        self._write_chunk(b"")

    def _send_raw(self, raw: RawAnswer, req: RecordedRequest) -> None:
        own = {name.lower() for name in raw.headers}
        headers = {k: v for k, v in self._trace_headers(req).items() if k.lower() not in own} | dict(raw.headers)
        if not raw.chunked:
            self._send(Response(raw.status, raw.body, raw.content_type, headers))
            return
        self._release()
        self.send_response(raw.status)
        for name, value in {"Content-Type": raw.content_type, "Transfer-Encoding": "chunked", **headers}.items():
            self.send_header(name, value)
        self.end_headers()
        for piece in raw.pieces:
            self._write_chunk(piece)
        self._write_chunk(b"")

    def _write_chunk(self, data: bytes) -> None:
        # One write per event: the wfile is unbuffered, so each event leaves immediately as its own chunk.
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _send_stream(self, resp: Response, fault: Fault | None, req: RecordedRequest) -> None:
        emu = self.emulator
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        for name, value in resp.headers.items():
            self.send_header(name, value)
        self.end_headers()
        dialect = resp.dialect
        frames = [dialect.frame(event) for event in resp.events or []]
        at = min(fault.after_chunks, len(frames)) if fault is not None else -1
        if fault is None or fault.kind != "no_final_event":
            frames.append(dialect.frame(resp.final_event or {}))
        frames += dialect.closing
        for index, frame in enumerate(frames):
            if index == at and fault is not None:
                if fault.kind == "cut_stream":
                    self.close_connection = True
                    return
                if fault.kind == "malformed_event":
                    self._write_chunk(dialect.malformed)
                elif fault.kind == "unknown_event" and dialect.unknown is not None:
                    self._write_chunk(dialect.unknown)
                elif fault.kind == "stall":
                    emu._wait(fault.seconds)
            if fault is not None and fault.kind == "trickle":
                emu._wait(fault.seconds)
            if index > 0:
                emu._wait(emu.chunk_delay)
            if index == len(frames) - 1:
                self._release()
            req.sent.append(time.perf_counter())
            self._write_chunk(frame)
        self._write_chunk(b"")
