"""models/llm/conversation.py: Dify prompt messages -> turns that follow GigaChat's conversation rules."""

from __future__ import annotations

import json

import pytest
from dify_plugin.entities.model.message import (
    AssistantPromptMessage,
    ImagePromptMessageContent,
    MultiModalPromptMessageContent,
    PromptMessage,
    SystemPromptMessage,
    TextPromptMessageContent,
    ToolPromptMessage,
    UserPromptMessage,
)
from dify_plugin.errors.model import InvokeBadRequestError

from models.llm.conversation import function_result_json, to_turns, tool_call_id
from models.llm.exchange import FunctionCall, Turn

ToolCall = AssistantPromptMessage.ToolCall
IMAGE = ImagePromptMessageContent(format="png", mime_type="image/png", base64_data="iVBORw0KGgo=", filename="cat.png")


def call(call_id: str, name: str = "get_weather", arguments: str = '{"city": "Moscow"}') -> ToolCall:
    return ToolCall(id=call_id, type="function", function=ToolCall.ToolCallFunction(name=name, arguments=arguments))


def assistant(*calls: ToolCall, text: str = "", opaque_body: object = None) -> AssistantPromptMessage:
    return AssistantPromptMessage(content=text, tool_calls=list(calls), opaque_body=opaque_body)


def result(call_id: str, content: str = '{"temperature": 20}', name: str = "get_weather") -> ToolPromptMessage:
    return ToolPromptMessage(content=content, tool_call_id=call_id, name=name)


def shape(turns: list[Turn]) -> list[tuple[str, str]]:
    return [(t.role, t.text) for t in turns]


# ---- system, user and assistant text -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        pytest.param(
            [SystemPromptMessage(content="Be brief."), SystemPromptMessage(content="Answer in Russian."),
             UserPromptMessage(content="Hi")],
            [("system", "Be brief.\n\nAnswer in Russian."), ("user", "Hi")],
            id="two-leading-system-messages-are-joined",
        ),
        pytest.param(
            [SystemPromptMessage(content="Be brief."), UserPromptMessage(content="Hi"),
             AssistantPromptMessage(content="Hello!"), SystemPromptMessage(content="Now be formal."),
             UserPromptMessage(content="How are you?")],
            [("system", "Be brief."), ("user", "Hi"), ("assistant", "Hello!"),
             ("user", "Now be formal.\n\nHow are you?")],
            id="a-later-system-message-becomes-a-user-message-in-place",
        ),
        pytest.param(
            [UserPromptMessage(content="Hi"), SystemPromptMessage(content="Be brief.")],
            [("user", "Hi\n\nBe brief.")],
            id="a-system-message-after-the-first-turn-becomes-a-user-message",
        ),
        pytest.param(
            [UserPromptMessage(content="one"), UserPromptMessage(content="two"), UserPromptMessage(content="three")],
            [("user", "one\n\ntwo\n\nthree")],
            id="consecutive-user-messages-are-joined",
        ),
        pytest.param(
            [UserPromptMessage(content="Q1"), AssistantPromptMessage(content="A1"),
             AssistantPromptMessage(content="A2"), UserPromptMessage(content="Q2")],
            [("user", "Q1"), ("assistant", "A1\n\nA2"), ("user", "Q2")],
            id="consecutive-plain-assistant-messages-are-joined",
        ),
        pytest.param(
            [SystemPromptMessage(content="  "), UserPromptMessage(content="Q1"), AssistantPromptMessage(content=""),
             UserPromptMessage(content=None), UserPromptMessage(content="Q2")],
            [("user", "Q1\n\nQ2")],
            id="empty-messages-are-dropped-and-their-neighbours-joined",
        ),
        pytest.param(
            [UserPromptMessage(content=[TextPromptMessageContent(data="part one"), TextPromptMessageContent(data=""),
                                        TextPromptMessageContent(data="part two")])],
            [("user", "part one\npart two")],
            id="text-parts-of-one-message-are-joined-by-lines",
        ),
    ],
)  # fmt: skip
def test_text_messages_follow_gigachats_turn_rules(messages: list[PromptMessage], expected: list) -> None:
    assert shape(to_turns(messages)) == expected


@pytest.mark.parametrize(
    "messages",
    [
        pytest.param([], id="nothing"),
        pytest.param([SystemPromptMessage(content="Be brief.")], id="only-a-system-message"),
        pytest.param([SystemPromptMessage(content="Be brief."), UserPromptMessage(content=" \n ")], id="blank-user"),
        pytest.param([AssistantPromptMessage(content="Hello!")], id="only-an-assistant-message"),
    ],
)
def test_a_prompt_without_user_text_is_a_bad_request(messages: list[PromptMessage]) -> None:
    with pytest.raises(InvokeBadRequestError, match="no user message"):
        to_turns(messages)


def test_a_system_message_holding_an_image_is_a_bad_request() -> None:
    messages = [SystemPromptMessage(content=[IMAGE]), UserPromptMessage(content="Hi")]
    with pytest.raises(InvokeBadRequestError, match="a system message can only hold text; it holds image content"):
        to_turns(messages, attach=lambda part: "file-1")


# ---- tool calls and results --------------------------------------------------------------------------------------


def test_two_tool_calls_with_results_in_reverse_order_become_call_result_pairs_in_call_order() -> None:
    messages = [
        UserPromptMessage(content="Weather in Moscow and Kazan?"),
        assistant(call("call_1"), call("call_2", arguments='{"city": "Kazan"}'), text="Checking."),
        result("call_2", '{"temperature": 25}'),
        result("call_1", '{"temperature": 20}'),
        UserPromptMessage(content="Thanks"),
    ]
    turns = to_turns(messages)
    assert [(t.role, t.text, t.function_call) for t in turns] == [
        ("user", "Weather in Moscow and Kazan?", None),
        ("assistant", "Checking.", FunctionCall("get_weather", {"city": "Moscow"})),
        ("tool", '{"temperature": 20}', None),
        ("assistant", "", FunctionCall("get_weather", {"city": "Kazan"})),
        ("tool", '{"temperature": 25}', None),
        ("user", "Thanks", None),
    ]
    assert [t.name for t in turns if t.role == "tool"] == ["get_weather", "get_weather"]


def test_a_call_without_a_recorded_result_still_gets_one() -> None:
    turns = to_turns([UserPromptMessage(content="Hi"), assistant(call("call_1"))])
    assert turns[-1].role == "tool"
    assert json.loads(turns[-1].text) == {"error": "no result was recorded"}


@pytest.mark.parametrize(
    "messages",
    [
        pytest.param([UserPromptMessage(content="Hi"), result("call_orphan_42")], id="after-a-user-message"),
        pytest.param([UserPromptMessage(content="Hi"), assistant(call("call_1")), result("call_1"),
                      result("call_orphan_42")], id="after-another-calls-result"),
        pytest.param([result("call_orphan_42"), UserPromptMessage(content="Hi")], id="first-message"),
    ],
)  # fmt: skip
def test_a_tool_result_without_a_matching_call_is_a_bad_request_naming_its_id(messages: list[PromptMessage]) -> None:
    with pytest.raises(InvokeBadRequestError, match="call id 'call_orphan_42'"):
        to_turns(messages)


def test_tool_results_after_a_plain_assistant_message_are_a_bad_request() -> None:
    messages = [UserPromptMessage(content="Hi"), AssistantPromptMessage(content="Hello"), result("call_1")]
    with pytest.raises(InvokeBadRequestError):
        to_turns(messages)


@pytest.mark.parametrize("arguments", ["{not json", "[1, 2]", '"text"', "42"])
def test_tool_call_arguments_that_are_not_a_json_object_are_a_bad_request_naming_the_tool(arguments: str) -> None:
    messages = [UserPromptMessage(content="Hi"), assistant(call("call_1", name="lookup_order", arguments=arguments))]
    with pytest.raises(InvokeBadRequestError, match="tool 'lookup_order'"):
        to_turns(messages)


def test_empty_tool_call_arguments_mean_no_arguments() -> None:
    turns = to_turns([UserPromptMessage(content="Hi"), assistant(call("call_1", arguments=""))])
    assert turns[1].function_call == FunctionCall("get_weather", {})


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"temperature": 20, "unit": "C"}', {"temperature": 20, "unit": "C"}),
        ("[1, 2, 3]", {"result": [1, 2, 3]}),
        ("Sunny, 20 °C", {"result": "Sunny, 20 °C"}),
        ('"quoted"', {"result": "quoted"}),
        ("42", {"result": 42}),
        ("", {"result": ""}),
        ("null", {"result": None}),
    ],
)
def test_a_function_result_is_always_a_json_object(content: str, expected: dict) -> None:
    assert json.loads(function_result_json(content)) == expected


def test_non_ascii_function_results_stay_readable() -> None:
    assert function_result_json("Солнечно") == '{"result": "Солнечно"}'


def test_the_tool_result_in_the_conversation_is_wrapped_too() -> None:
    messages = [UserPromptMessage(content="Hi"), assistant(call("call_1")), result("call_1", "Sunny")]
    assert json.loads(to_turns(messages)[-1].text) == {"result": "Sunny"}


# ---- functions_state_id ------------------------------------------------------------------------------------------


def test_the_state_id_is_recovered_from_the_opaque_body() -> None:
    message = assistant(call("call_plain"), opaque_body={"functions_state_id": "state-from-body"})
    turns = to_turns([UserPromptMessage(content="Hi"), message, result("call_plain")])
    assert turns[1].state_id == "state-from-body"


def test_the_state_id_is_recovered_from_a_tool_call_id_the_plugin_made() -> None:
    made = tool_call_id("6f0c6a4e-state")
    assert made.startswith("call_") and made.endswith("_fs_6f0c6a4e-state")
    turns = to_turns([UserPromptMessage(content="Hi"), assistant(call(made)), result(made)])
    assert turns[1].state_id == "6f0c6a4e-state"


def test_a_result_carries_the_state_id_of_the_call_it_answers() -> None:
    first, second = tool_call_id("state-a"), tool_call_id("state-b")
    messages = [UserPromptMessage(content="Hi"), assistant(call(first), call(second, "get_time", "{}")),
                result(second, "12:00", "get_time"), result(first)]  # fmt: skip
    turns = to_turns(messages)
    assert [(t.role, t.state_id) for t in turns[1:]] == [
        ("assistant", "state-a"), ("tool", "state-a"), ("assistant", "state-b"), ("tool", "state-b")
    ]  # fmt: skip


def test_a_call_id_made_by_someone_else_carries_no_state() -> None:
    turns = to_turns([UserPromptMessage(content="Hi"), assistant(call("call_abc")), result("call_abc")])
    assert turns[1].state_id is None


def test_tool_call_ids_are_unique_and_without_state_have_no_suffix() -> None:
    assert tool_call_id(None) != tool_call_id(None)
    assert "_fs_" not in tool_call_id(None)


# ---- files -------------------------------------------------------------------------------------------------------


def test_an_image_without_an_attach_callback_is_a_bad_request_naming_the_file() -> None:
    message = UserPromptMessage(content=[TextPromptMessageContent(data="What is this?"), IMAGE])
    with pytest.raises(InvokeBadRequestError, match=r"does not accept image input \('cat.png'\)"):
        to_turns([message])


def test_images_with_an_attach_callback_become_attachment_ids_on_the_user_turn() -> None:
    attached: list[MultiModalPromptMessageContent] = []

    def attach(part: MultiModalPromptMessageContent) -> str:
        attached.append(part)
        return f"file-{len(attached)}"

    messages = [
        UserPromptMessage(content=[TextPromptMessageContent(data="Compare"), IMAGE]),
        UserPromptMessage(content=[IMAGE]),
    ]
    [turn] = to_turns(messages, attach=attach)
    assert (turn.role, turn.text, turn.attachments) == ("user", "Compare", ("file-1", "file-2"))
    assert attached == [IMAGE, IMAGE]


def test_a_user_message_with_only_an_image_counts_as_user_input() -> None:
    turns = to_turns([UserPromptMessage(content=[IMAGE])], attach=lambda part: "file-9")
    assert shape(turns) == [("user", "")]
    assert turns[0].attachments == ("file-9",)


def test_thousands_of_consecutive_user_messages_join_into_one_turn_in_order() -> None:
    messages = [UserPromptMessage(content=f"message {i}") for i in range(5000)]
    [turn] = to_turns(messages)
    assert turn.text == "\n\n".join(f"message {i}" for i in range(5000))
