"""Answers of GigaChat's v2 chat protocol shaped exactly like the SDK's recordings of GigaChat-3-Ultra
(ai-forever/gigachat tests/integration/cassettes/, named per answer): the same keys in the same order, the same types
and ids, compact JSON as the server sends it (the cassettes' spacing is their scrubber's re-dump). Shared by the unit
tests of models/llm/wire_v2.py and the end-to-end replay tests.
"""

from __future__ import annotations

import json
from typing import Any

MODEL = "GigaChat-3-Ultra"
VERSION = "GigaChat-3-Ultra:32.3.18.5"
STATE_1 = "019e8373-dc9a-7883-af60-ebb20b79e1e1"
STATE_2 = "019e8373-e5fb-754f-a5b6-3025cdf27848"


def _usage(prompt: int, output: int, cached: int = 0) -> dict[str, Any]:
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"prompt_tokens": prompt, "cached_tokens": cached},
        "output_tokens": output,
        "total_tokens": prompt + output,
    }


def _answer(created_at: int, message: dict[str, Any], finish_reason: str, usage: dict[str, Any]) -> dict[str, Any]:
    return {"model": VERSION, "created_at": created_at, "messages": [message], "finish_reason": finish_reason,
            "usage": usage}  # fmt: skip


# test_primary_chat_create_simple
SIMPLE = _answer(1780321855, {"role": "assistant", "content": [{"text": "Hello"}]}, "stop", _usage(19, 2))
# test_primary_chat_parse_json_schema: the structured answer is pretty-printed JSON text
JSON_TEXT = '{\n    "answer": "ok",\n    "n": 3\n}'
JSON_SCHEMA = _answer(1780321859, {"role": "assistant", "content": [{"text": JSON_TEXT}]}, "stop", _usage(24, 21))
# test_primary_chat_function_tool_roundtrip: a forced call, then the answer after its result (with a new state id)
CALL_ARGUMENTS = {"order_id": "A-1024"}
FUNCTION_CALL = _answer(
    1780321868,
    {"role": "assistant", "tool_state_id": STATE_1,
     "content": [{"function_call": {"name": "get_order_status", "arguments": CALL_ARGUMENTS}}]},
    "function_call",
    _usage(88, 25),
)  # fmt: skip
AFTER_RESULT_TEXT = "A-1024 is packed; delivery is due tomorrow."
AFTER_RESULT = _answer(
    1780321871,
    {"role": "assistant", "tool_state_id": STATE_2, "content": [{"text": AFTER_RESULT_TEXT}]},
    "stop",
    _usage(150, 17),
)
# test_primary_chat_stream_simple: exactly two named events, no [DONE]
STREAM_TEXT = "1, 2, 3"
STREAM = [
    ("response.message.delta", {"model": VERSION, "created_at": 1780321864,
                                "messages": [{"role": "assistant", "content": [{"text": STREAM_TEXT}]}]}),
    ("response.message.done", {"model": VERSION, "created_at": 1780321864, "finish_reason": "stop",
                               "usage": _usage(19, 8)}),
]  # fmt: skip


# test_primary_chat_builtin_tools: one answer per built-in tool, each with a tool_state_id and the recorded usage
# (input, cached, output). Web search: markers `[sources=[N]]` before the full stop, the sources map on the text part
# (string keys, a Cyrillic title, a page no marker cites); an image: a `files` part before the text part.
STATE_TOOL = "019e8374-28b2-741f-a05c-54c968fd20c2"
WEB_SEARCH_TEXT = (
    "Python 3.15 speeds up its JIT compiler on x86-64 Linux [sources=[2]].\n\n"
    "UTF-8 becomes the default text encoding [sources=[2]]."
)
SOURCES = {
    "1": {"url": "https://example.ru/python-2026", "title": "Изменения в Python 2026"},
    "2": {"url": "https://example.com/python-news-2026/", "title": "Python News for February 2026..."},
}


def _tool_answer(created_at: int, content: list[dict[str, Any]], usage: dict[str, Any]) -> dict[str, Any]:
    return _answer(created_at, {"role": "assistant", "tool_state_id": STATE_TOOL, "content": content}, "stop", usage)


WEB_SEARCH = _tool_answer(
    1780321888,
    [{"text": WEB_SEARCH_TEXT, "inline_data": {"images": [], "sources": SOURCES}}],
    _usage(23767, 570, cached=2557),
)
CODE_TEXT = "The sum of the first 20 primes is 639."
CODE_INTERPRETER = _tool_answer(1780321894, [{"text": CODE_TEXT}], _usage(3963, 157, cached=3710))
PAGE_TEXT = "The page describes pathlib: paths as objects, joined with `/`."
URL_CONTENT = _tool_answer(1780321909, [{"text": PAGE_TEXT}], _usage(17493, 306, cached=830))
IMAGE_ID = "f4b17167-3fa4-40aa-80c6-c737ee40d961"
IMAGE_TEXT = "Here is a square icon for the release."
IMAGE = _tool_answer(
    1780321922,
    [{"files": [{"id": IMAGE_ID, "mime": "image/jpeg", "target": "image"}]}, {"text": IMAGE_TEXT}],
    _usage(999, 42, cached=830),
)


def compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def sse(events: list[tuple[str, Any]]) -> bytes:
    """Named events as the server frames them: `event:` and `data:` lines, a blank line after each."""
    return b"".join(b"event: %s\ndata: %s\n\n" % (name.encode(), compact(data)) for name, data in events)
