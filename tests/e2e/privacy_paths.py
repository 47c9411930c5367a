"""The privacy session's scenarios on GigaChat's v2 chat protocol and its newer features (tests/e2e/test_privacy.py
runs them with the others): a file on a v2 request, a v2 tool round trip whose refusal falls back to role `function`,
reasoning, audio, an image GigaChat generated, and v2 errors that quote the request or the answer. Each carries the
session's canaries (privacy_rig.py) or its own, so the session's checks cover these paths too.
"""

from __future__ import annotations

import base64

from devkit.emulator import Fault, Reply, ToolAnswer
from devkit.emulator.builtin import JPEG
from devkit.emulator.v2 import Recorded
from devkit.harness import Reply as PluginReply
from devkit.harness import messages as m
from devkit.rig import PROVIDER
from tests import v2_recordings as recorded
from tests.e2e.privacy_rig import ANSWER, ECHOED, LOOKUP, MODEL, PROMPT, Session, answered, ask, ask_text, scenario
from tests.file_samples import wav

ULTRA = "GigaChat-3-Ultra"
AUDIO_CANARY = b"canary-audio-4d6e"
IMAGE_CANARY = b"canary-image-7f3a"
AUDIO = wav()[: -len(AUDIO_CANARY)] + AUDIO_CANARY  # the canary as the last samples of a valid WAV file
IMAGE = JPEG[:-2] + IMAGE_CANARY + JPEG[-2:]  # inside the JPEG, before its end marker
# The first bytes of the image's base64 that hold none of the JPEG header every image shares.
IMAGE_AS_BASE64 = base64.b64encode(IMAGE)[len(JPEG) // 3 * 4 :]


def v2(s: Session, **fields: str) -> dict[str, str]:
    """The session's credentials as a model added by name whose 'Chat protocol' is v2 (GigaChat-2-Max takes files)."""
    return s.creds(chat_protocol="v2", **fields)


def invoke(
    s: Session, creds: dict[str, str], messages: list[dict], parameters: dict | None = None, **kw
) -> PluginReply:
    return s.plugin.request(m.invoke_llm(PROVIDER, kw.pop("model", MODEL), creds, messages, parameters, **kw))


@scenario()
def v2_chat_stream_with_a_file(s: Session) -> PluginReply:
    return answered(s, Reply(text=[ANSWER[:20], ANSWER[20:]]), v2(s))


@scenario()
def v2_chat_blocking_with_a_file(s: Session) -> PluginReply:
    return answered(s, Reply(text=ANSWER), v2(s), stream=False)


@scenario()
def v2_tool_call(s: Session) -> PluginReply:
    s.emu.script(Reply(function_call=("lookup_record", {"query": ANSWER})))
    return ask(s, v2(s), tools=[LOOKUP])


@scenario("InvokeBadRequestError", "400", ECHOED)
def v2_tool_result_refused_in_both_roles_quoting_it(s: Session) -> PluginReply:
    call = m.tool_call("call_1_fs_state-1", "lookup_record", '{"query": "record"}')
    history = [m.user(PROMPT), m.assistant("", [call]), m.tool(PROMPT, "call_1_fs_state-1", "lookup_record")]
    s.emu.inject(Fault.echo_prompt(400), times=2)
    reply = invoke(s, v2(s), history, tools=[LOOKUP])
    assert [r["messages"][-1]["role"] for r in s.emu.chat_requests] == ["tool", "function"]  # both refusals quoted it
    return reply


@scenario()
def v2_reasoning(s: Session) -> PluginReply:
    s.emu.script(Reply(reasoning=[ANSWER[:20], ANSWER[20:]], text=ANSWER))
    return invoke(s, v2(s, reasoning_support="true"), [m.user(PROMPT)], {"reasoning_effort": "high"})


@scenario()
def v2_audio(s: Session) -> PluginReply:
    s.canaries["audio"] = AUDIO_CANARY
    s.emu.script(Reply(text=ANSWER))
    voice = m.audio_part(base64_data=base64.b64encode(AUDIO).decode(), mime_type="audio/wav", filename="voice.wav")
    return invoke(s, v2(s, audio_support="true"), [m.user([m.text_part(PROMPT), voice])])


@scenario()
def generated_image(s: Session) -> PluginReply:
    s.canaries["generated image"] = IMAGE_CANARY
    s.canaries["generated image as base64"] = IMAGE_AS_BASE64
    s.emu.script(ToolAnswer("image_generate", [ANSWER[:20], ANSWER[20:]], image=IMAGE))
    return invoke(s, s.creds(), [m.user(PROMPT)], {"image_generate": True}, model=ULTRA)


@scenario("InvokeServerUnavailableError", "500", ECHOED)
def v2_server_error_echoing_the_prompt(s: Session) -> PluginReply:
    s.emu.inject(Fault.echo_prompt(500), times=3)  # every attempt of the retry layer
    return ask_text(s, v2(s))


@scenario("InvokeServerUnavailableError", "could not read")
def v2_malformed_event_quoting_the_answer(s: Session) -> PluginReply:
    done = {"finish_reason": "stop", "usage": {"input_tokens": ANSWER, "output_tokens": 1}}  # pydantic quotes it
    events = [("response.message.delta", {"messages": [{"role": "assistant", "content": [{"text": ANSWER}]}]})]
    s.emu.script(Recorded(recorded.sse([*events, ("response.message.done", done)]), "text/event-stream"))
    return ask_text(s, v2(s))


@scenario("InvokeConnectionError")
def v2_stream_cut_after_the_answer(s: Session) -> PluginReply:
    s.emu.inject(Fault.cut_stream(after_chunks=1))
    return answered(s, Reply(text=[ANSWER, ANSWER]), v2(s))
