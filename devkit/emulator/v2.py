"""GigaChat's v2 chat protocol, `POST <origin>/v2/chat/completions`, as the SDK's recordings of the API show it
(ai-forever/gigachat tests/integration/cassettes/test_primary_*.yaml, cited below by name).

A v2 request is read into the legacy shape the emulator's rules and replies already know (`legacy_view`), checked
by the same rules, answered by the same `generate`, and written back in v2 shapes:
- blocking, `test_primary_chat_create_simple`: `{model: "<id>:<build>", created_at, messages: [{role: "assistant",
  tool_state_id?, content: [parts]}], finish_reason, usage: {input_tokens, input_tokens_details: {prompt_tokens,
  cached_tokens}, output_tokens, total_tokens}}`;
- streamed, `test_primary_chat_stream_simple`: named events `response.message.delta` (messages with text parts),
  then `response.message.done` (finish_reason and usage, no messages), and no `[DONE]`;
- function calls, `test_primary_chat_function_tool_roundtrip`: an answer carries `tool_state_id` (requests send
  `tools_state_id`), a `function_call` part with object arguments and `finish_reason: "function_call"`; in a stream
  the call and its state ride on the done event, as a third-party log of the live host saw (no recording streams one);
- errors: `{"status": N, "message": "..."}`, a 422's message starting "Invalid params: " (no v2 error is recorded;
  the shapes of a third-party log of the live host);
- built-in tools (web search, page reading, code interpreter, image generation): their refusals and answers are
  builtin.py's.
Reasoning is streamed as messages of role `reasoning` with text parts (ai-forever/gigachat-java's v2 roles; no
recording has one).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from devkit.emulator import builtin
from devkit.emulator.faults import Fault
from devkit.emulator.replies import Generation, Reply, SseDialect, generate, last_user_text
from devkit.emulator.rules import CHAT_MODELS, ApiError, validate_chat

if TYPE_CHECKING:
    from devkit.emulator.routes import RecordedRequest, Response
    from devkit.emulator.server import GigaChatEmulator

CHAT_PATHS = ("/api/v2/chat/completions", "/v2/chat/completions")  # the earlier host's layout and the new host's
ROLES = frozenset({"system", "user", "assistant", "tool", "function"})
PART_KINDS = frozenset({"text", "files", "function_call", "function_result"})
INVALID_JSON = "Your request contains invalid JSON syntax."


@dataclass(frozen=True)
class Recorded:
    """An answer sent byte for byte, as recorded: for tests of what a client makes of exact shapes. Scripted like a
    Reply (`emu.script(Recorded(...))`)."""

    body: bytes
    content_type: str = "application/json; charset=utf-8"


def chat(emu: GigaChatEmulator, req: RecordedRequest, fault: Fault | None) -> Response:
    from devkit.emulator.routes import Response

    with emu._lock:
        recorded = emu._replies[0] if emu._replies and isinstance(emu._replies[0], Recorded) else None
    if recorded is not None:  # sent as it is, unchecked: it stands for what a server answered
        emu._take_reply()
        return Response(payload=recorded.body, content_type=recorded.content_type)
    view, tools = checked_view(emu, req.json)  # a refused request leaves the scripted replies for the next one
    scripted = emu._take_reply()
    answer = builtin.answer_for(tools, req.json, scripted, last_user_text(view))
    if answer is not None:
        return _tool_response(emu, answer, view, req.json.get("stream") is True)
    gen = generate(view, scripted if isinstance(scripted, Reply) else None, int(time.time()))
    if req.json.get("stream") is True:
        events, final = stream_events(gen)
        return Response(events=events, final_event=final, content_type="text/event-stream", dialect=SSE)
    return Response(payload=completion_body(gen, with_finish_reason=fault is None or fault.kind != "no_final_event"))


def _tool_response(emu: GigaChatEmulator, answer: builtin.ToolAnswer, view: dict[str, Any], stream: bool) -> Response:
    from devkit.emulator.routes import Response

    reply = builtin.resolve(emu, answer, view, int(time.time()))
    if stream:
        events, final = builtin.stream_events(reply, usage(reply.gen))
        return Response(events=events, final_event=final, content_type="text/event-stream", dialect=SSE)
    return Response(payload=builtin.completion_body(reply, usage(reply.gen)))


def checked_view(emu: GigaChatEmulator, body: Any) -> tuple[dict[str, Any], list[str]]:
    """The request's legacy view and the built-in tools it enables, after v2's own shape rules, the tool rules and
    the rules both protocols share."""
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        raise ApiError(400, INVALID_JSON)
    if body.get("model") not in CHAT_MODELS:
        raise ApiError(404, "No such model")
    for index, message in enumerate(body["messages"]):
        _check_message(message, index, emu.v2_refuses_role_tool)
    tools = builtin.requested(body, emu.builtin_tools_by_model)
    view = legacy_view(body)
    with emu._lock:
        live = {fid: f.mime for fid, f in emu.files.items() if fid not in emu.deleted_files}
        unsupported = set(emu.unsupported_response_format_models)
    try:
        validate_chat(
            view,
            file_mime=live.get,
            unsupported_response_format_models=unsupported,
            max_images_per_message=emu.max_images_per_message,
            max_attachments_per_request=emu.max_attachments_per_request,
        )
    except ApiError as error:
        raise ApiError(error.status, "Invalid params: " + error.message) if error.status == 422 else error from None
    return view, tools


def _check_message(message: Any, index: int, refuses_role_tool: bool) -> None:
    if not isinstance(message, dict) or message.get("role") not in ROLES:
        raise ApiError(400, INVALID_JSON)
    if message["role"] == "tool" and refuses_role_tool:
        raise ApiError(400, INVALID_JSON)  # what a third-party log of the live host saw for role "tool"
    parts = message.get("content")
    if not isinstance(parts, list) or not parts:
        raise ApiError(422, f"Invalid params: messages[{index}].content must be a non-empty array of parts")
    for number, part in enumerate(parts):
        if not isinstance(part, dict) or len(part) != 1 or not set(part) <= PART_KINDS:
            raise ApiError(422, f"Invalid params: messages[{index}].content[{number}] must hold one known part")


def legacy_view(body: dict[str, Any]) -> dict[str, Any]:
    """A v2 request as a legacy `/chat/completions` body: what the shared rules check and `generate` answers.

    Text parts are joined into `content`, `files` become `attachments`, a `function_call` part the message's
    `function_call`, a `function_result` part a role-"function" message whose `content` is the result as JSON;
    specifications become `functions`, `tool_config` becomes `function_call`, and `model_options` (but a regex
    response format, which the legacy rules do not know) move to the top level. Tests read the wire through it too.
    """
    view: dict[str, Any] = {key: value for key, value in body.items() if key not in ("messages", "model_options")}
    view.pop("tools", None)
    view.pop("tool_config", None)
    view["messages"] = [_legacy_message(message) for message in body.get("messages") or []]
    options = dict(body.get("model_options") or {})
    effort = (options.pop("reasoning", None) or {}).get("effort")
    if effort is not None:
        view["reasoning_effort"] = effort
    if (options.get("response_format") or {}).get("type") == "regex":
        options.pop("response_format")
    view.update(options)
    functions = [
        spec
        for tool in body.get("tools") or []
        if isinstance(tool, dict)
        for spec in (tool.get("functions") or {}).get("specifications") or []
    ]
    if functions:
        view["functions"] = functions
    config = body.get("tool_config")
    if isinstance(config, dict):
        mode = config.get("mode")
        if mode == "forced":  # a function by `function_name`; a built-in tool's `tool_name` forces no function
            name = config.get("function_name")
            view["function_call"] = {"name": name} if name else "auto"
        else:
            view["function_call"] = mode
    return view


def _legacy_message(message: dict[str, Any]) -> dict[str, Any]:
    parts = [part for part in message.get("content") or [] if isinstance(part, dict)]
    legacy: dict[str, Any] = {
        "role": message.get("role"),
        "content": "\n".join(p["text"] for p in parts if "text" in p),
    }
    files = [item.get("id") for part in parts for item in part.get("files") or [] if isinstance(item, dict)]
    if files:
        legacy["attachments"] = files
    for part in parts:
        if "function_call" in part:
            legacy["function_call"] = part["function_call"]
        if "function_result" in part:
            result = part["function_result"] or {}
            legacy.update(role="function", name=result.get("name"), content=json.dumps(result.get("result")))
    if message.get("tools_state_id"):
        legacy["functions_state_id"] = message["tools_state_id"]
    return legacy


# ---- answers --------------------------------------------------------------------------------------------------------


def usage(gen: Generation) -> dict[str, Any]:
    """The legacy usage in v2's shape: cached tokens are part of the input tokens."""
    prompt, completion = gen.usage.get("prompt_tokens", 0), gen.usage.get("completion_tokens", 0)
    details = {"prompt_tokens": prompt, "cached_tokens": gen.usage.get("precached_prompt_tokens", 0)}
    total = gen.usage.get("total_tokens", prompt + completion)
    return {"input_tokens": prompt, "input_tokens_details": details, "output_tokens": completion, "total_tokens": total}


def _assistant(gen: Generation, parts: list[dict[str, Any]]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant"}
    if gen.function_call is not None:
        message["tool_state_id"] = gen.functions_state_id
        parts = [*parts, {"function_call": gen.function_call}]
    message["content"] = parts
    return message


def completion_body(gen: Generation, with_finish_reason: bool = True) -> dict[str, Any]:
    text = "".join(gen.content)
    messages = [{"role": "reasoning", "content": [{"text": "".join(gen.reasoning)}]}] if gen.reasoning else []
    messages.append(_assistant(gen, [{"text": text}] if text or gen.function_call is None else []))
    body: dict[str, Any] = {"model": gen.model, "created_at": gen.created, "messages": messages}
    if with_finish_reason:
        body["finish_reason"] = gen.finish_reason
    body["usage"] = usage(gen)
    return body


Event = tuple[str, dict[str, Any]]


def stream_events(gen: Generation) -> tuple[list[Event], Event]:
    """(answer events, the done event)."""

    def delta(role: str, text: str) -> Event:
        message = {"role": role, "content": [{"text": text}]}
        return "response.message.delta", {"model": gen.model, "created_at": gen.created, "messages": [message]}

    events = [delta("reasoning", piece) for piece in gen.reasoning]
    events += [delta("assistant", piece) for piece in gen.content]
    done: dict[str, Any] = {"model": gen.model, "created_at": gen.created}
    if gen.function_call is not None:
        done["messages"] = [_assistant(gen, [])]
    done |= {"finish_reason": gen.finish_reason, "usage": usage(gen)}
    return events, ("response.message.done", done)


def _frame(event: Event | dict[str, Any] | str) -> bytes:
    name, payload = event if isinstance(event, tuple) else ("response.message.done", event)
    return f"event: {name}\ndata: {json.dumps(payload, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()


# Compact JSON, like the recorded SSE bodies; no `[DONE]` after the done event.
SSE = SseDialect(
    frame=_frame,
    closing=(),
    malformed=b"event: response.message.delta\ndata: {not json\n\n",
    unknown=b'event: response.unheard_of\ndata: {"messages":[{"role":"assistant","content":[{"text":"?"}]}]}\n\n',
)
