"""GigaChat's built-in tools on the v2 protocol: which requests may use them, and their answers.

A request enables a tool by a `tools` entry with the tool's name as its one key, beside the `functions` entry
(ai-forever/gigachat tests/integration/cassettes/test_primary_chat_builtin_tools.yaml, cited below as "the
recording"). The emulator answers as a built-in tool only when the request enabled that tool, as GigaChat does; a
scripted `ToolAnswer` for a tool the request did not enable is used up, and the request is answered as if nothing
had been scripted.

Refusals, in the shapes a third-party log of the live host saw (api.giga.chat, GigaChat-2-Max, September 2026):
- a tool name GigaChat does not know: 404 `{"status": 404, "message": "Unknown tool <name>"}`;
- a tool the model does not offer: 422 `{"status": 422, "message": "Tool <name> is unavailable"}`. Which model
  offers which tool is the knob `GigaChatEmulator.builtin_tools_by_model`: by default GigaChat-3-Ultra all four (the
  recording) and GigaChat-2-Max web search and page reading (the same log: code_interpreter was refused).

Answers, each with a `tool_state_id` and `finish_reason: "stop"`:
- blocking, as recorded: web search is one text part whose markers `[sources=[N]]` stand before the full stop and
  which carries `inline_data: {images: [], sources: {"<N>": {url, title}}}` (the map may hold pages no marker
  cites); an image is a `files` part `[{id, mime: "image/jpeg", target: "image"}]` before the text part, its bytes
  kept in the emulator's file storage so `GET /files/{id}/content` and deletion work as for uploads; code
  interpreter and page reading answer with a text part alone.
- streamed: NOT RECORDED anywhere. The events follow gigachat-java's v2 event list (CompletionV2SseEvents:
  `response.tool.in_progress`, `response.tool.completed`, then `response.message.delta`s and
  `response.message.done`), the order a third-party log of the live host saw for web search; the progress events'
  bodies follow ai-forever/gigachat's unit fixture (a `reasoning` message with a `tool_execution` part). The text
  comes in pieces (split as scripted, so a marker may be cut), the sources ride on one piece's text part (the last by
  default: after the markers that cite them), and a files part rides on the first piece.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from devkit.emulator.replies import Generation, Reply, generate
from devkit.emulator.rules import ApiError

if TYPE_CHECKING:
    from devkit.emulator.server import GigaChatEmulator

# The built-in tools the SDK knows (gigachat 0.2.3 models/chat_completions.py `_normalize_tool`).
KNOWN_TOOLS = ("web_search", "url_content_extraction", "code_interpreter", "image_generate", "model_3d_generate")
TOOL_CONFIG_MODES = frozenset({"auto", "none", "forced"})
DEFAULT_OFFERED: dict[str, frozenset[str]] = {
    "GigaChat-3-Ultra": frozenset(KNOWN_TOOLS[:4]),
    "GigaChat-2-Max": frozenset({"web_search", "url_content_extraction"}),
}
# A 1x1 baseline JPEG (JFIF): what the emulator's image generation draws.
JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////////////////////"
    "////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA="
)
# The default web search answer's pages: a Cyrillic title and a page no marker cites, as in the recording.
DEFAULT_SOURCES = {
    "1": {"url": "https://example.ru/novosti", "title": "Новости по вашему вопросу"},
    "2": {"url": "https://example.com/news", "title": "News about your question"},
}
_URL = re.compile(r"https?://\S+")


@dataclass(frozen=True)
class ToolAnswer:
    """A scripted answer of one built-in tool (`emu.script(ToolAnswer(...))`), served only to a request that enabled
    `tool`. A list for `text` gives exactly these deltas when streamed (joined when blocking).

    sources: the `inline_data.sources` object as sent (anything, malformed on purpose too); None sends none.
    sources_with: which text piece's part carries it when streamed (negative: from the end).
    image: bytes the tool generated, stored under a new file id and named by a `files` part with `target` and
    `mime`; None names no file.
    """

    tool: str
    text: str | list[str]
    sources: Any = None
    sources_with: int = -1
    image: bytes | None = None
    target: str = "image"
    mime: str = "image/jpeg"
    progress: bool = True


@dataclass
class ToolReply:
    """A ToolAnswer resolved against one request: what either response shape needs."""

    answer: ToolAnswer
    gen: Generation
    files: list[dict[str, Any]] = field(default_factory=list)
    state_id: str = field(default_factory=lambda: str(uuid.uuid4()))


def requested(body: Mapping[str, Any], offered: Mapping[str, frozenset[str]]) -> list[str]:
    """The built-in tools the request enables, in its order, after GigaChat's refusals of them and of `tool_config`."""
    tools = body.get("tools")
    if tools is None:
        return []
    if not isinstance(tools, list) or not all(isinstance(entry, dict) and len(entry) == 1 for entry in tools):
        raise ApiError(400, "Your request contains invalid JSON syntax.")
    names = [name for entry in tools for name in entry if name != "functions"]
    for name in names:
        if name not in KNOWN_TOOLS:
            raise ApiError(404, f"Unknown tool {name}")
        if name not in offered.get(body.get("model") or "", ()):
            raise ApiError(422, f"Tool {name} is unavailable")
    config = body.get("tool_config")
    if config is not None:
        if not isinstance(config, dict) or config.get("mode") not in TOOL_CONFIG_MODES:
            raise ApiError(422, "Invalid params: tool_config.mode must be auto, none or forced")
        forced = config.get("tool_name")
        if config["mode"] == "forced" and forced is not None and forced not in names:
            raise ApiError(422, f"Invalid params: tool_config.tool_name '{forced}' is not among the request's tools")
    return names


def answer_for(enabled: list[str], body: Mapping[str, Any], scripted: object, question: str) -> ToolAnswer | None:
    """The built-in answer this request gets: the scripted one if its tool is enabled; else, with nothing scripted,
    the forced tool's or the first enabled tool's default answer to `question`, unless the request asks for no tool
    or forces a function."""
    if isinstance(scripted, ToolAnswer):
        if scripted.tool in enabled:
            return scripted
        scripted = None  # GigaChat can't have used a tool the request did not enable
    config = body.get("tool_config") or {}
    if scripted is not None or not enabled or config.get("mode") == "none" or config.get("function_name"):
        return None
    return default_answer(config.get("tool_name") or enabled[0], question)


def default_answer(tool: str, question: str) -> ToolAnswer:
    if tool == "web_search":
        text = f"Found on the web about {question}: one page says so [sources=[2]]. Another agrees [sources=[1, 2]]."
        return ToolAnswer(tool, text, sources=DEFAULT_SOURCES)
    if tool == "url_content_extraction":
        pages = _URL.findall(question)
        return ToolAnswer(tool, f"Read {pages[0] if pages else 'the page'}: it is about {question}.")
    if tool == "image_generate":
        return ToolAnswer(tool, "The image is ready.", image=JPEG)
    return ToolAnswer(tool, f"Ran code for: {question}. The result is 42.")


def resolve(emu: GigaChatEmulator, answer: ToolAnswer, view: dict[str, Any], created: int) -> ToolReply:
    """Usage by the emulator's usage rule (replies.py) over the answer's text; a generated file is stored now."""
    from devkit.emulator.routes import UploadedFile

    reply = ToolReply(answer, generate(view, Reply(text=answer.text), created))
    if answer.image is not None:
        file_id = str(uuid.uuid4())
        with emu._lock:
            emu.files[file_id] = UploadedFile(f"generated.{answer.target}", answer.mime, answer.image, "general")
            emu.generated_files.append(file_id)
        reply.files = [{"id": file_id, "mime": answer.mime, "target": answer.target}]
    return reply


def _text_part(reply: ToolReply, text: str, with_sources: bool) -> dict[str, Any]:
    part: dict[str, Any] = {"text": text}
    if with_sources and reply.answer.sources is not None:
        part["inline_data"] = {"images": [], "sources": reply.answer.sources}
    return part


def completion_body(reply: ToolReply, usage: dict[str, Any]) -> dict[str, Any]:
    parts = [{"files": reply.files}] if reply.files else []
    parts.append(_text_part(reply, "".join(reply.gen.content), with_sources=True))
    message = {"role": "assistant", "tool_state_id": reply.state_id, "content": parts}
    gen = reply.gen
    return {"model": gen.model, "created_at": gen.created, "messages": [message], "finish_reason": "stop",
            "usage": usage}  # fmt: skip


Event = tuple[str, dict[str, Any]]


def stream_events(reply: ToolReply, usage: dict[str, Any]) -> tuple[list[Event], Event]:
    """(progress and answer events, the done event)."""
    gen, tool = reply.gen, reply.answer.tool
    at = {"model": gen.model, "created_at": gen.created}

    def progress(execution: dict[str, Any]) -> dict[str, Any]:
        return {**at, "messages": [{"role": "reasoning", "content": [{"tool_execution": {"name": tool, **execution}}]}]}

    events: list[Event] = []
    if reply.answer.progress:
        events.append(("response.tool.in_progress", progress({})))
        events.append(("response.tool.completed", progress({"status": "success", "censored": False})))
    pieces = gen.content or [""]
    carrier = reply.answer.sources_with % len(pieces)
    for index, piece in enumerate(pieces):
        parts = [{"files": reply.files}] if reply.files and index == 0 else []
        parts.append(_text_part(reply, piece, with_sources=index == carrier))
        message: dict[str, Any] = {"role": "assistant", "content": parts}
        if index == 0:
            message["tool_state_id"] = reply.state_id
        events.append(("response.message.delta", {**at, "messages": [message]}))
    return events, ("response.message.done", {**at, "finish_reason": "stop", "usage": usage})
