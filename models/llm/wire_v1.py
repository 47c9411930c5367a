"""GigaChat's v1 chat protocol, `POST /chat/completions` (the SDK's `chat()` / `stream()`): a `ChatProtocol`.

The only module that knows how a v1 request and answer look on the wire: one message per turn with string
`content`, `functions` and `function_call` at the top level, `functions_state_id`, a function's result as role
`function`, and SSE `data:` lines. Its input and output are the neutral types of exchange.py.
"""

from __future__ import annotations

from collections.abc import Iterator

from gigachat import GigaChatSyncClient
from gigachat.models.chat import Chat, ChatCompletion, ChatCompletionChunk, Messages, MessagesChunk
from gigachat.models.chat import Usage as SdkUsage

from .exchange import ChatRequest, Delta, FunctionCall, Turn, Usage
from .tools import ToolNames

# The neutral role of a function's result, as v1 names it.
_ROLES = {"tool": "function"}


def payload(request: ChatRequest) -> Chat:
    """The SDK request object; everything beyond model and messages goes untyped through `additional_fields`,
    because the SDK's typed fields drop schema keywords and unknown keys."""
    extra: dict = dict(request.fields)
    if request.functions:
        extra["functions"] = request.functions
    if request.function_call is not None:
        extra["function_call"] = request.function_call
    if request.response_format is not None:
        extra["response_format"] = request.response_format
    messages = [Messages.model_validate(message_dict(turn, request.names)) for turn in request.turns]
    return Chat(model=request.model, messages=messages, additional_fields=extra or None)


def message_dict(turn: Turn, names: ToolNames) -> dict:
    message: dict = {"role": _ROLES.get(turn.role, turn.role), "content": turn.text}
    if turn.name is not None:
        message["name"] = names.wire(turn.name)
    if turn.function_call is not None:
        call = turn.function_call
        message["function_call"] = {"name": names.wire(call.name), "arguments": call.arguments}
    if turn.state_id and turn.function_call is not None:  # v1 carries the state on the call only
        message["functions_state_id"] = turn.state_id
    if turn.attachments:
        message["attachments"] = list(turn.attachments)
    return message


def complete(client: GigaChatSyncClient, request: ChatRequest) -> Delta:
    return from_completion(client.chat(payload(request)), request.names)


def stream(client: GigaChatSyncClient, request: ChatRequest) -> Iterator[Delta]:
    names = request.names
    return (from_chunk(chunk, names) for chunk in client.stream(payload(request)))


def from_completion(completion: ChatCompletion, names: ToolNames) -> Delta:
    choice = completion.choices[0] if completion.choices else None
    finish_reason = (choice.finish_reason if choice else None) or "stop"
    return _delta(choice.message if choice else None, finish_reason, completion.usage, names)


def from_chunk(chunk: ChatCompletionChunk, names: ToolNames) -> Delta:
    choice = chunk.choices[0] if chunk.choices else None
    return _delta(choice.delta if choice else None, choice.finish_reason if choice else None, chunk.usage, names)


def _delta(
    message: Messages | MessagesChunk | None, finish_reason: str | None, usage: SdkUsage | None, names: ToolNames
) -> Delta:
    """A whole answer and a streamed piece of one carry the same fields; None stands for an empty piece."""
    if message is None:
        return Delta(finish_reason=finish_reason, usage=_usage(usage))
    return Delta(
        text=message.content or "",
        reasoning=message.reasoning_content or "",
        function_call=_call(message.function_call, names),
        state_id=message.functions_state_id,
        finish_reason=finish_reason,
        usage=_usage(usage),
    )


def _call(call: object, names: ToolNames) -> FunctionCall | None:
    if call is None:
        return None
    return FunctionCall(names.dify(call.name), dict(call.arguments or {}))  # type: ignore[attr-defined]


def _usage(usage: SdkUsage | None) -> Usage | None:
    if usage is None:
        return None
    return Usage(usage.prompt_tokens, usage.completion_tokens)
