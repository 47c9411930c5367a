"""GigaChat's new host and its v2 chat protocol, through the packaged plugin against the emulator: which host and which
protocol a request goes to, and what exactly a v2 request holds (the recorded shapes of
ai-forever/gigachat tests/integration/cassettes/test_primary_*.yaml)."""

from __future__ import annotations

import base64
import json

import pytest

from devkit.emulator import GigaChatEmulator, Reply
from devkit.harness import messages as m
from devkit.rig import PROVIDER, credentials_for
from models.llm.schema import normalize_schema
from tests.file_samples import png

pytestmark = pytest.mark.e2e
ULTRA = "GigaChat-3-Ultra"
WEATHER_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
WEATHER = m.tool_def("get_weather", "The weather in a city", WEATHER_SCHEMA)


def chat(plugin, creds, model, messages, stream=True, tools=None, parameters=None):
    return plugin.request(m.invoke_llm(PROVIDER, model, creds, messages, parameters, tools=tools, stream=stream))


def paths(emu: GigaChatEmulator) -> list[str]:
    return [request.path for request in emu.requests if not request.path.endswith("/oauth")]


# ---- hosts ----------------------------------------------------------------------------------------------------------


@pytest.fixture
def new_host(emu: GigaChatEmulator) -> dict[str, str]:
    """The credentials Dify stores by default, the emulator playing the new host (https://api.giga.chat/v1)."""
    return credentials_for(emu, base_url=emu.new_host_base_url)


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "blocking"])
def test_on_the_new_host_gigachat_3_goes_to_v2_and_gigachat_2_to_v1(plugin, emu, new_host, stream):
    assert chat(plugin, new_host, ULTRA, [m.user("three")], stream).text == "Echo: three"
    assert chat(plugin, new_host, "GigaChat-2", [m.user("two")], stream).text == "Echo: two"
    embedded = plugin.request(m.invoke_embedding(PROVIDER, "Embeddings", new_host, ["text"]))
    assert embedded.error is None
    assert paths(emu) == ["/v2/chat/completions", "/v1/chat/completions", "/v1/embeddings"]


def test_a_credential_set_saved_with_the_earlier_host_keeps_working_unchanged(plugin, emu, creds):
    assert creds["base_url"].endswith("/api/v1")  # the earlier host's layout
    assert plugin.request(m.validate_provider_credentials(PROVIDER, creds)).error is None
    assert chat(plugin, creds, "GigaChat-2-Max", [m.user("two")]).text == "Echo: two"
    assert chat(plugin, creds, ULTRA, [m.user("three")]).text == "Echo: three"
    assert paths(emu) == ["/api/v1/models", "/api/v1/chat/completions", "/api/v2/chat/completions"]


def test_user_and_password_sign_in_on_the_new_host_is_refused_before_any_request(plugin, emu):
    emu.add_user("alice", "pw-canary-7")
    creds = {"auth_method": "user_password", "username": "alice", "password": "pw-canary-7",
             "base_url": "https://api.giga.chat/v1"}  # fmt: skip
    validated = plugin.request(m.validate_provider_credentials(PROVIDER, creds))
    invoked = chat(plugin, creds, ULTRA, [m.user("hi")])
    assert validated.error["error_type"] == "CredentialsValidateFailedError"
    assert invoked.error["error_type"] == "InvokeAuthorizationError"
    for message in (validated.error["message"], invoked.error["message"]):
        assert "api.giga.chat has no sign-in by user name and password" in message
        assert "https://gigachat.devices.sberbank.ru/api/v1" in message
        assert "pw-canary-7" not in message
    assert emu.requests == []


def test_user_and_password_sign_in_works_where_the_host_has_a_token_endpoint(plugin, emu):
    emu.add_user("bob", "pw-2")
    creds = {"auth_method": "user_password", "username": "bob", "password": "pw-2", "base_url": emu.base_url}
    assert chat(plugin, creds, ULTRA, [m.user("hi")]).text == "Echo: hi"
    assert paths(emu) == ["/api/v1/token", "/api/v2/chat/completions"]


def test_a_model_this_host_does_not_offer_fails_validation_naming_the_host_and_its_chat_models(plugin, emu, new_host):
    reply = plugin.request(m.validate_model_credentials(PROVIDER, "llm", "GigaChat-3-Lightning", new_host))
    message = reply.error["message"]
    assert message.startswith(f"GigaChat at {emu.host}: model 'GigaChat-3-Lightning' is not offered to scope")
    assert "Its chat models: GigaChat, GigaChat-2," in message
    assert "GigaFilter" not in message and "Embeddings" not in message
    wrong_type = plugin.request(m.validate_model_credentials(PROVIDER, "text-embedding", "GigaChat-2", new_host))
    assert wrong_type.error["message"] == (
        f"GigaChat at {emu.host}: model 'GigaChat-2' is a chat model, not an embedding model. "
        "Its embedding models: Embeddings, Embeddings-2, EmbeddingsGigaR, GigaEmbeddings-3B-2025-09."
    )


# ---- which protocol -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "choice", "path"),
    [
        ("GigaChat-2-Max", "v2", "/api/v2/chat/completions"),
        (ULTRA, "v1", "/api/v1/chat/completions"),
        (ULTRA, "auto", "/api/v2/chat/completions"),
    ],
)
def test_a_model_may_choose_its_chat_protocol(plugin, emu, creds, model, choice, path):
    reply = chat(plugin, {**creds, "chat_protocol": choice}, model, [m.user("hi")])
    assert reply.text == "Echo: hi"
    assert paths(emu) == [path]


def test_a_built_in_tool_switch_on_a_model_fixed_to_v1_is_dropped_and_the_request_stays_on_v1(plugin, emu, creds):
    parameters = {"web_search": True, "image_generate": True}
    reply = plugin.request(m.invoke_llm(PROVIDER, ULTRA, {**creds, "chat_protocol": "v1"}, [m.user("hi")], parameters))
    assert (reply.error, reply.text) == (None, "Echo: hi")
    assert paths(emu) == ["/api/v1/chat/completions"]
    assert "tools" not in emu.chat_requests[0]


def test_an_unknown_chat_protocol_is_refused_when_the_model_is_saved(plugin, emu, creds):
    reply = plugin.request(m.validate_model_credentials(PROVIDER, "llm", ULTRA, {**creds, "chat_protocol": "v3"}))
    assert reply.error["message"] == "Chat protocol: must be one of auto, v1, v2."
    assert emu.requests == []


def test_a_customizable_gigachat_3_id_inherits_ultras_schema(plugin, creds):
    schema = plugin.request(m.model_schema(PROVIDER, "llm", "GigaChat-3-Ultra-preview", creds)).chunks[0]
    assert schema["model_schema"]["model_properties"]["context_size"] == 128000
    assert "structured-output" in schema["model_schema"]["features"]
    assert "vision" not in schema["model_schema"]["features"]


# ---- what a v2 request holds ----------------------------------------------------------------------------------------


def test_an_agent_round_trip_is_sent_as_recorded_content_parts_with_the_state_on_call_and_result(plugin, emu, creds):
    emu.script(
        Reply(function_call=("get_weather", {"city": "Kazan"}), functions_state_id="state-1"), Reply(text="Warm.")
    )
    history = [m.system("Be brief."), m.user("Weather in Kazan?")]
    first = chat(plugin, creds, ULTRA, history, tools=[WEATHER])
    [call] = first.tool_calls
    history += [m.assistant("", [m.tool_call(call["id"], "get_weather", call["function"]["arguments"])]),
                m.tool("22°C", call["id"], "get_weather")]  # fmt: skip
    assert chat(plugin, creds, ULTRA, history, tools=[WEATHER]).text == "Warm."
    spec = {
        "name": "get_weather",
        "parameters": normalize_schema(WEATHER_SCHEMA),
        "description": "The weather in a city",
    }
    assert emu.chat_requests[1] == {
        "model": ULTRA,
        "messages": [
            {"content": [{"text": "Be brief."}], "role": "system"},
            {"content": [{"text": "Weather in Kazan?"}], "role": "user"},
            {"content": [{"function_call": {"name": "get_weather", "arguments": {"city": "Kazan"}}}],
             "tools_state_id": "state-1", "role": "assistant"},
            {"content": [{"function_result": {"name": "get_weather", "result": {"result": "22°C"}}}],
             "tools_state_id": "state-1", "role": "tool"},
        ],
        "tool_config": {"mode": "auto"},
        "tools": [{"functions": {"specifications": [spec]}}],
        "stream": True,
    }  # fmt: skip


def test_generation_settings_reasoning_effort_and_the_schema_go_in_model_options(plugin, emu, creds):
    schema = '{"type": "object", "properties": {"a": {"type": "string"}}}'
    parameters = {"temperature": 0, "max_tokens": 32, "reasoning_effort": "high", "response_format": "json_schema",
                  "json_schema": schema}  # fmt: skip
    reasoning = {**creds, "chat_protocol": "v2"}
    reply = chat(plugin, reasoning, "GigaChat-2-Reasoning", [m.user("q")], stream=False, parameters=parameters)
    assert reply.error is None
    [sent] = emu.chat_requests
    assert sent["model_options"] == {
        "top_p": 0.0,
        "max_tokens": 32,
        "reasoning": {"effort": "high"},
        "response_format": {"type": "json_schema", "schema": normalize_schema(json.loads(schema)), "strict": True},
    }


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "blocking"])
def test_an_image_goes_as_a_files_part_and_is_deleted_when_the_request_ends(plugin, emu, creds, stream):
    image = m.image_part(base64_data=base64.b64encode(png()).decode(), filename="dot.png")
    reply = chat(plugin, creds, ULTRA, [m.user([m.text_part("What is it?"), image])], stream)
    assert reply.error is None
    [message] = emu.chat_requests[0]["messages"]
    [file_id] = emu.files
    assert message == {"content": [{"text": "What is it?"}, {"files": [{"id": file_id}]}], "role": "user"}
    assert emu.live_files() == set()


# ---- a host that refuses role "tool" --------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "blocking"])
def test_where_role_tool_is_refused_the_result_is_sent_once_more_as_role_function(plugin, emu, creds, stream):
    emu.v2_refuses_role_tool = True
    try:
        history = [m.user("Weather?"), m.assistant("", [m.tool_call("call_1", "get_weather", '{"city": "Kazan"}')]),
                   m.tool("22°C", "call_1", "get_weather")]  # fmt: skip
        emu.script(Reply(text="Warm."))
        reply = chat(plugin, creds, ULTRA, history, stream, tools=[WEATHER])
    finally:
        emu.v2_refuses_role_tool = False
    assert reply.text == "Warm."
    assert [message["role"] for request in emu.chat_requests for message in request["messages"]] == [
        "user", "assistant", "tool", "user", "assistant", "function"
    ]  # fmt: skip
