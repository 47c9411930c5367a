"""GigaChat's built-in tools from switch to wire and back: which models offer the switches (models/common/catalog.py),
what a switch puts in the request (params.py, chat.protocol_for, wire_v2.payload), and what a built-in tool's answer
becomes (wire_v2: sources, generated files), checked against the recorded shapes (tests/v2_recordings.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from dify_plugin.entities.model import AIModelEntity, ModelType
from dify_plugin.entities.model.message import UserPromptMessage
from gigachat.api.chat_completions import _build_request_json
from gigachat.models.chat_completions import ChatCompletionChunk, ChatCompletionRequest, ChatCompletionResponse

from models.common.catalog import BUILT_IN_TOOLS, customizable_schema
from models.common.settings import ProtocolChoice
from models.llm import chat, wire_v1, wire_v2
from models.llm.exchange import Delta, Source, Usage
from models.llm.tools import ToolNames
from tests import v2_recordings as recorded

ROOT = Path(__file__).resolve().parents[2]
SWITCHES = list(BUILT_IN_TOOLS)
WEATHER_TOOL = {"name": "get_weather", "description": "", "parameters": {"type": "object", "properties": {}}}


def predefined() -> list[AIModelEntity]:
    order = yaml.safe_load((ROOT / "models/llm/_position.yaml").read_text())
    return [AIModelEntity(**yaml.safe_load((ROOT / f"models/llm/{name}.yaml").read_text())) for name in order]


def switches_of(entity: AIModelEntity) -> list[str]:
    return [rule.name for rule in entity.parameter_rules if rule.name in BUILT_IN_TOOLS]


# ---- the switches ----------------------------------------------------------------------------------------------------


def test_the_four_switches_are_booleans_off_by_default_with_labels_in_four_languages_and_a_cost_note():
    ultra = next(model for model in predefined() if model.model == "GigaChat-3-Ultra")
    rules = {rule.name: rule for rule in ultra.parameter_rules if rule.name in BUILT_IN_TOOLS}
    assert list(rules) == SWITCHES
    for rule in rules.values():
        assert (rule.type.value, rule.default) == ("boolean", False)
        assert all(getattr(rule.label, language) for language in ("en_us", "zh_hans", "ja_jp", "pt_br"))
        assert "token" in rule.help.en_us
    assert "24,000" in rules["web_search"].help.en_us and "17,500" in rules["url_content_extraction"].help.en_us


def test_an_error_names_each_switch_by_the_label_dify_shows_for_it():
    """The labels errors use (catalog.BUILT_IN_TOOLS) are the English labels of the switches in the model YAMLs."""
    labels = {rule.name: rule.label.en_us for model in predefined() for rule in model.parameter_rules}
    assert {name: labels[name] for name in BUILT_IN_TOOLS} == BUILT_IN_TOOLS


def test_only_gigachat_3_ultra_of_the_predefined_models_has_them():
    assert {model.model: bool(switches_of(model)) for model in predefined()} == {
        "GigaChat-3-Ultra": True, "GigaChat-2-Max": False, "GigaChat-2-Pro": False, "GigaChat-2": False,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("model", "protocol", "has_switches"),
    [
        ("GigaChat-3-Pro", "", True),  # a GigaChat 3 id inherits Ultra's parameters
        # Fixed to v1 (a gateway that passes only v1): the tools it can't carry are not offered.
        ("GigaChat-3-Ultra-preview", "v1", False),
        ("GigaChat-3-Pro", " V1 ", False),
        ("GigaChat-2-Max-preview", "", False),
        ("GigaChat-2-Max-preview", "v2", True),  # any model of the v2 protocol may turn them on
        ("Kandinsky-3", "", False),  # an unknown id copies the first model's parameters, but not these
        ("Kandinsky-3", " V2 ", True),
    ],
)
def test_customizable_models_have_the_switches_when_their_family_has_them_or_their_protocol_is_v2_never_on_v1(
    model, protocol, has_switches
):
    entity = customizable_schema(predefined(), model, {"chat_protocol": protocol}, ModelType.LLM)
    assert switches_of(entity) == (SWITCHES if has_switches else [])
    assert len({rule.name for rule in entity.parameter_rules}) == len(entity.parameter_rules)


# ---- the request -----------------------------------------------------------------------------------------------------


def build(parameters: dict, tools=None, tool_choice=None, protocol=ProtocolChoice.AUTO, model="GigaChat-3-Ultra"):
    from dify_plugin.entities.model.message import PromptMessageTool

    dify_tools = [PromptMessageTool(**tool) for tool in tools or ()]
    return chat.build_request(model, [UserPromptMessage(content="Hi")], parameters, dify_tools, tool_choice, protocol)


def test_the_switches_that_are_on_become_the_requests_built_in_tools_in_a_fixed_order():
    parameters = {"image_generate": True, "web_search": True, "code_interpreter": False, "temperature": 0.5}
    assert build(parameters).builtin_tools == ("web_search", "image_generate")


@pytest.mark.parametrize(("model", "choice"), [("GigaChat-2-Max", ProtocolChoice.AUTO), ("Custom", ProtocolChoice.V1)])
def test_any_switch_on_sends_the_request_over_v2(model, choice):
    assert chat.protocol_for(build({}, model=model, protocol=choice)) is wire_v1
    assert chat.protocol_for(build({"code_interpreter": True}, model=model, protocol=choice)) is wire_v2


BUILT_INS = [{"web_search": {"type": "actual_info_web_search"}}, {"image_generate": {}}]


@pytest.mark.parametrize(
    ("tools", "tool_choice", "tool_config"),
    [
        pytest.param(None, None, {"mode": "auto"}, id="built-in-tools-alone"),
        pytest.param([WEATHER_TOOL], None, {"mode": "auto"}, id="beside-difys-tools"),
        pytest.param([WEATHER_TOOL], "get_weather", {"mode": "forced", "function_name": "get_weather"},
                     id="a-forced-dify-tool"),
        pytest.param([WEATHER_TOOL], "none", {"mode": "none"}, id="dify-asks-for-no-tool"),
        pytest.param(None, "none", {"mode": "none"}, id="dify-asks-for-no-tool-and-has-none-of-its-own"),
    ],
)  # fmt: skip
def test_built_in_tools_go_in_tools_beside_the_functions(tools, tool_choice, tool_config):
    request = build({"web_search": True, "image_generate": True}, tools, tool_choice)
    functions = [{"functions": {"specifications": request.functions}}] if tools else []
    body = wire_v2.payload(request)
    assert (body["tools"], body["tool_config"]) == ([*functions, *BUILT_INS], tool_config)
    sent = _build_request_json(ChatCompletionRequest.model_validate(body))  # as the SDK sends it
    assert (sent["tools"], sent["tool_config"]) == ([*functions, *BUILT_INS], tool_config)


def test_the_recorded_built_in_tool_entries_are_what_the_plugin_sends():
    """test_primary_chat_builtin_tools: `{"web_search": {"type": "actual_info_web_search"}}`, `{"code_interpreter":
    {}}`, `{"url_content_extraction": {}}`, `{"image_generate": {}}`."""
    body = wire_v2.payload(build(dict.fromkeys(SWITCHES, True)))
    assert body["tools"] == [
        {"web_search": {"type": "actual_info_web_search"}}, {"url_content_extraction": {}}, {"code_interpreter": {}},
        {"image_generate": {}},
    ]  # fmt: skip


# ---- the answer ------------------------------------------------------------------------------------------------------

NAMES = ToolNames.of([])
STATE = recorded.STATE_TOOL


def answer(body: dict) -> Delta:
    return wire_v2.from_response(ChatCompletionResponse.model_validate(body), NAMES)


@pytest.mark.parametrize(
    ("body", "delta"),
    [
        pytest.param(recorded.WEB_SEARCH, Delta(text=recorded.WEB_SEARCH_TEXT, state_id=STATE, finish_reason="stop",
                     usage=Usage(23767, 570), sources=(Source("1", **recorded.SOURCES["1"]),
                                                       Source("2", **recorded.SOURCES["2"])),
                     ), id="web-search"),
        pytest.param(recorded.CODE_INTERPRETER, Delta(text=recorded.CODE_TEXT, state_id=STATE, finish_reason="stop",
                     usage=Usage(3963, 157)), id="code-interpreter"),
        pytest.param(recorded.URL_CONTENT, Delta(text=recorded.PAGE_TEXT, state_id=STATE, finish_reason="stop",
                     usage=Usage(17493, 306)), id="url-content-extraction"),
        pytest.param(recorded.IMAGE, Delta(text=recorded.IMAGE_TEXT, state_id=STATE, finish_reason="stop",
                     usage=Usage(999, 42), generated_images=(recorded.IMAGE_ID,)), id="image-generate"),
    ],
)  # fmt: skip
def test_a_recorded_built_in_answer_becomes_one_delta(body: dict, delta: Delta):
    assert answer(body) == delta


@pytest.mark.parametrize("target", ["video", "3dmodel", None])
def test_a_generated_file_of_another_target_is_kept_for_deletion_and_never_shown(target):
    file = {"id": "f-9", "mime": "model/gltf-binary"} | ({"target": target} if target else {})
    message = {"role": "assistant", "content": [{"files": [file]}, {"text": "Done."}]}
    delta = answer({**recorded.IMAGE, "messages": [message]})
    assert (delta.text, delta.generated_images, delta.unshown_files) == ("Done.", (), ("f-9",))


def test_sources_are_read_from_a_progress_event_as_well_but_never_its_text():
    page = {"url": "https://example.com/", "title": "Example"}
    content = [{"text": "searching", "inline_data": {"sources": {"3": page}}}]
    chunk = ChatCompletionChunk.model_validate(
        {"event": "response.tool.completed", "messages": [{"role": "reasoning", "content": content}]}
    )
    assert wire_v2.from_chunk(chunk, NAMES) == Delta(sources=(Source("3", **page),))


def test_sources_on_the_message_rather_than_its_part_are_read_too():
    message = {"role": "assistant", "content": [{"text": "x"}], "inline_data": {"sources": {"1": {"title": "T"}}}}
    assert answer({**recorded.SIMPLE, "messages": [message]}).sources == (Source("1", None, "T"),)
