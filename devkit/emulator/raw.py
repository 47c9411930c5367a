"""Answers replayed byte for byte: the shapes real GigaChat sends that the emulator's own generator never makes.

`RawAnswer` is an HTTP answer given as the exact bytes to write, and how to write them: with `Content-Length` in one
write (how GigaChat sends blocking answers), or with chunked transfer in given pieces (how it sends streams). The
builders reproduce the framing variants a client must survive:

    emu.replay(RawAnswer.sse(events))                            # one `data:` event per chunk, then [DONE]
    emu.replay(RawAnswer.sse(events).pieces_of(7))               # the same bytes in 7-byte chunks (cuts UTF-8)
    emu.replay(RawAnswer.sse(events, newline="\\r\\n", comment="keep-alive", space=False, done=False))
    emu.replay(RawAnswer.json({"status": 404, "message": "No such model"}, status=404))

The production stream framing (ai-forever/gigachat tests/integration/cassettes/test_stream_simple.yaml, January
2026): `text/event-stream`, chunked, each event one `data: {compact JSON}` line and a blank line, no `event:` lines,
then `data: [DONE]`. The request is recorded as usual; what it gets is exactly this answer (no validation, no
scripted reply), with the emulator's `X-Request-Id` and `X-Session-Id` unless the answer sets its own.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

SSE = "text/event-stream"
JSON = "application/json; charset=utf-8"  # what the recorded answers declare (cassette test_chat_model_not_found)


@dataclass(frozen=True)
class RawAnswer:
    pieces: tuple[bytes, ...]
    status: int = 200
    content_type: str = JSON
    headers: Mapping[str, str] = field(default_factory=dict)
    chunked: bool = False  # chunked transfer, one chunk per piece; else Content-Length and one write

    @property
    def body(self) -> bytes:
        return b"".join(self.pieces)

    @classmethod
    def json(cls, payload: Any, status: int = 200, *, indent: int | None = None, **headers: str) -> RawAnswer:
        """A JSON answer with raw UTF-8 (as GigaChat writes Cyrillic), compact unless `indent` is given."""
        separators = (",", ":") if indent is None else None
        text = json.dumps(payload, ensure_ascii=False, indent=indent, separators=separators)
        return cls((text.encode(),), status, headers=dict(headers))

    @classmethod
    def sse(
        cls,
        events: Sequence[Mapping[str, Any] | str],
        *,
        newline: str = "\n",
        space: bool = True,
        comment: str | None = None,
        leading_blank: bool = False,
        done: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> RawAnswer:
        """An SSE body, one chunk per event: `data: <compact JSON>` and a blank line each, then `data: [DONE]`.

        newline: "\\r\\n" for CRLF line ends; space=False writes `data:{...}`; comment adds a `: <comment>` line
        before every event; leading_blank starts the body with an empty line (the 2023 capture,
        ai-forever/gigachat tests/data/chat_completion.stream); done=False ends without `data: [DONE]`.
        """
        prefix = "data: " if space else "data:"
        frames = []
        for index, event in enumerate([*events, *(["[DONE]"] if done else [])]):
            data = event if isinstance(event, str) else json.dumps(event, ensure_ascii=False, separators=(",", ":"))
            lines = ([f": {comment}"] if comment is not None else []) + [prefix + data]
            start = newline if leading_blank and index == 0 else ""
            frames.append((start + newline.join(lines) + newline + newline).encode())
        return cls(tuple(frames), content_type=SSE, headers=dict(headers or {}), chunked=True)

    def pieces_of(self, size: int) -> RawAnswer:
        """The same bytes sent in chunks of `size` bytes, wherever they fall (inside a UTF-8 character too)."""
        body = self.body
        return replace(self, pieces=tuple(body[i : i + size] for i in range(0, len(body), size)), chunked=True)
