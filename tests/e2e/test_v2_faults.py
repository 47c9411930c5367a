"""Faults on GigaChat's v2 chat protocol, through the packaged plugin and the emulator: each ends in the same typed Dify
error as on v1 (tests/e2e/test_faults.py), the plugin keeps serving, and the file uploaded for the request is deleted.
"""

from __future__ import annotations

import base64

import pytest

from devkit.emulator import Fault, Reply
from devkit.harness import messages as m
from devkit.rig import PROVIDER
from models.common.retry import DEFAULT_POLICY
from tests.file_samples import png

pytestmark = pytest.mark.e2e
ULTRA = "GigaChat-3-Ultra"
ATTEMPTS = DEFAULT_POLICY.attempts
WEATHER = m.tool_def("get_weather", "Weather", {"type": "object", "properties": {"city": {"type": "string"}}})
IMAGE = m.image_part(base64_data=base64.b64encode(png()).decode(), filename="dot.png")
SCHEMA_COMPLAINT = "Invalid params: Invalid function parameters schema: get_weather: type is required"

FAULTS = [
    # (id, stream, fault, times injected = chat requests the plugin makes, model, error type, phrase)
    ("401-after-renewal", True, Fault.status(401), 2, ULTRA, "InvokeAuthorizationError", "(401"),
    ("404-unknown-model", False, None, 0, "GigaChat-3-Nope", "InvokeBadRequestError", "does not know this model"),
    ("422-naming-a-field", True, Fault.status(422, {"status": 422, "message": "Invalid params: top_p out of range"}),
     1, ULTRA, "InvokeBadRequestError", "(422: Invalid params: top_p out of range)"),
    ("422-naming-a-function", False, Fault.status(422, {"status": 422, "message": SCHEMA_COMPLAINT}), 1, ULTRA,
     "InvokeBadRequestError", "the parameter schema of tool 'get_weather'"),
    ("429", True, Fault.rate_limit(0.05), ATTEMPTS, ULTRA, "InvokeRateLimitError", "rate limit"),
    ("503", False, Fault.status(503, headers={"Retry-After": "0.05"}), ATTEMPTS, ULTRA,
     "InvokeServerUnavailableError", "(503"),
    ("cut-after-the-first-event", True, Fault.cut_stream(after_chunks=1), 1, ULTRA, "InvokeConnectionError",
     "closed the connection"),
    ("malformed-event", True, Fault.malformed_event(after_chunks=1), 1, ULTRA, "InvokeServerUnavailableError",
     "could not read"),
    ("malformed-body", False, Fault.malformed_event(), 1, ULTRA, "InvokeServerUnavailableError", "could not read"),
    ("no-done-event", True, Fault.no_final_event(), 1, ULTRA, "InvokeConnectionError", "ended before the answer"),
]  # fmt: skip


def chat(plugin, creds, model=ULTRA, stream=True, text="one two three four five six"):
    message = m.user([m.text_part(text), IMAGE])
    return plugin.request(m.invoke_llm(PROVIDER, model, creds, [message], tools=[WEATHER], stream=stream), timeout=20)


@pytest.mark.parametrize(
    ("stream", "fault", "times", "model", "error_type", "phrase"), [r[1:] for r in FAULTS], ids=[r[0] for r in FAULTS]
)
def test_a_v2_fault_is_the_typed_error_v1_gives_and_leaves_nothing_on_gigachat(
    plugin, emu, creds, stream, fault, times, model, error_type, phrase
):
    assert chat(plugin, creds).error is None  # signed in, so a 401 below is the API's, not the OAuth step's
    if fault is not None:
        emu.inject(fault, times=times)
    before = len(emu.chat_requests)
    reply = chat(plugin, creds, model, stream)
    # Retried only before an answer started (429, 503) or once after renewing the token (401); never after.
    assert len(emu.chat_requests) - before == max(times, 1)
    assert reply.error["error_type"] == error_type
    assert reply.error["message"].startswith("[gigachat] ")
    assert phrase in reply.error["message"]
    assert all(path.endswith("/v2/chat/completions") for path in (r.path for r in emu.requests) if "chat" in path)
    assert emu.live_files() == set()
    assert plugin.alive()
    assert chat(plugin, creds, text="and again").text == "Echo: and again"


def test_an_event_of_an_unknown_name_mid_stream_is_skipped_and_the_answer_completes(plugin, emu, creds):
    emu.script(Reply(text=["Echo ", "this ", "back"]))
    emu.inject(Fault.unknown_event(after_chunks=1))
    reply = chat(plugin, creds)
    assert (reply.error, reply.text, reply.finish_reason) == (None, "Echo this back", "stop")
    assert emu.live_files() == set()


RECOVERED = [
    # (id, stream, fault): failures before GigaChat sent a byte of the answer, retried as on v1
    ("stream-cut-before-its-first-event", True, Fault.cut_stream(after_chunks=0)),
    ("429-streamed", True, Fault.rate_limit(0.05)),
    ("503-blocking", False, Fault.status(503, headers={"Retry-After": "0.05"})),
]


@pytest.mark.parametrize(("stream", "fault"), [r[1:] for r in RECOVERED], ids=[r[0] for r in RECOVERED])
def test_a_v2_failure_before_the_answer_starts_is_retried_the_answer_arrives_once_and_its_file_is_deleted(
    plugin, emu, creds, stream, fault
):
    emu.inject(fault)
    reply = chat(plugin, creds, stream=stream)
    assert (reply.error, reply.text) == (None, "Echo: one two three four five six")
    assert len(emu.chat_requests) == 2
    assert all(r.path.endswith("/v2/chat/completions") for r in emu.requests if "chat" in r.path)
    assert len(emu.files) == 1 and emu.live_files() == set()  # uploaded once for the request, deleted at its end
