"""GigaChat's request rules and limits as the emulator enforces them: what is refused, with which status and
message (raw httpx where the SDK would refuse to build the malformed request itself)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from gigachat import exceptions as gx

from devkit.emulator import EMBEDDING_DIMENSIONS, GigaChatEmulator, count_tokens
from devkit.emulator.client import make_client
from tests.devkit.sdk_helpers import call, raw_post, result, user
from tests.tables import table

pytestmark = [pytest.mark.devkit, pytest.mark.usefixtures("clean_gigachat_env")]


@pytest.fixture
def emu() -> Iterator[GigaChatEmulator]:
    with GigaChatEmulator() as emulator:  # start/stop take milliseconds, so every test gets a fresh one
        yield emulator


def _with(**changes: Any) -> dict[str, Any]:
    return {"model": "GigaChat-2", "messages": [user("hi")], **changes}


def _fn(**properties: Any) -> dict[str, Any]:
    return {"name": "f", "parameters": {"type": "object", "properties": properties}}


SYSTEM = {"role": "system", "content": "s"}
FIRST_SYSTEM = "system message must be the first message"
NO_PROPERTIES = "Field 'properties.data.properties' is missing"


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    **table(
        ("unknown-model", _with(model="GPT-4"), 404, "No such model"),
        ("no-messages", _with(messages=[]), 422, "messages"),
        ("bad-role", _with(messages=[{"role": "tool", "content": "x"}]), 422, "role"),
        ("late-system", _with(messages=[user("a"), SYSTEM]), 422, FIRST_SYSTEM),
        ("two-systems", _with(messages=[SYSTEM, SYSTEM]), 422, FIRST_SYSTEM),
        ("content-parts", _with(messages=[{"role": "user", "content": [{"text": "x"}]}]), 422, "string"),
        ("result-without-name", _with(messages=[user("a"), result(None)]), 422, "name"),
        ("result-not-object", _with(messages=[user("a"), result("f", "[1]")]), 422, "JSON object"),
        ("string-arguments", _with(messages=[user("a"), call("f", "{}"), result("f")]), 422, "arguments"),
        ("call-without-result", _with(messages=[user("a"), call("f", {}), user("b")]), 422, "followed by"),
        ("result-of-other-call", _with(messages=[user("a"), call("f", {}), result("g")]), 422, "followed by"),
        ("no-parameters", _with(functions=[{"name": "f"}]), 422, "parameters"),
        ("object-without-properties", _with(functions=[_fn(data={"type": "object"})]), 422, NO_PROPERTIES),
        ("union", _with(functions=[_fn(x={"anyOf": [{"type": "string"}, {"type": "null"}]})]), 422, "anyOf"),
        ("ref", _with(functions=[_fn(x={"$ref": "#/$defs/X"})]), 422, "$ref"),
        ("int-enum", _with(functions=[_fn(x={"type": "integer", "enum": [1, 2]})]), 422, "enum"),
        ("zero-temperature", _with(temperature=0), 422, "temperature"),
        ("top-p-above-one", _with(top_p=1.5), 422, "top_p"),
        ("zero-max-tokens", _with(max_tokens=0), 422, "max_tokens"),
        ("forced-unknown-function", _with(function_call={"name": "nope"}), 422, "nope"),
        ("json-object-format", _with(response_format={"type": "json_object"}), 422, "response_format"),
        ("unknown-attachment", _with(messages=[{**user("x"), "attachments": ["missing"]}]), 422, "not found"),
    ),
)
def test_chat_requests_gigachat_rejects_get_its_status_and_message(emu, body, status, fragment):
    response = raw_post(emu, "/chat/completions", body)
    assert (response.status_code, response.json()["status"]) == (status, status)
    assert fragment in response.json()["message"]
    assert emu.chat_requests[-1] == body


def test_response_format_can_be_declared_unsupported_per_model(emu):
    emu.unsupported_response_format_models.add("GigaChat-2")
    schema = {"type": "json_schema", "schema": {"type": "object", "properties": {}}}
    with pytest.raises(gx.UnprocessableEntityError) as caught:
        make_client(emu).chat({"messages": [user("x")], "response_format": schema})
    assert "response_format is not supported" in json.loads(caught.value.content)["message"]


def test_attachment_limits_per_message_and_per_request(emu):
    client = make_client(emu)
    images = [client.upload_file((f"{i}.png", b"img", "image/png")).id_ for i in range(3)]
    docs = [client.upload_file((f"{i}.txt", b"doc", "text/plain")).id_ for i in range(11)]

    def ask(attachments: list[str]) -> Any:
        return client.chat({"messages": [{"role": "user", "content": "look", "attachments": attachments}]})

    # One image per message, up to ten per request: Sber's chat reference of 19 February 2026
    # (developers.sber.ru/docs/ru/gigachat/api/reference/rest/post-chat).
    assert ask(images[:1]).choices[0].finish_reason == "stop"
    with pytest.raises(gx.UnprocessableEntityError):
        ask(images[:2])
    with pytest.raises(gx.UnprocessableEntityError):
        ask(docs)
    emu.max_images_per_message = 2
    assert ask(images[:2]).choices[0].finish_reason == "stop"
    with pytest.raises(gx.UnprocessableEntityError):
        ask(images)


# ---- embeddings, tokens, models, files ----------------------------------------------------------------------------


@pytest.mark.parametrize("model", list(EMBEDDING_DIMENSIONS))
def test_embeddings_keep_input_order_with_model_dimensions_and_per_item_usage(emu, model):
    texts = ["alpha", "beta beta", "alpha"]
    data = make_client(emu).embeddings(texts, model=model).data
    assert [d.index for d in data] == [0, 1, 2]
    assert all(len(d.embedding) == EMBEDDING_DIMENSIONS[model] for d in data)
    assert data[0].embedding == data[2].embedding != data[1].embedding
    assert [d.usage.prompt_tokens for d in data] == [count_tokens(t) for t in texts]
    assert emu.embedding_requests == [{"input": texts, "model": model}]


@pytest.mark.parametrize(
    ("max_inputs", "texts", "error"),
    **table(
        ("too-many-inputs", 100, ["x"] * 101, gx.RequestEntityTooLargeError),
        ("adjusted-max-inputs", 2, ["a", "b", "c"], gx.RequestEntityTooLargeError),
        ("input-over-512-tokens", 100, ["x" * (512 * 4 + 1)], gx.UnprocessableEntityError),
        ("empty-input", 100, ["ok", ""], gx.UnprocessableEntityError),
    ),
)
def test_embedding_limits_are_enforced(emu, max_inputs, texts, error):
    emu.embedding_limits.max_inputs = max_inputs
    with pytest.raises(error):
        make_client(emu).embeddings(texts, model="Embeddings")


def test_tokens_count_follows_the_documented_rule(emu):
    counts = make_client(emu).tokens_count(["hello world", ""], model="GigaChat-2")
    assert [(c.tokens, c.characters) for c in counts] == [(count_tokens("hello world"), 11), (0, 0)]


def test_models_are_listed_and_unknown_models_are_404(emu):
    client = make_client(emu)
    ids = {m.id_ for m in client.get_models().data}
    assert {"GigaChat-2-Max", "GigaChat-2-Max-preview", "GigaChat-2-Reasoning", "EmbeddingsGigaR"} <= ids
    assert client.get_model("Embeddings-2").id_ == "Embeddings-2"
    with pytest.raises(gx.NotFoundError):
        client.get_model("nope")
    assert client.get_balance().balance[0].value == 900000


def test_files_upload_list_and_delete(emu):
    client = make_client(emu)
    data = b"%PDF-1.4\r\n--boundary-like\r\n"
    uploaded = client.upload_file(("пример.pdf", data, "application/pdf"))
    stored = emu.files[uploaded.id_]
    assert (stored.filename, stored.mime, stored.data, stored.purpose) == (
        "пример.pdf",
        "application/pdf",
        data,
        "general",
    )
    assert [f.id_ for f in client.get_files().data] == [uploaded.id_]
    assert client.delete_file(uploaded.id_).deleted is True
    assert (emu.live_files(), emu.deleted_files) == (set(), [uploaded.id_])
    with pytest.raises(gx.NotFoundError):
        client.delete_file(uploaded.id_)


@pytest.mark.parametrize(
    ("file", "error"),
    **table(
        ("unsupported-mime", ("a.gif", b"GIF89a", "image/gif"), gx.UnprocessableEntityError),
        ("image-too-large", ("a.png", b"x" * 11, "image/png"), gx.RequestEntityTooLargeError),
        ("document-too-large", ("a.txt", b"x" * 21, "text/plain"), gx.RequestEntityTooLargeError),
    ),
)
def test_uploads_gigachat_refuses(emu, file, error):
    emu.file_size_limits.update(image=10, text=20)
    with pytest.raises(error):
        make_client(emu).upload_file(file)
    assert emu.files == {}
