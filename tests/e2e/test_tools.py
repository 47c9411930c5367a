"""Dify agents with GigaChat functions, through the daemon harness and the emulator, over both chat protocols (the
`protocol` fixture: v1 for GigaChat-2-Max, v2 for GigaChat-3-Ultra).

Each round is what Dify's function-calling agent does: send the conversation with the tools, read the streamed tool
call, run the tool, replay the history with the result. The emulator holds GigaChat's rules (one call per assistant
message, each followed by its result, JSON-object results, schemas without unions or references), so an accepted
request is a request GigaChat accepts; what went over the wire is read back from `emu.chat_requests`, a v2 request
as its legacy view (`protocol.sent`).
"""

from __future__ import annotations

import json

import pytest

from devkit.emulator import Fault, Reply
from devkit.harness import messages as m
from devkit.rig import PROVIDER
from models.llm.schema import normalize_schema

pytestmark = pytest.mark.e2e
# An MCP-style schema: a $ref into $defs, a nullable anyOf and an enum, none of which GigaChat accepts as written.
FORECAST_SCHEMA = {
    "type": "object",
    "$defs": {
        "Place": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name"},
                "country": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
            },
            "required": ["city"],
        }
    },
    "properties": {
        "place": {"$ref": "#/$defs/Place"},
        "units": {"type": "string", "enum": ["metric", "imperial"]},
        "days": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}], "description": "Forecast length"},
    },
    "required": ["place", "units"],
}
FORECAST = m.tool_def("get_forecast", "Forecast", FORECAST_SCHEMA)
CLOCK = m.tool_def("get_time", "Current local time", {"type": "object", "properties": {"tz": {"type": "string"}}})
SEARCH = m.tool_def("web_search", "Search the web", {"type": "object", "properties": {"query": {"type": "string"}}})
SYSTEM = m.system("You are a travel assistant.")
QUESTION = m.user("Will I need an umbrella in Kazan and Sochi this week?")


@pytest.fixture
def invoke(plugin, protocol):
    """Send the conversation with the tools to the protocol's model, as Dify's agent does."""

    def send(creds, messages, tools=(FORECAST,), stream=True, **extra):
        data = m.invoke_llm(PROVIDER, protocol.model, creds, messages, tools=list(tools), stream=stream)
        return plugin.request({**data, **extra})

    return send


def _only_call(reply) -> dict:
    assert len(reply.tool_calls) == 1, reply.tool_calls
    call = reply.tool_calls[0]
    assert isinstance(call["function"]["arguments"], str)
    return call


def _replayed(reply, result: str) -> list[dict]:
    """What Dify's agent appends after a round: the assistant message as streamed (no opaque_body: the agent runner
    rebuilds the message from the chunks) and the tool's result."""
    call = _only_call(reply)
    name, arguments = call["function"]["name"], call["function"]["arguments"]
    assistant = m.assistant(reply.text, tool_calls=[m.tool_call(call["id"], name, arguments)])
    return [assistant, m.tool(result, call["id"], name)]


def _walk(schema):
    yield schema
    for value in schema.values() if isinstance(schema, dict) else schema if isinstance(schema, list) else ():
        yield from _walk(value)


def _function_turns(sent: dict) -> list[tuple[str, str, object]]:
    """(role, function name, state id or parsed result) of every function call and result on the wire."""
    turns = []
    for message in sent["messages"]:
        if message.get("function_call"):
            turns.append(("assistant", message["function_call"]["name"], message.get("functions_state_id")))
        elif message["role"] == "function":
            turns.append(("function", message["name"], json.loads(message["content"])))
    return turns


KAZAN = {"place": {"city": "Kazan"}, "units": "metric"}
SOCHI = {"place": {"city": "Sochi"}, "units": "metric", "days": 3}
SOCHI_RU = {"place": {"city": "Sochi", "country": "RU"}, "units": "imperial"}
ROUNDS = [
    # (GigaChat's call in this round, its state id, what the tool answers, what GigaChat must get back)
    (("get_forecast", KAZAN), "fs-1", "Rain, 12°C", {"result": "Rain, 12°C"}),
    (("get_forecast", SOCHI), "fs-2", '{"rain": false}', {"rain": False}),
    (("get_forecast", SOCHI_RU), "fs-3", "[64, 66]", {"result": [64, 66]}),
]


def test_a_three_round_streamed_agent_run_keeps_functions_state_and_results_on_the_wire(invoke, protocol, emu, creds):
    history = [SYSTEM, QUESTION]
    for call, state, _, _ in ROUNDS:
        emu.script(Reply(text="Checking.", function_call=call, functions_state_id=state))
    emu.script(Reply(text="Take an umbrella to Kazan only."))
    for call, _, result, _ in ROUNDS:
        reply = invoke(creds, history)
        tool_call = _only_call(reply)
        assert (tool_call["function"]["name"], json.loads(tool_call["function"]["arguments"])) == call
        assert reply.finish_reason == "tool_calls"
        assert reply.text == "Checking."
        history += _replayed(reply, result)
    final = invoke(creds, history)
    assert final.text == "Take an umbrella to Kazan only."
    assert final.tool_calls == []
    assert final.finish_reason == "stop"

    function = {"name": "get_forecast", "parameters": normalize_schema(FORECAST_SCHEMA), "description": "Forecast"}
    assert len(protocol.sent(emu)) == 4
    for number, sent in enumerate(protocol.sent(emu)):
        assert sent["functions"] == [function]
        assert sent["function_call"] == "auto"
        expected = []
        for (name, _), state, _, wire_result in ROUNDS[:number]:
            expected += [("assistant", name, state), ("function", name, wire_result)]
        assert _function_turns(sent) == expected


def test_the_tool_schema_reaches_gigachat_without_refs_unions_or_lost_meaning(invoke, protocol, emu, creds):
    invoke(creds, [QUESTION])
    parameters = protocol.sent(emu)[-1]["functions"][0]["parameters"]
    keywords = {key for node in _walk(parameters) if isinstance(node, dict) for key in node}
    assert not keywords & {"$ref", "$defs", "anyOf", "oneOf", "allOf", "default", "minimum"}
    assert parameters["required"] == ["place", "units"]
    assert parameters["properties"]["place"]["properties"]["city"] == {"type": "string", "description": "City name"}
    assert parameters["properties"]["place"]["properties"]["country"]["type"] == "string"
    assert parameters["properties"]["units"]["enum"] == ["metric", "imperial"]
    assert parameters["properties"]["days"]["type"] == "integer"
    assert "Forecast length" in parameters["properties"]["days"]["description"]


@pytest.mark.parametrize(
    "results_order",
    [("call_a", "call_b"), ("call_b", "call_a")],
    ids=["results-in-call-order", "results-out-of-order"],
)
def test_a_history_with_two_tool_calls_in_one_assistant_message_becomes_two_call_result_pairs(
    invoke, protocol, emu, creds, results_order
):
    # Such histories come from another model, or from Dify rebuilding earlier turns (one agent thought, several tools).
    calls = {
        "call_a": m.tool_call("call_a", "get_forecast", '{"place": {"city": "Kazan"}, "units": "metric"}'),
        "call_b": m.tool_call("call_b", "get_time", '{"tz": "Europe/Moscow"}'),
    }
    results = {"call_a": m.tool("Rain", "call_a", "get_forecast"), "call_b": m.tool("12:00", "call_b", "get_time")}
    history = [
        QUESTION,
        m.assistant("Two lookups.", tool_calls=[calls["call_a"], calls["call_b"]]),
        *(results[call_id] for call_id in results_order),
    ]
    reply = invoke(creds, history, tools=(FORECAST, CLOCK))
    assert reply.error is None
    assert reply.text.startswith("Echo:")
    wire = [msg for msg in protocol.sent(emu)[-1]["messages"] if msg["role"] in ("assistant", "function")]
    assert [(msg["role"], msg.get("content")) for msg in wire] == [
        ("assistant", "Two lookups."),
        ("function", '{"result": "Rain"}'),
        ("assistant", ""),
        ("function", '{"result": "12:00"}'),
    ]
    assert [msg.get("function_call", {}).get("name") or msg.get("name") for msg in wire] == [
        "get_forecast",
        "get_forecast",
        "get_time",
        "get_time",
    ]
    assert [msg["function_call"]["arguments"] for msg in wire if "function_call" in msg] == [
        {"place": {"city": "Kazan"}, "units": "metric"},
        {"tz": "Europe/Moscow"},
    ]


def test_a_blocking_call_returns_one_complete_tool_call_that_carries_the_state(invoke, protocol, emu, creds):
    emu.script(Reply(function_call=("get_forecast", KAZAN), functions_state_id="fs-b"))
    reply = invoke(creds, [QUESTION], stream=False)
    call = _only_call(reply)
    assert json.loads(call["function"]["arguments"]) == KAZAN
    assert "stream" not in protocol.sent(emu)[-1]
    # dify_plugin sends a blocking LLMResult as one chunk without finish_reason (contract fact 6).
    assert len(reply.chunks) == 1

    emu.script(Reply(text="Done."))
    follow_up = invoke(creds, [QUESTION, *_replayed(reply, "Rain")], stream=False)
    assert follow_up.text == "Done."
    assert _function_turns(protocol.sent(emu)[-1])[0] == ("assistant", "get_forecast", "fs-b")


def test_the_state_also_comes_back_from_opaque_body_when_the_call_id_is_foreign(invoke, protocol, emu, creds):
    history = [
        QUESTION,
        m.assistant("", [m.tool_call("call_1", "get_time", "{}")], opaque_body={"functions_state_id": "fs-o"}),
        m.tool("12:00", "call_1", "get_time"),
    ]
    assert invoke(creds, history, tools=(CLOCK,)).error is None
    assert _function_turns(protocol.sent(emu)[-1]) == [
        ("assistant", "get_time", "fs-o"),
        ("function", "get_time", {"result": "12:00"}),
    ]


def test_a_tool_named_like_a_gigachat_built_in_round_trips_under_its_dify_name(invoke, protocol, emu, creds):
    emu.script(Reply(function_call=("user_web_search", {"query": "Kazan weather"})), Reply(text="Found it."))
    reply = invoke(creds, [QUESTION], tools=(SEARCH, FORECAST))
    call = _only_call(reply)
    assert call["function"]["name"] == "web_search"
    assert [spec["name"] for spec in protocol.sent(emu)[-1]["functions"]] == ["user_web_search", "get_forecast"]

    follow_up = invoke(creds, [QUESTION, *_replayed(reply, "sunny")], tools=(SEARCH, FORECAST))
    assert follow_up.text == "Found it."
    assert [name for _, name, _ in _function_turns(protocol.sent(emu)[-1])] == ["user_web_search", "user_web_search"]


@pytest.mark.parametrize("stream", [True, False], ids=["streaming", "blocking"])
@pytest.mark.parametrize(
    "message",
    [
        "Invalid function parameters schema: get_forecast: type is required",
        "Invalid function parameters schema: Field 'properties.place.properties' is missing",
    ],
    ids=["tool-named-by-gigachat", "tool-found-by-the-schema-path"],
)
def test_a_schema_complaint_from_gigachat_reaches_the_user_naming_the_tool(
    invoke, protocol, emu, creds, stream, message
):
    emu.inject(Fault.status(422, {"status": 422, "message": message}))
    reply = invoke(creds, [QUESTION], tools=(CLOCK, FORECAST), stream=stream)
    assert reply.error["error_type"] == "InvokeBadRequestError"
    assert "tool 'get_forecast'" in reply.error["message"]
    assert "Invalid function parameters schema" in reply.error["message"]


def test_text_and_a_tool_call_in_one_answer_stream_as_text_then_one_call_then_the_finish(invoke, protocol, emu, creds):
    emu.script(Reply(text=["Let me ", "check."], function_call=("get_time", {"tz": "UTC"})))
    reply = invoke(creds, [QUESTION], tools=(CLOCK,))
    deltas = [chunk["delta"] for chunk in reply.chunks]
    kinds = [
        "call" if d["message"].get("tool_calls") else "finish" if d.get("finish_reason") else "text" for d in deltas
    ]
    assert kinds == ["text", "text", "call", "finish"]
    assert reply.text == "Let me check."
    assert json.loads(_only_call(reply)["function"]["arguments"]) == {"tz": "UTC"}
    assert deltas[-1]["finish_reason"] == "tool_calls"
    assert deltas[-2]["message"]["content"] == ""


@pytest.mark.parametrize(
    ("tool_choice", "function_call"),
    [
        (None, "auto"),
        ("auto", "auto"),
        ("none", "none"),
        ("required", "auto"),
        ({"type": "function", "function": {"name": "get_time"}}, {"name": "get_time"}),
        ({"type": "function", "function": {"name": "web_search"}}, {"name": "user_web_search"}),
        ({"type": "function", "function": {"name": "not_a_tool"}}, "auto"),
    ],
    ids=["absent", "auto", "none", "required", "named", "named-reserved", "unknown-name"],
)
def test_the_daemons_tool_choice_becomes_gigachats_function_call(
    invoke, protocol, emu, creds, tool_choice, function_call
):
    extra = {} if tool_choice is None else {"tool_choice": tool_choice}
    reply = invoke(creds, [QUESTION], tools=(CLOCK, SEARCH), **extra)
    assert reply.error is None
    assert protocol.sent(emu)[-1]["function_call"] == function_call


def test_a_request_without_tools_sends_no_functions(invoke, protocol, emu, creds):
    reply = invoke(creds, [QUESTION], tools=(), tool_choice="none")
    assert reply.error is None
    assert "functions" not in protocol.sent(emu)[-1]
    assert "function_call" not in protocol.sent(emu)[-1]
