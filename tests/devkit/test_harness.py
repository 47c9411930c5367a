"""The daemon harness, tested against a throwaway echo plugin (the real plugin is not needed to test the harness)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from devkit.harness import DaemonRuleViolation, PluginProcess, PluginReplyError, PluginStartupError, StandInDaemon
from devkit.harness import messages as m
from devkit.harness import validation as v
from devkit.miniecho import CREDS, EMB, FILES, ICON, LLM, MANIFEST, PROVIDER_YAML, P, write_plugin

pytestmark = pytest.mark.devkit


@pytest.fixture(scope="module")
def echo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_plugin(tmp_path_factory.mktemp("miniecho"), FILES)


@pytest.fixture(scope="module")
def plugin(echo_dir: Path):
    # One process for the module: startup costs ~0.5 s, and sessions do not share state.
    with PluginProcess(echo_dir, python=sys.executable) as process:
        process.wait_ready(timeout=60)
        yield process


def chat(text: str, **kwargs) -> dict:
    return m.invoke_llm(P, LLM, CREDS, [m.user(text)], **kwargs)


# ---- stdio ----------------------------------------------------------------------------------------------------------


def test_plugin_is_ready_on_its_first_heartbeat_after_the_manifest_line(plugin):
    assert plugin.alive() and plugin.heartbeats
    assert plugin.manifest["name"] == "miniecho"
    assert {"level": "INFO", "message": "Installed model: miniecho"}.items() <= plugin.logs[0].items()
    assert plugin.env["INSTALL_METHOD"] == "local"
    assert (
        {"127.0.0.1", "localhost"} <= set(plugin.env["NO_PROXY"].split(",")) == set(plugin.env["no_proxy"].split(","))
    )


def test_a_streamed_llm_reply_is_parsed_and_validated(plugin):
    history = [
        m.system("be brief"),
        m.user([m.text_part("look"), m.image_part(base64_data="aGk=")]),
        m.assistant("", tool_calls=[m.tool_call("call-0", "lookup", '{"q": "x"}')]),
        m.tool('{"ok": true}', "call-0", "lookup"),
        m.user("hello big world"),
    ]
    reply = plugin.request(m.invoke_llm(P, LLM, CREDS, history, model_parameters={"temperature": 0.3}))
    assert reply.error is None and reply.action == "invoke_llm"
    assert reply.text == "hello big world"
    assert [c["delta"]["index"] for c in reply.chunks] == [0, 1, 2, 4]
    assert reply.finish_reason == "stop" and reply.tool_calls == []
    assert reply.usage["total_tokens"] == 6 and reply.usage["currency"] == "USD"
    assert [msg.type for msg in reply.messages] == ["stream"] * 4 + ["end"]
    stamps = [msg.ts for msg in reply.messages]
    assert stamps == sorted(stamps)


def test_a_blocking_llm_call_still_answers_with_one_chunk(plugin):
    reply = plugin.request(chat("once", stream=False))
    assert len(reply.chunks) == 1 and reply.text == "once" and reply.usage is not None


def test_stream_yields_chunks_with_their_receive_times_as_they_arrive(plugin):
    items = list(plugin.stream(chat("a b c")))
    assert [item["delta"]["message"]["content"] for _, item in items] == ["a", " b", " c", ""]
    assert [ts for ts, _ in items] == sorted(ts for ts, _ in items)


def test_an_error_before_the_stream_arrives_as_a_mapped_invoke_error_then_end(plugin):
    reply = plugin.request(chat("raise-before"))
    assert reply.chunks == []
    assert reply.error["error_type"] == "InvokeConnectionError"
    assert reply.error["message"] == "[models] Connection Error, upstream unreachable"
    assert set(reply.error["args"]) == {"traceback", "description"}
    assert [msg.type for msg in reply.messages] == ["error", "end"]


def test_an_error_mid_stream_arrives_unmapped_after_the_first_chunk(plugin):
    reply = plugin.request(chat("fail-midstream now"))
    assert reply.text == "fail-midstream"
    assert reply.error["error_type"] == "ConnectionError" and reply.error["message"] == "stream broke"
    with pytest.raises(PluginReplyError) as raised:
        list(plugin.stream(chat("fail-midstream again")))
    assert raised.value.error["error_type"] == "ConnectionError"


def test_sixteen_concurrent_sessions_on_one_stdin_are_demultiplexed_by_session_id(plugin):
    texts = [f"s{i} " + " ".join(["w"] * (i % 5 + 3)) for i in range(16)]
    replies = plugin.request_many([chat(text) for text in texts], timeout=60)
    assert [r.text for r in replies] == texts
    assert len({r.session_id for r in replies}) == 16
    # The sessions really ran at the same time: their first and last chunks overlap in time.
    firsts, lasts = [r.messages[0].ts for r in replies], [r.messages[-1].ts for r in replies]
    assert max(firsts) < min(lasts)


def test_tool_calls_arrive_complete_with_json_arguments(plugin):
    tools = [m.tool_def("lookup", "Look something up", {"type": "object", "properties": {"q": {"type": "string"}}})]
    reply = plugin.request(chat("find it", tools=tools))
    assert reply.tool_calls == [m.tool_call("call-1", "lookup", json.dumps({"echo": "find it"}))]
    assert reply.finish_reason == "tool_calls"


def test_plugin_code_printing_to_stdout_is_a_daemon_rule_violation(plugin):
    with pytest.raises(DaemonRuleViolation) as raised:
        plugin.request(chat("print-garbage here"))
    assert any(p.startswith("line.json:") and "printing to stdout" in p for p in raised.value.problems)
    assert raised.value.reply.text == "print-garbage here"  # the reply itself is still there to inspect


def test_null_content_in_a_chunk_is_a_daemon_rule_violation(plugin):
    with pytest.raises(DaemonRuleViolation) as raised:
        plugin.request(chat("null-content"))
    assert raised.value.problems == [
        "llm.content_null: delta.message.content is null (the daemon requires a string or a list)"
    ]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (m.invoke_embedding(P, EMB, CREDS, ["a b", "c"]), [2, 1]),
        (m.invoke_embedding(P, EMB, CREDS, ["q"], input_type="query"), [1]),
        (m.embedding_num_tokens(P, EMB, CREDS, ["a b c", "d"]), {"num_tokens": [3, 1]}),
        (m.llm_num_tokens(P, LLM, CREDS, [m.system("x y"), m.user("a b")]), {"num_tokens": 4}),
        (m.validate_provider_credentials(P, CREDS), {"result": True, "credentials": CREDS}),
        (m.validate_model_credentials(P, "llm", LLM, CREDS), {"result": True, "credentials": CREDS}),
        (m.model_schema(P, "llm", "unknown", CREDS), {"model_schema": None}),
    ],
)
def test_every_other_model_action_answers_in_the_shape_the_daemon_expects(plugin, data, expected):
    (item,) = plugin.request(data).chunks
    if data["action"] == "invoke_text_embedding":
        assert [vec[1] for vec in item["embeddings"]] == expected and len(item["embeddings"][0]) == 4
    else:
        assert item == expected


def test_a_predefined_model_schema_passes_the_daemon_declaration_rules(plugin):
    (item,) = plugin.request(m.model_schema(P, "llm", LLM, CREDS)).chunks
    assert item["model_schema"]["model"] == LLM and item["model_schema"]["parameter_rules"][0]["name"] == "temperature"


def test_bad_credentials_arrive_as_credentials_validate_failed_error(plugin):
    reply = plugin.request(m.validate_provider_credentials(P, {"api_key": "nope"}))
    assert (reply.error["error_type"], reply.error["message"]) == ("CredentialsValidateFailedError", "invalid api key")


def test_provider_id_is_the_bare_provider_yaml_value(plugin):
    # Dify names the plugin in a header and sends only the YAML `provider:` value; the SDK matches it with ==.
    reply = plugin.request(chat("x") | {"provider": "example/miniecho/miniecho"})
    assert "not found for provider `example/miniecho/miniecho`" in reply.error["message"]


def test_a_plugin_that_dies_at_startup_raises_with_its_stderr_tail(tmp_path):
    (tmp_path / "main.py").write_text("import sys\nsys.stderr.write('boom: bad provider yaml\\n')\nsys.exit(1)\n")
    with PluginProcess(tmp_path) as process, pytest.raises(PluginStartupError, match="boom: bad provider yaml"):
        process.wait_ready(timeout=30)


# ---- remote debugging -----------------------------------------------------------------------------------------------


def test_remote_debugging_registers_and_answers_over_tcp(echo_dir):
    with StandInDaemon(key="k-123") as daemon:
        daemon.spawn(echo_dir, python=sys.executable)
        daemon.wait_registered(timeout=30)
        assert daemon.handshake_key == "k-123" and daemon.registration_errors == []
        assert daemon.manifest["name"] == "miniecho"
        assert daemon.declaration["provider"] == "miniecho"
        assert {model["model"] for model in daemon.declaration["models"]} == {LLM, EMB}
        assert daemon.assets == {"icon.svg": ICON}
        daemon.wait_heartbeat(timeout=30)
        reply = daemon.request(chat("over tcp"))
        assert reply.text == "over tcp" and reply.finish_reason == "stop"


def test_remote_debugging_with_a_wrong_key_is_refused_like_the_daemon_does(echo_dir):
    with StandInDaemon(key="k-123") as daemon:
        daemon.spawn(echo_dir, python=sys.executable, key="k-wrong")
        assert daemon.wait_closed(timeout=30)
        assert daemon.handshake_key == "k-wrong" and not daemon.initialized.is_set()
        assert daemon.registration_errors == ["handshake failed, invalid key"]


# ---- request builders -----------------------------------------------------------------------------------------------


def test_builders_produce_the_go_daemon_shape():
    assert m.user("hi") == {"role": "user", "content": "hi", "name": "", "tool_calls": None, "tool_call_id": ""}
    assert m.assistant()["tool_calls"] == [] and "opaque_body" not in m.assistant()
    assert m.assistant("x", opaque_body={"k": 1})["opaque_body"] == {"k": 1}
    assert m.tool("r", "c-1", "fn") == m.user("r") | {"role": "tool", "name": "fn", "tool_call_id": "c-1"}
    image = {"type": "image", "base64_data": "QQ==", "url": "", "data": "", "encode_format": "", "format": "png"}
    assert m.image_part(base64_data="QQ==") == image | {"mime_type": "image/png", "detail": "high", "filename": "a.png"}
    assert m.document_part(url="http://x/a.pdf")["format"] == "pdf" and m.text_part("t")["data"] == "t"
    data = m.invoke_llm(P, LLM, CREDS, [m.user("hi")])
    assert list(data)[:3] == ["user_id", "type", "action"] and data["model_type"] == "llm"
    assert {"tools", "stop", "json_schema"} <= data.keys() and data["model_parameters"] == {}
    keys = "session_id conversation_id message_id app_id endpoint_id context event data"
    assert " ".join(m.envelope(data)) == keys and m.envelope(data)["event"] == "request"


# ---- validation rules (pure) ----------------------------------------------------------------------------------------

USAGE = (
    {k: 1 for k in v.LLM_USAGE_INTS} | {k: "0.1" for k in v.LLM_USAGE_DECIMALS} | {"currency": "USD", "latency": 0.1}
)
MSG = {"role": "assistant", "content": "x", "tool_calls": []}
CHUNK = {"model": "m", "delta": {"index": 0, "message": MSG, "usage": None, "finish_reason": None}}
EMB_USAGE = {"tokens": 1, "total_tokens": 1, "unit_price": "1", "price_unit": "1", "total_price": "5E-7"}
EMBEDDING = {"model": "e", "embeddings": [[0.1, 2]], "usage": EMB_USAGE | {"currency": "USD", "latency": 0.0}}
CALL = m.tool_call("c", "f", "{}")
SCHEMA = {"model": "m", "label": {"en_US": "M"}, "model_type": "llm", "parameter_rules": [{"name": "t"}]}
SCHEMA["parameter_rules"][0]["use_template"] = "temperature"


def delta(**changes) -> dict:
    return CHUNK | {"delta": CHUNK["delta"] | changes}


@pytest.mark.parametrize(
    ("action", "item", "rule"),
    [
        ("invoke_llm", CHUNK, None),
        ("invoke_llm", delta(usage=USAGE, finish_reason="stop"), None),
        ("invoke_llm", delta(message=MSG | {"content": [{"type": "text", "data": "x"}], "tool_calls": [CALL]}), None),
        ("invoke_llm", CHUNK | {"model": ""}, "llm.model"),
        ("invoke_llm", delta(index=None), "llm.index"),
        ("invoke_llm", delta(message=MSG | {"role": "bot"}), "llm.role"),
        ("invoke_llm", delta(message=MSG | {"content": None}), "llm.content_null"),
        ("invoke_llm", delta(message=MSG | {"content": 5}), "llm.content_type"),
        ("invoke_llm", delta(usage={k: x for k, x in USAGE.items() if k != "latency"}), "usage.latency"),
        ("invoke_llm", delta(usage=USAGE | {"prompt_price": "abc"}), "usage.prompt_price"),
        ("invoke_llm", delta(message=MSG | {"tool_calls": [CALL | {"id": ""}]}), "tool_call.id"),
        ("invoke_llm", delta(message=MSG | {"tool_calls": [CALL | {"type": "fn"}]}), "tool_call.type"),
        ("invoke_llm", delta(message=MSG | {"tool_calls": [m.tool_call("c", "", "{}")]}), "tool_call.name"),
        (
            "invoke_llm",
            delta(message=MSG | {"tool_calls": [m.tool_call("c", "f", '{"a":')]}),
            "tool_call.arguments_json",
        ),
        ("invoke_text_embedding", EMBEDDING, None),
        ("invoke_text_embedding", EMBEDDING | {"model": ""}, "embedding.model"),
        ("invoke_text_embedding", EMBEDDING | {"embeddings": [["x"]]}, "embedding.vector"),
        ("invoke_text_embedding", EMBEDDING | {"usage": EMB_USAGE}, "usage.currency"),
        ("validate_provider_credentials", {"result": True, "credentials": {}}, None),
        ("validate_model_credentials", {"result": "yes", "credentials": {}}, "credentials.result"),
        ("validate_provider_credentials", {"result": False, "credentials": None}, "credentials.credentials"),
        ("get_llm_num_tokens", {"num_tokens": 3}, None),
        ("get_llm_num_tokens", {"num_tokens": True}, "num_tokens.llm"),
        ("get_text_embedding_num_tokens", {"num_tokens": [1, 2]}, None),
        ("get_text_embedding_num_tokens", {"num_tokens": 3}, "num_tokens.embedding"),
        ("get_ai_model_schemas", {"model_schema": None}, None),
        ("get_ai_model_schemas", {"model_schema": SCHEMA}, None),
        ("get_ai_model_schemas", {}, "schema.key"),
        ("get_ai_model_schemas", {"model_schema": SCHEMA | {"label": {"zh_Hans": "x"}}}, "i18n.en_US"),
        ("get_ai_model_schemas", {"model_schema": SCHEMA | {"model_type": "chat"}}, "model.model_type"),
        ("get_ai_model_schemas", {"model_schema": SCHEMA | {"parameter_rules": [{"name": ""}]}}, "rule.name"),
        ("some_future_action", {"anything": 1}, None),
    ],
)
def test_stream_items_are_held_to_the_daemon_struct_rules(action, item, rule):
    problems = v.check_stream_item(action, item)
    assert [p.split(":")[0] for p in problems][:1] == ([rule] if rule else [])


@pytest.mark.parametrize(
    ("data", "rule"),
    [
        ({"error_type": "E", "message": "m", "args": {"traceback": "t"}}, None),
        ({"error_type": "E", "message": None, "args": {}}, "error.message"),
        ({"error_type": "E", "message": "m", "args": None}, "error.args"),
        ({"error_type": "E", "message": "m", "args": {str(i): i for i in range(11)}}, "error.args_count"),
    ],
)
def test_error_payloads_are_held_to_the_daemon_error_response_rules(data, rule):
    assert [p.split(":")[0] for p in v.check_error_data(data)] == ([rule] if rule else [])


@pytest.mark.parametrize(
    ("previous", "new", "rule"),
    [
        ([], "stream", None),
        (["stream"], "error", None),
        (["stream", "error"], "end", None),
        (["error"], "error", "session.two_errors"),
        (["error"], "stream", "session.stream_after_error"),
        (["end"], "stream", "session.after_end"),
        ([], "invoke", "session.invoke"),
    ],
)
def test_a_session_is_streams_then_at_most_one_error_then_exactly_one_end(previous, new, rule):
    assert [p.split(":")[0] for p in v.check_session_order(previous, new)] == ([rule] if rule else [])


def test_a_session_must_finish_with_end():
    assert v.check_session_complete(["stream", "end"]) == []
    assert v.check_session_complete(["stream"])[0].startswith("session.no_end")


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        (b"", None),
        (b"   ", None),
        (b'{"event":"heartbeat","session_id":null,"data":{}}', None),
        (b"hello from print()", "line.json"),
        (b"[1, 2]", "line.object"),
        (b'{"a":"' + b"x" * v.MAX_LINE_BYTES + b'"}', "line.size"),
    ],
)
def test_stdout_lines_must_be_single_json_objects_under_5_mib(raw, rule):
    _, problems = v.check_stdout_line(raw)
    assert [p.split(":")[0] for p in problems] == ([rule] if rule else [])


@pytest.mark.parametrize(
    ("obj", "manifest_seen", "rule"),
    [
        ({"version": "0.0.1"}, False, None),
        ({"version": "0.0.1"}, True, "event.missing"),
        ({"event": "shout", "data": {}}, True, "event.unknown"),
        ({"event": "session", "session_id": "s", "data": {"type": "end", "data": {}}}, True, None),
        ({"event": "session", "session_id": None, "data": {"type": "end", "data": {}}}, True, "session.id"),
        ({"event": "session", "session_id": "s", "data": {"type": "chunk", "data": {}}}, True, "session.type"),
    ],
)
def test_events_must_be_known_and_session_messages_well_formed(obj, manifest_seen, rule):
    assert [p.split(":")[0] for p in v.check_event(obj, manifest_seen)] == ([rule] if rule else [])


def test_registration_declarations_are_checked_with_the_daemon_rules():
    manifest = yaml.safe_load(MANIFEST)
    assert v.check_manifest_declaration(manifest) == []
    assert v.check_manifest_declaration(manifest | {"author": "Example"})[0].startswith("manifest.author")
    provider = yaml.safe_load(PROVIDER_YAML) | {"models": [SCHEMA]}  # the daemon receives models inlined
    assert v.check_provider_declaration(provider) == []
    bad_form = {"credential_form_schemas": [{"variable": "k", "label": {"en_US": "K"}, "type": "text", "default": 4}]}
    rules = [p.split(":")[0] for p in v.check_provider_declaration(provider | {"provider_credential_schema": bad_form})]
    assert rules == ["provider.form_type", "provider.form_default"]
