"""models/llm/chat.py: the neutral request built from what Dify sends, the protocol that carries it, the forms a
refused request is tried again in, and the offline token count of a prompt."""

from __future__ import annotations

import json

import pytest
from dify_plugin.entities.model.message import (
    AssistantPromptMessage,
    PromptMessageTool,
    SystemPromptMessage,
    ToolPromptMessage,
    UserPromptMessage,
)
from gigachat.exceptions import ResponseError

from models.common.settings import ProtocolChoice
from models.common.tokens import estimate_prompt_tokens, estimate_tokens
from models.llm import chat, wire_v1, wire_v2

HELLO = [UserPromptMessage(content="Hi")]
WEATHER = PromptMessageTool(
    name="get_weather",
    description="The weather in a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


@pytest.mark.parametrize(
    ("tools", "tool_choice", "function_call"),
    [
        pytest.param([WEATHER], None, "auto", id="none-sent-means-auto"),
        pytest.param([WEATHER], "none", "none", id="none"),
        pytest.param([WEATHER], {"type": "function", "function": {"name": "get_weather"}}, {"name": "get_weather"},
                     id="a-named-tool-is-forced"),
        pytest.param(None, "none", None, id="no-tools-no-field"),
    ],
)  # fmt: skip
def test_the_daemons_tool_choice_becomes_the_requests_function_call(tools, tool_choice, function_call) -> None:
    request = chat.build_request("GigaChat-2", HELLO, {}, tools, tool_choice)
    assert request.function_call == function_call


@pytest.mark.parametrize(
    ("model", "choice", "protocol"),
    [
        ("GigaChat-2", "auto", wire_v1),
        ("GigaChat-2-Max", "auto", wire_v1),
        ("GigaChat-2-Pro-preview", "auto", wire_v1),
        ("GigaChat", "auto", wire_v1),
        ("GigaChat-3-Ultra", "auto", wire_v2),
        ("gigachat-3-lightning", "auto", wire_v2),
        ("GigaChat-3-Ultra", "v1", wire_v1),
        ("GigaChat-2-Max", "v2", wire_v2),
    ],
    ids=lambda value: getattr(value, "__name__", value).rpartition(".")[2],
)
def test_the_gigachat_3_family_speaks_v2_others_v1_and_a_model_may_choose(model, choice, protocol) -> None:
    request = chat.build_request(model, HELLO, {}, None, protocol=ProtocolChoice(choice))
    assert chat.protocol_for(request) is protocol


def refusal(status: int, message: str) -> ResponseError:
    body = json.dumps({"status": status, "message": message}).encode()
    return ResponseError("https://api.giga.chat/v2/chat/completions", status, body, None)


SCHEMA = json.dumps({"type": "object", "properties": {"a": {"type": "string"}}})
STRUCTURED = {"response_format": "json_schema", "json_schema": SCHEMA}
WITH_RESULT = [
    UserPromptMessage(content="Weather?"),
    AssistantPromptMessage(content="", tool_calls=[AssistantPromptMessage.ToolCall(
        id="call_1", type="function",
        function=AssistantPromptMessage.ToolCall.ToolCallFunction(name="get_weather", arguments="{}"))]),
    ToolPromptMessage(content="sunny", tool_call_id="call_1", name="get_weather"),
]  # fmt: skip


def test_a_refused_response_format_is_asked_for_again_as_a_forced_function_call() -> None:
    request = chat.build_request("GigaChat-3-Ultra", HELLO, STRUCTURED, None)
    retried, protocol = chat.fallback(refusal(422, "Unknown type in response_format"), request, wire_v2)
    assert (retried.response_format, retried.function_call, protocol) == (None, {"name": "structured_output"}, wire_v2)
    assert chat.fallback(refusal(422, "Unknown type in response_format"), retried, protocol) is None


def test_a_v2_400_for_a_request_with_a_function_result_is_retried_once_with_role_function() -> None:
    request = chat.build_request("GigaChat-3-Ultra", WITH_RESULT, {}, [WEATHER])
    error = refusal(400, "Your request contains invalid JSON syntax.")
    assert chat.fallback(error, request, wire_v2) == (request, wire_v2.FUNCTION_ROLE)
    assert chat.fallback(error, request, wire_v2.FUNCTION_ROLE) is None


@pytest.mark.parametrize(
    ("messages", "status", "protocol"),
    [
        pytest.param(HELLO, 400, wire_v2, id="no-function-result"),
        pytest.param(WITH_RESULT, 422, wire_v2, id="not-a-400"),
        pytest.param(WITH_RESULT, 400, wire_v1, id="v1"),
    ],
)
def test_no_other_refusal_is_tried_again(messages, status, protocol) -> None:
    request = chat.build_request("GigaChat-3-Ultra", messages, {}, [WEATHER])
    assert chat.fallback(refusal(status, "Your request contains invalid JSON syntax."), request, protocol) is None


def test_a_prompt_counts_its_messages_and_the_tools_it_offers() -> None:
    messages = [SystemPromptMessage(content="Be brief."), UserPromptMessage(content="Weather in Kazan?")]
    spec = {"name": "get_weather", "parameters": WEATHER.parameters, "description": WEATHER.description}
    expected = estimate_prompt_tokens(["Be brief.", "Weather in Kazan?"]) + estimate_tokens(
        json.dumps(spec, ensure_ascii=False)
    )
    assert chat.prompt_tokens(messages, [WEATHER]) == expected
    assert chat.prompt_tokens(messages, None) == estimate_prompt_tokens(["Be brief.", "Weather in Kazan?"])
