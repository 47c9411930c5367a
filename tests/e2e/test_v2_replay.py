"""What Dify receives from answers shaped exactly like the SDK's recordings of GigaChat-3-Ultra on v2 (simple, stream,
json schema, function round trip; tests/v2_recordings.py), replayed byte for byte by the emulator, and from streams
that carry events other than the answer's."""

from __future__ import annotations

import json

import pytest

from devkit.emulator.v2 import Recorded
from devkit.harness import messages as m
from devkit.rig import PROVIDER
from tests import v2_recordings as recorded

pytestmark = pytest.mark.e2e
SSE = "text/event-stream"
ORDER_SCHEMA = {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}
ORDER_STATUS = m.tool_def("get_order_status", "Get delivery status for an order.", ORDER_SCHEMA)
QUESTION = m.user("Check order A-1024.")


def chat(plugin, creds, messages, stream, tools=None, parameters=None):
    data = m.invoke_llm(PROVIDER, recorded.MODEL, creds, messages, parameters, tools=tools, stream=stream)
    return plugin.request(data)


def usage(reply) -> tuple[int, int, int]:
    return reply.usage["prompt_tokens"], reply.usage["completion_tokens"], reply.usage["total_tokens"]


def test_the_recorded_simple_answer_reaches_dify_with_gigachats_usage(plugin, emu, creds):
    emu.script(Recorded(recorded.compact(recorded.SIMPLE)))
    reply = chat(plugin, creds, [m.user("Say 'Hello' and nothing else")], stream=False)
    assert (reply.error, reply.text, usage(reply)) == (None, "Hello", (19, 2, 21))


def test_the_recorded_stream_reaches_dify_as_its_text_then_the_finish_with_usage(plugin, emu, creds):
    emu.script(Recorded(recorded.sse(recorded.STREAM), SSE))
    reply = chat(plugin, creds, [m.user("Count from 1 to 3")], stream=True)
    assert reply.error is None
    assert [chunk["delta"]["message"]["content"] for chunk in reply.chunks] == [recorded.STREAM_TEXT, ""]
    assert (reply.finish_reason, usage(reply)) == ("stop", (19, 8, 27))


def test_the_recorded_structured_answer_reaches_dify_as_the_json_text_gigachat_wrote(plugin, emu, creds):
    emu.script(Recorded(recorded.compact(recorded.JSON_SCHEMA)))
    schema = {"type": "object", "properties": {"answer": {"type": "string"}, "n": {"type": "integer"}}}
    parameters = {"response_format": "json_schema", "json_schema": json.dumps({"schema": schema})}
    reply = chat(plugin, creds, [m.user("Return the answer.")], stream=False, parameters=parameters)
    assert reply.text == recorded.JSON_TEXT
    assert json.loads(reply.text) == {"answer": "ok", "n": 3}
    assert usage(reply) == (24, 21, 45)
    assert emu.chat_requests[0]["model_options"]["response_format"]["type"] == "json_schema"


def test_the_recorded_function_round_trip_carries_the_state_through_dify_and_back(plugin, emu, creds):
    emu.script(Recorded(recorded.compact(recorded.FUNCTION_CALL)), Recorded(recorded.compact(recorded.AFTER_RESULT)))
    first = chat(plugin, creds, [QUESTION], stream=False, tools=[ORDER_STATUS])
    [call] = first.tool_calls
    assert call["function"] == {"name": "get_order_status", "arguments": '{"order_id": "A-1024"}'}
    assert call["id"].endswith("_fs_" + recorded.STATE_1)  # survives Dify's history, which may drop opaque_body
    assert usage(first) == (88, 25, 113)

    result = '{"order_id": "A-1024", "status": "packed", "eta": "tomorrow"}'
    history = [QUESTION, m.assistant("", [m.tool_call(call["id"], "get_order_status", call["function"]["arguments"])]),
               m.tool(result, call["id"], "get_order_status")]  # fmt: skip
    second = chat(plugin, creds, history, stream=False, tools=[ORDER_STATUS])
    assert (second.text, second.tool_calls, usage(second)) == (recorded.AFTER_RESULT_TEXT, [], (150, 17, 167))
    # The follow-up request as recorded: the call and its result, each with the state id, the result as role "tool".
    assert emu.chat_requests[1]["messages"][1:] == [
        {"content": [{"function_call": {"name": "get_order_status", "arguments": recorded.CALL_ARGUMENTS}}],
         "tools_state_id": recorded.STATE_1, "role": "assistant"},
        {"content": [{"function_result": {"name": "get_order_status", "result": json.loads(result)}}],
         "tools_state_id": recorded.STATE_1, "role": "tool"},
    ]  # fmt: skip


# ---- events that are not the answer ---------------------------------------------------------------------------------

MODEL_AT = {"model": recorded.VERSION, "created_at": 1780321864}


def answer_text(text: str) -> tuple[str, dict]:
    return "response.message.delta", {**MODEL_AT, "messages": [{"role": "assistant", "content": [{"text": text}]}]}


DONE = ("response.message.done", {**MODEL_AT, "finish_reason": "stop", "usage": recorded.STREAM[1][1]["usage"]})
# A built-in tool at work: the shape of ai-forever/gigachat's own test of named events (a reasoning message with a
# tool_execution part) and of gigachat-java's v2 event list (`response.tool.in_progress`, `response.tool.completed`).
EXECUTION = {"tool_execution": {"name": "web_search", "status": "success"}}
PROGRESS = {**MODEL_AT, "messages": [{"role": "reasoning", "content": [EXECUTION]}]}
UNKNOWN = ("response.unheard_of", {**MODEL_AT, "messages": [{"role": "assistant", "content": [{"text": "LEAK"}]}]})


@pytest.mark.parametrize(
    "events",
    [
        pytest.param([("response.tool.in_progress", PROGRESS), ("response.tool.completed", PROGRESS),
                      answer_text("Found "), answer_text("it."), DONE], id="built-in-tool-progress"),
        pytest.param([answer_text("Found "), UNKNOWN, answer_text("it."), DONE], id="an-unknown-event-mid-stream"),
    ],
)  # fmt: skip
def test_events_that_are_not_the_answer_never_reach_dify_as_text(plugin, emu, creds, events):
    emu.script(Recorded(recorded.sse(events), SSE))
    reply = chat(plugin, creds, [m.user("Search the news")], stream=True)
    assert (reply.error, reply.text, reply.finish_reason) == (None, "Found it.", "stop")


def test_a_stream_that_ends_on_an_unknown_event_instead_of_done_is_an_incomplete_answer(plugin, emu, creds):
    emu.script(Recorded(recorded.sse([answer_text("Found "), UNKNOWN]), SSE))
    reply = chat(plugin, creds, [m.user("Search the news")], stream=True)
    assert reply.error["error_type"] == "InvokeConnectionError"
    assert "ended before the answer was complete" in reply.error["message"]
    assert "LEAK" not in reply.text
