"""The packaged plugin boots as Dify runs it, validates credentials with a free call, and serves every model type."""

from __future__ import annotations

import os
import socket
import sys

import pytest

from devkit.harness import PluginProcess
from devkit.harness import messages as m
from devkit.rig import PROVIDER, credentials_for, fresh_key

pytestmark = pytest.mark.e2e


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_packaged_plugin_announces_its_manifest_and_becomes_ready(plugin):
    assert plugin.manifest["name"] == "gigachat"
    assert plugin.heartbeats


def test_valid_credentials_pass_validation_without_spending_tokens(plugin, emu, creds):
    reply = plugin.request(m.validate_provider_credentials(PROVIDER, creds))
    assert reply.error is None
    assert reply.chunks[0]["result"] is True
    assert emu.chat_requests == []
    assert all(not r.path.endswith(("/chat/completions", "/embeddings", "/tokens/count")) for r in emu.requests)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"api_key": "bm90LWEta2V5OndpdGgtYS1zZWNyZXQ="}, "authorization key is wrong"),
        ({"scope": "GIGACHAT_API_B2B"}, "does not match scope GIGACHAT_API_B2B"),
        ({"api_key": "no colon and not base64"}, "'Authorization key'"),
        ({"base_url": "ftp://example"}, "API base URL"),
        ({"auth_url": "not a url"}, "OAuth URL"),
        ({"scope": "GIGACHAT_API_NOPE"}, "Scope: must be one of"),
        ({"ca_certificate": "-----BEGIN CERTIFICATE----- abc -----END CERTIFICATE-----"}, "CA certificate"),
        ({"request_timeout": "soon"}, "Request timeout"),
    ],
    ids=[
        "wrong-key",
        "wrong-scope",
        "malformed-key",
        "bad-base-url",
        "bad-auth-url",
        "unknown-scope",
        "bad-ca",
        "bad-timeout",
    ],
)
def test_bad_credentials_fail_validation_with_a_specific_message(plugin, emu, overrides, expected):
    reply = plugin.request(m.validate_provider_credentials(PROVIDER, credentials_for(emu, **overrides)))
    assert reply.error["error_type"] == "CredentialsValidateFailedError"
    assert expected in reply.error["message"]
    assert emu.chat_requests == []


def test_an_unreachable_host_fails_validation_naming_the_host(plugin, emu):
    port = _closed_port()
    creds = credentials_for(emu, base_url=f"http://127.0.0.1:{port}/api/v1", auth_url=f"http://127.0.0.1:{port}/oauth")
    reply = plugin.request(m.validate_provider_credentials(PROVIDER, creds))
    assert reply.error["error_type"] == "CredentialsValidateFailedError"
    assert f"could not connect to 127.0.0.1:{port}" in reply.error["message"]


def test_no_validation_message_repeats_the_key(plugin, emu):
    key = "Y2FuYXJ5LWlkOmNhbmFyeS1zZWNyZXQtMTIzNDU="  # canary-id:canary-secret-12345
    reply = plugin.request(m.validate_provider_credentials(PROVIDER, credentials_for(emu, api_key=key)))
    text = str(reply.error)
    assert key not in text
    assert "canary-secret" not in text


def test_oauth_happens_once_for_many_calls_with_one_credential_set(plugin, emu, creds):
    key = fresh_key(emu)  # a credential set no other test used
    fresh = credentials_for(emu, api_key=key)
    requests = [
        m.validate_provider_credentials(PROVIDER, fresh),
        m.invoke_llm(PROVIDER, "GigaChat-2", fresh, [m.user("one")]),
        m.invoke_llm(PROVIDER, "GigaChat-2-Pro", fresh, [m.user("two")], stream=False),
        m.llm_num_tokens(PROVIDER, "GigaChat-2", fresh, [m.user("three")]),
        m.invoke_embedding(PROVIDER, "Embeddings", fresh, ["four"]),
    ]
    for data in requests:
        assert plugin.request(data).error is None
    # Counted by key: a request another test left running in the background may sign in with its own key meanwhile.
    signed_in = [
        r for r in emu.requests if r.path.endswith("/oauth") and r.headers.get("authorization") == f"Basic {key}"
    ]
    assert len(signed_in) == 1


def test_token_counting_makes_no_network_call(plugin, emu, creds):
    reply = plugin.request(m.llm_num_tokens(PROVIDER, "GigaChat-2", creds, [m.user("Сколько токенов в этой фразе?")]))
    assert reply.chunks[0]["num_tokens"] > 0
    assert emu.requests == []


@pytest.mark.parametrize(
    "history",
    [
        [m.assistant("Only an answer left after trimming")],
        [m.system("Only instructions")],
        [m.tool('{"temperature": 21}', "call_1", "get_weather"), m.user("And tomorrow?")],
        [m.assistant("", tool_calls=[m.tool_call("call_1", "get_weather", '{"city": "Moscow"}')])],
    ],
    ids=["assistant-only", "system-only", "starts-with-a-tool-result", "only-a-tool-call"],
)
def test_token_counting_accepts_the_partial_histories_dify_trims_memory_to(plugin, emu, creds, history):
    reply = plugin.request(m.llm_num_tokens(PROVIDER, "GigaChat-2", creds, history))
    assert reply.error is None
    assert reply.chunks[0]["num_tokens"] > 0


@pytest.mark.parametrize(
    ("model_type", "model", "context"),
    [("llm", "GigaChat-2-Max", 128000), ("text-embedding", "EmbeddingsGigaR", 4096)],
)
def test_predefined_model_schemas_come_from_the_yaml_catalog(plugin, creds, model_type, model, context):
    reply = plugin.request(m.model_schema(PROVIDER, model_type, model, creds))
    schema = reply.chunks[0]["model_schema"]
    assert schema["model"] == model
    assert schema["model_properties"]["context_size"] == context


def test_a_preview_model_inherits_the_schema_of_its_family(plugin, creds):
    reply = plugin.request(m.model_schema(PROVIDER, "llm", "GigaChat-2-Max-preview", creds))
    schema = reply.chunks[0]["model_schema"]
    assert schema["model"] == "GigaChat-2-Max-preview"
    assert schema["fetch_from"] == "customizable-model"
    assert {rule["name"] for rule in schema["parameter_rules"]} >= {"temperature", "max_tokens", "response_format"}


def test_a_customizable_model_takes_the_context_size_the_user_entered(plugin, creds):
    reply = plugin.request(m.model_schema(PROVIDER, "llm", "GigaChat-5-Future", {**creds, "context_size": "250000"}))
    assert reply.chunks[0]["model_schema"]["model_properties"]["context_size"] == 250000


def test_a_customizable_model_the_key_cannot_use_fails_validation_listing_what_it_can(plugin, creds):
    reply = plugin.request(m.validate_model_credentials(PROVIDER, "llm", "GigaChat-9-Imaginary", creds))
    assert reply.error["error_type"] == "CredentialsValidateFailedError"
    assert "GigaChat-2-Max" in reply.error["message"]


def test_a_customizable_model_the_key_can_use_passes_validation(plugin, creds):
    reply = plugin.request(m.validate_model_credentials(PROVIDER, "llm", "GigaChat-2-Max-preview", creds))
    assert reply.error is None


def test_gigachat_environment_variables_change_nothing(packaged_plugin, emu):
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIGACHAT_")}
    env.update(
        GIGACHAT_BASE_URL=f"http://127.0.0.1:{_closed_port()}/api/v1",
        GIGACHAT_AUTH_URL="http://127.0.0.1:9/oauth",
        GIGACHAT_CREDENTIALS="ZW52OmVudg==",
        GIGACHAT_ACCESS_TOKEN="token-from-the-environment",
        GIGACHAT_SCOPE="GIGACHAT_API_CORP",
        GIGACHAT_VERIFY_SSL_CERTS="false",
        GIGACHAT_CA_BUNDLE_FILE="/nonexistent/ca.pem",
        GIGACHAT_TIMEOUT="not-a-number",
        GIGACHAT_MAX_RETRIES="7",
        GIGACHAT_PROFANITY_CHECK="true",
        GIGACHAT_MODEL="GigaChat-2-Max",
    )
    creds = credentials_for(emu)
    with PluginProcess(packaged_plugin, python=sys.executable, env=env) as process:
        process.wait_ready(60)
        assert process.request(m.validate_provider_credentials(PROVIDER, creds)).error is None
        for model in ("GigaChat-2", "GigaChat-3-Ultra"):  # over v1, then over v2
            reply = process.request(m.invoke_llm(PROVIDER, model, creds, [m.user("hello")]))
            assert reply.error is None
            assert reply.text == "Echo: hello"
        wrong = process.request(m.validate_provider_credentials(PROVIDER, {**creds, "scope": "GIGACHAT_API_B2B"}))
        assert wrong.error is not None
    v1, v2 = emu.chat_requests[-2:]
    assert (v1["model"], v2["model"]) == ("GigaChat-2", "GigaChat-3-Ultra")
    assert "profanity_check" not in v1
    assert "disable_filter" not in v2  # what the SDK would make of GIGACHAT_PROFANITY_CHECK on v2
    assert all("token-from-the-environment" not in str(r.headers) for r in emu.requests)


def test_a_model_of_an_unknown_family_keeps_tools_but_not_file_input(plugin, creds):
    reply = plugin.request(m.model_schema(PROVIDER, "llm", "GigaChat-5-Future", creds))
    features = set(reply.chunks[0]["model_schema"]["features"])
    assert {"tool-call", "stream-tool-call", "agent-thought", "structured-output"} <= features
    assert not features & {"vision", "document"}


def test_a_reasoning_model_offers_reasoning_effort_and_sends_it(plugin, emu, creds):
    schema = plugin.request(m.model_schema(PROVIDER, "llm", "GigaChat-2-Reasoning", creds)).chunks[0]["model_schema"]
    rule = next(rule for rule in schema["parameter_rules"] if rule["name"] == "reasoning_effort")
    assert rule["options"] == ["low", "medium", "high"]
    reply = plugin.request(
        m.invoke_llm(PROVIDER, "GigaChat-2-Reasoning", creds, [m.user("2+2?")], {"reasoning_effort": "high"})
    )
    assert reply.error is None
    assert emu.chat_requests[0]["reasoning_effort"] == "high"
