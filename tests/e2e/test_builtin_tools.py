"""GigaChat's built-in tools through the packaged plugin, run as Dify's daemon runs it, against the emulator: each
switch sends its tool over v2 and its answer reaches Dify readable (web search references and the cited sources,
generated images as image parts that are then deleted), beside an agent's own tools; refusals name the switch."""

from __future__ import annotations

import pytest

from devkit.emulator import Fault, Reply, ToolAnswer, UploadedFile
from devkit.emulator.builtin import DEFAULT_SOURCES, JPEG
from devkit.emulator.v2 import Recorded
from devkit.harness import messages as m
from devkit.rig import PROVIDER
from models.llm.generated import MAX_IMAGE_BYTES
from tests import v2_recordings as recorded
from tests.e2e.test_images_and_documents import wait_until
from tests.file_samples import b64

pytestmark = pytest.mark.e2e
ULTRA = "GigaChat-3-Ultra"
V2_PATH = "/api/v2/chat/completions"
PAGES = [f"- [{number}] [{page['title']}]({page['url']})" for number, page in DEFAULT_SOURCES.items()]
CITED = "\n\nSources:\n" + PAGES[1]  # source 2 alone
CITED_BOTH = "\n\nSources:\n" + "\n".join(PAGES)
CITY = {"type": "object", "properties": {"city": {"type": "string"}}}
WEATHER = m.tool_def("get_weather", "The weather in a city", CITY)
STREAMS = pytest.mark.parametrize("stream", [True, False], ids=["stream", "blocking"])


def chat(plugin, creds, text="What is new in Python?", *, switches=(), stream=True, model=ULTRA, tools=None,
         history=None):  # fmt: skip
    parameters = dict.fromkeys(switches, True)
    messages = history or [m.user(text)]
    return plugin.request(m.invoke_llm(PROVIDER, model, creds, messages, parameters, tools=tools, stream=stream))


def image_parts(reply) -> list[dict]:
    contents = [chunk["delta"]["message"]["content"] for chunk in reply.chunks]
    return [part for content in contents if isinstance(content, list) for part in content if part["type"] == "image"]


def texts(reply) -> list[str]:
    contents = [chunk["delta"]["message"]["content"] for chunk in reply.chunks]
    return [content for content in contents if isinstance(content, str)]


# ---- each switch -----------------------------------------------------------------------------------------------------


@STREAMS
def test_web_search_answers_with_bracketed_references_and_ends_with_the_cited_source_only(plugin, emu, creds, stream):
    reply = chat(plugin, creds, "Python news", switches=["web_search"], stream=stream)
    assert reply.error is None
    assert reply.text == "Found on the web about Python news: one page says so [2]. Another agrees [1, 2]." + CITED_BOTH
    [sent] = emu.chat_requests
    assert (sent["tools"], sent["tool_config"]) == (
        [{"web_search": {"type": "actual_info_web_search"}}],
        {"mode": "auto"},
    )
    assert [r.path for r in emu.requests if r.path.endswith("/completions")] == [V2_PATH]


@STREAMS
@pytest.mark.parametrize(
    ("switch", "question", "answer"),
    [
        ("url_content_extraction", "Summarise https://example.com/a",
         "Read https://example.com/a: it is about Summarise https://example.com/a."),
        ("code_interpreter", "Sum the first 20 primes", "Ran code for: Sum the first 20 primes. The result is 42."),
    ],
)  # fmt: skip
def test_page_reading_and_the_code_interpreter_pass_their_text_answer_through_and_progress_is_no_text(
    plugin, emu, creds, stream, switch, question, answer
):
    reply = chat(plugin, creds, question, switches=[switch], stream=stream)
    assert (reply.error, reply.text) == (None, answer)
    assert emu.chat_requests[0]["tools"] == [{switch: {}}]


@STREAMS
def test_a_generated_image_arrives_as_an_image_part_after_its_text_and_is_deleted_from_gigachat(
    plugin, emu, creds, stream
):
    reply = chat(plugin, creds, "Draw a cat", switches=["image_generate"], stream=stream)
    assert reply.error is None
    [image] = image_parts(reply)
    assert (image["mime_type"], image["format"], image["base64_data"]) == ("image/jpeg", "jpg", b64(JPEG))
    if stream:  # the image is a chunk of its own, after the text of the piece that named it
        assert reply.text == "The image is ready." and texts(reply)[0] == "The "
    else:  # one chunk: the text and the image as one list of parts
        [content] = [chunk["delta"]["message"]["content"] for chunk in reply.chunks]
        assert (content[0]["type"], content[0]["data"]) == ("text", "The image is ready.")
    [generated] = emu.generated_files
    assert emu.deleted_files == [generated]
    assert emu.live_files() == set()


@pytest.mark.parametrize(
    ("switch", "answer", "usage"),
    [("web_search", recorded.WEB_SEARCH, (23767, 570)), ("url_content_extraction", recorded.URL_CONTENT, (17493, 306)),
     ("code_interpreter", recorded.CODE_INTERPRETER, (3963, 157)), ("image_generate", recorded.IMAGE, (999, 42))],
)  # fmt: skip
def test_the_recorded_built_in_answers_reach_dify_with_gigachats_usage(plugin, emu, creds, switch, answer, usage):
    if switch == "image_generate":
        emu.files[recorded.IMAGE_ID] = UploadedFile("image.jpg", "image/jpeg", JPEG, "general")
    emu.script(Recorded(recorded.compact(answer)))
    reply = chat(plugin, creds, switches=[switch], stream=False)
    assert reply.error is None
    assert (reply.usage["prompt_tokens"], reply.usage["completion_tokens"]) == usage
    [content] = [chunk["delta"]["message"]["content"] for chunk in reply.chunks]
    if switch == "web_search":  # only source 2 is cited
        page = recorded.SOURCES["2"]
        readable = recorded.WEB_SEARCH_TEXT.replace("[sources=[2]]", "[2]")
        assert content == f"{readable}\n\nSources:\n- [2] [{page['title']}]({page['url']})"
    assert emu.live_files() == set()  # the recorded image, downloaded and deleted


def test_switches_off_send_no_tool_and_keep_the_models_protocol(plugin, emu, creds):
    assert chat(plugin, creds, "hi", model="GigaChat-2-Max").text == "Echo: hi"
    assert "tools" not in emu.chat_requests[0]


def test_a_switch_on_a_model_that_does_not_declare_it_is_dropped_by_dify_s_parameter_rules(plugin, emu, creds):
    reply = chat(plugin, creds, "hi", switches=["web_search"], model="GigaChat-2-Max")
    assert (reply.error, reply.text) == (None, "Echo: hi")
    assert [r.path for r in emu.requests if r.path.endswith("/completions")] == ["/api/v1/chat/completions"]


# ---- web search across stream events ---------------------------------------------------------------------------------


def test_markers_and_sources_split_across_events_read_whole_and_sources_named_later_are_still_listed(
    plugin, emu, creds
):
    pieces = ["Python 3.15 is faster [sour", "ces=[2", "]]. It reads UTF-8 [", "sources=[2]].", " That is all."]
    emu.script(ToolAnswer("web_search", pieces, sources=DEFAULT_SOURCES, sources_with=-1))
    reply = chat(plugin, creds, switches=["web_search"])
    assert reply.error is None
    assert reply.text == "Python 3.15 is faster [2]. It reads UTF-8 [2]. That is all." + CITED
    assert not any("sources=" in text for text in texts(reply))
    assert texts(reply)[0] == "Python 3.15 is faster "  # text before a possible marker is never held back


@pytest.mark.parametrize(
    ("sources", "tail"),
    [
        pytest.param({"2": {"title": "No address"}}, "\n\nSources:\n- [2] No address", id="a-source-without-url"),
        pytest.param({"2": {"url": "javascript:alert(1)"}}, "", id="neither-a-usable-url-nor-a-title"),
        pytest.param({"7": {"url": "https://example.com"}}, "", id="sources-the-markers-do-not-cite"),
    ],
)
def test_a_malformed_sources_object_degrades_to_plain_text(plugin, emu, creds, sources, tail):
    emu.script(ToolAnswer("web_search", "Fact [sources=[2]].", sources=sources))
    reply = chat(plugin, creds, switches=["web_search"])
    assert (reply.error, reply.text) == (None, "Fact [2]." + tail)


def test_a_sources_object_the_sdk_itself_cannot_read_is_a_typed_error_and_the_plugin_serves_on(plugin, emu, creds):
    emu.script(ToolAnswer("web_search", "Fact [sources=[2]].", sources=["not", "a", "map"]))
    reply = chat(plugin, creds, switches=["web_search"])
    assert reply.error["error_type"] == "InvokeServerUnavailableError"
    assert "GigaChat sent a response the plugin could not read" in reply.error["message"]
    assert chat(plugin, creds, "hi").text == "Echo: hi"


# ---- beside Dify's tools ---------------------------------------------------------------------------------------------


def test_an_agent_round_trip_with_web_search_and_a_dify_tool_keeps_the_state_and_cites_the_search(plugin, emu, creds):
    emu.script(Reply(function_call=("get_weather", {"city": "Omsk"}), functions_state_id="state-7"))
    first = chat(plugin, creds, "Weather in Omsk, and any news?", switches=["web_search"], tools=[WEATHER])
    [call] = first.tool_calls
    assert (call["function"]["name"], first.finish_reason) == ("get_weather", "tool_calls")
    sent = emu.chat_requests[0]
    assert [list(entry) for entry in sent["tools"]] == [["functions"], ["web_search"]]
    assert sent["tool_config"] == {"mode": "auto"}

    history = [
        m.user("Weather in Omsk, and any news?"),
        m.assistant("", [m.tool_call(call["id"], "get_weather", call["function"]["arguments"])]),
        m.tool('{"t": 20}', call["id"], "get_weather"),
    ]
    second = chat(plugin, creds, switches=["web_search"], tools=[WEATHER], history=history)
    assert (second.error, second.finish_reason) == (None, "stop")
    assert second.text.endswith("Another agrees [1, 2]." + CITED_BOTH)
    call_turn, result_turn = emu.chat_requests[1]["messages"][1:]
    assert call_turn["tools_state_id"] == result_turn["tools_state_id"] == "state-7"
    assert result_turn["content"] == [{"function_result": {"name": "get_weather", "result": {"t": 20}}}]


# ---- images however the request ends ---------------------------------------------------------------------------------


def test_an_abandoned_image_stream_still_deletes_the_image(plugin, emu, creds):
    emu.script(ToolAnswer("image_generate", [f"word{i} " for i in range(20)], image=JPEG))
    data = m.invoke_llm(PROVIDER, ULTRA, creds, [m.user("Draw")], {"image_generate": True})
    for _ in plugin.stream(data):
        break  # stop reading after the first chunk
    assert wait_until(lambda: len(emu.generated_files) == 1 and emu.live_files() == set())


def test_an_image_stream_that_fails_after_naming_the_image_still_deletes_it(plugin, emu, creds):
    emu.inject(Fault.cut_stream(after_chunks=3))  # the two progress events, then the piece naming the image
    reply = chat(plugin, creds, "Draw a cat", switches=["image_generate"])
    assert reply.error["error_type"] == "InvokeConnectionError"
    assert len(emu.generated_files) == 1 and emu.live_files() == set()


def test_a_failed_image_download_is_a_typed_error_and_the_image_is_still_deleted(plugin, emu, creds):
    emu.inject(Fault.status(404), path="/content")
    reply = chat(plugin, creds, "Draw a cat", switches=["image_generate"])
    assert reply.error["error_type"] == "InvokeBadRequestError"
    assert "downloading the image GigaChat generated failed" in reply.error["message"]
    assert len(emu.generated_files) == 1 and emu.live_files() == set()


def test_the_largest_generated_image_that_fits_the_daemon_s_line_passes_and_one_byte_more_is_refused(
    plugin, emu, creds
):
    largest = b"\xff\xd8\xff\xe0" + bytes(MAX_IMAGE_BYTES - 4)
    emu.script(
        ToolAnswer("image_generate", "Drawn.", image=largest),
        ToolAnswer("image_generate", "Drawn.", image=largest + b"\0"),
    )
    shown = chat(plugin, creds, "Draw", switches=["image_generate"])  # the harness fails a line of 5 MiB or more
    assert shown.error is None and len(image_parts(shown)[0]["base64_data"]) == MAX_IMAGE_BYTES // 3 * 4
    refused = chat(plugin, creds, "Draw", switches=["image_generate"])
    assert refused.error["error_type"] == "InvokeBadRequestError"
    assert "Dify takes images of at most 3.7 MB from a plugin" in refused.error["message"]
    assert len(emu.generated_files) == 2 and emu.live_files() == set()


@STREAMS
def test_a_generated_file_of_an_unknown_target_is_a_notice_and_is_deleted(plugin, emu, creds, stream):
    model = ToolAnswer(
        "image_generate", "Here is your model.", image=b"glTF", target="3dmodel", mime="model/gltf-binary"
    )
    emu.script(model)
    reply = chat(plugin, creds, "Make a 3D cat", switches=["image_generate"], stream=stream)
    assert reply.error is None and image_parts(reply) == []
    assert reply.text.startswith("Here is your model.\n\n[GigaChat generated a file that is not an image;")
    assert len(emu.generated_files) == 1 and emu.live_files() == set()


# ---- refusals --------------------------------------------------------------------------------------------------------


def test_a_model_that_refuses_a_built_in_tool_gets_an_error_naming_the_switch_to_turn_off(plugin, emu, creds):
    """A GigaChat-2 model added by name with the v2 protocol may turn the switches on; the live host refused its code
    interpreter (422 "Tool code_interpreter is unavailable", a third-party log)."""
    custom = {**creds, "chat_protocol": "v2"}
    reply = chat(plugin, custom, "2+2?", switches=["code_interpreter"], model="GigaChat-2-Max-preview")
    assert reply.error["error_type"] == "InvokeBadRequestError"
    assert (
        "GigaChat refused the built-in tool of the switch 'Code interpreter' (422: Tool code_interpreter is "
        "unavailable): this model does not offer it here. Turn that switch off in the model's parameters."
    ) in reply.error["message"]


def test_a_host_that_does_not_know_a_built_in_tool_gets_an_error_naming_its_switch(plugin, emu, creds):
    emu.inject(Fault.status(404, {"status": 404, "message": "Unknown tool web_search"}))
    reply = chat(plugin, creds, switches=["web_search", "code_interpreter"])
    assert reply.error["error_type"] == "InvokeBadRequestError"
    assert "the switch 'Web search' (404: Unknown tool web_search)" in reply.error["message"]
