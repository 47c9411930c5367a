"""The GigaChat emulator, specified through the real `gigachat` SDK (raw httpx only where the SDK would refuse to
send the malformed request under test)."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pydantic
import pytest
import trustme
from gigachat import GigaChat
from gigachat import exceptions as gx
from gigachat.context import session_id_cvar

from devkit.emulator import Fault, GigaChatEmulator, Reply, count_tokens
from devkit.emulator.client import make_client, tls_contexts
from tests.devkit.sdk_helpers import call, collect, result, stream_text, user
from tests.tables import table

pytestmark = [pytest.mark.devkit, pytest.mark.usefixtures("clean_gigachat_env")]


@pytest.fixture
def emu() -> Iterator[GigaChatEmulator]:
    with GigaChatEmulator() as emulator:  # start/stop take milliseconds, so every test gets a fresh one
        yield emulator


REPO = Path(__file__).resolve().parents[2]
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
CITY = {"city": {"type": "string", "description": "City"}, "days": {"type": "integer"}}
WEATHER = {"name": "get_weather", "parameters": {"type": "object", "properties": CITY, "required": ["city", "days"]}}


# ---- authentication ---------------------------------------------------------------------------------------------


def test_one_oauth_token_serves_many_calls_and_the_oauth_request_looks_like_sber_expects(emu):
    client = make_client(emu)
    for _ in range(3):
        client.chat("hi")
    assert emu.oauth_calls == 1
    oauth = next(r for r in emu.requests if r.path == "/api/v2/oauth")
    assert UUID4.match(oauth.headers["rquid"])
    assert (oauth.headers["authorization"], oauth.body) == (f"Basic {emu.credentials()}", b"scope=GIGACHAT_API_PERS")
    chats = [r for r in emu.requests if r.path.endswith("/chat/completions")]
    assert all(r.headers["authorization"].startswith("Bearer ") for r in chats)
    assert len(chats[0].headers["authorization"]) > 1000  # ~1.2 KB, like real JWE tokens


@pytest.mark.parametrize(
    ("credentials", "scope", "error", "code"),
    **table(
        ("undecodable", lambda emu: "not base64!", "GIGACHAT_API_PERS", gx.AuthenticationError, 4),
        ("unknown-key", lambda emu: "eDp5", "GIGACHAT_API_PERS", gx.AuthenticationError, 6),
        # Code 7 comes with 400, per Sber's error table (developers.sber.ru/docs/ru/gigachat/api/errors-description).
        ("wrong-scope", lambda emu: emu.credentials(), "GIGACHAT_API_B2B", gx.BadRequestError, 7),
        ("empty-scope", lambda emu: emu.credentials(), "", gx.BadRequestError, 5),
        ("invalid-scope", lambda emu: emu.credentials(), "GIGACHAT_API_X", gx.BadRequestError, 1),
    ),
)
def test_oauth_rejections_carry_gigachat_error_codes(emu, credentials, scope, error, code):
    with pytest.raises(error) as caught:
        make_client(emu, credentials=credentials(emu), scope=scope).chat("hi")
    assert json.loads(caught.value.content)["code"] == code


def test_each_scope_has_its_own_account(emu):
    corp = emu.credentials("GIGACHAT_API_CORP")
    assert corp != emu.credentials()
    assert (
        make_client(emu, credentials=corp, scope="GIGACHAT_API_CORP").chat("hi").choices[0].message.content
        == "Echo: hi"
    )


def test_expired_tokens_make_the_sdk_reauthenticate_transparently(emu):
    client = make_client(emu)
    client.chat("one")
    emu.expire_tokens()
    assert client.chat("two").choices[0].message.content == "Echo: two"
    assert emu.oauth_calls == 2


def test_a_preissued_access_token_needs_no_oauth_until_it_expires(emu):
    client = make_client(emu, credentials=None, access_token=emu.issue_access_token())
    client.chat("hi")
    assert emu.oauth_calls == 0
    emu.expire_tokens()
    with pytest.raises(gx.AuthenticationError) as caught:
        client.chat("hi")
    assert json.loads(caught.value.content) == {"status": 401, "message": "Token has expired"}


@pytest.mark.parametrize(("in_seconds", "digits", "sign_ins"), **table(("seconds", True, 10, 2), ("ms", False, 13, 1)))
def test_the_token_endpoint_answers_exp_in_seconds_unless_told_milliseconds(emu, in_seconds, digits, sign_ins):
    """Sber documents `exp` in seconds (developers.sber.ru/docs/en/gigachat/api/authorization); the SDK reads it as
    milliseconds, so against a seconds server it signs in before every call, as the SDK's June 2026 recordings show."""
    assert emu.token_exp_in_seconds  # the default
    emu.token_exp_in_seconds = in_seconds
    emu.add_user("alice", "s3cret")
    answer = httpx.post(f"{emu.base_url}/token", auth=("alice", "s3cret")).json()
    assert len(str(answer["exp"])) == digits
    client = make_client(emu, credentials=None, user="alice", password="s3cret")
    client.chat("a")
    client.chat("b")
    assert emu.token_calls == 1 + sign_ins
    with pytest.raises(gx.AuthenticationError):
        make_client(emu, credentials=None, user="alice", password="wrong").chat("a")


def test_api_calls_without_a_valid_bearer_are_unauthorized(emu):
    response = httpx.post(f"{emu.base_url}/chat/completions", json={}, headers={"Authorization": "Bearer nope"})
    assert (response.status_code, response.json()) == (401, {"status": 401, "message": "Unauthorized"})


# ---- chat -------------------------------------------------------------------------------------------------------


def test_blocking_chat_echoes_the_last_user_message_with_rule_based_usage_and_session_id(emu):
    messages = [{"role": "system", "content": "Be brief"}, user("first"), {"role": "assistant", "content": "ok"}]
    messages.append(user("Привет, мир"))
    token = session_id_cvar.set("session-42")
    try:
        answer = make_client(emu).chat({"messages": messages})
    finally:
        session_id_cvar.reset(token)
    expected = "Echo: Привет, мир"
    assert (answer.choices[0].message.content, answer.choices[0].finish_reason) == (expected, "stop")
    assert answer.model.startswith("GigaChat-2:")
    prompt, completion = sum(count_tokens(m["content"]) for m in messages), count_tokens(expected)
    usage = answer.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (
        prompt,
        completion,
        prompt + completion,
    )
    assert usage.precached_prompt_tokens == 0  # always present, as in every recorded answer
    assert emu.chat_requests[-1]["messages"] == messages
    assert answer.x_headers["x-session-id"] == "session-42" and answer.x_headers["x-request-id"]


def test_stream_has_role_first_and_finish_reason_with_usage_last(emu):
    chunks = list(make_client(emu).stream("one two three four five six seven eight nine ten"))
    assert len(chunks) >= 4
    assert chunks[0].choices[0].delta.role == "assistant"
    assert stream_text(chunks) == "Echo: one two three four five six seven eight nine ten"
    last = chunks[-1]
    assert (last.choices[0].delta.content, last.choices[0].finish_reason) == ("", "stop")
    assert last.usage.total_tokens == last.usage.prompt_tokens + last.usage.completion_tokens
    assert last.usage.precached_prompt_tokens == 0
    assert all(c.usage is None for c in chunks[:-1])


def test_sse_framing_is_exactly_data_lines_and_done(emu):
    headers = {"Authorization": f"Bearer {emu.issue_access_token()}"}
    body = {"model": "GigaChat", "messages": [user("hi")], "stream": True}
    with httpx.stream("POST", f"{emu.base_url}/chat/completions", json=body, headers=headers) as response:
        assert response.headers["content-type"] == "text/event-stream"
        events = response.read().decode().split("\n\n")
    assert events[-2:] == ["data: [DONE]", ""]
    assert all(e.startswith("data: {") for e in events[:-2])


def test_scripted_replies_are_served_in_order_then_echo_resumes(emu):
    emu.script(Reply("first"), Reply(["a", "b", "c"], precached_prompt_tokens=3))
    client = make_client(emu)
    assert client.chat("x").choices[0].message.content == "first"
    chunks = list(client.stream("x"))
    assert [c.choices[0].delta.content for c in chunks] == ["a", "b", "c", ""]
    assert chunks[-1].usage.precached_prompt_tokens == 3
    assert client.chat("x").choices[0].message.content == "Echo: x"


def test_function_call_arrives_whole_in_one_stream_delta(emu):
    emu.script(Reply(function_call=("get_weather", {"city": "Москва", "days": 2}), functions_state_id="st-1"))
    chunks = list(make_client(emu).stream({"messages": [user("weather?")], "functions": [WEATHER]}))
    calls = [c for c in chunks if c.choices[0].delta.function_call]
    assert len(calls) == 1
    delta = calls[0].choices[0].delta
    assert (delta.function_call.name, delta.function_call.arguments) == ("get_weather", {"city": "Москва", "days": 2})
    assert (delta.functions_state_id, calls[0].choices[0].finish_reason) == ("st-1", "function_call")


def test_function_round_trip_history_is_accepted(emu):
    history = [user("weather?"), call("get_weather", {"city": "X"}), result("get_weather", '{"temp": 3}')]
    assert make_client(emu).chat({"messages": history, "functions": [WEATHER]}).choices[0].finish_reason == "stop"


def test_forced_function_call_gets_synthesized_arguments(emu):
    answer = make_client(emu).chat(
        {"messages": [user("w")], "functions": [WEATHER], "function_call": {"name": "get_weather"}}
    )
    message = answer.choices[0].message
    assert (answer.choices[0].finish_reason, message.function_call.name) == ("function_call", "get_weather")
    assert set(message.function_call.arguments) >= {"city", "days"}
    assert message.functions_state_id


def test_json_schema_response_format_gets_a_conforming_document(emu):
    class Person(pydantic.BaseModel):
        name: str
        age: int
        tags: list[str]

    _, parsed = make_client(emu).chat_parse("who?", response_format=Person)
    assert isinstance(parsed, Person)
    assert emu.chat_requests[-1]["response_format"]["type"] == "json_schema"


def test_reasoning_streams_before_content(emu):
    emu.script(Reply("answer", reasoning=["think ", "more"]), Reply("answer", reasoning="thinking hard"))
    client = make_client(emu, model="GigaChat-2-Reasoning")
    kinds = ["r" if c.choices[0].delta.reasoning_content else "c" for c in client.stream("q")]
    assert kinds[:2] == ["r", "r"] and "r" not in kinds[2:]
    assert client.chat("q").choices[0].message.reasoning_content == "thinking hard"


def test_default_echo_respects_max_tokens_with_finish_reason_length(emu):
    answer = make_client(emu).chat({"messages": [user("x" * 100)], "max_tokens": 2})
    assert answer.choices[0].finish_reason == "length"
    assert answer.usage.completion_tokens <= 2


# ---- faults -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "error", "status"),
    **table(
        ("500", Fault.status(500), gx.ServerError, 500),
        ("403", Fault.status(403, {"status": 403, "message": "Permission denied"}), gx.ForbiddenError, 403),
        ("402-text", Fault.status(402, "Payment Required"), gx.ResponseError, 402),
        ("429", Fault.rate_limit(1.5), gx.RateLimitError, 429),
        ("nginx-502", Fault.html(502), gx.ServerError, 502),
        ("echo-prompt", Fault.echo_prompt(), gx.ServerError, 500),
    ),
)
def test_status_faults_surface_as_sdk_response_errors(emu, fault, error, status):
    emu.inject(fault)
    with pytest.raises(error) as caught:
        make_client(emu).chat("secret prompt")
    assert caught.value.status_code == status
    assert fault.kind != "html" or caught.value.content.startswith(b"<html>")
    assert fault.kind != "echo_prompt" or b"secret prompt" in caught.value.content
    assert status != 429 or caught.value.headers["retry-after"] == "1.5"


def test_faults_hit_only_the_next_matching_requests(emu):
    emu.inject(Fault.rate_limit(0.01), times=2)
    client = make_client(emu, max_retries=2)
    assert client.chat("x").choices[0].message.content == "Echo: x"
    assert len(emu.chat_requests) == 3
    client.embeddings(["unaffected"])


def test_a_fault_on_any_path_can_break_oauth(emu):
    emu.inject(Fault.status(503), path=None)
    with pytest.raises(gx.ServerError) as caught:
        make_client(emu).chat("x")
    assert "/api/v2/oauth" in str(caught.value.url)


def test_a_single_401_is_absorbed_by_one_reauthentication(emu):
    client = make_client(emu)
    client.chat("x")
    emu.inject(Fault.status(401))
    assert client.chat("y").choices[0].message.content == "Echo: y"
    assert emu.oauth_calls == 2


@pytest.mark.parametrize(
    ("fault", "error"),
    **table(
        ("drop", Fault.drop(), httpx.RemoteProtocolError),
        ("cut-means-drop", Fault.cut_stream(), httpx.RemoteProtocolError),
        ("stall", Fault.stall(2.0), httpx.ReadTimeout),
        ("malformed-body", Fault.malformed_event(), json.JSONDecodeError),
    ),
)
def test_transport_faults_on_blocking_requests(emu, fault, error):
    emu.inject(fault)
    with pytest.raises(error):
        make_client(emu, timeout=0.3).chat("x")


@pytest.mark.parametrize(
    ("fault", "received", "error"),
    **table(
        ("cut", Fault.cut_stream(after_chunks=2), 2, httpx.RemoteProtocolError),
        ("malformed", Fault.malformed_event(after_chunks=1), 1, pydantic.ValidationError),
        ("stall", Fault.stall(2.0, after_chunks=1), 1, httpx.ReadTimeout),
    ),
)
def test_stream_faults_break_the_stream_after_some_chunks(emu, fault, received, error):
    emu.inject(fault)
    chunks, exc = collect(make_client(emu, timeout=0.3).stream("one two three four five"))
    assert len(chunks) == received
    assert isinstance(exc, error)


def test_a_stream_without_its_final_event_ends_quietly_without_finish_reason(emu):
    emu.inject(Fault.no_final_event())
    chunks, exc = collect(make_client(emu).stream("one two three"))
    assert exc is None and stream_text(chunks) == "Echo: one two three"
    assert all(c.choices[0].finish_reason is None and c.usage is None for c in chunks)


def test_latency_and_chunk_delay_shape_the_timing_seen_by_the_client(emu):
    client = make_client(emu)
    client.chat("warm up")
    emu.latency, emu.chunk_delay = 0.15, 0.1
    emu.script(Reply(text=["one ", "two ", "three ", "four ", "five"]))
    started = time.perf_counter()
    arrivals = [time.perf_counter() for _ in client.stream("count")]
    sent = emu.requests[-1].sent  # when the emulator wrote each event
    assert arrivals[0] - started >= 0.15
    assert all(b - a >= 0.1 for a, b in itertools.pairwise(sent))
    # Each event is flushed as it is written: the first reaches the client long before the last one is even written,
    # where a buffered stream would arrive in one burst at the end.
    assert arrivals[0] < sent[-1]


def test_concurrent_streams_share_one_token_and_sequential_calls_keep_the_connection_alive(emu):
    client = make_client(emu)
    results: list[str] = []
    threads = [
        threading.Thread(target=lambda: results.append(stream_text(list(client.stream("p"))))) for _ in range(16)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert (results, emu.oauth_calls) == (["Echo: p"] * 16, 1)
    for _ in range(3):
        client.chat("sequential")
    assert len({r.peer for r in emu.requests[-3:]}) == 1


def test_requests_beyond_the_stream_limit_are_refused_with_429_and_the_peak_is_recorded(emu):
    client = make_client(emu)
    client.chat("warm up")  # the token first, so signing in takes no stream
    emu.max_in_flight = 2
    gate = emu.hold(None)  # the first two wait until the test lets them go
    outcomes: list[object] = []

    def embed() -> None:
        try:
            outcomes.append(len(client.embeddings(["text"]).data))
        except gx.ResponseError as error:
            outcomes.append(error.status_code)

    threads = [threading.Thread(target=embed) for _ in range(2)]
    for thread in threads:
        thread.start()
    assert gate.wait_until_waiting(2)
    embed()  # a third while two are being answered
    gate.open()
    for thread in threads:
        thread.join(10)
    assert sorted(outcomes, key=str) == [1, 1, 429]
    assert (emu.peak_in_flight, emu.refused_over_limit) == (2, 1)


def test_a_held_path_is_answered_once_enough_requests_wait_together_and_later_ones_pass_straight(emu):
    client = make_client(emu)
    client.chat("warm up")
    gate = emu.hold(3)
    with ThreadPoolExecutor(3) as pool:
        assert [len(r.data) for r in pool.map(lambda i: client.embeddings([f"text {i}"]), range(3))] == [1, 1, 1]
    assert emu.peak_in_flight == 3 and not gate.timed_out
    assert len(client.embeddings(["later"]).data) == 1
    assert client.chat("other paths are never held").choices[0].message.content


def test_a_gate_that_never_fills_lets_its_requests_go_after_its_timeout_and_says_so(emu):
    client = make_client(emu)
    gate = emu.hold(2, timeout=0.05)
    assert len(client.embeddings(["alone"]).data) == 1
    assert gate.timed_out


def test_reset_forgets_history_but_keeps_accounts_and_tokens(emu):
    client = make_client(emu)
    client.chat("x")
    emu.script(Reply("unused"))
    emu.inject(Fault.status(500))
    emu.reset()
    assert (emu.requests, emu.chat_requests, emu.oauth_calls) == ([], [], 0)
    assert client.chat("y").choices[0].message.content == "Echo: y"


# ---- TLS and the CLI --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def test_https_with_a_private_ca(ca):
    server, client = tls_contexts(ca)
    with GigaChatEmulator(ssl_context=server) as emu:
        assert emu.base_url.startswith("https://")
        assert make_client(emu, ssl_context=client).chat("tls").choices[0].message.content == "Echo: tls"
        with pytest.raises(httpx.ConnectError):
            make_client(emu).chat("untrusted")


def test_mtls_requires_a_client_certificate_signed_by_the_given_ca(ca, tmp_path):
    client_ca = trustme.CA()
    server, trusting = tls_contexts(ca)
    with GigaChatEmulator(ssl_context=server, client_ca_pem=client_ca.cert_pem.bytes()) as emu:
        issued = client_ca.issue_cert("client@example.com")
        cert_file, key_file = str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")
        issued.cert_chain_pems[0].write_to_path(cert_file)
        issued.private_key_pem.write_to_path(key_file)
        with pytest.warns(DeprecationWarning):  # httpx 0.28 deprecates cert=, which the SDK still uses
            client = make_client(emu, credentials=None, ssl_context=trusting, cert_file=cert_file, key_file=key_file)
            assert client.chat("mtls").choices[0].message.content == "Echo: mtls"
        assert emu.requests[-1].client_cert and "authorization" not in emu.requests[-1].headers
        with pytest.raises(httpx.TransportError):
            make_client(emu, credentials=None, access_token="x", ssl_context=tls_contexts(ca)[1]).chat("no cert")


def test_cli_prints_connection_details_and_serves_until_killed():
    command = [sys.executable, "-m", "devkit.emulator", "--port", "0"]
    proc = subprocess.Popen(command, cwd=REPO, stderr=subprocess.PIPE, text=True)
    try:
        details = dict(proc.stderr.readline().strip().split("=", 1) for _ in range(5))
        settings = {k: details[k] for k in ("base_url", "auth_url", "credentials", "scope")}
        client = GigaChat(**settings, model="GigaChat-2", timeout=5.0, max_retries=0)
        assert client.chat("cli").choices[0].message.content == "Echo: cli"
    finally:
        proc.terminate()
        proc.wait(5)
    assert proc.returncode == 0
