"""What the plugin sends to GigaChat and gets back, whatever the wire protocol: the protocol-neutral types.

Everything before a wire module (conversation.py, tools.py, params.py, files.py) builds a `ChatRequest` of `Turn`s;
everything after it (stream.py) works on `Delta`s. A wire module (wire_v1.py, wire_v2.py) is a `ChatProtocol`: it
alone knows how a request and an answer look on the wire, and chat.py's `protocol_for` picks one per request.

How the neutral fields meet GigaChat's two chat protocols:
- a turn's text, attachments (uploaded file ids), function call and function result are one message on v1 and
  content parts on v2 (`text`, `files`, `function_call`, `function_result`);
- the function-call state id is `functions_state_id` on v1 (on the call); on v2 answers carry `tool_state_id` and
  requests send it back as `tools_state_id` (on the call and on its result);
- usage is `prompt_tokens` / `completion_tokens` on v1 and `input_tokens` / `output_tokens` on v2;
- a stream yields only pieces of the answer: events that report progress (a built-in tool still running) are not
  answer text and yield nothing;
- an image GigaChat generated is a file in its storage: v1 names it in the answer text as
  `<img src="<file id>" fuse="true"/>`, v2 as a `files` part; either way it reaches the rest of the plugin as a file
  id in `Delta.generated_images`, never as text (generated.py fetches it for Dify and deletes it from GigaChat);
- GigaChat's built-in tools (v2 only; chat.protocol_for sends a request that enables one over v2) are named in
  `ChatRequest.builtin_tools`; the sources web search cites arrive as `Delta.sources` (sources.py renders them), and a
  generated file that is not an image as `Delta.unshown_files` (deleted, never shown).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

from ..common.settings import ProtocolChoice

if TYPE_CHECKING:
    from gigachat import GigaChatSyncClient

    from .files import Media
    from .tools import ToolNames

# "tool" is the result of a function call (v1 names that role "function").
Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True)
class FunctionCall:
    name: str
    arguments: dict


@dataclass(frozen=True)
class Turn:
    """One message of the conversation. A "tool" turn's text is its result as a JSON object (conversation.py).
    `state_id` is GigaChat's function-call state id, on a call and on the result that answers it."""

    role: Role
    text: str = ""
    name: str | None = None
    function_call: FunctionCall | None = None
    state_id: str | None = None
    attachments: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Source:
    """A page GigaChat's web search cites: the number its markers use, and its URL and title as sent (either may be
    missing or unusable: sources.py decides what can be shown)."""

    number: str
    url: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class ChatRequest:
    model: str
    turns: list[Turn]
    # Generation settings under GigaChat's names (params.py): v1 sends them at the top level, v2 in model_options.
    fields: dict
    # Function specifications {name, description?, parameters}: v1's `functions`, v2's `specifications`.
    functions: list[dict]
    # "auto", "none" or {"name": <wire name>} (tools.function_call_mode); None when no tool at all is sent.
    function_call: str | dict | None
    # {"type": "json_schema", "schema": ..., "strict": True}, or None for free text.
    response_format: dict | None
    names: ToolNames
    # Files the turns reference by placeholder until uploads.py uploads them for this request (see chat.py).
    media: Media | None = None
    # The model's 'Chat protocol' setting; chat.protocol_for decides what "auto" means.
    protocol: ProtocolChoice = ProtocolChoice.AUTO
    # GigaChat's built-in tools the model's switches turn on (catalog.BUILT_IN_TOOLS names), in that order.
    builtin_tools: tuple[str, ...] = ()


@dataclass(frozen=True)
class Usage:
    input_tokens: int
    output_tokens: int


@dataclass(frozen=True)
class Delta:
    """One piece of an answer, whatever protocol carried it; a blocking answer is one Delta."""

    text: str = ""
    reasoning: str = ""
    function_call: FunctionCall | None = None
    state_id: str | None = None
    finish_reason: str | None = None
    usage: Usage | None = None
    # Ids, in GigaChat's file storage, of images its built-in functions generated for this piece of the answer.
    generated_images: tuple[str, ...] = ()
    # Ids of other files they generated (a target other than an image): deleted from GigaChat, never shown.
    unshown_files: tuple[str, ...] = ()
    # Pages this piece names as web search sources; markers in any piece may cite them.
    sources: tuple[Source, ...] = ()


class ChatProtocol(Protocol):
    """What a wire module provides (the module itself is the implementation)."""

    def complete(self, client: GigaChatSyncClient, request: ChatRequest) -> Delta: ...

    def stream(self, client: GigaChatSyncClient, request: ChatRequest) -> Iterator[Delta]:
        """The answer's pieces as they arrive; closing the iterator closes the SDK's stream."""
        ...
