"""Reasoning effort through the packaged plugin: offered where a source or the operator says a model reasons, sent on
the wire each protocol expects, never sent when left unset; and GigaChat's reasoning shown as Dify shows thinking,
also when a v2 answer carries it as messages of role `reasoning` beside a built-in tool's progress."""

from __future__ import annotations

import pytest

from devkit.emulator import Reply
from devkit.emulator.v2 import Recorded
from devkit.harness import messages as m
from devkit.rig import PROVIDER
from tests import v2_recordings as recorded

pytestmark = pytest.mark.e2e
ULTRA = "GigaChat-3-Ultra"


def schema_rules(plugin, model: str, creds: dict) -> dict[str, dict]:
    schema = plugin.request(m.model_schema(PROVIDER, "llm", model, creds)).chunks[0]["model_schema"]
    return {rule["name"]: rule for rule in schema["parameter_rules"]}


def chat(plugin, creds, model, parameters=None, stream=True, messages=None):
    data = m.invoke_llm(PROVIDER, model, creds, messages or [m.user("2+2?")], parameters or {}, stream=stream)
    return plugin.request(data)


def test_gigachat_2_max_offers_reasoning_effort_unset_by_default_and_sends_it_on_v1(plugin, emu, creds):
    rule = schema_rules(plugin, "GigaChat-2-Max", creds)["reasoning_effort"]
    assert (rule["options"], rule.get("default")) == (["low", "medium", "high"], None)
    assert chat(plugin, creds, "GigaChat-2-Max", {"reasoning_effort": "low"}).error is None
    assert emu.chat_requests[0]["reasoning_effort"] == "low"
    assert emu.requests[-1].path.endswith("/api/v1/chat/completions")


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "blocking"])
def test_a_customizable_model_with_the_switch_on_sends_it_on_v2_as_model_options_reasoning(plugin, emu, creds, stream):
    own = {**creds, "reasoning_support": "true"}
    assert "reasoning_effort" in schema_rules(plugin, ULTRA, own)
    assert "reasoning_effort" not in schema_rules(plugin, ULTRA, {**creds, "reasoning_support": "false"})
    assert chat(plugin, own, ULTRA, {"reasoning_effort": "medium"}, stream).error is None
    assert emu.chat_requests[0]["model_options"]["reasoning"] == {"effort": "medium"}
    assert emu.requests[-1].path.endswith("/v2/chat/completions")


@pytest.mark.parametrize(
    ("model", "extra"), [("GigaChat-2-Max", {}), (ULTRA, {"reasoning_support": "true"})], ids=["v1", "v2"]
)
def test_left_unset_no_effort_goes_on_the_wire(plugin, emu, creds, model, extra):
    assert chat(plugin, {**creds, **extra}, model).error is None
    [body] = emu.chat_requests
    assert "reasoning_effort" not in body
    assert "reasoning" not in body.get("model_options", {})


def test_a_model_that_does_not_reason_drops_an_effort_sent_anyway(plugin, emu, creds):
    """Dify sends only the parameters a model declares; one sent regardless is left out, as dify_plugin filters."""
    assert chat(plugin, creds, "GigaChat-2-Pro", {"reasoning_effort": "high"}).error is None
    assert "reasoning_effort" not in emu.chat_requests[0]


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "blocking"])
def test_gigachat_2_max_reasoning_is_shown_in_think_tags(plugin, emu, creds, stream):
    emu.script(Reply(reasoning=["Two and ", "two."], text=["4"]))
    reply = chat(plugin, creds, "GigaChat-2-Max", {"reasoning_effort": "high"}, stream)
    assert reply.text == "<think>\nTwo and two.\n</think>\n\n4"


# ---- v2 answers: reasoning beside a built-in tool's progress --------------------------------------------------------

AT = {"model": recorded.VERSION, "created_at": 1780321864}
EXECUTION = {"tool_execution": {"name": "web_search", "status": "success", "seconds_left": 0}}


def message(role: str, *parts: dict) -> tuple[str, dict]:
    return "response.message.delta", {**AT, "messages": [{"role": role, "content": list(parts)}]}


DONE = ("response.message.done", {**AT, "finish_reason": "stop", "usage": recorded.STREAM[1][1]["usage"]})


def test_v2_reasoning_text_is_thinking_and_the_tool_execution_beside_it_is_not(plugin, emu, creds):
    events = [
        ("response.tool.in_progress", {**AT, "messages": [{"role": "reasoning", "content": [EXECUTION]}]}),
        message("reasoning", {"text": "Searching for "}, EXECUTION),
        message("reasoning", {"text": "the news."}),
        message("assistant", {"text": "Found it."}),
        DONE,
    ]
    emu.script(Recorded(recorded.sse(events), "text/event-stream"))
    reply = chat(plugin, creds, ULTRA, messages=[m.user("News?")])
    assert (reply.error, reply.finish_reason) == (None, "stop")
    assert reply.text == "<think>\nSearching for the news.\n</think>\n\nFound it."


def test_a_blocking_v2_answer_shows_its_reasoning_message_as_thinking(plugin, emu, creds):
    body = {**AT, "messages": [{"role": "reasoning", "content": [{"text": "Add them."}, EXECUTION]},
                               {"role": "assistant", "content": [{"text": "4"}]}],
            "finish_reason": "stop", "usage": recorded.STREAM[1][1]["usage"]}  # fmt: skip
    emu.script(Recorded(recorded.compact(body)))
    reply = chat(plugin, creds, ULTRA, stream=False)
    assert reply.text == "<think>\nAdd them.\n</think>\n\n4"
