"""models/llm/wire_v2.py: neutral turns -> v2 messages of content parts, v2 answers and named events -> Deltas."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dify_plugin.entities.model.message import UserPromptMessage
from gigachat.api.chat_completions import _build_request_json
from gigachat.exceptions import GigaChatException
from gigachat.models.chat_completions import ChatCompletionChunk, ChatCompletionRequest, ChatCompletionResponse

from models.llm import chat, wire_v2
from models.llm.exchange import ChatRequest, Delta, FunctionCall, Turn, Usage
from models.llm.tools import ToolNames, wire_name
from tests import v2_recordings as recorded

NAMES = ToolNames.of(["get_weather", "web_search", "get_order_status"])
WEATHER = FunctionCall("get_weather", {"city": "Moscow"})
SPEC = {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}


def request(**changes: object) -> ChatRequest:
    fields: dict = {"model": "GigaChat-3-Ultra", "turns": [Turn("user", "Hi")], "fields": {}, "functions": [],
                    "function_call": None, "response_format": None, "names": NAMES}  # fmt: skip
    return ChatRequest(**(fields | changes))  # type: ignore[arg-type]


# ---- the request ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("turn", "message"),
    [
        pytest.param(Turn("user", "Hi"), {"role": "user", "content": [{"text": "Hi"}]}, id="text-as-a-text-part"),
        pytest.param(Turn("system", "Be brief."), {"role": "system", "content": [{"text": "Be brief."}]},
                     id="the-system-prompt-as-a-system-message"),
        pytest.param(Turn("user", "Look", attachments=("file-1", "file-2")),
                     {"role": "user", "content": [{"text": "Look"}, {"files": [{"id": "file-1"}, {"id": "file-2"}]}]},
                     id="attachments-as-one-files-part"),
        pytest.param(Turn("user", "", attachments=("file-1",)),
                     {"role": "user", "content": [{"files": [{"id": "file-1"}]}]}, id="files-without-text"),
        pytest.param(Turn("assistant", "", function_call=WEATHER, state_id="s-7"),
                     {"role": "assistant", "content": [{"function_call": {"name": "get_weather",
                      "arguments": {"city": "Moscow"}}}], "tools_state_id": "s-7"}, id="a-call-with-its-state"),
        pytest.param(Turn("assistant", "Checking.", function_call=WEATHER),
                     {"role": "assistant", "content": [{"text": "Checking."}, {"function_call": {"name": "get_weather",
                      "arguments": {"city": "Moscow"}}}]}, id="text-then-the-call"),
        pytest.param(Turn("tool", '{"t": 20}', name="get_weather", state_id="s-7"),
                     {"role": "tool", "content": [{"function_result": {"name": "get_weather", "result": {"t": 20}}}],
                      "tools_state_id": "s-7"}, id="a-result-as-role-tool-with-a-json-result-and-the-state"),
        pytest.param(Turn("tool", '{"hits": 1}', name="web_search"),
                     {"role": "tool", "content": [{"function_result": {"name": wire_name("web_search"),
                      "result": {"hits": 1}}}]}, id="a-renamed-tool-under-its-wire-name"),
    ],
)  # fmt: skip
def test_a_turn_becomes_one_v2_message_of_content_parts(turn: Turn, message: dict) -> None:
    assert wire_v2.message_dict(turn, NAMES) == message


def test_the_function_role_variant_changes_only_the_role_of_results() -> None:
    turns = [Turn("user", "Hi"), Turn("assistant", "", function_call=WEATHER), Turn("tool", "{}", name="get_weather")]
    tool, function = (wire_v2.payload(request(turns=turns), role)["messages"] for role in ("tool", "function"))
    assert [m["role"] for m in function] == ["user", "assistant", "function"]
    assert [{k: v for k, v in m.items() if k != "role"} for m in function] == [
        {k: v for k, v in m.items() if k != "role"} for m in tool
    ]


@pytest.mark.parametrize(
    ("fields", "sent"),
    [
        pytest.param({"temperature": 0.7, "top_p": 0.9, "max_tokens": 64, "repetition_penalty": 1.1,
                      "update_interval": 0.5},
                     {"model_options": {"temperature": 0.7, "top_p": 0.9, "max_tokens": 64, "repetition_penalty": 1.1,
                                        "update_interval": 0.5}}, id="generation-settings-in-model-options"),
        pytest.param({"reasoning_effort": "high"}, {"model_options": {"reasoning": {"effort": "high"}}},
                     id="reasoning-effort"),
        pytest.param({"profanity_check": False}, {"profanity_check": False}, id="profanity-check-left-to-the-sdk"),
        pytest.param({}, {}, id="nothing-when-nothing-is-set"),
    ],
)  # fmt: skip
def test_generation_fields_find_their_place_in_the_v2_body(fields: dict, sent: dict) -> None:
    body = wire_v2.payload(request(fields=fields))
    assert {key: value for key, value in body.items() if key not in ("model", "messages")} == sent


@pytest.mark.parametrize(
    ("function_call", "tool_config"),
    [
        ("auto", {"mode": "auto"}),
        ("none", {"mode": "none"}),
        ({"name": "get_weather"}, {"mode": "forced", "function_name": "get_weather"}),
    ],
    ids=["auto", "none", "forced"],
)
def test_functions_are_specifications_and_the_mode_is_the_tool_config(function_call, tool_config) -> None:
    body = wire_v2.payload(request(functions=[SPEC], function_call=function_call))
    assert body["tools"] == [{"functions": {"specifications": [SPEC]}}]
    assert body["tool_config"] == tool_config


def test_structured_output_goes_in_model_options_beside_the_generation_settings() -> None:
    response_format = {"type": "json_schema", "schema": {"type": "object", "properties": {}}, "strict": True}
    body = wire_v2.payload(request(fields={"top_p": 0.0}, response_format=response_format))
    assert body["model_options"] == {"top_p": 0.0, "response_format": response_format}


def test_the_sdk_sends_the_body_as_built_and_turns_profanity_check_into_disable_filter() -> None:
    turns = [Turn("system", "Be brief."), Turn("user", "Hi", attachments=("f-1",)),
             Turn("assistant", "", function_call=WEATHER, state_id="s-1"),
             Turn("tool", '{"t": null}', name="get_weather", state_id="s-1")]  # fmt: skip
    response_format = {"type": "json_schema", "schema": {"type": "object", "properties": {}}, "strict": True}
    body = wire_v2.payload(
        request(turns=turns, fields={"temperature": 0.5, "profanity_check": False}, functions=[SPEC],
                function_call={"name": "get_weather"}, response_format=response_format)
    )  # fmt: skip
    sent = _build_request_json(ChatCompletionRequest.model_validate(body))
    assert sent == {**{k: v for k, v in body.items() if k != "profanity_check"}, "disable_filter": True}


def test_the_recorded_round_trip_request_is_what_the_plugin_sends() -> None:
    """The second request of test_primary_chat_function_tool_roundtrip: the call and its result, each carrying the
    state id the answer named `tool_state_id`."""
    call = FunctionCall("get_order_status", recorded.CALL_ARGUMENTS)
    result = '{"order_id": "A-1024", "status": "packed", "eta": "tomorrow"}'
    turns = [Turn("user", "Check order A-1024."), Turn("assistant", "", function_call=call, state_id=recorded.STATE_1),
             Turn("tool", result, name="get_order_status", state_id=recorded.STATE_1)]  # fmt: skip
    messages = wire_v2.payload(request(turns=turns))["messages"]
    result_value = {"order_id": "A-1024", "status": "packed", "eta": "tomorrow"}
    assert messages[1:] == [
        {"role": "assistant", "tools_state_id": recorded.STATE_1,
         "content": [{"function_call": {"name": "get_order_status", "arguments": {"order_id": "A-1024"}}}]},
        {"role": "tool", "tools_state_id": recorded.STATE_1,
         "content": [{"function_result": {"name": "get_order_status", "result": result_value}}]},
    ]  # fmt: skip


# ---- the answer -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "delta"),
    [
        pytest.param(recorded.SIMPLE, Delta(text="Hello", finish_reason="stop", usage=Usage(19, 2)), id="simple"),
        pytest.param(recorded.JSON_SCHEMA, Delta(text=recorded.JSON_TEXT, finish_reason="stop", usage=Usage(24, 21)),
                     id="json-schema"),
        pytest.param(recorded.FUNCTION_CALL,
                     Delta(function_call=FunctionCall("get_order_status", recorded.CALL_ARGUMENTS),
                           state_id=recorded.STATE_1, finish_reason="function_call", usage=Usage(88, 25)),
                     id="function-call"),
        pytest.param(recorded.AFTER_RESULT,
                     Delta(text=recorded.AFTER_RESULT_TEXT, state_id=recorded.STATE_2, finish_reason="stop",
                           usage=Usage(150, 17)), id="after-the-result"),
    ],
)  # fmt: skip
def test_a_recorded_answer_becomes_one_delta(answer: dict, delta: Delta) -> None:
    assert wire_v2.from_response(ChatCompletionResponse.model_validate(answer), NAMES) == delta


def test_a_call_of_a_renamed_tool_comes_back_under_its_dify_name() -> None:
    call = {"name": wire_name("web_search"), "arguments": '{"q": "x"}'}
    answer = {**recorded.FUNCTION_CALL, "messages": [{"role": "assistant", "content": [{"function_call": call}]}]}
    delta = wire_v2.from_response(ChatCompletionResponse.model_validate(answer), NAMES)
    assert delta.function_call == FunctionCall("web_search", {"q": "x"})


def test_call_arguments_that_are_not_an_object_are_an_unreadable_answer() -> None:
    answer = {**recorded.FUNCTION_CALL, "messages": [{"role": "assistant",
              "content": [{"function_call": {"name": "get_weather", "arguments": "[1, 2]"}}]}]}  # fmt: skip
    with pytest.raises(GigaChatException):
        wire_v2.from_response(ChatCompletionResponse.model_validate(answer), NAMES)


def event(name: str, data: dict | None = None, **fields: object) -> ChatCompletionChunk:
    """One named event as the SDK yields it: its data with the event's name."""
    body = data if data is not None else {"model": recorded.VERSION, "created_at": 1, **fields}
    return ChatCompletionChunk.model_validate({**body, "event": name})


def parts(*content: dict, role: str | None = "assistant", **message: object) -> list[dict]:
    return [{"role": role, "content": list(content), **message}]


@pytest.mark.parametrize(
    ("chunk", "delta"),
    [
        pytest.param(event(*recorded.STREAM[0]), Delta(text=recorded.STREAM_TEXT), id="recorded-delta"),
        pytest.param(event(*recorded.STREAM[1]), Delta(finish_reason="stop", usage=Usage(19, 8)), id="recorded-done"),
        pytest.param(event("response.message.delta", messages=parts({"text": "more"}, role=None)), Delta(text="more"),
                     id="a-piece-without-a-role"),
        pytest.param(event("response.message.delta", messages=parts({"text": "Let me see"}, role="reasoning")),
                     Delta(reasoning="Let me see"), id="reasoning-text-as-reasoning"),
        pytest.param(event("response.message.done", finish_reason="function_call", tools_state_id="s-3",
                           messages=parts({"function_call": {"name": "get_weather", "arguments": {"city": "Kazan"}}})),
                     Delta(function_call=FunctionCall("get_weather", {"city": "Kazan"}), state_id="s-3",
                           finish_reason="function_call"), id="a-call-on-the-done-event"),
        pytest.param(event("response.message.delta", messages=parts({"function_call": {"name": "get_weather",
                           "arguments": {}}}, tool_state_id="s-4")),
                     Delta(function_call=FunctionCall("get_weather", {}), state_id="s-4"), id="a-call-in-a-delta"),
        pytest.param(event("response.message.delta", messages=parts(
                           {"tool_execution": {"name": "web_search", "status": "success"}}, role="reasoning")),
                     Delta(), id="tool-execution-is-no-text"),
        pytest.param(event("response.tool.completed", messages=parts({"text": "searching…"}, role="reasoning")),
                     Delta(), id="a-built-in-tools-progress-event"),
        pytest.param(event("response.unheard_of", messages=parts({"text": "?"})), Delta(), id="an-unknown-event"),
        pytest.param(event("response.message.delta", messages=parts({"text": "result"}, role="tool")), Delta(),
                     id="a-message-of-another-role"),
    ],
)  # fmt: skip
def test_a_named_event_becomes_one_delta_and_only_answer_events_carry_text(chunk, delta) -> None:
    assert wire_v2.from_chunk(chunk, NAMES) == delta


class _StreamingClient:
    """The SDK's `client.chat` namespace, streaming two events and recording the body and whether it was closed."""

    def __init__(self) -> None:
        self.closed = False
        self.chat = self
        self.body: dict | None = None

    def stream(self, body: dict) -> Iterator[ChatCompletionChunk]:
        self.body = body
        # Held here, as a client may hold its stream: only closing it, not dropping a reference, ends it.
        self.source = self._events()
        return self.source

    def _events(self) -> Iterator[ChatCompletionChunk]:
        try:
            for name, data in recorded.STREAM:
                yield event(name, data)
        finally:
            self.closed = True


def test_closing_the_stream_of_deltas_closes_the_sdks_stream() -> None:
    client = _StreamingClient()
    built = chat.build_request("GigaChat-3-Ultra", [UserPromptMessage(content="Count")], {}, None)
    deltas = wire_v2.stream(client, built)  # type: ignore[arg-type]
    assert next(deltas) == Delta(text=recorded.STREAM_TEXT)
    deltas.close()  # type: ignore[attr-defined]
    assert client.closed
    assert client.body == {"model": "GigaChat-3-Ultra", "messages": [{"role": "user", "content": [{"text": "Count"}]}]}
