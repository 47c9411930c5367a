"""What the emulated model answers, in GigaChat's legacy `/chat/completions` shapes (blocking and SSE).

The shapes follow the SDK's recordings of the live API (ai-forever/gigachat tests/integration/cassettes, January
2026): a blocking answer as in test_chat_simple (`object: "chat.completion"`, `model: "<name>:<build>"`, usage with
`precached_prompt_tokens`); a stream as in test_stream_simple (the role on the first delta, then content deltas, then
a final event with empty content, the finish reason and usage, then `[DONE]`). Shapes the generator does not make
(pieces, CRLF, no [DONE], 2023 captures...) are replayed byte for byte with raw.py.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from devkit.emulator.rules import MODEL_BUILD, count_tokens

ECHO_CHUNKS = 8


@dataclass(frozen=True)
class Reply:
    """A scripted answer. A list for `text`/`reasoning` gives exactly these SSE deltas (joined when blocking);
    a string is split into a few word-aligned deltas like the default echo."""

    text: str | list[str] = ""
    function_call: tuple[str, dict[str, Any]] | None = None
    functions_state_id: str | None = None
    finish_reason: str | None = None
    reasoning: str | list[str] | None = None
    usage: dict[str, Any] | None = None
    precached_prompt_tokens: int = 0


@dataclass
class Generation:
    """A reply resolved against one request: everything needed to render either response shape."""

    model: str
    created: int
    content: list[str]
    reasoning: list[str] = field(default_factory=list)
    function_call: dict[str, Any] | None = None
    functions_state_id: str | None = None
    finish_reason: str = "stop"
    usage: dict[str, Any] = field(default_factory=dict)


def split_words(text: str, max_chunks: int = ECHO_CHUNKS) -> list[str]:
    """Split into at most `max_chunks` word-aligned pieces whose concatenation is exactly `text`."""
    words = re.findall(r"\s*\S+\s*", text) or ([text] if text else [])
    if len(words) <= max_chunks:
        return words
    size = -(-len(words) // max_chunks)
    return ["".join(words[i : i + size]) for i in range(0, len(words), size)]


def last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content", "")
            return content if isinstance(content, str) else ""
    return ""


def prompt_tokens(body: dict[str, Any]) -> int:
    """Usage rule for prompts: `count_tokens` of every message's `content`, summed (functions are free)."""
    return sum(
        count_tokens(m.get("content") or "")
        for m in body.get("messages") or []
        if isinstance(m, dict) and isinstance(m.get("content") or "", str)
    )


def completion_tokens(content: str, reasoning: str, function_call: dict[str, Any] | None) -> int:
    """Usage rule for completions: content + reasoning + the compact JSON of function-call arguments."""
    tokens = count_tokens(content) + count_tokens(reasoning)
    if function_call is not None:
        tokens += count_tokens(json.dumps(function_call.get("arguments", {}), ensure_ascii=False))
    return tokens


def synthesize(schema: Any, root: dict[str, Any] | None = None, depth: int = 0) -> Any:
    """A simple value satisfying `schema`: every listed property is filled, so required ones are too."""
    if not isinstance(schema, dict) or depth > 8:
        return None
    root = schema if root is None else root
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return synthesize(target, root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    for union in ("anyOf", "oneOf", "allOf"):
        options = [o for o in schema.get(union) or [] if isinstance(o, dict) and o.get("type") != "null"]
        if options:
            return synthesize(options[0], root, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "string"
    if kind == "object":
        props = schema.get("properties") or {}
        return {name: synthesize(sub, root, depth + 1) for name, sub in props.items()}
    if kind == "array":
        items = schema.get("items")
        return [synthesize(items, root, depth + 1)] if isinstance(items, dict) else []
    if kind in ("integer", "number"):
        minimum = schema.get("minimum")
        return minimum if isinstance(minimum, int | float) and minimum > 1 else 1
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return {"date": "2024-01-01", "date-time": "2024-01-01T00:00:00Z", "time": "00:00:00"}.get(
        schema.get("format"), "example"
    )


def _as_deltas(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return list(value)
    return split_words(value)


def _function_by_name(body: dict[str, Any], name: str) -> dict[str, Any]:
    for function in body.get("functions") or []:
        if isinstance(function, dict) and function.get("name") == name:
            return function
    return {}


def _default_reply(body: dict[str, Any]) -> Reply:
    forced = body.get("function_call")
    if isinstance(forced, dict) and isinstance(forced.get("name"), str):
        parameters = _function_by_name(body, forced["name"]).get("parameters") or {}
        return Reply(function_call=(forced["name"], synthesize(parameters) or {}))
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema" and isinstance(fmt.get("schema"), dict):
        document = json.dumps(synthesize(fmt["schema"]), ensure_ascii=False)
        return Reply(text=split_words(document))
    text = "Echo: " + last_user_text(body)
    max_tokens = body.get("max_tokens")
    if isinstance(max_tokens, int) and 0 < max_tokens < count_tokens(text):
        return Reply(text=split_words(text[: max_tokens * 4]), finish_reason="length")
    return Reply(text=split_words(text))


def generate(body: dict[str, Any], reply: Reply | None, created: int) -> Generation:
    """Resolve `reply` (or the default behaviour when None) into the concrete answer for `body`."""
    reply = reply or _default_reply(body)
    content = _as_deltas(reply.text)
    reasoning = _as_deltas(reply.reasoning)
    call = None
    state_id = None
    if reply.function_call is not None:
        name, arguments = reply.function_call
        call = {"name": name, "arguments": arguments}
        # Real GigaChat always attaches a state id to a function call; clients may echo it back.
        state_id = reply.functions_state_id or str(uuid.uuid4())
    usage = reply.usage
    if usage is None:
        prompt = prompt_tokens(body)
        completion = completion_tokens("".join(content), "".join(reasoning), call)
        usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
        # Present in every recorded answer, 0 included (cassettes test_chat_simple, test_chat_parse_json_schema).
        usage["precached_prompt_tokens"] = reply.precached_prompt_tokens
    return Generation(
        model=f"{body.get('model')}:{MODEL_BUILD}",
        created=created,
        content=content,
        reasoning=reasoning,
        function_call=call,
        functions_state_id=state_id,
        finish_reason=reply.finish_reason or ("function_call" if call else "stop"),
        usage=dict(usage),
    )


def completion_body(gen: Generation, with_finish_reason: bool = True) -> dict[str, Any]:
    message: dict[str, Any] = {"content": "".join(gen.content), "role": "assistant"}
    if gen.reasoning:
        message["reasoning_content"] = "".join(gen.reasoning)
    if gen.function_call is not None:
        message["function_call"] = gen.function_call
        message["functions_state_id"] = gen.functions_state_id
    choice: dict[str, Any] = {"message": message, "index": 0}
    if with_finish_reason:
        choice["finish_reason"] = gen.finish_reason
    return {
        "choices": [choice],
        "created": gen.created,
        "model": gen.model,
        "object": "chat.completion",
        "usage": gen.usage,
    }


def _chunk(gen: Generation, delta: dict[str, Any]) -> dict[str, Any]:
    return {
        "choices": [{"delta": delta, "index": 0}],
        "created": gen.created,
        "model": gen.model,
        "object": "chat.completion",
    }


def stream_events(gen: Generation) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(content events, final event) of the legacy SSE body; the role rides on whichever event is first."""
    deltas: list[dict[str, Any]] = [{"reasoning_content": r} for r in gen.reasoning]
    deltas += [{"content": c} for c in gen.content]
    final_delta: dict[str, Any] = {"content": ""}
    if gen.function_call is not None:
        final_delta["function_call"] = gen.function_call
        final_delta["functions_state_id"] = gen.functions_state_id
    if deltas:
        deltas[0] = {**deltas[0], "role": "assistant"}
    else:
        final_delta["role"] = "assistant"
    final = _chunk(gen, final_delta)
    final["choices"][0]["finish_reason"] = gen.finish_reason
    final["usage"] = gen.usage
    return [_chunk(gen, d) for d in deltas], final


def sse_frame(payload: dict[str, Any] | str) -> bytes:
    data = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    return f"data: {data}\n\n".encode()


@dataclass(frozen=True)
class SseDialect:
    """How a protocol frames its server-sent events, and what the stream faults write in it."""

    frame: Callable[[Any], bytes]
    closing: tuple[bytes, ...]  # written after the final event
    malformed: bytes  # Fault.malformed_event
    unknown: bytes | None = None  # Fault.unknown_event: an event of a name the protocol does not define


LEGACY_SSE = SseDialect(frame=sse_frame, closing=(sse_frame("[DONE]"),), malformed=b"data: {not json\n\n")
