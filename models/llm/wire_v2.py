"""GigaChat's v2 chat protocol, `POST <origin>/v2/chat/completions` (the SDK's `client.chat.create` and
`client.chat.stream`): a `ChatProtocol`.

The only module that knows how a v2 request and answer look on the wire, as the SDK's recordings of the API show them
(ai-forever/gigachat, tests/integration/cassettes/test_primary_*.yaml). Its input and output are the neutral types of
exchange.py.
- A message's `content` is a list of parts: `text`, `files` (uploaded file ids), `function_call` (its arguments a
  JSON object) or `function_result` (its result a JSON value). The system prompt is a `system` message with one text
  part, as langchain-gigachat and gpt2giga send it (no recording has one).
- Functions are `tools: [{"functions": {"specifications": [...]}}]` and the function-call mode is `tool_config`.
  Built-in tools are further `tools` entries, one key each (`{"web_search": {...}}`, `{"code_interpreter": {}}`),
  beside the functions; with any of them `tool_config` is sent, `auto` unless Dify forces a function or asks for none.
  Generation settings and `response_format` go in `model_options`, reasoning effort in
  `model_options.reasoning.effort`; `profanity_check` is left to the SDK, which sends it as `disable_filter`.
- The function-call state id arrives as `tool_state_id` (the SDK reads it into `tools_state_id`) and goes back as
  `tools_state_id`, on the call and on its result. A result's role is `tool`, as recorded; `FUNCTION_ROLE` is the
  same protocol with role `function`, which chat.py falls back to (docs/architecture.md says why).
- A stream is named events. `response.message.delta` and `response.message.done` carry the answer; any other event
  (`response.tool.*`: a built-in tool at work, or a name added later) is progress and becomes an empty Delta, never
  text. Messages of role `reasoning` are reasoning, never answer text; `tool_execution` parts carry no text.
- What built-in tools add to an answer (cassette test_primary_chat_builtin_tools): web search sources as
  `inline_data.sources` on the text part (a map from marker number to `{url, title}`), generated images as a
  `files` part `[{id, mime, target: "image"}]`. A file of any other target is kept for deletion, never shown.
- Usage is `input_tokens` / `output_tokens`; the cached part of the input (`input_tokens_details.cached_tokens`) is
  included in `input_tokens`, and Dify has no field for it.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from gigachat import GigaChatSyncClient
from gigachat.exceptions import GigaChatException
from gigachat.models.chat_completions import (
    ChatCompletionChunk,
    ChatCompletionResponse,
    ChatFunctionCall,
    ChatMessage,
    ChatMessageChunk,
    ChatUsage,
)

from .exchange import ChatRequest, Delta, FunctionCall, Source, Turn, Usage
from .tools import ToolNames

ANSWER_EVENTS = frozenset({"response.message.delta", "response.message.done"})
# Generation fields (params.py) that are not model options: the SDK maps profanity_check to disable_filter itself.
_TOP_LEVEL_FIELDS = frozenset({"profanity_check"})
_ANSWER_ROLES = frozenset({"assistant", None})  # a streamed piece may leave the role out
# A built-in tool's settings in `tools`, where the plugin sends any: web search as recorded (its types are web_search,
# actual_info_web_search and safe_search per the SDK's removed internal doc; the recorded one is known to work).
_BUILT_IN_SETTINGS = {"web_search": {"type": "actual_info_web_search"}}
_IMAGE_TARGET = "image"


def payload(request: ChatRequest, result_role: str = "tool") -> dict:
    """The request body for the SDK, which validates it into its ChatCompletionRequest."""
    names = request.names
    body: dict = {"model": request.model, "messages": [message_dict(t, names, result_role) for t in request.turns]}
    options: dict = {}
    for name, value in request.fields.items():
        if name in _TOP_LEVEL_FIELDS:
            body[name] = value
        elif name == "reasoning_effort":
            options["reasoning"] = {"effort": value}
        else:
            options[name] = value
    if request.response_format is not None:
        options["response_format"] = request.response_format
    if options:
        body["model_options"] = options
    tools = [{"functions": {"specifications": request.functions}}] if request.functions else []
    tools += [{name: _BUILT_IN_SETTINGS.get(name, {})} for name in request.builtin_tools]
    if tools:
        body["tools"] = tools
    if request.function_call is not None:
        body["tool_config"] = tool_config(request.function_call)
    return body


def message_dict(turn: Turn, names: ToolNames, result_role: str = "tool") -> dict:
    parts: list[dict] = []
    if turn.role == "tool":
        result = {"name": names.wire(turn.name or ""), "result": json.loads(turn.text)}
        parts.append({"function_result": result})
    elif turn.text:
        parts.append({"text": turn.text})
    if turn.attachments:
        parts.append({"files": [{"id": file_id} for file_id in turn.attachments]})
    if turn.function_call is not None:
        call = turn.function_call
        parts.append({"function_call": {"name": names.wire(call.name), "arguments": call.arguments}})
    message: dict = {"role": result_role if turn.role == "tool" else turn.role, "content": parts}
    if turn.state_id:
        message["tools_state_id"] = turn.state_id
    return message


def tool_config(function_call: str | dict) -> dict:
    """The request's function-call mode ("auto", "none" or {"name": ...}, tools.function_call_mode) as `tool_config`."""
    if isinstance(function_call, dict):
        return {"mode": "forced", "function_name": function_call["name"]}
    return {"mode": function_call}


@dataclass(frozen=True)
class Wire:
    """The v2 protocol with one spelling of a function result's role."""

    result_role: str

    def complete(self, client: GigaChatSyncClient, request: ChatRequest) -> Delta:
        return from_response(client.chat.create(payload(request, self.result_role)), request.names)

    def stream(self, client: GigaChatSyncClient, request: ChatRequest) -> Iterator[Delta]:
        # Closed explicitly, as on v1: closing these deltas must close the SDK's stream and its connection at once,
        # not whenever the last reference to it happens to go.
        with contextlib.closing(client.chat.stream(payload(request, self.result_role))) as chunks:
            for chunk in chunks:
                yield from_chunk(chunk, request.names)


# The recorded spelling, and the one a third-party log of the live host saw accepted where `tool` was refused.
TOOL_ROLE = Wire("tool")
FUNCTION_ROLE = Wire("function")
complete = TOOL_ROLE.complete
stream = TOOL_ROLE.stream


def from_response(response: ChatCompletionResponse, names: ToolNames) -> Delta:
    # As on v1, a whole answer without a finish reason is taken as complete.
    return _delta(response.messages, response.finish_reason or "stop", response.usage, None, names)


def from_chunk(chunk: ChatCompletionChunk, names: ToolNames) -> Delta:
    if chunk.event not in ANSWER_EVENTS:
        # Progress is no answer text; sources it may name are kept for the answer's markers.
        return Delta(sources=_sources(chunk.messages or ()))
    return _delta(chunk.messages or (), chunk.finish_reason, chunk.usage, chunk.tools_state_id, names)


def _delta(
    messages: Iterable[ChatMessage | ChatMessageChunk],
    finish_reason: str | None,
    usage: ChatUsage | None,
    state_id: str | None,
    names: ToolNames,
) -> Delta:
    """A whole answer and a streamed piece of one carry the same fields."""
    messages = list(messages)
    text: list[str] = []
    reasoning: list[str] = []
    calls: list[ChatFunctionCall] = []
    images: list[str] = []
    unshown: list[str] = []
    for message in messages:
        state_id = message.tools_state_id or state_id
        parts = message.content or ()
        if message.role == "reasoning":
            reasoning += [part.text for part in parts if part.text]
        elif message.role in _ANSWER_ROLES:
            text += [part.text for part in parts if part.text]
            calls += [part.function_call for part in parts if part.function_call is not None]
            calls += [message.function_call] if message.function_call is not None else []
            for file in (file for part in parts for file in part.files or ()):
                (images if file.target == _IMAGE_TARGET else unshown).append(file.id_)
    # One call per answer, as on v1 (the models declare no parallel calls).
    call = calls[0] if calls else None
    return Delta(
        text="".join(text),
        reasoning="".join(reasoning),
        function_call=_call(call, names),
        state_id=state_id,
        finish_reason=finish_reason,
        usage=_usage(usage),
        generated_images=tuple(images),
        unshown_files=tuple(unshown),
        sources=_sources(messages),
    )


def _sources(messages: Iterable[ChatMessage | ChatMessageChunk]) -> tuple[Source, ...]:
    """The web search sources a message or its parts name, by marker number."""
    found: list[Source] = []
    for message in messages:
        holders = [message, *(message.content or ())]
        for data in (holder.inline_data for holder in holders if holder.inline_data is not None):
            found += [Source(number, page.url, page.title) for number, page in (data.sources or {}).items()]
    return tuple(found)


def _call(call: ChatFunctionCall | None, names: ToolNames) -> FunctionCall | None:
    if call is None:
        return None
    arguments = json.loads(call.arguments) if isinstance(call.arguments, str) else call.arguments
    if not isinstance(arguments, dict):
        # Never quoted: the arguments are model output.
        raise GigaChatException("function call arguments are not a JSON object")
    return FunctionCall(names.dify(call.name), arguments)


def _usage(usage: ChatUsage | None) -> Usage | None:
    if usage is None or (usage.input_tokens is None and usage.output_tokens is None):
        return None
    return Usage(usage.input_tokens or 0, usage.output_tokens or 0)
