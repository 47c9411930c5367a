"""A loopback GigaChat: real HTTP(S) on 127.0.0.1 so the unmodified `gigachat` SDK and httpx can be exercised."""

from __future__ import annotations

import base64
import contextlib
import secrets
import socket
import ssl
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from typing import Any

from devkit.emulator import builtin, routes, v2
from devkit.emulator.faults import Fault
from devkit.emulator.gate import Gate
from devkit.emulator.handler import EmulatorServer, Handler
from devkit.emulator.raw import RawAnswer
from devkit.emulator.replies import Reply
from devkit.emulator.routes import RecordedRequest, UploadedFile
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
        # Which built-in tools each model offers on v2; any other is refused with 422 (builtin.py).
        self.builtin_tools_by_model = dict(builtin.DEFAULT_OFFERED)
        self.v2_refuses_role_tool = False  # answer v2 function results of role "tool" with 400, as a live host did
        self.max_images_per_message = 1  # Sber's chat reference, 19 February 2026 (rules.py)
        self.token_exp_in_seconds = True  # /token answers `exp` in seconds, as Sber documents; False: milliseconds
        self.max_attachments_per_request = 10
        # GigaChat's stream limit (1 for individuals, 10 for businesses): API requests in flight beyond it get 429.
        self.max_in_flight: int | None = None
        self._in_flight = 0
        self.gate: Gate | None = None
        self.file_size_limits = dict(DEFAULT_FILE_SIZE_LIMITS)
        self._bind = (host, port)
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._server: EmulatorServer | None = None
        self._thread: threading.Thread | None = None
        self._conns: set[socket.socket] = set()
        self._accounts: dict[str, str] = {}  # authorization key -> scope
        self._scope_keys: dict[str, str] = {}
        self._users: dict[str, str] = {}
        self._tokens: dict[str, int] = {}  # token -> expires_at (ms)
        self._replies: deque[Reply | v2.Recorded | builtin.ToolAnswer] = deque()
        self._faults: list[list[Any]] = []  # [fault, path suffix or None, remaining]
        self._raw: list[list[Any]] = []  # [raw answer, path suffix, remaining]
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
        self.generated_files: list[str] = []  # files built-in tools generated (builtin.py), in `files` too
        self.peak_in_flight = 0  # the most API requests (signing in aside) that were being answered at once
        self.refused_over_limit = 0

    # lifecycle

    def start(self) -> GigaChatEmulator:
        if self._server is not None:
            return self
        self._stopping.clear()
        handler = type("BoundHandler", (Handler,), {"emulator": self})
        self._server = EmulatorServer(self._bind, handler, self.ssl_context)
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
    def new_host_base_url(self) -> str:
        """The base URL as the new host spells it (https://api.giga.chat/v1: no `/api`, no `/token`)."""
        return self._origin + routes.NEW_HOST_PREFIX

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

    def script(self, *replies: Reply | v2.Recorded | builtin.ToolAnswer) -> None:
        with self._lock:
            self._replies.extend(replies)

    def _take_reply(self) -> Reply | v2.Recorded | builtin.ToolAnswer | None:
        with self._lock:
            return self._replies.popleft() if self._replies else None

    def inject(self, fault: Fault, path: str | None = "/chat/completions", times: int = 1) -> None:
        with self._lock:
            self._faults.append([fault, path, times])

    def replay(self, answer: RawAnswer, path: str = "/chat/completions", times: int = 1) -> None:
        """Answer the next `times` requests whose path ends with `path` with exactly these bytes (raw.py)."""
        with self._lock:
            self._raw.append([answer, path, times])

    def _take(self, queue: list[list[Any]], path: str) -> Any:
        """The first queued [item, path suffix or None, remaining] for `path`, counted down and dropped at zero."""
        with self._lock:
            for entry in queue:
                item, suffix, _ = entry
                if suffix is None or path.endswith(suffix):
                    entry[2] -= 1
                    if entry[2] <= 0:
                        queue.remove(entry)
                    return item
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
            self._raw.clear()
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
            rest = routes.api_rest(req.path)
            if rest == "/chat/completions" or req.path in v2.CHAT_PATHS:
                self.chat_requests.append(req.json)  # both protocols: the path tells them apart
            elif rest == "/embeddings":
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
