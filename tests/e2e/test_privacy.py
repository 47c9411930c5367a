"""Privacy, proven (PRIVACY.md): one plugin session runs every kind of request and every error path with
recognizable canaries (a key, a password, an access token, a client key, a prompt, an answer and a file), and none of
them appears where the plugin could leave it: stderr, log events, error messages and tracebacks sent to the daemon,
or a file anywhere on disk. The plugin runs from its own copy of the package with HOME and TMPDIR pointed at fresh
directories, so "nothing was written" is checked exactly.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from devkit.emulator import Fault, GigaChatEmulator, Reply, ToolAnswer
from devkit.emulator.client import tls_contexts
from devkit.harness import PluginProcess
from devkit.harness import Reply as PluginReply
from devkit.harness import messages as m
from devkit.rig import PROVIDER, credentials_for, snapshot
from tests.e2e import privacy_paths  # its import registers the scenarios of the v2 protocol and newer features
from tests.e2e.privacy_rig import (
    ANSWER,
    CLIENT_ID,
    CLIENT_SECRET,
    ECHOED,
    FILE,
    FRAGMENTED_ID,
    FRAGMENTED_SECRET,
    LOOKUP,
    MALFORMED_USAGE,
    PASSWORD,
    PROMPT,
    SCENARIOS,
    SECRET_FRAGMENT,
    SHORT_PASSWORD,
    WRONG_KEY,
    WRONG_PASSWORD,
    Session,
    answered,
    ask,
    ask_text,
    faulted,
    leaks,
    scenario,
    user_password,
    validation,
)  # fmt: skip

pytestmark = pytest.mark.e2e


@scenario()
def validate(s: Session) -> PluginReply:
    return validation(s, s.creds())


@scenario()
def chat_stream(s: Session) -> PluginReply:
    return answered(s, Reply(text=[ANSWER[:20], ANSWER[20:]]))


@scenario()
def chat_blocking(s: Session) -> PluginReply:
    return answered(s, Reply(text=ANSWER), stream=False)


@scenario()
def tools(s: Session) -> PluginReply:
    s.emu.script(Reply(function_call=("lookup_record", {"query": ANSWER})))
    return ask(s, s.creds(), tools=[LOOKUP])


@scenario()
def embeddings(s: Session) -> PluginReply:
    texts = [PROMPT, FILE.decode()]
    return s.plugin.request(m.invoke_embedding(PROVIDER, "EmbeddingsGigaR", s.creds(), texts, input_type="query"))


@scenario()
def ca_certificate(s: Session) -> PluginReply:
    s.https.script(Reply(text=ANSWER))
    return ask(s, credentials_for(s.https, ca_certificate=s.ca.cert_pem.bytes().decode()))


@scenario()
def username_and_password(s: Session) -> PluginReply:
    return answered(s, Reply(text=ANSWER), user_password(s, PASSWORD))


@scenario()
def mutual_tls(s: Session) -> PluginReply:
    leaf = s.client_ca.issue_cert("canary-client@example.test")
    s.canaries["client key"] = leaf.private_key_pem.bytes().splitlines()[1]  # found wrapped or joined
    creds = {
        "auth_method": "client_certificate",
        "client_certificate": leaf.cert_chain_pems[0].bytes().decode(),
        "client_key": leaf.private_key_pem.bytes().decode(),
        "ca_certificate": s.ca.cert_pem.bytes().decode(),
        "base_url": s.mtls.base_url,
    }
    s.mtls.script(Reply(text=ANSWER))
    return ask(s, creds)


@scenario("CredentialsValidateFailedError", "code 6")
def wrong_key(s: Session) -> PluginReply:
    return validation(s, s.creds(api_key=WRONG_KEY))


@scenario("CredentialsValidateFailedError", "401: Unauthorized")
def wrong_password(s: Session) -> PluginReply:
    return validation(s, user_password(s, WRONG_PASSWORD))


@scenario("InvokeServerUnavailableError", "500", ECHOED)
def server_error_echoing_the_prompt(s: Session) -> PluginReply:
    return faulted(s, Fault.echo_prompt(500), times=3)  # every attempt of the retry layer


@scenario("InvokeBadRequestError", "422", ECHOED)
def unprocessable_quoting_the_prompt(s: Session) -> PluginReply:
    return faulted(s, Fault.status(422, {"status": 422, "message": f"Invalid message content: {PROMPT}"}))


@scenario("InvokeBadRequestError", "422", "Requested model does not support functions")
def unprocessable_with_gigachats_own_message(s: Session) -> PluginReply:
    body = {"status": 422, "message": "Requested model does not support functions"}
    return faulted(s, Fault.status(422, body), stream=False)


@scenario("InvokeAuthorizationError", "401: Unauthorized")
def unauthorized_after_a_fresh_token(s: Session) -> PluginReply:
    return faulted(s, Fault.status(401), times=2)  # the SDK renews the token once, then gives up


@scenario("InvokeAuthorizationError", "401: Token has expired", "'Access token'")
def expired_access_token(s: Session) -> PluginReply:
    token = s.emu.issue_access_token()
    s.canaries["access token"] = token[:40].encode()
    creds = {"auth_method": "access_token", "access_token": token, "base_url": s.emu.base_url}
    s.emu.script(Reply(text=ANSWER))
    assert ask_text(s, creds).error is None
    s.emu.expire_tokens()
    return ask_text(s, creds)


@scenario("InvokeConnectionError", "TLS", "'CA certificate'")
def tls_failure(s: Session) -> PluginReply:
    return ask_text(s, credentials_for(s.https))


@scenario("InvokeServerUnavailableError", "could not read")
def malformed_stream_event(s: Session) -> PluginReply:
    return answered(s, Reply(text=[ANSWER], usage=MALFORMED_USAGE))  # pydantic quotes the invalid value


@scenario("InvokeServerUnavailableError", "could not read")
def malformed_blocking_answer(s: Session) -> PluginReply:
    return answered(s, Reply(text=ANSWER, usage=MALFORMED_USAGE), stream=False)


def searched(s: Session, sources: object) -> PluginReply:
    """GigaChat-3-Ultra's web search, its sources (titles, pages) being part of the answer."""
    s.emu.script(ToolAnswer("web_search", [ANSWER[:20], ANSWER[20:] + " [sources=[1]]."], sources=sources))
    data = m.invoke_llm(PROVIDER, "GigaChat-3-Ultra", s.creds(), [m.user(PROMPT)], {"web_search": True})
    return s.plugin.request(data)


@scenario()
def web_search_sources(s: Session) -> PluginReply:
    return searched(s, {"1": {"url": "https://example.com/" + ANSWER.split(":")[0], "title": ANSWER}})


@scenario("InvokeServerUnavailableError", "could not read")
def malformed_web_search_sources(s: Session) -> PluginReply:
    return searched(s, {"1": {"url": 7, "title": ANSWER}})  # pydantic quotes the invalid object


@scenario("InvokeServerUnavailableError")
def unparseable_stream_line(s: Session) -> PluginReply:
    s.emu.inject(Fault.malformed_event(after_chunks=1))
    return answered(s, Reply(text=[ANSWER, ANSWER]))


@scenario("InvokeConnectionError")
def stream_cut_after_the_answer(s: Session) -> PluginReply:
    s.emu.inject(Fault.cut_stream(after_chunks=1))
    return answered(s, Reply(text=[ANSWER, ANSWER]))


def issued_tokens(s: Session) -> list[str]:
    """The access tokens the plugin sent to the API, as the emulator received them."""
    headers = [r.headers.get("authorization", "") for r in s.emu.requests if r.path.endswith("/chat/completions")]
    return [header.partition(" ")[2] for header in headers if header.startswith("Bearer ")]


@scenario("InvokeAuthorizationError", "401")
def unauthorized_quoting_the_issued_token(s: Session) -> PluginReply:
    reply = faulted(s, Fault.echo_request(401), times=2)  # the SDK renews the token once, then gives up
    for number, token in enumerate(issued_tokens(s)):
        s.canaries[f"issued token {number}"] = token[:40].encode()
    return reply


@scenario("InvokeAuthorizationError", "403")
def forbidden_quoting_the_issued_token(s: Session) -> PluginReply:
    reply = faulted(s, Fault.echo_request(403))
    s.canaries["issued token (403)"] = issued_tokens(s)[0][:40].encode()
    return reply


@scenario("InvokeAuthorizationError", "Authentication at")
def token_refusal_quoting_the_basic_string(s: Session) -> PluginReply:
    s.emu.inject(Fault.echo_request(401), "/token")
    return ask_text(s, user_password(s, SHORT_PASSWORD))


@scenario("InvokeAuthorizationError", "Authentication at")
def token_refusal_quoting_a_short_password(s: Session) -> PluginReply:
    s.emu.inject(Fault.status(401, {"status": 401, "message": f"password {SHORT_PASSWORD} is wrong"}), "/token")
    return ask_text(s, user_password(s, SHORT_PASSWORD) | {"request_timeout": "31"})  # a client of its own


@scenario("InvokeAuthorizationError", "Authentication at")
def oauth_refusal_quoting_a_fragment_of_the_secret(s: Session) -> PluginReply:
    key = base64.b64encode(f"{FRAGMENTED_ID}:{FRAGMENTED_SECRET}".encode()).decode()
    s.emu.inject(Fault.status(401, {"message": f"no client with secret ending {SECRET_FRAGMENT}"}), "/oauth")
    return ask_text(s, s.creds(api_key=key))


@scenario("InvokeBadRequestError", "uploading 'report.txt' failed")
def upload_refusal_quoting_the_file(s: Session) -> PluginReply:
    s.emu.inject(Fault.echo_request(400, "body"), "/files")
    return ask(s, s.creds())


@scenario("InvokeBadRequestError", "422", ECHOED)
def embeddings_error_quoting_the_text(s: Session) -> PluginReply:
    s.emu.inject(Fault.status(422, {"status": 422, "message": f"Input too long: {PROMPT}"}), "/embeddings")
    return s.plugin.request(m.invoke_embedding(PROVIDER, "Embeddings", s.creds(), [PROMPT]))


@pytest.fixture(scope="module")
def session(packaged_plugin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    base = tmp_path_factory.mktemp("privacy")
    dirs = {"plugin folder": base / "plugin", "HOME": base / "home", "TMPDIR": base / "tmp"}
    shutil.copytree(packaged_plugin, dirs["plugin folder"], ignore=shutil.ignore_patterns("__pycache__"))
    dirs["HOME"].mkdir()
    dirs["TMPDIR"].mkdir()
    # As the daemon runs it: no GIGACHAT_* variables, and Python free to cache bytecode.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIGACHAT_") and k != "PYTHONDONTWRITEBYTECODE"}
    tmp = str(dirs["TMPDIR"])
    env |= {"HOME": str(dirs["HOME"]), "TMPDIR": tmp, "TMP": tmp, "TEMP": tmp}
    ca, client_ca = trustme.CA(), trustme.CA()
    with (
        GigaChatEmulator() as emu,
        GigaChatEmulator(ssl_context=tls_contexts(ca)[0]) as https,
        GigaChatEmulator(ssl_context=tls_contexts(ca)[0], client_ca_pem=client_ca.cert_pem.bytes()) as mtls,
    ):
        emu.add_account(CLIENT_ID, CLIENT_SECRET, "GIGACHAT_API_PERS")
        emu.add_user("canary-user", PASSWORD)
        before = {name: snapshot(path) for name, path in dirs.items()}
        started = time.time()
        with PluginProcess(dirs["plugin folder"], python=sys.executable, env=env) as plugin:
            plugin.wait_ready(60)
            s = Session(plugin, emu, https, mtls, ca, client_ca, dirs=dirs, before=before, started=started)
            s.canaries["CA certificate"] = ca.cert_pem.bytes().splitlines()[1]  # never written to disk either
            for scenario in SCENARIOS:
                s.replies[scenario.name] = scenario.run(s)
                s.settle()
        s.after = {name: snapshot(path) for name, path in dirs.items()}
        yield s


# ---- the canaries did travel, so their absence means something ----------------------------------------------------


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[sc.name for sc in SCENARIOS])
def test_each_scenario_ends_as_specified(session, scenario):
    reply = session.replies[scenario.name]
    if scenario.error is None:
        assert reply.error is None, reply.error
    else:
        assert reply.error is not None and reply.error["error_type"] == scenario.error, reply.error
        for words in scenario.keeps:
            assert words in reply.error["message"]


def test_the_canaries_reached_gigachat_and_the_answers_reached_dify(session):
    sent = json.dumps(session.sent, ensure_ascii=False)
    assert PROMPT in sent
    assert "canary-user" not in sent
    assert ANSWER in session.replies["chat-stream"].text
    assert ANSWER in session.replies["tools"].tool_calls[0]["function"]["arguments"]
    assert ANSWER in session.replies["v2-chat-stream-with-a-file"].text
    assert "<think>\n" + ANSWER in session.replies["v2-reasoning"].text
    assert session.replies["web-search-sources"].text.endswith(
        f"[1].\n\nSources:\n- [1] [{ANSWER}](https://example.com/canary-answer-9b4c)"
    )


def test_uploaded_and_generated_file_canaries_were_sent_and_deleted(session):
    assert {f.data for f in session.uploads.values()} == {FILE, privacy_paths.AUDIO, privacy_paths.IMAGE}
    assert set(session.uploads) == set(session.deleted)


# ---- nothing leaks ----------------------------------------------------------------------------------------------


def test_no_error_message_or_traceback_sent_to_the_daemon_holds_a_canary(session):
    for name, reply in session.replies.items():
        if reply.error is not None:
            assert leaks(json.dumps(reply.error, ensure_ascii=False), session) == [], name


def test_only_answers_carry_the_answer_canary_to_the_daemon(session):
    """What else the plugin writes to the daemon holds no canary. A validation result hands the daemon back the
    credentials it sent (dify_plugin's ValidateCredentialsResult), so that field is left out of the check."""
    for line in filter(None, session.plugin.stdout_raw_lines):  # each message is followed by an empty line
        event = json.loads(line)
        is_answer = event.get("event") == "session" and event["data"]["type"] == "stream"
        if is_answer and isinstance(event["data"]["data"], dict):
            event["data"]["data"].pop("credentials", None)
        text = json.dumps(event, ensure_ascii=False)
        shown = ("answer", "generated image as base64")  # the image reaches Dify as base64 in the answer
        assert leaks(text, session, allowed=shown if is_answer else ()) == [], line[:200]


def test_stderr_holds_no_canary(session):
    assert leaks(session.plugin.stderr_text(), session) == []


def test_log_events_hold_no_canary(session):
    assert leaks(json.dumps(session.plugin.logs, ensure_ascii=False), session) == []
    assert leaks(json.dumps(session.plugin.envelope_errors, ensure_ascii=False), session) == []


def files_changed_since(root: Path, started: float) -> Iterator[Path]:
    for directory, _, names in os.walk(root, onerror=lambda _: None):
        for name in names:
            path = Path(directory, name)
            try:
                if path.is_file() and not path.is_symlink() and path.stat().st_mtime >= started:
                    yield path
            except OSError:
                continue


def test_no_file_anywhere_the_plugin_could_write_holds_a_canary(session):
    roots = [*session.dirs.values(), Path(tempfile.gettempdir()), Path("/dev/shm")]
    for root in (r for r in roots if r.is_dir()):
        for path in files_changed_since(root, session.started):
            try:
                data = path.read_bytes()
            except OSError:
                continue
            assert leaks(data, session) == [], path


def without_bytecode(entries: dict[str, tuple], root: Path) -> dict[str, tuple]:
    """Python's own bytecode cache of the plugin's modules (compiled code, never data) is the one thing set aside."""
    kept = {}
    for name, entry in entries.items():
        path = Path(name)
        if path.name == "__pycache__" or path.parent.name == "__pycache__":
            source = path.parent.parent / (path.name.split(".")[0] + ".py")
            assert path.name == "__pycache__" or (path.suffix == ".pyc" and (root / source).is_file()), name
            continue
        kept[name] = entry
    return kept


@pytest.mark.parametrize("where", ["HOME", "TMPDIR"])
def test_the_session_leaves_home_and_the_temp_dir_empty(session, where):
    assert session.before[where] == {}
    assert session.after[where] == {}


def test_the_session_leaves_the_plugin_folder_unchanged(session):
    root = session.dirs["plugin folder"]
    after = without_bytecode(session.after["plugin folder"], root)
    assert after == without_bytecode(session.before["plugin folder"], root)
    assert "main.py" in after
