"""Faults between the plugin and GigaChat, through the packaged plugin and the emulator: each ends in a recovered
answer or in one typed error within a bounded time, the wire shows how often the plugin tried, and the next request
succeeds.

Retries stay fast without test-only knobs: the emulator answers 429 and 503 with a small Retry-After, which the
plugin honours as any server's (models/common/retry.py); only faults without a Retry-After (a dropped connection,
a plain 500) wait for the product's own backoff, at most 1.5 s per test.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable

import pytest

from devkit.emulator import Fault, GigaChatEmulator
from devkit.harness import messages as m
from devkit.rig import PROVIDER, credentials_for
from models.common.retry import DEFAULT_POLICY

pytestmark = pytest.mark.e2e
MODEL = "GigaChat-2-Max"
ATTEMPTS = DEFAULT_POLICY.attempts  # one try and two retries
BOUND = 20  # seconds any faulty request may take before the test gives up on it
PROMPT = "alpha beta gamma delta epsilon zeta eta theta iota kappa"
ANSWER = f"Echo: {PROMPT}"
MODES = pytest.mark.parametrize("stream", [True, False], ids=["stream", "blocking"])


def chat(plugin, creds, stream=True, text=PROMPT):
    return plugin.request(m.invoke_llm(PROVIDER, MODEL, creds, [m.user(text)], {}, stream=stream), timeout=BOUND)


def assert_next_request_succeeds(plugin, creds):
    assert chat(plugin, creds, text="and again").text == "Echo: and again"


def fresh_credentials(emu: GigaChatEmulator, **overrides: str) -> dict[str, str]:
    """A credential set no cached client holds a token for, so its first request authenticates."""
    key = emu.add_account(str(uuid.uuid4()), str(uuid.uuid4()), "GIGACHAT_API_PERS")
    return credentials_for(emu, api_key=key, **overrides)


def oauth_attempts(emu: GigaChatEmulator) -> int:
    """OAuth requests on the wire, answered or not (`emu.oauth_calls` counts only the answered ones)."""
    return sum(1 for request in emu.requests if request.path.endswith("/oauth"))


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def expire_every_token(emu: GigaChatEmulator) -> None:
    emu.expire_tokens()


def revoke_the_next_call(emu: GigaChatEmulator) -> None:
    emu.inject(Fault.status(401))


# ---- 401: the token dies mid-session ----------------------------------------------------------------------------


@MODES
@pytest.mark.parametrize("revoke", [expire_every_token, revoke_the_next_call], ids=["expired", "revoked"])
def test_a_token_that_dies_mid_session_is_renewed_once_and_the_request_succeeds(
    plugin, emu, creds, stream, revoke: Callable[[GigaChatEmulator], None]
):
    assert chat(plugin, creds).error is None  # the cached client now holds a token GigaChat accepted
    oauth_before, chats_before = emu.oauth_calls, len(emu.chat_requests)
    revoke(emu)
    reply = chat(plugin, creds, stream)
    assert reply.error is None
    assert reply.text == ANSWER
    assert emu.oauth_calls == oauth_before + 1
    assert len(emu.chat_requests) == chats_before + 2  # the refused call and its one repetition


def test_a_token_refused_again_right_after_renewal_is_an_authorization_error_without_a_loop(plugin, emu, creds):
    assert chat(plugin, creds).error is None
    oauth_before = emu.oauth_calls
    emu.inject(Fault.status(401), times=2)
    reply = chat(plugin, creds)
    assert reply.error["error_type"] == "InvokeAuthorizationError"
    assert "401" in reply.error["message"]
    assert emu.oauth_calls == oauth_before + 1
    assert_next_request_succeeds(plugin, creds)


# ---- 429 and 5xx before the first byte: bounded retries, then a typed error --------------------------------------

RETRIED = [
    ("429-retry-after", Fault.rate_limit(0.05), "InvokeRateLimitError", "rate limit"),
    ("503-retry-after", Fault.status(503, headers={"Retry-After": "0.05"}), "InvokeServerUnavailableError", "(503"),
    ("500-backoff", Fault.status(500), "InvokeServerUnavailableError", "unavailable (500"),
    ("dropped-connection", Fault.drop(), "InvokeConnectionError", "closed the connection"),
]
# A plain 500 retries like a 503, only after the backoff instead of a Retry-After: shown once, running out.
RECOVERED = [row for row in RETRIED if row[0] != "500-backoff"]


@MODES
@pytest.mark.parametrize("fault", [r[1] for r in RECOVERED], ids=[r[0] for r in RECOVERED])
def test_a_failure_before_the_first_byte_is_retried_and_the_answer_arrives_once(plugin, emu, creds, stream, fault):
    emu.inject(fault, times=ATTEMPTS - 1)
    reply = chat(plugin, creds, stream)
    assert reply.error is None
    assert reply.text == ANSWER  # a stream reopened before its first chunk repeats nothing
    assert len(emu.chat_requests) == ATTEMPTS


@MODES
@pytest.mark.parametrize(("fault", "error_type", "phrase"), [r[1:] for r in RETRIED], ids=[r[0] for r in RETRIED])
def test_a_failure_that_outlasts_the_retries_is_a_typed_error_after_exactly_the_policy_attempts(
    plugin, emu, creds, stream, fault, error_type, phrase
):
    emu.inject(fault, times=ATTEMPTS + 2)
    reply = chat(plugin, creds, stream)
    assert reply.error["error_type"] == error_type
    assert phrase in reply.error["message"]
    # One retry layer: with the SDK retrying too, the emulator would count attempts times its own.
    assert len(emu.chat_requests) == ATTEMPTS
    emu.reset()
    assert_next_request_succeeds(plugin, creds)


@pytest.mark.parametrize(
    ("fault", "error_type"),
    [
        (Fault.rate_limit(3600), "InvokeRateLimitError"),
        (Fault.status(503, headers={"Retry-After": "3600"}), "InvokeServerUnavailableError"),
    ],
    ids=["429", "503"],
)
def test_a_retry_after_beyond_the_plugins_cap_is_not_waited_for(plugin, emu, creds, fault, error_type):
    emu.inject(fault, times=ATTEMPTS)
    reply = chat(plugin, creds)
    assert reply.error["error_type"] == error_type
    assert len(emu.chat_requests) == 1


# ---- a stream is never repeated once the user has seen part of it ------------------------------------------------


def test_a_stream_cut_after_chunks_reached_the_user_is_not_retried_and_no_text_repeats(plugin, emu, creds):
    emu.inject(Fault.cut_stream(after_chunks=3))
    reply = chat(plugin, creds)
    assert reply.error["error_type"] == "InvokeConnectionError"
    assert len(emu.chat_requests) == 1
    assert reply.text and ANSWER.startswith(reply.text) and reply.text != ANSWER
    assert_next_request_succeeds(plugin, creds)


def test_a_stream_cut_before_its_first_event_is_reopened_and_the_answer_arrives_once(plugin, emu, creds):
    emu.inject(Fault.cut_stream(after_chunks=0))
    reply = chat(plugin, creds)
    assert reply.text == ANSWER
    assert len(emu.chat_requests) == 2


# ---- broken answers: a typed error within a bounded time, never a retry that could bill twice --------------------

BROKEN = [
    ("html-gateway-page-stream", True, Fault.html(502), ATTEMPTS, "InvokeServerUnavailableError", "HTML error page"),
    ("html-gateway-page-blocking", False, Fault.html(502), ATTEMPTS, "InvokeServerUnavailableError", "HTML error page"),
    ("malformed-body-blocking", False, Fault.malformed_event(), 1, "InvokeServerUnavailableError", "could not read"),
    ("malformed-first-event", True, Fault.malformed_event(after_chunks=0), 1, "InvokeServerUnavailableError", "read"),
    ("stall-mid-stream", True, Fault.stall(5, after_chunks=2), 1, "InvokeConnectionError", "timed out"),
    ("stall-before-the-answer", False, Fault.stall(5), 1, "InvokeConnectionError", "timed out"),
]


@pytest.mark.parametrize(
    ("stream", "fault", "requests", "error_type", "phrase"), [r[1:] for r in BROKEN], ids=[r[0] for r in BROKEN]
)
def test_a_broken_answer_is_a_typed_error_with_a_clear_message_and_the_next_request_succeeds(
    plugin, emu, stream, fault, requests, error_type, phrase
):
    creds = credentials_for(emu, request_timeout="1")
    emu.inject(fault, times=ATTEMPTS + 2)
    reply = chat(plugin, creds, stream)  # bounded: BOUND seconds, the stall alone would take 5, the timeout is 1
    assert reply.error["error_type"] == error_type
    assert reply.error["message"].startswith("[gigachat] ")
    assert phrase in reply.error["message"]
    assert len(emu.chat_requests) == requests  # a read timeout or an unreadable answer is never sent again
    emu.reset()
    assert_next_request_succeeds(plugin, creds)


# ---- the OAuth step fails: a typed error that names it -----------------------------------------------------------

OAUTH_FAULTS = [
    (
        "server-error",
        Fault.status(500, headers={"Retry-After": "0.05"}),
        ATTEMPTS,
        "InvokeServerUnavailableError",
        "the OAuth server answered 500",
    ),
    ("gateway-page", Fault.html(502), ATTEMPTS, "InvokeServerUnavailableError", "the OAuth server answered 502"),
    (
        "key-revoked",
        Fault.status(401, body={"code": 6, "message": "credentials doesn't match db data"}),
        1,
        "InvokeAuthorizationError",
        "the authorization key is wrong or revoked",
    ),
    ("dropped-connection", Fault.drop(), ATTEMPTS, "InvokeConnectionError", "closed the connection"),
    ("stall", Fault.stall(5), 1, "InvokeConnectionError", "timed out"),
]


@pytest.mark.parametrize(
    ("fault", "attempts", "error_type", "phrase"), [r[1:] for r in OAUTH_FAULTS], ids=[r[0] for r in OAUTH_FAULTS]
)
def test_an_oauth_failure_is_a_typed_error_naming_the_authentication_step(
    plugin, emu, fault, attempts, error_type, phrase
):
    creds = fresh_credentials(emu, request_timeout="1")
    emu.inject(fault, path="/oauth", times=ATTEMPTS + 2)
    reply = chat(plugin, creds)
    assert reply.error["error_type"] == error_type
    assert reply.error["message"].startswith(f"[gigachat] Authentication at {emu.host}")
    assert phrase in reply.error["message"]
    assert oauth_attempts(emu) == attempts
    assert emu.chat_requests == []  # nothing reached the API without a token
    emu.reset()
    assert_next_request_succeeds(plugin, creds)  # the same credentials authenticate once the host recovers


def test_an_oauth_host_that_is_down_is_a_connection_error_naming_the_authentication_step(plugin, emu):
    port = closed_port()
    creds = fresh_credentials(emu, auth_url=f"http://127.0.0.1:{port}/api/v2/oauth")
    reply = chat(plugin, creds)
    assert reply.error["error_type"] == "InvokeConnectionError"
    assert f"Authentication at 127.0.0.1:{port}: could not connect" in reply.error["message"]
    assert emu.chat_requests == []
