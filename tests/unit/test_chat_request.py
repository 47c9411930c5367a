"""models/llm/chat.py: the neutral request built from what Dify sends, the protocol that carries it, and the offline
token count of a prompt."""

from __future__ import annotations

import json

import pytest
from dify_plugin.entities.model.message import PromptMessageTool, SystemPromptMessage, UserPromptMessage

from models.common.tokens import estimate_prompt_tokens, estimate_tokens
from models.llm import chat, wire_v1

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


@pytest.mark.parametrize("model", ["GigaChat-2", "GigaChat-2-Max", "GigaChat-2-Pro-preview"])
def test_every_model_the_plugin_lists_is_spoken_to_over_v1(model: str) -> None:
    assert chat.protocol_for(chat.build_request(model, HELLO, {}, None)) is wire_v1


def test_a_prompt_counts_its_messages_and_the_tools_it_offers() -> None:
    messages = [SystemPromptMessage(content="Be brief."), UserPromptMessage(content="Weather in Kazan?")]
    spec = {"name": "get_weather", "parameters": WEATHER.parameters, "description": WEATHER.description}
    expected = estimate_prompt_tokens(["Be brief.", "Weather in Kazan?"]) + estimate_tokens(
        json.dumps(spec, ensure_ascii=False)
    )
    assert chat.prompt_tokens(messages, [WEATHER]) == expected
    assert chat.prompt_tokens(messages, None) == estimate_prompt_tokens(["Be brief.", "Weather in Kazan?"])
