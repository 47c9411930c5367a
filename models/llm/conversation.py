"""Dify prompt messages -> a conversation GigaChat accepts, as protocol-neutral turns (exchange.py).

GigaChat's rules, each applied in one function below:
- one system message, and only as the first message: leading system (and developer) messages are joined into it;
  a system message later in the conversation becomes a user message at the same place, so its words still count;
- one function call per assistant message, each followed at once by its result: an assistant message with several
  tool calls becomes a sequence of call -> result pairs, in the order of the calls;
- a function result is a JSON object: anything else is wrapped as {"result": value};
- no empty messages, and consecutive user (or plain assistant) messages are joined;
- reasoning the plugin showed as <think>…</think> is answer decoration, not answer: it is not sent back;
- images in an assistant message are ones GigaChat generated (Dify sends them back with their answer): GigaChat
  takes files only on user messages, so the assistant turn keeps its text.
Media parts become attachment ids through the `attach` callback (the files layer uploads them); without it they are
rejected with a sentence, never dropped.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace

from dify_plugin.entities.model.message import (
    AssistantPromptMessage,
    ImagePromptMessageContent,
    MultiModalPromptMessageContent,
    PromptMessage,
    PromptMessageRole,
    TextPromptMessageContent,
    ToolPromptMessage,
)
from dify_plugin.errors.model import InvokeBadRequestError

from ..common.prefix import PREFIX
from .exchange import FunctionCall, Turn

ToolCall = AssistantPromptMessage.ToolCall
Attach = Callable[[MultiModalPromptMessageContent], str]

# A tool call id carries GigaChat's function-call state id, so the state survives Dify's history even where
# opaque_body is not kept: "call_<random>_fs_<state id>".
_STATE_IN_ID = re.compile(r"_fs_(.+)$")
# Reasoning the plugin streamed as <think>…</think>; Dify keeps it in the history, GigaChat must not get it back.
_REASONING = re.compile(r"<think>.*?</think>\s*", re.DOTALL)
# The state id's key in opaque_body; histories Dify has stored use this name, whatever the protocol.
STATE_KEY = "functions_state_id"


def to_turns(messages: Sequence[PromptMessage], attach: Attach | None = None) -> list[Turn]:
    turns: list[Turn] = []
    index = 0
    leading = True
    while index < len(messages):
        message = messages[index]
        role = message.role
        if role in (PromptMessageRole.SYSTEM, PromptMessageRole.DEVELOPER):
            text = _text_only(message, "system")
            turns.append(Turn("system" if leading else "user", text))
            index += 1
            continue
        leading = False
        if role is PromptMessageRole.USER:
            text, attachments = _user_content(message, attach)
            turns.append(Turn("user", text, attachments=attachments))
            index += 1
        elif role is PromptMessageRole.ASSISTANT:
            results, index = _following_results(messages, index + 1)
            turns.extend(_assistant_turns(message, results))  # type: ignore[arg-type]
        elif role is PromptMessageRole.TOOL:
            raise InvokeBadRequestError(
                PREFIX + f"a tool result (call id '{_short(message.tool_call_id)}') has no matching tool call "  # type: ignore[attr-defined]
                "in the assistant message before it."
            )
        else:
            raise InvokeBadRequestError(PREFIX + f"messages with role '{role.value}' are not supported.")
    return _joined(_without_empty(turns))


def countable_texts(messages: Sequence[PromptMessage]) -> list[str]:
    """Each message's text and tool calls, for token counting only, without the rules of a request: Dify also counts
    partial histories (its memory drops messages from the front), which need not be valid conversations."""
    texts = []
    for message in messages:
        content = message.content
        if isinstance(content, list):
            content = "\n".join(part.data for part in content if isinstance(part, TextPromptMessageContent))
        calls = getattr(message, "tool_calls", None) or []
        texts.append((content or "") + "".join(call.function.name + call.function.arguments for call in calls))
    return texts


def tool_call_id(state_id: str | None) -> str:
    suffix = f"_fs_{state_id}" if state_id else ""
    return f"call_{uuid.uuid4().hex[:12]}{suffix}"


def state_id_of(message: AssistantPromptMessage, call: ToolCall) -> str | None:
    body = message.opaque_body
    if isinstance(body, dict) and isinstance(body.get(STATE_KEY), str):
        return body[STATE_KEY]
    match = _STATE_IN_ID.search(call.id or "")
    return match.group(1) if match else None


def function_result_json(content: str) -> str:
    """GigaChat takes a function result only as a JSON object; anything else is wrapped as {"result": value}."""
    try:
        value = json.loads(content)
    except ValueError:
        value = content
    if not isinstance(value, dict):
        value = {"result": value}
    return json.dumps(value, ensure_ascii=False)


def _following_results(messages: Sequence[PromptMessage], start: int) -> tuple[list[ToolPromptMessage], int]:
    results = []
    index = start
    while index < len(messages) and messages[index].role is PromptMessageRole.TOOL:
        results.append(messages[index])
        index += 1
    return results, index  # type: ignore[return-value]


def _assistant_turns(message: AssistantPromptMessage, results: list[ToolPromptMessage]) -> list[Turn]:
    text = _REASONING.sub("", _text_only(_without_images(message), "assistant"))
    if not message.tool_calls:
        if results:
            raise InvokeBadRequestError(PREFIX + "tool results follow an assistant message that made no tool call.")
        return [Turn("assistant", text)]
    by_id = {result.tool_call_id: result for result in results}
    known = {call.id for call in message.tool_calls}
    if orphans := [r.tool_call_id for r in results if r.tool_call_id not in known]:
        raise InvokeBadRequestError(
            PREFIX + f"a tool result (call id '{_short(orphans[0])}') has no matching tool call in the assistant "
            "message before it."
        )
    turns = []
    for position, call in enumerate(message.tool_calls):
        name = call.function.name
        state = state_id_of(message, call)
        function_call = FunctionCall(name, _arguments(call))
        turns.append(Turn("assistant", text if position == 0 else "", function_call=function_call, state_id=state))
        result = by_id.get(call.id)
        # GigaChat refuses a call without its result; a history cut short still deserves an answer.
        content = _text_only(result, "tool") if result else json.dumps({"error": "no result was recorded"})
        turns.append(Turn("tool", function_result_json(content), name=name, state_id=state))
    return turns


def _without_images(message: AssistantPromptMessage) -> AssistantPromptMessage:
    if not isinstance(message.content, list):
        return message
    kept = [part for part in message.content if not isinstance(part, ImagePromptMessageContent)]
    return message.model_copy(update={"content": kept})


def _arguments(call: ToolCall) -> dict:
    raw = call.function.arguments or "{}"
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise InvokeBadRequestError(
            PREFIX + f"the history holds a call of tool '{_short(call.function.name)}' whose arguments "
            "are not a JSON object."
        )
    return value


def _user_content(message: PromptMessage, attach: Attach | None) -> tuple[str, tuple[str, ...]]:
    if isinstance(message.content, str) or message.content is None:
        return message.content or "", ()
    texts, attachments = [], []
    for part in message.content:
        if isinstance(part, TextPromptMessageContent):
            texts.append(part.data)
        elif isinstance(part, MultiModalPromptMessageContent):
            if attach is None:
                raise InvokeBadRequestError(
                    PREFIX + f"this model does not accept {part.type.value} input ('{_short(part.filename)}')."
                )
            attachments.append(attach(part))
    return "\n".join(t for t in texts if t), tuple(attachments)


def _text_only(message: PromptMessage, what: str) -> str:
    if isinstance(message.content, str) or message.content is None:
        return message.content or ""
    texts = []
    for part in message.content:
        if not isinstance(part, TextPromptMessageContent):
            raise InvokeBadRequestError(
                PREFIX + f"a {what} message can only hold text; it holds {part.type.value} content."
            )
        texts.append(part.data)
    return "\n".join(t for t in texts if t)


def _without_empty(turns: list[Turn]) -> list[Turn]:
    kept = [t for t in turns if t.text.strip() or t.attachments or t.function_call or t.role == "tool"]
    if not any(t.role in ("user", "tool") for t in kept):
        raise InvokeBadRequestError(PREFIX + "the prompt has no user message with text or files.")
    return kept


def _joined(turns: list[Turn]) -> list[Turn]:
    """Join consecutive system, user, or plain assistant messages: GigaChat expects alternating turns.

    Each run of joinable turns is joined once, at its end: joining pairwise would copy the growing text again for
    every message, quadratic in a history of thousands of short messages."""
    runs: list[list[Turn]] = []
    for turn in turns:
        if runs and _joinable(runs[-1][-1], turn):
            runs[-1].append(turn)
        else:
            runs.append([turn])
    return [run[0] if len(run) == 1 else _join(run) for run in runs]


def _join(run: list[Turn]) -> Turn:
    text = "\n\n".join(turn.text for turn in run if turn.text)
    return replace(run[0], text=text, attachments=tuple(a for turn in run for a in turn.attachments))


def _joinable(first: Turn, second: Turn) -> bool:
    if first.role != second.role or first.role == "tool":
        return False
    return first.function_call is None and second.function_call is None


def _short(text: str | None, limit: int = 64) -> str:
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1] + "…"
