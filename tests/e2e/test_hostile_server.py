"""A hostile or broken GigaChat (a wrong base URL, a man in the middle on plain http), through the packaged plugin:
answers built to exhaust memory, to never end, or to kill the plugin with a reply line the daemon cannot read end
in a typed error or in an answer cut to size, and the process serves the next request.

The daemon stops reading a plugin whose stdout line reaches 5 MiB and kills it (contract section 0); the harness
checks every line the plugin writes against that limit, so a passing test here is also the proof that no line
reached it.
"""

from __future__ import annotations

import gzip
import json

import pytest

from devkit.bombs import MiB, gzip_layers
from devkit.emulator import Fault, Reply
from devkit.harness import messages as m
from devkit.harness.validation import MAX_LINE_BYTES
from devkit.rig import PROVIDER, PeakMemory, credentials_for, timed_request
from tests.tables import table

pytestmark = pytest.mark.e2e
MODEL = "GigaChat-2-Max"
BOMB = 128 * MiB
MEMORY_BOUND = 48 * MiB
BOUND = 15.0
HUGE = "Ж" * (3 * MiB)  # 6 MiB as UTF-8: one delta longer than a line the daemon reads
CONTROL = "\x1b" * MiB  # 1 MiB of characters JSON writes as six bytes each (\u001b)
LOOKUP = m.tool_def("lookup", "Looks a thing up", {"type": "object", "properties": {"q": {"type": "string"}}})


def ask(plugin, creds, stream: bool = True, tools: list | None = None, text: str = "hello"):
    data = m.invoke_llm(PROVIDER, MODEL, creds, [m.user(text)], stream=stream, tools=tools)
    with PeakMemory(plugin.pid) as memory:
        reply, seconds = timed_request(plugin, data, BOUND)
    return reply, seconds, memory


def line_sizes(plugin, reply) -> list[int]:
    sid = reply.session_id.encode()
    return [len(line) for line in plugin.stdout_raw_lines if sid in line[:200]]


def assert_serves_the_next_request(plugin, creds) -> None:
    reply = plugin.request(m.invoke_llm(PROVIDER, MODEL, creds, [m.user("still there?")]))
    assert reply.text == "Echo: still there?"


# ---- item 4: no reply line reaches the daemon's limit -------------------------------------------------------------


@pytest.mark.parametrize("text", [HUGE, CONTROL], ids=["6-mib-of-cyrillic", "1-mib-of-control-characters"])
def test_a_streamed_delta_too_long_for_one_line_reaches_dify_whole_in_pieces(plugin, emu, creds, text):
    emu.script(Reply(text=[text]))
    reply, _, _ = ask(plugin, creds)
    assert reply.error is None
    assert reply.text == text
    assert max(line_sizes(plugin, reply)) < MAX_LINE_BYTES // 2


ONE_LINE = table(
    ("blocking-answer", Reply(text=HUGE), False, None, "GigaChat's answer is"),
    ("tool-arguments", Reply(function_call=("lookup", {"q": HUGE})), True, [LOOKUP], "GigaChat's answer is"),
)


@pytest.mark.parametrize(("answer", "stream", "tools", "phrase"), **ONE_LINE)
def test_an_answer_that_must_travel_as_one_line_and_cannot_fit_is_a_typed_error(plugin, emu, creds, answer, stream,
                                                                                tools, phrase):  # fmt: skip
    emu.script(answer)
    reply, _, _ = ask(plugin, creds, stream, tools)
    assert reply.error is not None and reply.error["error_type"] == "InvokeServerUnavailableError"
    assert phrase in reply.error["message"] and "5 MiB" in reply.error["message"]
    assert max(line_sizes(plugin, reply)) < MAX_LINE_BYTES
    assert_serves_the_next_request(plugin, creds)


# ---- item 7: answers are bounded in size and in time ----------------------------------------------------------------

BOMBS = table(
    ("body-gzipped-twice", False, "application/json"),
    ("event-line-gzipped-twice", True, "text/event-stream"),
)


@pytest.mark.parametrize(("stream", "content_type"), **BOMBS)
def test_an_answer_that_expands_to_128_mib_is_refused_as_bytes_arrive(plugin, emu, creds, stream, content_type):
    headers = {"Content-Type": content_type, "Content-Encoding": "gzip, gzip"}
    emu.inject(Fault.raw(200, gzip_layers(BOMB, layers=2), headers))
    reply, _, memory = ask(plugin, creds, stream)
    assert reply.error is not None and reply.error["error_type"] == "InvokeServerUnavailableError"
    assert "larger than the plugin reads" in reply.error["message"]
    assert memory.growth < MEMORY_BOUND, f"{memory.growth / MiB:.0f} MiB"
    assert_serves_the_next_request(plugin, creds)


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "blocking"])
def test_an_answer_that_trickles_in_ends_at_the_request_timeout(plugin, emu, stream):
    creds = credentials_for(emu, request_timeout="1")
    emu.inject(Fault.trickle(0.25))  # never silent for long: each wait for data is far below the timeout
    emu.script(Reply(text=[f"word{i} " for i in range(200)]))  # 50 s of events, or of the body's bytes
    reply, seconds, _ = ask(plugin, creds, stream)
    assert reply.error is not None and reply.error["error_type"] == "InvokeConnectionError"
    assert "timed out" in reply.error["message"]
    assert seconds < 3, f"{seconds:.1f} s"


def test_a_gzipped_answer_is_read_as_usual(plugin, emu, creds):
    body = {"choices": [{"message": {"role": "assistant", "content": "zipped"}, "index": 0, "finish_reason": "stop"}],
            "created": 1, "model": MODEL, "object": "chat.completion",
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}  # fmt: skip
    encoded = gzip.compress(json.dumps(body).encode())
    emu.inject(Fault.raw(200, encoded, {"Content-Type": "application/json", "Content-Encoding": "gzip"}))
    reply, _, _ = ask(plugin, creds, stream=False)
    assert reply.error is None
    assert reply.text == "zipped"


# ---- item 8: usage Dify bills is never negative or absurd ----------------------------------------------------------


@pytest.mark.parametrize(
    ("reported", "billed"),
    [((-5, -7), (0, 0)), ((10**18, 10**15), (100_000_000, 100_000_000))],
    ids=["negative", "absurd"],
)
def test_usage_numbers_outside_reason_are_clamped_before_dify_bills_them(plugin, emu, creds, reported, billed):
    prompt, completion = reported
    usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    emu.script(Reply(text="ok", usage=usage))
    reply, _, _ = ask(plugin, creds)
    assert reply.error is None
    assert (reply.usage["prompt_tokens"], reply.usage["completion_tokens"]) == billed
