"""GigaChat's v1 chat protocol, `POST /chat/completions` (the SDK's `chat()` / `stream()`): a `ChatProtocol`.

The only module that knows how a v1 request and answer look on the wire: one message per turn with string
`content`, `functions` and `function_call` at the top level, `functions_state_id`, a function's result as role
`function`, SSE `data:` lines, and the tag that names a generated image in the answer text. Its input and output are
the neutral types of exchange.py.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

from gigachat import GigaChatSyncClient
from gigachat.models.chat import Chat, ChatCompletion, ChatCompletionChunk, Messages, MessagesChunk, MessagesRole
from gigachat.models.chat import Usage as SdkUsage

from .exchange import ChatRequest, Delta, FunctionCall, Turn, Usage
from .tools import ToolNames

# The neutral role of a function's result, as v1 names it.
_ROLES = {"tool": "function"}
# How a v1 answer names an image the built-in text2image made: `<img src="<file id>" fuse="true"/>` in the answer text
# (Sber, "Создание изображений", developers.sber.ru/docs/ru/gigachat/api/images-generation).
_TAG = re.compile(r"<img\s[^<>]*>")
_SRC = re.compile(r'\bsrc="([^"<>]+)"')
_FUSE = re.compile(r'\bfuse="true"')
# Text that could still grow into such a tag: "<", "<i", "<im", "<img", "<img src=..." without its ">" yet.
_TAG_START = re.compile(r"<(?:i(?:m(?:g(?:\s[^<>]*)?)?)?)?")
_MAX_HELD = 512  # a longer run without ">" is no tag of GigaChat's: it is released as text


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


class ImageTags:
    """Takes the image tags out of an answer's text, piece by piece; a tag cut between pieces is held until whole."""

    def __init__(self) -> None:
        self._held = ""

    def take(self, text: str, last: bool = False) -> tuple[str, tuple[str, ...]]:
        """(the text to show, the ids of the images named); `last` releases whatever is held."""
        text, self._held = self._held + text, ""
        shown, ids, position = [], [], 0
        for tag in _TAG.finditer(text):
            src = _SRC.search(tag.group())
            if src and _FUSE.search(tag.group()):
                shown.append(text[position : tag.start()])
                ids.append(src.group(1))
                position = tag.end()
        rest = text[position:]
        start = rest.rfind("<")
        if not last and start >= 0 and len(rest) - start <= _MAX_HELD and _TAG_START.fullmatch(rest[start:]):
            rest, self._held = rest[:start], rest[start:]
        return "".join(shown) + rest, tuple(ids)


def complete(client: GigaChatSyncClient, request: ChatRequest) -> Delta:
    return from_completion(client.chat(payload(request)), request.names)


def stream(client: GigaChatSyncClient, request: ChatRequest) -> Iterator[Delta]:
    tags = ImageTags()
    with contextlib.closing(client.stream(payload(request))) as chunks:
        for chunk in chunks:
            yield from_chunk(chunk, request.names, tags)
    if held := tags.take("", last=True)[0]:
        yield Delta(text=held)  # a stream that ended without a finish reason


def from_completion(completion: ChatCompletion, names: ToolNames) -> Delta:
    choice = completion.choices[0] if completion.choices else None
    finish_reason = (choice.finish_reason if choice else None) or "stop"
    return _delta(choice.message if choice else None, finish_reason, completion.usage, names, ImageTags())


def from_chunk(chunk: ChatCompletionChunk, names: ToolNames, tags: ImageTags | None = None) -> Delta:
    """One streamed chunk; `tags` carries a tag cut between chunks over to the next one."""
    choice = chunk.choices[0] if chunk.choices else None
    if choice is not None and choice.delta.role == MessagesRole.FUNCTION_IN_PROGRESS:
        # A built-in function (text2image) is still running; `content` is the time it has left (Sber's OpenAPI
        # description, MessagesRes): progress, not answer text.
        return Delta(finish_reason=choice.finish_reason, usage=_usage(chunk.usage))
    message, finish_reason = (choice.delta, choice.finish_reason) if choice else (None, None)
    return _delta(message, finish_reason, chunk.usage, names, tags or ImageTags())


def _delta(
    message: Messages | MessagesChunk | None,
    finish_reason: str | None,
    usage: SdkUsage | None,
    names: ToolNames,
    tags: ImageTags,
) -> Delta:
    """A whole answer and a streamed piece of one carry the same fields; None stands for an empty piece."""
    content = (message.content or "") if message is not None else ""
    text, images = tags.take(content, last=finish_reason is not None)
    if message is None:
        return Delta(text=text, finish_reason=finish_reason, usage=_usage(usage), generated_images=images)
    return Delta(
        text=text,
        reasoning=message.reasoning_content or "",
        function_call=_call(message.function_call, names),
        state_id=message.functions_state_id,
        finish_reason=finish_reason,
        usage=_usage(usage),
        generated_images=images,
    )


def _call(call: object, names: ToolNames) -> FunctionCall | None:
    if call is None:
        return None
    return FunctionCall(names.dify(call.name), dict(call.arguments or {}))  # type: ignore[attr-defined]


def _usage(usage: SdkUsage | None) -> Usage | None:
    if usage is None:
        return None
    return Usage(usage.prompt_tokens, usage.completion_tokens)
