"""Embeddings through the packaged plugin: within GigaChat's limits, in order, long-text safe, query-aware, all or
nothing, concurrent under Dify's gevent runtime and bounded by `embedding_parallelism`."""

from __future__ import annotations

import math

import pytest
from gigachat import GigaChat

from devkit.emulator import EMBEDDING_DIMENSIONS, Fault, GigaChatEmulator, count_tokens
from devkit.harness import messages as m
from devkit.rig import PROVIDER, credentials_for, max_chunks
from models.common.tokens import estimate_tokens
from models.text_embedding.batching import merge_vectors

pytestmark = pytest.mark.e2e

GIGAR_INSTRUCTION = "Дан вопрос, необходимо найти абзац текста с ответом \nвопрос: "
LATENCY = 0.05  # seconds a held stream stays taken after it is let go: a request over the limit would arrive meanwhile


def sdk_vectors(emu: GigaChatEmulator, model: str, texts: list[str]) -> list[list[float]]:
    """What GigaChat (the emulator) answers for these texts, asked directly through the SDK."""
    with GigaChat(base_url=emu.base_url, auth_url=emu.auth_url, credentials=emu.credentials()) as client:
        vectors: list[list[float]] = []
        for i in range(0, len(texts), 50):
            vectors += [item.embedding for item in client.embeddings(texts[i : i + 50], model=model).data]
        return vectors


def embed(plugin, creds, texts, model="Embeddings", input_type="document"):
    return plugin.request(m.invoke_embedding(PROVIDER, model, creds, texts, input_type), timeout=120)


def wire_inputs(emu: GigaChatEmulator) -> list[str]:
    return [text for body in emu.embedding_requests for text in body["input"]]


def is_unit(vector: list[float]) -> bool:
    return math.isclose(math.hypot(*vector), 1.0, rel_tol=1e-9)


def credentials_of_scope(emu: GigaChatEmulator, scope: str, **overrides: str) -> dict[str, str]:
    return credentials_for(emu, api_key=emu.credentials(scope), scope=scope, **overrides)


@pytest.fixture
def business_creds(emu: GigaChatEmulator) -> dict[str, str]:
    """A business scope: its default parallelism (8) sends a call's requests concurrently."""
    return credentials_of_scope(emu, "GIGACHAT_API_B2B")


# ---- limits and order -----------------------------------------------------------------------------------------------


def test_250_texts_come_back_in_order_from_requests_within_gigachats_limits(plugin, emu, business_creds):
    texts = [f"Текст номер {i}: фрагмент базы знаний о GigaChat." for i in range(250)]
    texts[7] = texts[7] + " Очень длинное продолжение." * 120  # longer than the 512-token context
    reply = embed(plugin, business_creds, texts)
    vectors = reply.chunks[0]["embeddings"]
    limits = emu.embedding_limits
    assert len(emu.embedding_requests) > 1
    assert all(len(body["input"]) <= limits.max_inputs for body in emu.embedding_requests)
    assert all(0 < count_tokens(text) <= limits.max_tokens["Embeddings"] for text in wire_inputs(emu))
    expected = sdk_vectors(emu, "Embeddings", [text if i != 7 else "-" for i, text in enumerate(texts)])
    assert len(vectors) == 250
    # 250 full-precision vectors would not fit the daemon's 5 MiB line, so these come rounded to 8 places.
    for i, (got, want) in enumerate(zip(vectors, expected, strict=True)):
        if i != 7:
            # Half a unit of the 8th decimal, and a hair for binary floats: 0.365234375 rounds to 0.36523438.
            assert got == pytest.approx(want, abs=5.001e-9), f"text {i} is out of order"
    assert math.isclose(math.hypot(*vectors[7]), 1.0, rel_tol=1e-6)


@pytest.mark.parametrize("model", ["GigaEmbeddings-3B-2025-09", "Embeddings-2"])
def test_a_newer_model_indexes_250_texts_in_order_in_the_calls_dify_makes(plugin, emu, business_creds, model):
    """Dify sends a knowledge base's chunks in calls of the model's max_chunks texts."""
    texts = [f"Фрагмент {i} базы знаний о подключении GigaChat к Dify." for i in range(250)]
    texts[7] = texts[7] + " Очень длинное продолжение." * 120  # longer than the 512 tokens assumed for both
    size = max_chunks(model)
    vectors = []
    for start in range(0, len(texts), size):
        reply = embed(plugin, business_creds, texts[start : start + size], model)
        assert reply.error is None
        vectors += reply.chunks[0]["embeddings"]
    assert all(count_tokens(text) <= emu.embedding_limits.max_tokens[model] for text in wire_inputs(emu))
    assert all(body["model"] == model for body in emu.embedding_requests)
    expected = sdk_vectors(emu, model, [text if i != 7 else "-" for i, text in enumerate(texts)])
    assert len(vectors) == 250
    assert all(len(vector) == EMBEDDING_DIMENSIONS[model] for vector in vectors)
    assert [v for i, v in enumerate(vectors) if i != 7] == [v for i, v in enumerate(expected) if i != 7]
    assert is_unit(vectors[7])


def test_a_request_gigachat_refuses_as_too_large_is_halved_until_it_fits(plugin, emu, creds):
    emu.embedding_limits.max_inputs = 10
    try:
        texts = [f"short text {i}" for i in range(64)]
        reply = embed(plugin, credentials_for(emu, embedding_parallelism="1"), texts)
    finally:
        emu.embedding_limits.max_inputs = 100
    accepted = [body for body in emu.embedding_requests if len(body["input"]) <= 10]
    assert [text for body in accepted for text in body["input"]] == texts
    # GigaChat's numbers, unchanged: Dify normalizes the vectors itself.
    assert reply.chunks[0]["embeddings"][5] == sdk_vectors(emu, "Embeddings", texts)[5]


# ---- long texts -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "context"),
    [("Embeddings", 512), ("EmbeddingsGigaR", 4096), ("Embeddings-2", 512), ("GigaEmbeddings-3B-2025-09", 512)],
)
def test_a_text_three_times_longer_than_the_context_comes_back_as_one_unit_length_vector(
    plugin, emu, creds, model, context
):
    sentence = "Длинный документ о настройке базы знаний в Dify. "
    text = sentence * math.ceil(3 * context * 4 / len(sentence))
    assert count_tokens(text) >= 3 * context
    reply = embed(plugin, creds, [text], model)
    (vector,) = reply.chunks[0]["embeddings"]
    parts = wire_inputs(emu)
    assert len(parts) >= 3
    assert all(count_tokens(part) <= context for part in parts)
    assert len(vector) == EMBEDDING_DIMENSIONS[model]
    assert is_unit(vector)
    # The parts' directions, averaged by GigaChat's token count for each part.
    expected = merge_vectors(sdk_vectors(emu, model, parts), [count_tokens(part) for part in parts])
    assert vector == pytest.approx(expected, abs=1e-12)


# ---- query instructions ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "input_type", "field", "prefix"),
    [
        ("EmbeddingsGigaR", "query", None, GIGAR_INSTRUCTION),
        ("EmbeddingsGigaR", "document", None, ""),
        ("Embeddings", "query", None, ""),
        ("Embeddings-2", "query", None, ""),
        ("GigaEmbeddings-3B-2025-09", "query", None, ""),
        ("EmbeddingsGigaR", "query", "none", ""),
        ("EmbeddingsGigaR", "document", "search_query: ", ""),
        ("Embeddings-2", "query", "search_query: ", "search_query: "),
    ],
    ids=[
        "gigar-query",
        "gigar-document",
        "embeddings-query",
        "embeddings-2-query",
        "3b-query",
        "gigar-off",
        "custom-document",
        "custom-query",
    ],
)
def test_only_queries_carry_the_models_instruction_on_the_wire(plugin, emu, creds, model, input_type, field, prefix):
    credentials = creds if field is None else {**creds, "query_instruction": field}
    reply = embed(plugin, credentials, ["Как подключить GigaChat к Dify?"], model, input_type)
    assert reply.error is None
    assert emu.embedding_requests == [{"input": [prefix + "Как подключить GigaChat к Dify?"], "model": model}]


# ---- usage ----------------------------------------------------------------------------------------------------------


def test_usage_is_the_sum_of_gigachats_per_item_token_counts(plugin, emu, creds):
    texts = ["Первый фрагмент.", "Second chunk, a little longer than the first.", "Третий " * 700]
    usage = embed(plugin, creds, texts).chunks[0]["usage"]
    assert usage["tokens"] == usage["total_tokens"] == sum(count_tokens(text) for text in wire_inputs(emu))
    assert float(usage["total_price"]) == 0  # no verified tariff: no price is invented
    assert usage["latency"] > 0


def test_token_counting_for_embeddings_is_local_and_offline(plugin, emu, creds):
    texts = ["Сколько токенов?", "How many tokens is this?"]
    reply = plugin.request(m.embedding_num_tokens(PROVIDER, "EmbeddingsGigaR", creds, texts))
    assert reply.chunks[0]["num_tokens"] == [estimate_tokens(text) for text in texts]
    assert emu.requests == []


# ---- failures -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "times", "error_type"),
    [
        (Fault.status(400), 1, "InvokeBadRequestError"),
        (Fault.status(503), 100, "InvokeServerUnavailableError"),
        (Fault.rate_limit(60), 1, "InvokeRateLimitError"),  # Retry-After beyond what the plugin waits for
        (Fault.malformed_event(), 1, "InvokeServerUnavailableError"),
    ],
    ids=["bad-request", "unavailable", "rate-limited", "unreadable"],
)
def test_a_failing_batch_fails_the_whole_call_with_a_typed_error(plugin, emu, business_creds, fault, times, error_type):
    emu.inject(fault, path="/embeddings", times=times)
    reply = embed(plugin, business_creds, [f"chunk {i}" for i in range(128)])
    assert reply.error["error_type"] == error_type
    assert reply.chunks == []  # no partial result


def test_after_a_failure_the_requests_not_yet_sent_are_dropped(plugin, emu):
    emu.inject(Fault.status(400), path="/embeddings")
    reply = embed(plugin, credentials_for(emu, embedding_parallelism="1"), [f"chunk {i}" for i in range(256)])
    assert reply.error["error_type"] == "InvokeBadRequestError"
    assert len(emu.embedding_requests) == 1


@pytest.mark.parametrize("texts", [["ok", ""], ["ok", "   ", "\n"]], ids=["empty", "whitespace"])
def test_an_empty_text_is_refused_before_anything_is_sent(plugin, emu, creds, texts):
    reply = embed(plugin, creds, texts)
    assert reply.error["error_type"] == "InvokeBadRequestError"
    assert "empty" in reply.error["message"]
    assert "positions 1" in reply.error["message"]
    assert emu.requests == []


def test_a_bad_parallelism_value_fails_credential_validation_naming_the_field(plugin, emu):
    reply = plugin.request(m.validate_provider_credentials(PROVIDER, credentials_for(emu, embedding_parallelism="64")))
    assert reply.error["error_type"] == "CredentialsValidateFailedError"
    assert "Embedding parallelism: must be between 1 and 16" in reply.error["message"]


# ---- concurrency under Dify's gevent runtime ------------------------------------------------------------------------


def test_the_requests_of_one_call_are_in_flight_together(plugin, emu, business_creds):
    embed(plugin, business_creds, ["warm the token up"])
    emu.reset()
    gate = emu.hold(8)  # GigaChat answers none of them until all eight are waiting for an answer at once
    assert embed(plugin, business_creds, [f"chunk {i}" for i in range(128)]).error is None
    assert len(emu.embedding_requests) == 8  # a business scope's default: 8 of its 10 streams
    assert not gate.timed_out and emu.peak_in_flight == 8


@pytest.mark.parametrize(
    ("scope", "streams", "default"), [("GIGACHAT_API_PERS", 1, 1), ("GIGACHAT_API_B2B", 10, 8)], ids=["pers", "b2b"]
)
def test_by_default_indexing_stays_within_the_scopes_stream_limit(plugin, emu, scope, streams, default):
    creds = credentials_of_scope(emu, scope)
    embed(plugin, creds, ["warm the token up"])
    emu.reset()
    gate = emu.hold(default)  # the default number of requests must be in flight together before any is answered
    # GigaChat answers 429 beyond the scope's streams; the latency keeps each stream taken while more could arrive.
    emu.latency, emu.max_in_flight = LATENCY, streams
    try:
        # Three indexing workers at once (Dify's IndexingRunner runs up to ten).
        calls = [
            m.invoke_embedding(PROVIDER, "Embeddings", creds, [f"worker {w} chunk {i}" for i in range(128)])
            for w in range(3)
        ]
        assert all(reply.error is None for reply in plugin.request_many(calls, timeout=60))
    finally:
        emu.latency, emu.max_in_flight = 0.0, None
    assert emu.refused_over_limit == 0
    assert not gate.timed_out and emu.peak_in_flight == default


def test_parallelism_bounds_the_requests_in_flight_across_concurrent_calls(plugin, emu):
    creds = credentials_for(emu, embedding_parallelism="2")
    embed(plugin, creds, ["warm the token up"])
    emu.reset()
    gate = emu.hold(2)  # two in flight together before either is answered...
    emu.latency, emu.max_in_flight = LATENCY, 2  # ...and a third while they are would be refused
    try:
        calls = [
            m.invoke_embedding(PROVIDER, "Embeddings", creds, [f"call {c} chunk {i}" for i in range(32)]) for c in "ab"
        ]
        assert all(reply.error is None for reply in plugin.request_many(calls, timeout=60))
    finally:
        emu.latency, emu.max_in_flight = 0.0, None
    assert len(emu.embedding_requests) == 4
    assert not gate.timed_out and emu.peak_in_flight == 2
    assert emu.refused_over_limit == 0


# ---- reply size -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["Embeddings", "EmbeddingsGigaR", "Embeddings-2", "GigaEmbeddings-3B-2025-09"])
def test_a_full_call_of_max_chunks_vectors_fits_the_daemons_reply_line(plugin, emu, creds, model):
    texts = [f"Фрагмент {i}: " + "текст базы знаний " * 20 for i in range(max_chunks(model))]
    reply = embed(plugin, creds, texts, model)  # the harness raises on a line at or over 5 MiB
    assert len(reply.chunks[0]["embeddings"]) == max_chunks(model)
    assert max(len(line) for line in plugin.stdout_raw_lines[-5:]) < 5 * 1024 * 1024
