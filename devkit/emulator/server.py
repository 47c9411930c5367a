"""A loopback GigaChat: real HTTP(S) on 127.0.0.1 so the unmodified `gigachat` SDK and httpx can be exercised."""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import socket
import ssl
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from devkit.emulator import routes
from devkit.emulator.faults import NGINX_PAGE, STREAM_KINDS, Fault
from devkit.emulator.gate import Gate
from devkit.emulator.replies import Reply, last_user_text, sse_frame
from devkit.emulator.routes import RecordedRequest, Response, UploadedFile
from devkit.emulator.rules import DEFAULT_FILE_SIZE_LIMITS, SCOPES, EmbeddingLimits

TOKEN_TTL_MS = 30 * 60 * 1000
DEFAULT_SCOPE = "GIGACHAT_API_PERS"


class GigaChatEmulator:
    """In-process GigaChat. Public attributes are the knobs and the evidence tests look at."""

    def __init__(
        self,
        ssl_context: ssl.SSLContext | None = None,
        client_ca_pem: str | bytes | None = None,
        latency: float = 0.0,
        chunk_delay: float = 0.0,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if client_ca_pem is not None:
            if ssl_context is None:
                raise ValueError("client_ca_pem needs an ssl_context")
            # The caller's context is adjusted in place: the emulator owns it for its lifetime.
            ssl_context.verify_mode = ssl.CERT_REQUIRED
            pem = client_ca_pem.decode() if isinstance(client_ca_pem, bytes) else client_ca_pem
            ssl_context.load_verify_locations(cadata=pem)
        self.ssl_context = ssl_context
        self.latency = latency
        self.chunk_delay = chunk_delay
        self.embedding_limits = EmbeddingLimits()
        self.unsupported_response_format_models: set[str] = set()
        self.max_images_per_message = 2
        self.token_exp_in_seconds = False  # /token answers `exp` in milliseconds unless set
        self.max_attachments_per_request = 10
        # GigaChat's stream limit (1 for individuals, 10 for businesses): API requests in flight beyond it get 429.
        self.max_in_flight: int | None = None
        self._in_flight = 0
        self.gate: Gate | None = None
        self.file_size_limits = dict(DEFAULT_FILE_SIZE_LIMITS)
        self._bind = (host, port)
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._conns: set[socket.socket] = set()
        self._accounts: dict[str, str] = {}  # authorization key -> scope
        self._scope_keys: dict[str, str] = {}
        self._users: dict[str, str] = {}
        self._tokens: dict[str, int] = {}  # token -> expires_at (ms)
        self._replies: deque[Reply] = deque()
        self._faults: list[list[Any]] = []  # [fault, path suffix or None, remaining]
        self._clear_records()
        self.credentials(DEFAULT_SCOPE)

    def _clear_records(self) -> None:
        self.oauth_calls = 0
        self.token_calls = 0
        self.requests: list[RecordedRequest] = []
        self.chat_requests: list[Any] = []
        self.embedding_requests: list[Any] = []
        self.files: dict[str, UploadedFile] = {}
        self.deleted_files: list[str] = []
        self.peak_in_flight = 0  # the most API requests (signing in aside) that were being answered at once
        self.refused_over_limit = 0

    # lifecycle

    def start(self) -> GigaChatEmulator:
        if self._server is not None:
            return self
        self._stopping.clear()
        handler = type("BoundHandler", (_Handler,), {"emulator": self})
        self._server = _Server(self._bind, handler, self.ssl_context)
        self._bind = (self._bind[0], self._server.server_address[1])
        server = self._server
        # stop() waits up to one poll interval for the serving loop to notice: a short one keeps tests fast.
        self._thread = threading.Thread(
            target=lambda: server.serve_forever(poll_interval=0.01), name="gigachat-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()
        if self.gate is not None:
            self.gate.open()
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> GigaChatEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def host(self) -> str:
        if self._server is None:
            raise RuntimeError("emulator is not started")
        return f"{self._bind[0]}:{self._bind[1]}"

    @property
    def _origin(self) -> str:
        return f"{'https' if self.ssl_context else 'http'}://{self.host}"

    @property
    def base_url(self) -> str:
        return self._origin + routes.API_PREFIX

    @property
    def auth_url(self) -> str:
        return self._origin + routes.OAUTH_PATH

    # accounts and tokens

    def add_account(self, client_id: str, client_secret: str, scope: str) -> str:
        if scope not in SCOPES:
            raise ValueError(f"unknown scope {scope!r}")
        key = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        with self._lock:
            self._accounts[key] = scope
            self._scope_keys.setdefault(scope, key)
        return key

    def credentials(self, scope: str = DEFAULT_SCOPE) -> str:
        """The authorization key of the account registered for `scope` (created on first use)."""
        with self._lock:
            if scope in self._scope_keys:
                return self._scope_keys[scope]
            return self.add_account(str(uuid.uuid4()), str(uuid.uuid4()), scope)

    def add_user(self, user: str, password: str) -> None:
        with self._lock:
            self._users[user] = password

    def _new_token(self) -> tuple[str, int]:
        # Real tokens are ~1.2 KB JWEs; the size matters to anyone measuring header overhead.
        token = secrets.token_urlsafe(900)
        expires_at = int(time.time() * 1000) + TOKEN_TTL_MS
        with self._lock:
            self._tokens[token] = expires_at
        return token, expires_at

    def issue_access_token(self) -> str:
        return self._new_token()[0]

    def expire_tokens(self) -> None:
        with self._lock:
            for token in self._tokens:
                self._tokens[token] = 0

    # scripting

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

    def _take_reply(self) -> Reply | None:
        with self._lock:
            return self._replies.popleft() if self._replies else None

    def inject(self, fault: Fault, path: str | None = "/chat/completions", times: int = 1) -> None:
        with self._lock:
            self._faults.append([fault, path, times])

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for entry in self._faults:
                fault, suffix, _ = entry
                if suffix is None or path.endswith(suffix):
                    entry[2] -= 1
                    if entry[2] <= 0:
                        self._faults.remove(entry)
                    return fault
        return None

    def hold(self, count: int | None, path: str = "/embeddings", timeout: float = 10.0) -> Gate:
        """Answer no request to `path` until `count` of them are waiting at once (see Gate); until the next reset."""
        self.gate = Gate(count, path, timeout)
        return self.gate

    def reset(self) -> None:
        """Forget everything that happened (accounts, users and issued tokens stay valid)."""
        with self._lock:
            self._replies.clear()
            self._faults.clear()
            self._clear_records()
            if self.gate is not None:
                self.gate.open()
            self.gate = None

    @contextlib.contextmanager
    def cleared(self) -> Iterator[GigaChatEmulator]:
        """This emulator, reset before and after the block: one test's view of an emulator that tests share."""
        self.reset()
        try:
            yield self
        finally:
            self.reset()

    def live_files(self) -> set[str]:
        with self._lock:
            return set(self.files) - set(self.deleted_files)

    def _record(self, req: RecordedRequest) -> None:
        # Recorded before faults and validation: tests count attempts, including the ones that were refused.
        with self._lock:
            self.requests.append(req)
            if req.path == routes.API_PREFIX + "/chat/completions":
                self.chat_requests.append(req.json)
            elif req.path == routes.API_PREFIX + "/embeddings":
                self.embedding_requests.append(req.json)

    def _enter(self) -> bool:
        """Count an API request in; False when it is over the stream limit (it is refused, and not counted)."""
        with self._lock:
            if self.max_in_flight is not None and self._in_flight >= self.max_in_flight:
                self.refused_over_limit += 1
                return False
            self._in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
            return True

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)


class LoopbackHTTPServer(ThreadingHTTPServer):
    """A threaded HTTP server for tests on loopback, the emulator's and any stand-in's (such as Dify's file server)."""

    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client going away mid-connection is normal (a plugin process stopped with idle keep-alive connections);
        # anything else is the server's own bug and is printed.
        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            super().handle_error(request, client_address)


class _Server(LoopbackHTTPServer):
    request_queue_size = 256  # the bench opens 64+ connections at once; the default backlog of 5 drops SYNs

    def __init__(self, address: tuple[str, int], handler: type[_Handler], ssl_context: ssl.SSLContext | None):
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


class _Handler(BaseHTTPRequestHandler):
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
        self._holding = path.startswith(routes.API_PREFIX + "/") and path != routes.API_PREFIX + "/token"
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
        is_api = path == routes.OAUTH_PATH or path.startswith(routes.API_PREFIX + "/")
        fault = emu._take_fault(path) if is_api else None
        streaming = routes.is_chat_stream(req)
        if fault is not None and not (streaming and fault.kind in STREAM_KINDS):
            if self._apply_fault(fault, req):
                return
            fault = fault if fault.kind in ("malformed_event", "no_final_event") else None
        resp = routes.dispatch(emu, req, fault)
        resp.headers.update(self._trace_headers(req))
        if resp.events is not None:
            self._send_stream(resp, fault, req)
        elif fault is not None and fault.kind == "malformed_event" and resp.status == 200:
            self._send(Response(payload=b"{not json", headers=resp.headers))
        else:
            self._send(resp)

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
            message = f"Internal error while processing request: {last_user_text(req.json or {})}"
            self._send(routes.error(fault.code, message))
        else:
            return False
        return True

    def _send_status_fault(self, fault: Fault) -> None:
        headers = dict(fault.headers or {})
        if fault.body is None:
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

    def _send(self, resp: Response) -> None:
        if isinstance(resp.payload, bytes):
            data = resp.payload
        else:
            data = json.dumps(resp.payload, ensure_ascii=False).encode()
        self._release()
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in resp.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

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
        frames = [sse_frame(event) for event in resp.events or []]
        at = min(fault.after_chunks, len(frames)) if fault is not None else -1
        if fault is None or fault.kind != "no_final_event":
            frames.append(sse_frame(resp.final_event or {}))
        frames.append(sse_frame("[DONE]"))
        for index, frame in enumerate(frames):
            if index == at and fault is not None:
                if fault.kind == "cut_stream":
                    self.close_connection = True
                    return
                if fault.kind == "malformed_event":
                    self._write_chunk(b"data: {not json\n\n")
                elif fault.kind == "stall":
                    emu._wait(fault.seconds)
            if index > 0:
                emu._wait(emu.chunk_delay)
            if index == len(frames) - 1:
                self._release()
            req.sent.append(time.perf_counter())
            self._write_chunk(frame)
        self._write_chunk(b"")
