"""Malformed and hostile input from Dify, from a user, from a file server or from whatever answers at GigaChat's URL,
as two tables through the packaged plugin: each request ends in a typed error whose message says what was wrong
(or, where the input is merely odd, in a valid answer), never in a crash, an untyped error or a reply line the daemon
would choke on (the harness checks every stdout line, 5 MiB included); a hostile input costs the process little
memory; and after the whole corpus the same process serves a normal request."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from devkit.bombs import MiB, gzip_layers, zip_bomb, zip_of_entries
from devkit.emulator import Fault, GigaChatEmulator, Reply
from devkit.file_server import FileServer
from devkit.harness import messages as m
from devkit.rig import PROVIDER, PeakMemory
from tests import file_samples as files

pytestmark = pytest.mark.e2e
MODEL = "GigaChat-2-Max"
EMBEDDER = "Embeddings"
BAD = "InvokeBadRequestError"
AUTH = "InvokeAuthorizationError"
CREDS = "CredentialsValidateFailedError"
SERVER = "InvokeServerUnavailableError"
CONNECTION = "InvokeConnectionError"
Build = Callable[[dict], dict]
TWO_MB = 2 * 1024 * 1024


def raw(role: Any, content: Any, **fields: Any) -> dict:
    """A prompt message as raw JSON, for shapes the harness builders would not produce."""
    return {"role": role, "content": content, "name": "", "tool_calls": None, "tool_call_id": "", **fields}


def chat(
    messages: list | None = None,
    parameters: dict | None = None,
    tools: list | None = None,
    stream: bool = True,
    creds: dict | None = None,
    **top: Any,
) -> Build:
    """An invoke_llm request; `creds` overrides credential fields (None removes one), `top` replaces request keys."""

    def build(valid: dict) -> dict:
        credentials = {k: v for k, v in {**valid, **(creds or {})}.items() if v is not None}
        prompt = messages if messages is not None else [m.user("hi")]
        data = m.invoke_llm(PROVIDER, MODEL, credentials, prompt, parameters, tools=tools, stream=stream)
        return {**data, **top}

    return build


def without(key: str, build: Build | None = None) -> Build:
    return lambda valid: {k: v for k, v in (build or chat())(valid).items() if k != key}


def embed(texts: Any, input_type: str = "document") -> Build:
    return lambda valid: m.invoke_embedding(PROVIDER, EMBEDDER, valid, texts, input_type=input_type)


def image(data: bytes | None = None, b64: str | None = None, mime: str = "image/png", name: str = "a.png") -> dict:
    return m.image_part(base64_data=b64 if b64 is not None else files.b64(data or b""), mime_type=mime, filename=name)


def asking(*parts: dict) -> list[dict]:
    return [m.user([m.text_part("what is this?"), *parts])]


def called(arguments: str) -> list[dict]:
    """A history whose assistant called tool `f` with `arguments`, then the tool's result and a new question."""
    return [m.user("hi"), m.assistant("", [m.tool_call("c1", "f", arguments)]), m.tool("42", "c1", "f"), m.user("ok")]


def tool(parameters: Any, name: str = "t") -> list[dict]:
    return [{"name": name, "description": "A tool.", "parameters": parameters}]


CYCLE = {"type": "object", "properties": {"a": {"$ref": "#/$defs/A"}}, "$defs": {"A": {"$ref": "#/$defs/A"}}}
PEM = "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----"
ENGLISH = "word " * (TWO_MB // 5)
RUSSIAN = "слово " * (TWO_MB // len("слово ".encode()))

# (id, request, error_type or None for a valid answer, a phrase the message or the answer must hold)
CORPUS: list[tuple[str, Build, str | None, str]] = [
    # ---- prompts without anything to answer
    ("empty-message-list", chat([]), BAD, "no user message"),
    ("only-an-empty-user-message", chat([m.user("")]), BAD, "no user message"),
    ("text-parts-of-whitespace", chat([m.user([m.text_part("  "), m.text_part("")])]), BAD, "no user message"),
    ("only-an-assistant-message", chat([m.assistant("Hello!")]), BAD, "no user message"),
    # ---- messages of a shape dify_plugin cannot parse
    ("unknown-role", chat([raw("robot", "hi")]), BAD, "prompt_messages.role: Input should be 'system'"),
    ("role-null", chat([raw(None, "hi")]), BAD, "prompt_messages.role"),
    ("content-a-number", chat([raw("user", 42)]), BAD, "prompt_messages.content: Input should be a valid string"),
    ("content-an-object", chat([raw("user", {"text": "hi"})]), BAD, "prompt_messages.content"),
    ("content-part-of-unknown-type", chat([m.user([{"type": "hologram", "data": "x"}])]), BAD, "content"),
    ("message-a-number", chat([5]), BAD, "prompt message must be a PromptMessage or a Mapping"),
    ("prompt-messages-a-string", chat(prompt_messages="hi"), BAD, "prompt_messages must be a list"),
    ("assistant-tool-calls-null", chat([m.user("a"), raw("assistant", "b"), m.user("c")]), BAD, "tool_calls"),
    (
        "tool-call-without-function",
        chat([m.user("a"), raw("assistant", "", tool_calls=[{"id": "c"}])]),
        BAD,
        "tool_calls[0].function: Field required",
    ),
    # ---- tool history that does not add up
    ("tool-result-without-a-call", chat([m.user("hi"), m.tool("r", "c9", "f")]), BAD, "call id 'c9'"),
    (
        "tool-result-after-a-plain-answer",
        chat([m.user("a"), m.assistant("b"), m.tool("r", "c9", "f")]),
        BAD,
        "made no tool call",
    ),
    (
        "tool-result-for-another-call",
        chat([m.user("a"), m.assistant("", [m.tool_call("c1", "f", "{}")]), m.tool("r", "c2", "f")]),
        BAD,
        "call id 'c2'",
    ),
    ("tool-arguments-not-json", chat(called("{not json")), BAD, "arguments are not a JSON object"),
    ("tool-arguments-a-json-array", chat(called("[1, 2]")), BAD, "arguments are not a JSON object"),
    # ---- tools whose schemas are garbage
    ("tool-parameters-a-string", chat(tools=tool("garbage")), BAD, "tools[0].parameters"),
    ("tools-a-string", chat(tools="garbage"), BAD, "tools: Input should be a valid list"),
    ("tool-without-a-name", chat(tools=[{"description": "d", "parameters": {}}]), BAD, "tools[0].name"),
    (
        "tool-properties-a-number",
        chat(tools=tool({"type": "object", "properties": 5})),
        BAD,
        "not a usable JSON Schema",
    ),
    ("tool-schema-a-cycle-of-refs", chat(tools=tool(CYCLE)), BAD, "cyclic $ref"),
    ("two-tools-of-one-name", chat(tools=tool({}) * 2), BAD, "tool names must be unique"),
    ("tool-schema-type-a-number", chat(tools=tool({"type": 17})), None, "Echo: hi"),
    ("tool-description-of-1-mb", chat(tools=[m.tool_def("t", "d" * 1_000_000, {})]), None, "Echo: hi"),
    # ---- structured output asked for wrongly
    (
        "json-schema-not-json",
        chat(parameters={"response_format": "json_schema", "json_schema": "{no"}),
        BAD,
        "'json_schema' parameter is not valid JSON",
    ),
    (
        "json-schema-an-array",
        chat(parameters={"response_format": "json_schema", "json_schema": "[1]"}),
        BAD,
        "must be a JSON object",
    ),
    ("json-schema-missing", chat(parameters={"response_format": "json_schema"}), BAD, "needs a JSON Schema"),
    ("response-format-unknown", chat(parameters={"response_format": "xml"}), BAD, "response_format should be one of"),
    # ---- parameter values Dify's form would not let through
    ("top-p-negative", chat(parameters={"top_p": -1}), BAD, "top_p should be greater than or equal to 0"),
    ("max-tokens-a-trillion", chat(parameters={"max_tokens": 10**12}), BAD, "max_tokens should be less than"),
    ("max-tokens-a-string", chat(parameters={"max_tokens": "100"}), BAD, "max_tokens should be int"),
    ("temperature-the-string-nan", chat(parameters={"temperature": "NaN"}), BAD, "temperature should be float"),
    ("temperature-nan", chat(parameters={"temperature": float("nan")}), BAD, "temperature must be a finite number"),
    ("penalty-infinite", chat(parameters={"repetition_penalty": float("inf")}), BAD, "must be a finite number"),
    ("parameters-a-list", chat(model_parameters=[]), BAD, "model_parameters: Input should be a valid dictionary"),
    ("stop-a-string", chat(stop="###"), BAD, "stop: Input should be a valid list"),
    ("a-thousand-long-stops", chat(stop=["x" * 1000] * 1000), None, "Echo: hi"),
    # ---- huge prompts: a valid answer (the emulator echoes it) on lines the daemon can read
    ("prompt-of-2-mb-streamed", chat([m.user(ENGLISH)]), None, "Echo: word word"),
    ("prompt-of-2-mb-russian-blocking", chat([m.user(RUSSIAN)], stream=False), None, "Echo: слово слово"),
    # ---- files that are not what they claim
    ("image-not-base64", chat(asking(image(b64="!!not base64!!"))), BAD, "'a.png' is not valid base64 data"),
    ("image-without-data-or-url", chat(asking(image(b64=""))), BAD, "'a.png' has neither data nor a URL"),
    ("html-page-declared-png", chat(asking(image(files.HTML))), BAD, "'a.png' is an HTML page"),
    ("pdf-declared-png", chat(asking(image(files.PDF))), BAD, "its content is a PDF document"),
    (
        "png-declared-pdf-document",
        chat(
            asking(m.document_part(base64_data=files.b64(files.png()))),
        ),
        BAD,
        "its content is a PNG image",
    ),
    ("gif-image", chat(asking(image(files.GIF, mime="image/gif", name="a.gif"))), BAD, "GigaChat takes JPEG, PNG"),
    ("png-declared-jpeg", chat(asking(image(files.png(), mime="image/jpeg", name="a.jpg"))), None, "Echo:"),
    ("image-from-an-ftp-url", chat(asking(m.image_part(url="ftp://example.com/a.png"))), BAD, "only http and https"),
    (
        "image-in-a-system-message",
        chat([raw("system", [image(files.png())]), m.user("x")]),
        BAD,
        "a system message can only hold text",
    ),
    # ---- credentials that cannot work
    ("base-url-ftp", chat(creds={"base_url": "ftp://example.com"}), AUTH, "API base URL: expected an http(s) URL"),
    ("base-url-not-a-url", chat(creds={"base_url": "gigachat please"}), AUTH, "API base URL"),
    ("base-url-port-not-a-number", chat(creds={"base_url": "https://h:99999/x"}), AUTH, "the port is not a number"),
    ("auth-url-with-a-password", chat(creds={"auth_url": "https://u:p@h/x"}), AUTH, "must not contain a user name"),
    ("key-not-base64", chat(creds={"api_key": "not base64!"}), AUTH, "Authorization key: expected the base64"),
    ("key-a-number", chat(creds={"api_key": 12345}), AUTH, "Authorization key: expected the base64"),
    ("key-missing", chat(creds={"api_key": None}), AUTH, "Authorization key is required"),
    ("unknown-scope", chat(creds={"scope": "GIGACHAT_API_FOO"}), AUTH, "Scope: must be one of"),
    ("ca-pem-body-broken", chat(creds={"ca_certificate": PEM.format("!!!")}), AUTH, "block 1 is not valid base64"),
    ("ca-not-pem", chat(creds={"ca_certificate": "hello"}), AUTH, "no '-----BEGIN CERTIFICATE-----' block"),
    ("ca-pem-not-x509", chat(creds={"ca_certificate": PEM.format("MAMCAQE=")}), AUTH, "OpenSSL could not read it"),
    (
        "client-key-not-pem",
        chat(
            creds={
                "auth_method": "client_certificate",
                "client_certificate": PEM.format("MAMCAQE="),
                "client_key": "nope",
            }
        ),
        AUTH,
        "Client private key",
    ),
    ("unknown-auth-method", chat(creds={"auth_method": "magic"}), AUTH, "Authentication: unknown method"),
    ("password-missing", chat(creds={"auth_method": "user_password", "username": "bob"}), AUTH, "Password is required"),
    ("timeout-not-a-number", chat(creds={"request_timeout": "soon"}), AUTH, "Request timeout: must be a number"),
    ("timeout-zero-as-a-number", chat(creds={"request_timeout": 0}), AUTH, "between 1 and 600"),
    ("credentials-a-string", chat(credentials="x"), BAD, "credentials: Input should be a valid dictionary"),
    (
        "access-token-bogus",
        chat(creds={"auth_method": "access_token", "access_token": "bogus"}),
        AUTH,
        "rejected the access token (401",
    ),
    # ---- embeddings, token counting and validation
    ("embedding-of-an-empty-text", embed(["ok", " "]), BAD, "texts at positions 1"),
    ("embedding-of-a-number", embed([42]), BAD, "texts[0]: Input should be a valid string"),
    ("embedding-texts-a-string", embed("hello"), BAD, "texts: Input should be a valid list"),
    ("embedding-input-type-unknown", embed(["a"], input_type="garbage"), BAD, "input_type"),
    (
        "token-count-unknown-role",
        lambda valid: m.llm_num_tokens(PROVIDER, MODEL, valid, [raw("robot", "hi")]),
        BAD,
        "prompt_messages.role",
    ),
    (
        "validation-with-a-bad-url",
        lambda valid: m.validate_provider_credentials(PROVIDER, {**valid, "base_url": "nope"}),
        CREDS,
        "API base URL",
    ),
    (
        "model-validation-unknown-model-type",
        lambda valid: m.validate_model_credentials(PROVIDER, "chair", MODEL, valid),
        BAD,
        "model_type",
    ),
    # ---- required request keys missing
    ("no-prompt-messages", without("prompt_messages"), BAD, "prompt_messages: Field required"),
    ("no-model", without("model"), BAD, "model: Field required"),
    ("no-credentials", without("credentials"), BAD, "credentials: Field required"),
    ("no-user-id", without("user_id"), BAD, "user_id: Field required"),
    ("no-texts", without("texts", embed(["a"])), BAD, "texts: Field required"),
]


# ---- hostile files, file servers and GigaChat answers ------------------------------------------------------------


@dataclass
class Scene:
    """What a hostile case may set up before its request: the emulator and a file server of its own."""

    creds: dict
    emu: GigaChatEmulator
    files: FileServer


Setup = Callable[[Scene], dict]
BOMB = 128 * MiB
HOSTILE_MEMORY = 64 * MiB  # what one hostile request may add to the plugin's resident memory
UNREACHABLE = "could not be downloaded from the URL Dify gave"
HUGE = "Ж" * (3 * MiB)  # 6 MiB as UTF-8
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def document(data: bytes) -> Setup:
    part = m.document_part(base64_data=files.b64(data), mime_type=DOCX, filename="x.docx")
    return lambda scene: chat(asking(part))(scene.creds)


def download(route: Callable[[FileServer], str], **creds: str) -> Setup:
    """A chat about an image at the URL `route` sets up; `creds` change the credentials (say a short timeout)."""

    def build(scene: Scene) -> dict:
        part = m.image_part(url=route(scene.files), mime_type="image/png", filename="a.png")
        return chat(asking(part), creds=creds)(scene.creds)

    return build


def asked(**request: Any) -> Setup:
    """A plain chat request, built as `chat` builds it."""
    return lambda scene: chat(**request)(scene.creds)


def answered(*scripted: Reply | Fault, **request: Any) -> Setup:
    """A chat whose answer is scripted (a Reply) or broken (a Fault) on the emulator; `request` as for `chat`."""

    def build(scene: Scene) -> dict:
        for item in scripted:
            scene.emu.inject(item) if isinstance(item, Fault) else scene.emu.script(item)
        return chat(**request)(scene.creds)

    return build


def gzipped(content_type: str) -> Fault:
    return Fault.raw(200, gzip_layers(BOMB, 2), {"Content-Type": content_type, "Content-Encoding": "gzip, gzip"})


def deep_schema(levels: int) -> str:
    return '{"type": "object", "properties": {"a": ' * levels + "{}" + "}}" * levels


HOSTILE: list[tuple[str, Setup, str | None, str]] = [
    # ---- archives built to exhaust a reader
    ("docx-whose-first-entry-hides-128-mib", document(zip_bomb("mimetype", BOMB, 20)), BAD, "'x.docx' is a ZIP"),
    ("docx-expanding-a-thousandfold", document(zip_bomb("word/document.xml", BOMB)), BAD, "would expand to"),
    ("archive-of-65000-entries", document(zip_of_entries(65_000)), BAD, "is an archive of 65,000 files"),
    # ---- downloads that expand, drip, or reach where they should not
    (
        "download-gzipped-twice-into-128-mib",
        download(lambda f: f.serve("/b.png", gzip_layers(BOMB, 2), headers={"Content-Encoding": "gzip, gzip"})),
        BAD,
        "'a.png' is larger than allowed",
    ),
    (
        "download-in-an-encoding-that-cannot-be-bounded",
        download(lambda f: f.serve("/a.png", files.png(), headers={"Content-Encoding": "br"})),
        BAD,
        UNREACHABLE,
    ),
    ("download-from-cloud-metadata", download(lambda f: "http://169.254.169.254/latest/meta-data/"), BAD, UNREACHABLE),
    (
        "download-redirected-to-another-port",
        download(lambda f: f.redirect("/a.png", "http://127.0.0.1:9/secret.png")),
        BAD,
        UNREACHABLE,
    ),
    ("download-from-a-closed-port", download(lambda f: "http://127.0.0.1:9/a.png"), BAD, UNREACHABLE),
    (
        "download-dripping-a-byte-at-a-time",
        download(lambda f: f.serve("/d.png", files.png() + bytes(400), drip=0.05), request_timeout="1"),
        BAD,
        UNREACHABLE,
    ),
    (
        "download-from-a-host-not-in-file-hosts",
        download(lambda f: f.serve("/a.png", files.png()), file_hosts="api:5001"),
        BAD,
        "which is not in 'File hosts'",
    ),
    (
        "file-hosts-holding-a-url",
        download(lambda f: "http://x/a.png", file_hosts="http://api:5001"),
        AUTH,
        "File hosts:",
    ),
    # ---- answers too large for one line of the daemon's
    ("streamed-delta-of-6-mib", answered(Reply(text=[HUGE])), None, "ЖЖЖЖ"),
    ("blocking-answer-of-6-mib", answered(Reply(text=HUGE), stream=False), SERVER, "at most 5 MiB a message"),
    (
        "tool-arguments-of-6-mib",
        answered(Reply(function_call=("t", {"q": HUGE})), tools=tool({"type": "object"})),
        SERVER,
        "at most 5 MiB a message",
    ),
    # ---- answers that expand, or never end
    ("answer-gzipped-twice-into-128-mib", answered(gzipped("application/json"), stream=False), SERVER, "larger than"),
    ("event-line-gzipped-twice-into-128-mib", answered(gzipped("text/event-stream")), SERVER, "A line of GigaChat's"),
    (
        "stream-trickling-past-the-timeout",
        answered(Fault.trickle(0.25), Reply(text=["x "] * 200), creds={"request_timeout": "1"}),
        CONNECTION,
        "timed out",
    ),
    (
        "blocking-answer-trickling-past-the-timeout",
        answered(Fault.trickle(0.25), stream=False, creds={"request_timeout": "1"}),
        CONNECTION,
        "timed out",
    ),
    ("error-echoing-the-access-token", answered(Fault.echo_request(403)), AUTH, "withheld"),
    (
        "negative-usage",
        answered(Reply(text="ok", usage={"prompt_tokens": -9, "completion_tokens": -1, "total_tokens": -10})),
        None,
        "ok",
    ),
    # ---- inputs that were costly in time
    ("stream-of-5000-chunks", answered(Reply(text=["word "] * 5000)), None, "word word"),
    ("20000-consecutive-user-messages", asked(messages=[m.user(f"m{i}") for i in range(20_000)]), None, "Echo:"),
    (
        "json-schema-nested-100000-levels",
        asked(parameters={"response_format": "json_schema", "json_schema": deep_schema(100_000)}),
        BAD,
        "nested too deeply to read",
    ),
]


@pytest.fixture(scope="module")
def file_server() -> Iterator[FileServer]:
    with FileServer() as server:
        yield server


@pytest.mark.parametrize(("setup", "error_type", "phrase"), [r[1:] for r in HOSTILE], ids=[r[0] for r in HOSTILE])
def test_hostile_input_gets_a_typed_error_and_costs_little_memory(
    plugin, emu, creds, file_server, process_at_start, setup, error_type, phrase
):
    data = setup(Scene(creds, emu, file_server))
    with PeakMemory(plugin.pid) as memory:
        reply = plugin.request(data, timeout=30)
    if error_type is None:
        assert reply.error is None, reply.error
        assert phrase in reply.text
    else:
        assert reply.error is not None, f"answered instead of refusing: {reply.text[:80]!r}"
        assert reply.error["error_type"] == error_type
        assert phrase in reply.error["message"], reply.error["message"]
    assert memory.growth < HOSTILE_MEMORY, f"{memory.growth / MiB:.0f} MiB"


@pytest.fixture(scope="module")
def process_at_start(plugin) -> tuple[int, int]:
    """The plugin process the corpus starts with, and how many envelope-level errors it had written by then."""
    return plugin.pid, len(plugin.envelope_errors)


@pytest.mark.parametrize(("build", "error_type", "phrase"), [r[1:] for r in CORPUS], ids=[r[0] for r in CORPUS])
def test_bad_input_gets_a_typed_error_saying_what_was_wrong(
    plugin, emu, creds, process_at_start, build, error_type, phrase
):
    reply = plugin.request(build(creds), timeout=30)
    if error_type is None:
        assert reply.error is None
        assert phrase in reply.text
    else:
        assert reply.error is not None, f"answered instead of refusing: {reply.text[:80]!r}"
        assert reply.error["error_type"] == error_type
        assert phrase in reply.error["message"]
        assert "Traceback" not in reply.error["message"]


def test_the_corpus_has_at_least_a_hundred_cases_with_distinct_names():
    names = [row[0] for row in CORPUS + HOSTILE]
    assert len(names) >= 100
    assert len(set(names)) == len(names)


def test_after_the_whole_corpus_the_same_process_serves_a_normal_request(plugin, emu, creds, process_at_start):
    pid, envelope_errors = process_at_start
    assert plugin.pid == pid and plugin.alive()
    reply = plugin.request(m.invoke_llm(PROVIDER, MODEL, creds, [m.user("still there?")]))
    assert reply.text == "Echo: still there?"
    assert len(plugin.envelope_errors) == envelope_errors  # no stray error outside a session either


def test_a_request_nested_deeper_than_dify_plugin_reads_gets_no_answer_but_the_process_serves_on(plugin, emu, creds):
    """A framework limit, documented in docs/reliability.md: dify_plugin parses each request line before any plugin
    code runs, and refuses JSON nested more than about 200 levels with an error outside any session, so the daemon's
    request waits for its own timeout. The plugin cannot answer it, but it must not be harmed by it."""
    errors_before = len(plugin.envelope_errors)
    tools = [{"name": "t", "description": "d", "parameters": {"type": "object", "properties": {"a": [[[]]]}}}]
    data = m.invoke_llm(PROVIDER, MODEL, creds, [m.user("hi")], tools=tools)
    line = json.dumps(m.envelope(data), separators=(",", ":")).replace("[[[]]]", "[" * 300 + "]" * 300)
    plugin.send_raw(line.encode() + b"\n")
    reply = plugin.request(m.invoke_llm(PROVIDER, MODEL, creds, [m.user("still there?")]))
    assert reply.text == "Echo: still there?"
    assert len(plugin.envelope_errors) == errors_before + 1
    assert "recursion limit exceeded" in plugin.envelope_errors[-1]["error"]
