"""Chat through the packaged plugin, over both of GigaChat's chat protocols (the `protocol` fixture: v1 for
GigaChat-2-Max, v2 for GigaChat-3-Ultra): what reaches GigaChat on the wire, and what Dify gets back."""

from __future__ import annotations

import json

import pytest

from devkit.emulator import Fault, Reply, count_tokens
from devkit.harness import messages as m
from devkit.rig import PROVIDER, credentials_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def chat(plugin, protocol):
    def invoke(creds, messages, parameters=None, stop=None, stream=True, **context):
        data = m.invoke_llm(PROVIDER, protocol.model, creds, messages, parameters or {}, stop=stop, stream=stream)
        return plugin.request(data, **context)

    return invoke


def test_two_system_messages_reach_gigachat_as_one_first_system_message(chat, protocol, emu, creds):
    reply = chat(creds, [m.system("Be brief."), m.system("Answer in English."), m.user("Hi")])
    assert reply.error is None
    assert protocol.sent(emu)[0]["messages"] == [
        {"role": "system", "content": "Be brief.\n\nAnswer in English."},
        {"role": "user", "content": "Hi"},
    ]


def test_a_later_system_message_stays_in_place_as_a_user_message(chat, protocol, emu, creds):
    history = [m.system("Be brief."), m.user("Hi"), m.assistant("Hello!"), m.system("Now speak French."), m.user("Ok")]
    assert chat(creds, history).error is None
    roles = [(msg["role"], msg["content"]) for msg in protocol.sent(emu)[0]["messages"]]
    assert roles == [
        ("system", "Be brief."),
        ("user", "Hi"),
        ("assistant", "Hello!"),
        ("user", "Now speak French.\n\nOk"),
    ]


def test_empty_messages_are_left_out_and_consecutive_user_messages_joined(chat, protocol, emu, creds):
    history = [m.user("first"), m.assistant(""), m.user("  "), m.user("second")]
    assert chat(creds, history).error is None
    assert protocol.sent(emu)[0]["messages"] == [{"role": "user", "content": "first\n\nsecond"}]


def test_a_prompt_without_any_user_text_is_a_bad_request(chat, protocol, emu, creds):
    reply = chat(creds, [m.system("Only instructions")])
    assert reply.error["error_type"] == "InvokeBadRequestError"
    assert "no user message" in reply.error["message"]
    assert emu.chat_requests == []


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "blocking"])
def test_a_stop_string_split_across_three_chunks_never_leaks(chat, protocol, emu, creds, stream):
    emu.script(Reply(text=["Answer: 42.\n\nHu", "ma", "n: and more text", " that must not show"]))
    reply = chat(creds, [m.user("q")], stop=["\n\nHuman:"], stream=stream)
    assert reply.error is None
    assert reply.text == "Answer: 42."
    assert reply.chunks[-1]["delta"]["finish_reason"] == ("stop" if stream else None)


def test_dify_code_block_stops_cut_the_fence_out(chat, protocol, emu, creds):
    emu.script(Reply(text=['{"a": 1}', "\n`", "``\nextra"]))
    reply = chat(creds, [m.user("q")], stop=["\n```", "```\n"])
    assert reply.text == '{"a": 1}'


def test_temperature_zero_is_sent_as_top_p_zero(chat, protocol, emu, creds):
    assert chat(creds, [m.user("q")], {"temperature": 0.0, "max_tokens": 64}).error is None
    sent = protocol.sent(emu)[0]
    assert "temperature" not in sent
    assert sent["top_p"] == 0.0
    assert sent["max_tokens"] == 64


def test_gigachat_parameters_pass_through_unchanged(chat, protocol, emu, creds):
    parameters = {"temperature": 0.7, "top_p": 0.9, "repetition_penalty": 1.1, "profanity_check": False}
    parameters["update_interval"] = 0.5
    assert chat(creds, [m.user("q")], parameters).error is None
    [sent] = protocol.sent(emu)
    if protocol.name == "v1":
        assert {key: sent[key] for key in parameters} == parameters
    else:  # v2: generation settings in model_options, and the SDK sends profanity_check as disable_filter
        [raw] = emu.chat_requests
        assert raw["model_options"] == {key: v for key, v in parameters.items() if key != "profanity_check"}
        assert raw["disable_filter"] is True


SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "City name"},
        "population": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
    },
    "required": ["city"],
    "additionalProperties": False,
}


def structured_parameters() -> dict:
    return {"response_format": "json_schema", "json_schema": json.dumps({"schema": SCHEMA, "name": "llm_response"})}


def test_structured_output_sends_gigachat_native_response_format(chat, protocol, emu, creds):
    reply = chat(creds, [m.user("Largest city?")], structured_parameters())
    assert reply.error is None
    sent = protocol.sent(emu)[0]["response_format"]
    assert sent["type"] == "json_schema"
    assert sent["strict"] is True
    assert sent["schema"]["properties"]["population"]["type"] == "integer"
    assert "anyOf" not in json.dumps(sent["schema"])
    assert "city" in json.loads(reply.text)


def test_structured_output_falls_back_to_a_forced_function_call_where_gigachat_lacks_it(chat, protocol, emu, creds):
    emu.unsupported_response_format_models = {protocol.model}
    try:
        reply = chat(creds, [m.user("Largest city?")], structured_parameters())
    finally:
        emu.unsupported_response_format_models = set()
    assert reply.error is None
    first, second = protocol.sent(emu)
    assert "response_format" in first
    assert "response_format" not in second
    assert second["function_call"] == {"name": "structured_output"}
    assert second["functions"][0]["parameters"]["properties"]["city"]["type"] == "string"
    assert "city" in json.loads(reply.text)
    assert reply.tool_calls == []
    assert reply.finish_reason == "stop"


def test_a_blacklist_finish_shows_a_clear_notice(chat, protocol, emu, creds):
    emu.script(Reply(text="Не люблю менять тему разговора.", finish_reason="blacklist"))
    reply = chat(creds, [m.user("q")])
    assert reply.text.startswith("Не люблю менять тему разговора.")
    assert "content rules restrict" in reply.text
    assert reply.finish_reason == "stop"


def test_reasoning_is_streamed_inside_think_tags_and_not_sent_back(chat, protocol, emu, creds):
    emu.script(Reply(reasoning=["Let me ", "think."], text=["The answer", " is 4."]))
    reply = chat(creds, [m.user("2+2?")])
    assert reply.text == "<think>\nLet me think.\n</think>\n\nThe answer is 4."
    follow_up = [m.user("2+2?"), m.assistant(reply.text), m.user("And 3+3?")]
    assert chat(creds, follow_up).error is None
    assert protocol.sent(emu)[1]["messages"][1] == {"role": "assistant", "content": "The answer is 4."}


def test_usage_is_gigachat_s_own_numbers(chat, protocol, emu, creds):
    emu.script(Reply(text="Four.", usage={"prompt_tokens": 17, "completion_tokens": 3, "total_tokens": 20}))
    usage = chat(creds, [m.user("2+2?")]).usage
    assert (usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]) == (17, 3, 20)


def test_usage_of_an_echo_matches_the_emulator_count(chat, protocol, emu, creds):
    reply = chat(creds, [m.user("Привет, как дела?")], stream=False)
    assert reply.usage["prompt_tokens"] == count_tokens("Привет, как дела?")
    assert reply.usage["completion_tokens"] == count_tokens(reply.text)


def test_streamed_and_blocking_answers_have_the_same_content(chat, protocol, emu, creds):
    streamed = chat(creds, [m.user("same words here")])
    blocking = chat(creds, [m.user("same words here")], stream=False)
    assert streamed.text == blocking.text == "Echo: same words here"
    assert len([c for c in streamed.chunks if c["delta"]["message"]["content"]]) > 1


def test_the_last_chunk_carries_finish_reason_and_usage_and_every_chunk_has_text_content(chat, protocol, emu, creds):
    reply = chat(creds, [m.user("a few words to echo back")])
    *body, last = reply.chunks
    assert all(chunk["delta"]["usage"] is None and chunk["delta"]["finish_reason"] is None for chunk in body)
    assert last["delta"]["finish_reason"] == "stop"
    assert last["delta"]["usage"]["total_tokens"] > 0
    assert all(isinstance(chunk["delta"]["message"]["content"], str) for chunk in reply.chunks)


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (Fault.cut_stream(after_chunks=2), "InvokeConnectionError"),
        (Fault.no_final_event(), "InvokeConnectionError"),
        (Fault.malformed_event(after_chunks=1), "InvokeServerUnavailableError"),
    ],
    ids=["cut-mid-way", "no-final-event", "malformed-event"],
)
def test_a_broken_stream_ends_in_a_typed_error_and_the_next_request_succeeds(
    chat, protocol, emu, creds, fault, expected
):
    emu.inject(fault)
    reply = chat(creds, [m.user("one two three four five six")])
    assert reply.error["error_type"] == expected
    assert reply.error["message"].startswith("[gigachat] ")
    assert chat(creds, [m.user("again")]).text == "Echo: again"


def test_each_conversation_gets_a_stable_session_id_that_hides_the_conversation_id(chat, protocol, emu, creds):
    for conversation in ("conv-1", "conv-1", "conv-2"):
        assert chat(creds, [m.user("hi")], conversation_id=conversation, app_id="app-1").error is None
    ids = [r.headers.get("x-session-id") for r in emu.requests if r.path.endswith("/chat/completions")]
    assert ids[0] == ids[1] != ids[2]
    assert all(value and "conv" not in value for value in ids)


def test_prompt_caching_can_be_turned_off(chat, protocol, emu):
    creds = credentials_for(emu, prompt_caching="false")
    assert chat(creds, [m.user("hi")], conversation_id="conv-1").error is None
    assert [r.headers.get("x-session-id") for r in emu.requests if r.path.endswith("/chat/completions")] == [None]


def test_an_unknown_model_is_a_bad_request_naming_the_cause(plugin, protocol, emu, creds):
    reply = plugin.request(m.invoke_llm(PROVIDER, protocol.unknown_model, creds, [m.user("hi")]))
    assert reply.error["error_type"] == "InvokeBadRequestError"
    assert "404" in reply.error["message"]
    assert len(protocol.sent(emu)) == 1


def test_cached_prompt_tokens_are_not_added_to_the_prompt_tokens_gigachat_reports(chat, protocol, emu, creds):
    usage = {"prompt_tokens": 40, "completion_tokens": 5, "total_tokens": 45, "precached_prompt_tokens": 32}
    emu.script(Reply(text="Cached.", usage=usage))
    reported = chat(creds, [m.user("q")]).usage
    assert (reported["prompt_tokens"], reported["completion_tokens"], reported["total_tokens"]) == (40, 5, 45)
