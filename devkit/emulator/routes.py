"""Endpoint behaviour: turns one parsed request into a `Response` against the emulator's state."""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import random
import re
import struct
import time
import uuid
from dataclasses import dataclass, field
from email.message import Message
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from devkit.emulator import v2
from devkit.emulator.faults import Fault
from devkit.emulator.replies import LEGACY_SSE, SseDialect, completion_body, generate, stream_events
from devkit.emulator.rules import (
    CHAT_MODELS,
    EMBEDDING_DIMENSIONS,
    LISTED_MODELS,
    SCOPES,
    ApiError,
    count_tokens,
    file_kind,
    validate_chat,
    validate_embeddings,
)

if TYPE_CHECKING:
    from devkit.emulator.server import GigaChatEmulator

API_PREFIX = "/api/v1"
# The new host's layout (https://api.giga.chat/v1): no `/api`, and no `/token` (the SDK 0.2.3 README).
NEW_HOST_PREFIX = "/v1"
OAUTH_PATH = "/api/v2/oauth"
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", re.IGNORECASE)


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any
    time: float
    query: str = ""
    client_cert: bool = False  # a verified mTLS client certificate was presented
    peer: str = ""  # "ip:port" of the client socket: distinct values = distinct connections
    # time.perf_counter() just before each SSE event was written (streams only): benchmarks measure pass-through
    sent: list[float] = field(default_factory=list)


@dataclass
class UploadedFile:
    filename: str
    mime: str
    data: bytes
    purpose: str
    created_at: int = field(default_factory=lambda: int(time.time()))


@dataclass
class Response:
    status: int = 200
    payload: Any = None  # JSON-serialisable, or bytes sent verbatim
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    events: list[Any] | None = None  # set for SSE answers
    final_event: Any = None
    dialect: SseDialect = LEGACY_SSE


def error(status: int, message: str) -> Response:
    return Response(status, {"status": status, "message": message})


def oauth_error(status: int, code: int, message: str) -> Response:
    return Response(status, {"code": code, "message": message})


def is_chat_stream(req: RecordedRequest) -> bool:
    return req.path.endswith("/chat/completions") and isinstance(req.json, dict) and req.json.get("stream") is True


def _basic_pair(header: str | None) -> tuple[str, str] | None:
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (ValueError, binascii.Error):
        return None
    user, sep, secret = decoded.partition(":")
    return (user, secret) if sep else None


def oauth(emu: GigaChatEmulator, req: RecordedRequest) -> Response:
    with emu._lock:
        emu.oauth_calls += 1
    if req.method != "POST":
        return error(405, "Method Not Allowed")
    if not UUID4.match(req.headers.get("rquid", "")):
        return error(400, "RqUID header must be a uuid4")
    pair = _basic_pair(req.headers.get("authorization"))
    if pair is None:
        return oauth_error(401, 4, "Can't decode 'Authorization' header")
    scope = (parse_qs(req.body.decode("utf-8", "replace")).get("scope") or [""])[0]
    if not scope:
        return oauth_error(400, 5, "scope is empty")
    if scope not in SCOPES:
        return oauth_error(400, 1, "scope data format invalid")
    key = req.headers["authorization"].partition(" ")[2].strip()
    registered = emu._accounts.get(key)
    if registered is None:
        return oauth_error(401, 6, "credentials doesn't match db data")
    if registered != scope:
        # 400, not 401: Sber's error table lists code 7 under "400 Ошибка в параметрах запроса"
        # (developers.sber.ru/docs/ru/gigachat/api/errors-description).
        return oauth_error(400, 7, "scope from db not fully includes consumed scope")
    token, expires_at = emu._new_token()
    # `expires_at` in milliseconds (Sber's OpenAPI `Token` schema, example 1739784663483).
    return Response(payload={"access_token": token, "expires_at": expires_at})


def user_token(emu: GigaChatEmulator, req: RecordedRequest) -> Response:
    with emu._lock:
        emu.token_calls += 1
    pair = _basic_pair(req.headers.get("authorization"))
    if req.method != "POST" or pair is None or emu._users.get(pair[0]) != pair[1]:
        return error(401, "Unauthorized")
    token, expires_at = emu._new_token()
    # Sber documents `exp` in seconds (developers.sber.ru/docs/en/gigachat/api/authorization: a 10-digit value), the
    # default here; the SDK reads milliseconds, and servers answering so are emulated too.
    return Response(payload={"tok": token, "exp": expires_at // 1000 if emu.token_exp_in_seconds else expires_at})


def check_bearer(emu: GigaChatEmulator, req: RecordedRequest) -> Response | None:
    header = req.headers.get("authorization")
    if header is None and req.client_cert:
        return None  # certificate-only (mTLS) clients send no Authorization at all
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return error(401, "Unauthorized")
    expires_at = emu._tokens.get(token.strip())
    if expires_at is None:
        return error(401, "Unauthorized")
    if expires_at <= time.time() * 1000:
        return error(401, "Token has expired")
    return None


def _model_object(model_id: str) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "owned_by": "salutedevices", "type": LISTED_MODELS[model_id]}


def models(req: RecordedRequest, rest: str) -> Response:
    if rest == "":
        return Response(payload={"object": "list", "data": [_model_object(m) for m in LISTED_MODELS]})
    model_id = rest.lstrip("/")
    if model_id in LISTED_MODELS:
        return Response(payload=_model_object(model_id))
    return error(404, "No such model")


def chat(emu: GigaChatEmulator, req: RecordedRequest, fault: Fault | None) -> Response:
    with emu._lock:
        live = {fid: f.mime for fid, f in emu.files.items() if fid not in emu.deleted_files}
        unsupported = set(emu.unsupported_response_format_models)
    validate_chat(
        req.json,
        file_mime=live.get,
        unsupported_response_format_models=unsupported,
        max_images_per_message=emu.max_images_per_message,
        max_attachments_per_request=emu.max_attachments_per_request,
    )
    gen = generate(req.json, emu._take_reply(), int(time.time()))
    if req.json.get("stream") is True:
        events, final = stream_events(gen)
        return Response(events=events, final_event=final, content_type="text/event-stream")
    with_finish = fault is None or fault.kind != "no_final_event"
    return Response(payload=completion_body(gen, with_finish_reason=with_finish))


def _half(value: float) -> str:
    """A number as GigaChat writes it: a float16 value in its exact decimal form (0.53857421875,
    -0.0026378631591796875), as in the SDK's recorded answer (ai-forever/gigachat
    tests/integration/cassettes/test_embeddings_single.yaml)."""
    return repr(struct.unpack("<e", struct.pack("<e", value))[0])


@functools.cache
def _base_vector(model: str) -> tuple[str, ...]:
    """The model's base vector, as JSON number texts: unnormalised, components of about ±1, like GigaChat's."""
    rng = random.Random(model)
    return tuple(_half(rng.gauss(0.0, 1.0)) for _ in range(EMBEDDING_DIMENSIONS[model]))


def _vector_json(model: str, text: str) -> str:
    """A deterministic, unnormalised vector per (model, text), as JSON: the model's base vector rotated by a hash of
    the text, its first value replaced by another part of the hash. Built from cached number texts, because
    benchmarks embed thousands of texts and the emulator's CPU time must not be what they measure."""
    digest = hashlib.sha256(f"{model}\x00{text}".encode()).digest()
    base = _base_vector(model)
    shift = int.from_bytes(digest[:4], "big") % len(base)
    first = _half(int.from_bytes(digest[4:12], "big") / 2**64 * 4 - 2)
    return "[" + ",".join((first, *base[shift + 1 :], *base[:shift])) + "]"


def embeddings(emu: GigaChatEmulator, req: RecordedRequest) -> Response:
    model, inputs = validate_embeddings(req.json, emu.embedding_limits)
    items = [
        f'{{"object":"embedding","index":{i},"embedding":{_vector_json(model, text)},'
        f'"usage":{{"prompt_tokens":{count_tokens(text)}}}}}'
        for i, text in enumerate(inputs)
    ]
    body = f'{{"object":"list","model":{json.dumps(model)},"data":[{",".join(items)}]}}'
    return Response(payload=body.encode())


def tokens_count(req: RecordedRequest) -> Response:
    body = req.json
    if not isinstance(body, dict):
        return error(400, "Your request contains invalid JSON syntax.")
    if body.get("model") not in CHAT_MODELS and body.get("model") not in EMBEDDING_DIMENSIONS:
        return error(404, "No such model")
    inputs = body.get("input")
    if isinstance(inputs, str):
        inputs = [inputs]
    if not isinstance(inputs, list) or not all(isinstance(text, str) for text in inputs):
        return error(422, "Field 'input' must be an array of strings")
    return Response(payload=[{"object": "tokens", "tokens": count_tokens(t), "characters": len(t)} for t in inputs])


def parse_multipart(body: bytes, content_type: str) -> dict[str, tuple[str | None, str, bytes]]:
    """name -> (filename, content type, data) for every part of a multipart/form-data body."""
    header = Message()
    header["content-type"] = content_type
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str):
        raise ApiError(400, "Malformed multipart body")
    fields: dict[str, tuple[str | None, str, bytes]] = {}
    # Prefixing CRLF lets every delimiter, including the first, be matched as CRLF--boundary.
    for part in (b"\r\n" + body).split(b"\r\n--" + boundary.encode())[1:]:
        if part.startswith(b"--"):
            break
        head, _, data = part.partition(b"\r\n\r\n")
        headers = Message()
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip()] = value.strip()
        name = headers.get_param("name", header="content-disposition")
        if isinstance(name, str):
            fields[name] = (headers.get_filename(), headers.get_content_type(), data)
    return fields


def _file_object(file_id: str, f: UploadedFile) -> dict[str, Any]:
    # As the SDK's fixture get_file.json (2025); older upload answers had no access_policy (post_files.json, 2024).
    return {
        "id": file_id,
        "object": "file",
        "bytes": len(f.data),
        "created_at": f.created_at,
        "filename": f.filename,
        "purpose": f.purpose,
        "access_policy": "private",
    }


def upload_file(emu: GigaChatEmulator, req: RecordedRequest) -> Response:
    fields = parse_multipart(req.body, req.headers.get("content-type", ""))
    if "file" not in fields:
        return error(422, "Field 'file' is missing")
    filename, mime, data = fields["file"]
    purpose = fields["purpose"][2].decode("utf-8", "replace") if "purpose" in fields else "general"
    if purpose not in ("general", "assistant"):
        return error(422, f"Invalid purpose '{purpose}'")
    kind = file_kind(mime)
    if kind is None:
        return error(422, f"Unsupported file type: {mime}")
    if len(data) > emu.file_size_limits[kind]:
        return error(413, f"File is too large: {len(data)} bytes, at most {emu.file_size_limits[kind]} allowed")
    file_id = str(uuid.uuid4())
    uploaded = UploadedFile(filename=filename or "upload", mime=mime, data=data, purpose=purpose)
    with emu._lock:
        emu.files[file_id] = uploaded
    return Response(payload=_file_object(file_id, uploaded))


def files(emu: GigaChatEmulator, req: RecordedRequest, rest: str) -> Response:
    if rest == "" and req.method == "POST":
        return upload_file(emu, req)
    with emu._lock:
        live = {fid: f for fid, f in emu.files.items() if fid not in emu.deleted_files}
    if rest == "" and req.method == "GET":
        return Response(payload={"data": [_file_object(fid, f) for fid, f in live.items()]})
    file_id, _, action = rest.lstrip("/").partition("/")
    if file_id not in live:
        return error(404, "File not found")
    if action == "delete" and req.method == "POST":
        with emu._lock:
            emu.deleted_files.append(file_id)
        return Response(payload={"id": file_id, "object": "file", "deleted": True})
    if action == "content" and req.method == "GET":
        return Response(payload=live[file_id].data, content_type=live[file_id].mime)
    if action == "" and req.method == "GET":
        return Response(payload=_file_object(file_id, live[file_id]))
    return error(404, "Not Found")


def api_rest(path: str) -> str | None:
    """The part of an API path after its version prefix (either host's layout), or None for another path."""
    for prefix in (API_PREFIX, NEW_HOST_PREFIX):
        if path.startswith(prefix + "/"):
            return path[len(prefix) :]
    return None


def is_api(path: str) -> bool:
    """A path of GigaChat's API (either host's layout, either chat protocol), signing in by `/token` included."""
    return api_rest(path) is not None or path in v2.CHAT_PATHS


def api(emu: GigaChatEmulator, req: RecordedRequest, fault: Fault | None) -> Response:
    """Route an API request; `ApiError`s raised by validation become GigaChat error bodies."""
    rest = api_rest(req.path) or ""
    if rest == "/token":
        return user_token(emu, req) if req.path.startswith(API_PREFIX) else error(404, "Not Found")
    denied = check_bearer(emu, req)
    if denied is not None:
        return denied
    try:
        if rest.startswith("/models") and rest[len("/models") :][:1] in ("", "/") and req.method == "GET":
            return models(req, rest[len("/models") :])
        if req.path in v2.CHAT_PATHS and req.method == "POST":
            return v2.chat(emu, req, fault)
        if rest == "/chat/completions" and req.method == "POST":
            return chat(emu, req, fault)
        if rest == "/embeddings" and req.method == "POST":
            return embeddings(emu, req)
        if rest == "/tokens/count" and req.method == "POST":
            return tokens_count(req)
        if rest == "/balance" and req.method == "GET":
            return Response(
                payload={"balance": [{"usage": "GigaChat", "value": 900000}, {"usage": "embeddings", "value": 9999967}]}
            )
        if rest.startswith("/files") and rest[len("/files") :][:1] in ("", "/"):
            return files(emu, req, rest[len("/files") :])
    except ApiError as exc:
        return error(exc.status, exc.message)
    return error(404, "Not Found")


def dispatch(emu: GigaChatEmulator, req: RecordedRequest, fault: Fault | None) -> Response:
    if req.path == OAUTH_PATH:
        return oauth(emu, req)
    if is_api(req.path):
        return api(emu, req, fault)
    return error(404, "Not Found")


def json_or_none(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None
