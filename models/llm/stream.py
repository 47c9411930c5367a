"""GigaChat answer pieces (`Delta`s) -> Dify's LLMResultChunks, in the order Dify expects.

Text pieces pass through as they arrive, minus what client-side stop sequences cut (GigaChat has no `stop`
parameter). With built-in tools on, web search markers become references and the cited sources end the answer
(sources.py), ahead of the stop sequences, which see the text a reader sees. Reasoning is wrapped in
<think>…</think>. A function call becomes exactly one complete tool call, sent once, after the text. The last chunk
carries the finish reason and GigaChat's own usage. A stream that ends without a finish reason is an error, not a
silently short answer.

Usage normally comes once, with the last piece. Where it comes more than once, each count keeps its largest value: a
later report may be partial (GigaChat's threads streams report 64 prompt and 23 completion tokens with the first
piece, then 0 and 8 with the last: ai-forever/gigachat tests/data/threads/post_thread_messages_run.stream), so taking
the last one would lose tokens and adding them up would count some twice.

Every chunk is one line on the plugin's stdout, and Dify's daemon stops reading a plugin whose line reaches 5 MiB,
then kills it (PLUGIN_RUNTIME_MAX_BUFFER_SIZE), ending every request it serves. So text is passed on in pieces of
at most MAX_PIECE_CHARS characters, which JSON writes in at most 6 bytes each (a control character as \u001b):
1.5 MiB a line at worst. What cannot be split (a tool call, the one chunk of a blocking answer) is measured, and an
answer that cannot fit is a typed error instead of a line that would kill the process.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from dify_plugin.entities.model.llm import LLMResultChunk, LLMResultChunkDelta, LLMUsage
from dify_plugin.entities.model.message import AssistantPromptMessage, ImagePromptMessageContent
from dify_plugin.errors.model import InvokeBadRequestError, InvokeConnectionError, InvokeServerUnavailableError

from ..common.prefix import PREFIX
from .conversation import STATE_KEY, tool_call_id
from .exchange import Delta, FunctionCall, Usage
from .sources import SourceMarkers

ToolCall = AssistantPromptMessage.ToolCall
BLACKLIST_NOTICE = (
    "\n\n[GigaChat declined to answer this request: its content rules restrict the topic (finish_reason=blacklist).]"
)
# At the end of an answer with a file GigaChat generated that Dify can't show (a target other than an image: audio,
# video, 3D model).
UNSHOWN_NOTICE = "\n\n[GigaChat generated a file that is not an image; Dify can't show it, so the plugin left it out.]"
_FINISH_REASONS = {"stop": "stop", "length": "length", "function_call": "tool_calls", "blacklist": "stop"}
MiB = 1024 * 1024
MAX_PIECE_CHARS = 256 * 1024
# What one chunk may take as JSON: the daemon's 5 MiB line, less room for the envelope around the chunk.
MAX_CHUNK_BYTES = 5 * MiB - 4096


class StopBuffer:
    """Cuts the text at the first stop sequence, even when one is split across pieces.

    Only a tail that could still become a stop sequence is held back, so text is delayed as little as possible.
    """

    def __init__(self, stops: Sequence[str] | None) -> None:
        self._stops = [s for s in (stops or ()) if s]
        self._pending = ""
        self.stopped = False

    def feed(self, text: str) -> str:
        if self.stopped:
            return ""
        if not self._stops:
            return text
        self._pending += text
        cut = min((i for i in (self._pending.find(s) for s in self._stops) if i >= 0), default=-1)
        if cut >= 0:
            self.stopped = True
            out, self._pending = self._pending[:cut], ""
            return out
        keep = self._held_tail()
        out = self._pending[: len(self._pending) - keep]
        self._pending = self._pending[len(self._pending) - keep :]
        return out

    def flush(self) -> str:
        out, self._pending = ("" if self.stopped else self._pending), ""
        return out

    def _held_tail(self) -> int:
        for size in range(min(len(self._pending), max(len(s) for s in self._stops) - 1), 0, -1):
            tail = self._pending[-size:]
            if any(s.startswith(tail) for s in self._stops):
                return size
        return 0


@dataclass
class _Answer:
    parts: list[str] = field(default_factory=list)  # joined once, when asked: appending to one string is quadratic
    call: FunctionCall | None = None
    state_id: str | None = None
    finish_reason: str | None = None
    usage: Usage | None = None

    @property
    def text(self) -> str:
        return "".join(self.parts)


class Assembler:
    """Accumulates Deltas; `pieces` says what to show now, `result` what the answer was."""

    def __init__(
        self, stops: Sequence[str] | None, call_as_text: str | None = None, switches: Sequence[str] = ()
    ) -> None:
        """`switches`: the labels of the built-in tools the request turned on; with them come citation markers."""
        self._stop = StopBuffer(stops)
        self._switches = switches
        self._sources = SourceMarkers() if switches else None
        self._unshown = False
        self._thinking = False
        self._call_as_text = call_as_text
        self._call_id: str | None = None
        self.answer = _Answer()

    def pieces(self, delta: Delta) -> str:
        out = []
        if delta.reasoning and not self._stop.stopped:
            if not self._thinking:
                out.append("<think>\n")
                self._thinking = True
            out.append(delta.reasoning)
        text = delta.text
        self._unshown = self._unshown or bool(delta.unshown_files)
        if self._sources is not None:
            self._sources.add(delta.sources)
        if delta.function_call is not None:
            if delta.function_call.name == self._call_as_text:
                text += json.dumps(delta.function_call.arguments, ensure_ascii=False)
            else:
                self.answer.call = delta.function_call
                self.answer.state_id = delta.state_id or self.answer.state_id
        if text:
            out.append(self._close_thinking())
            visible = self._stop.feed(self._readable(text))
            self.answer.parts.append(visible)
            out.append(visible)
        if delta.finish_reason:
            self.answer.finish_reason = delta.finish_reason
        if delta.usage:
            self.answer.usage = _largest(self.answer.usage, delta.usage)
        return "".join(out)

    def tail(self) -> str:
        """What is left to show once the answer is complete."""
        reason = self.answer.finish_reason
        if reason is None:
            raise InvokeConnectionError(PREFIX + "GigaChat's stream ended before the answer was complete.")
        if reason == "error":
            raise InvokeBadRequestError(PREFIX + _stopped_with_an_error(self._switches))
        rest = self._close_thinking() + self._stop.feed(self._readable("", last=True)) + self._stop.flush()
        if self._sources is not None and not self._stop.stopped:
            # After a stop sequence nothing more is shown, the list of sources included.
            rest += self._sources.closing()
        self.answer.parts.append(rest)
        if self._unshown:
            rest += UNSHOWN_NOTICE
        if reason == "blacklist":
            rest += BLACKLIST_NOTICE
        return rest

    def finish_reason(self) -> str:
        # Dify's agents act on the tool calls, but the reason must agree with them: a call sent means tool_calls,
        # whatever GigaChat said and even if a stop sequence ended the text before it.
        if self._sends_call():
            return "tool_calls"
        if self._stop.stopped:
            return "stop"
        reason = self.answer.finish_reason or "stop"
        if reason == "function_call":
            return "stop"
        return _FINISH_REASONS.get(reason, reason)

    def tool_calls(self) -> list[ToolCall]:
        """The answer's function call as exactly one complete Dify tool call (arguments as a JSON string).

        A call cut by the length limit is dropped: the arguments GigaChat managed to send may be incomplete."""
        call = self.answer.call
        if call is None or not self._sends_call():
            return []
        if self._call_id is None:  # one id per answer, however often it is asked for
            self._call_id = tool_call_id(self.answer.state_id)
        return [
            ToolCall(
                id=self._call_id,
                type="function",
                function=ToolCall.ToolCallFunction(
                    name=call.name, arguments=json.dumps(call.arguments, ensure_ascii=False)
                ),
            )
        ]

    def opaque_body(self) -> dict | None:
        return {STATE_KEY: self.answer.state_id} if self.answer.state_id and self._sends_call() else None

    def _sends_call(self) -> bool:
        return self.answer.call is not None and self.answer.finish_reason != "length"

    def _readable(self, text: str, last: bool = False) -> str:
        if self._sources is None:
            return text
        return self._sources.feed(text) + (self._sources.flush() if last else "")

    def _close_thinking(self) -> str:
        if not self._thinking:
            return ""
        self._thinking = False
        return "\n</think>\n\n"


def _stopped_with_an_error(switches: Sequence[str]) -> str:
    """GigaChat's `finish_reason: "error"`: on v1 invalid arguments of a function (Sber's OpenAPI description); on v2
    also a built-in tool's failed run (the SDK's test of a v2 stream: image_generate, then finish_reason error)."""
    if not switches:
        return (
            "GigaChat stopped with an error while forming a function call; simplify the tool's parameters or "
            "rephrase the request."
        )
    named = ", ".join(f"'{switch}'" for switch in switches)
    return (
        f"GigaChat stopped with an error while using a tool, such as the built-in tool of {named}; rephrase the "
        "request, or turn the switch off in the model's parameters."
    )


def _largest(kept: Usage | None, new: Usage) -> Usage:
    if kept is None:
        return new
    return Usage(max(kept.input_tokens, new.input_tokens), max(kept.output_tokens, new.output_tokens))


UsageOf = Callable[[Usage | None, str], LLMUsage]
# The images a piece of the answer names, as Dify image parts (generated.py `GeneratedImages.parts`).
ImagesOf = Callable[[Delta], Iterable[ImagePromptMessageContent]]


def dify_chunks(
    model: str, deltas: Iterable[Delta], assembler: Assembler, usage_of: UsageOf, images_of: ImagesOf | None = None
) -> Iterator[LLMResultChunk]:
    """Each generated image is a chunk of its own, after the text of the piece that named it."""
    index = 0
    for delta in deltas:
        files = delta.generated_images or delta.unshown_files
        images = images_of(delta) if images_of and files else ()  # kept for deletion before the next yield
        for piece in _pieces(assembler.pieces(delta)):
            yield _chunk(model, index, AssistantPromptMessage(content=piece))
            index += 1
        for image in images:
            yield _chunk(model, index, AssistantPromptMessage(content=[image]))
            index += 1
    for piece in _pieces(assembler.tail()):
        yield _chunk(model, index, AssistantPromptMessage(content=piece))
        index += 1
    if calls := assembler.tool_calls():
        message = AssistantPromptMessage(content="", tool_calls=calls, opaque_body=assembler.opaque_body())
        yield fitting(_chunk(model, index, message))
        index += 1
    usage = usage_of(assembler.answer.usage, assembler.answer.text)
    yield _chunk(model, index, AssistantPromptMessage(content=""), usage, assembler.finish_reason())


def fitting(chunk: LLMResultChunk) -> LLMResultChunk:
    """The chunk, if its line fits what the daemon reads; else a typed error (the process must not die of it)."""
    size = len(chunk.model_dump_json().encode())
    if size > MAX_CHUNK_BYTES:
        raise InvokeServerUnavailableError(
            PREFIX + f"GigaChat's answer is {size / MiB:.1f} MiB in one message to Dify, and Dify's plugin daemon "
            "reads at most 5 MiB a message: text is passed on in pieces when streamed, but a tool call or a "
            "blocking answer cannot be split. Ask for a shorter answer, or stream it."
        )
    return chunk


def _pieces(text: str) -> list[str]:
    return [text[i : i + MAX_PIECE_CHARS] for i in range(0, len(text), MAX_PIECE_CHARS)]


def _chunk(
    model: str,
    index: int,
    message: AssistantPromptMessage,
    usage: LLMUsage | None = None,
    finish_reason: str | None = None,
) -> LLMResultChunk:
    return LLMResultChunk(
        model=model, delta=LLMResultChunkDelta(index=index, message=message, usage=usage, finish_reason=finish_reason)
    )
