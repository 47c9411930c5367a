"""GigaChat embeddings for Dify knowledge bases: long texts split and merged, requests batched and concurrent.

The rules (docs/embeddings.md):
- every text becomes exactly one vector, in input order: GigaChat's own, unchanged, or, for a text longer than the
  model's context, the unit-length average of its parts' directions by token count (the text is split at sentence,
  line or word boundaries); Dify normalizes every vector itself before storing it;
- an empty (or whitespace-only) text is refused with InvokeBadRequestError before anything is sent;
- a search query (input_type=query) to an asymmetric model gets that model's retrieval instruction, a document
  never does (text_embedding.py chooses it);
- requests run concurrently, at most `embedding_parallelism` at a time per credential set in this process (by
  default what the scope's stream limit allows, settings.default_embedding_parallelism); if one fails, the whole
  call fails with a typed error and the requests not yet sent are dropped;
- a call bigger than Dify's max_chunks whose reply would not fit the daemon's 5 MiB line gets rounded vectors
  (batching.fit_reply), or a typed error when even those would not fit.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import TypeVar

from dify_plugin.entities.model.text_embedding import EmbeddingUsage, TextEmbeddingResult
from dify_plugin.errors.model import InvokeBadRequestError, InvokeServerUnavailableError
from gigachat import GigaChatSyncClient
from gigachat.exceptions import ResponseError

from ..common.client import client_for
from ..common.errors import invoke_error
from ..common.prefix import PREFIX
from ..common.retry import call_with_retries
from ..common.settings import parse_credentials
from ..common.tokens import billable
from .batching import (
    REPLY_BUDGET_BYTES,
    ROUNDED_FLOAT_BYTES,
    budget_tokens,
    fit_reply,
    merge_vectors,
    plan_batches,
    split_text,
)

# GigaChat's per-request limits are not published; langchain-gigachat batched at 90 texts per request
# (ai-forever/langchain-gigachat libs/gigachat/langchain_gigachat/embeddings/gigachat.py, before 0.5.0a1).
# The plugin stays below that, and halves a request GigaChat refuses as too large (413).
MAX_ITEMS_PER_REQUEST = 64
MAX_TOKENS_PER_REQUEST = 64 * 4096
# A call is spread over up to `embedding_parallelism` requests, but none smaller than this.
MIN_ITEMS_PER_REQUEST = 8
# The token estimate may still undercount; parts are cut this far below the context so GigaChat's count fits.
_CONTEXT_MARGIN = 0.8

T = TypeVar("T")
# Dify's usage, priced, of the tokens GigaChat counted for each text sent (the model class's `_usage`).
UsageFor = Callable[[Sequence[int]], EmbeddingUsage]


def invoke(
    model: str, credentials: dict, texts: list[str], instruction: str, context_size: int, usage_for: UsageFor
) -> TextEmbeddingResult:
    """The embedding model's `_invoke`: one vector per text, `instruction` put before each part sent."""
    settings = None
    try:
        settings = parse_credentials(credentials)
        _refuse_empty(texts)
        limit = int(context_size * _CONTEXT_MARGIN) - budget_tokens(instruction)
        parts = [[instruction + part for part in split_text(text, max(limit, 1))] for text in texts]
        client = client_for(settings)
        vectors, tokens = embed_all(client, model, [p for ps in parts for p in ps], settings.embedding_parallelism)
    except Exception as error:
        raise invoke_error(error, settings, texts) from None
    embeddings, offset = [], 0
    for text_parts in parts:
        end = offset + len(text_parts)
        embeddings.append(merge_vectors(vectors[offset:end], tokens[offset:end]))
        offset = end
    fitted = fit_reply(embeddings)
    if fitted is None:
        most = REPLY_BUDGET_BYTES // (ROUNDED_FLOAT_BYTES * len(embeddings[0]))
        raise InvokeBadRequestError(
            PREFIX + f"{len(texts)} vectors of {len(embeddings[0])} numbers do not fit in one reply to Dify "
            f"(5 MiB); send at most {most} texts per call."
        )
    # The numbers were validated as floats by the SDK's models already: checking a call's hundred thousand of them
    # again would cost more CPU than anything else the plugin does with them.
    return TextEmbeddingResult.model_construct(model=model, embeddings=fitted, usage=usage_for(tokens))


def _refuse_empty(texts: Sequence[str]) -> None:
    empty = [i for i, text in enumerate(texts) if not text.strip()]
    if empty:
        where = ", ".join(str(i) for i in empty[:5]) + (", …" if len(empty) > 5 else "")
        raise InvokeBadRequestError(
            PREFIX + f"GigaChat cannot embed an empty text; texts at positions {where} (counting from 0) are empty."
        )


def embed_all(
    client: GigaChatSyncClient, model: str, texts: Sequence[str], parallelism: int
) -> tuple[list[list[float]], list[int]]:
    """Each text's vector and GigaChat's token count for it, in input order.

    Texts are grouped into requests within GigaChat's limits and sent concurrently, with at most `parallelism`
    requests of this client in flight across all calls (Dify indexes with several workers at once).
    """
    batches = plan_batches(
        [budget_tokens(text) for text in texts],
        MAX_ITEMS_PER_REQUEST,
        MAX_TOKENS_PER_REQUEST,
        spread=parallelism,
        min_items=MIN_ITEMS_PER_REQUEST,
    )
    gate = _gate(client, parallelism)

    def embed(batch: list[int]) -> list[tuple[list[float], int]]:
        return _embed_batch(client, model, [texts[i] for i in batch], gate)

    results = run_in_order([lambda b=batch: embed(b) for batch in batches], parallelism)
    items = [item for batch_items in results for item in batch_items]
    return [vector for vector, _ in items], [tokens for _, tokens in items]


def _embed_batch(
    client: GigaChatSyncClient, model: str, texts: list[str], gate: threading.Semaphore
) -> list[tuple[list[float], int]]:
    try:
        with gate:
            response = call_with_retries(lambda: client.embeddings(texts, model=model))
    except ResponseError as error:
        if error.status_code != 413 or len(texts) < 2:
            raise
        half = len(texts) // 2
        return _embed_batch(client, model, texts[:half], gate) + _embed_batch(client, model, texts[half:], gate)
    items = sorted(response.data, key=lambda item: item.index)
    if [item.index for item in items] != list(range(len(texts))):
        raise InvokeServerUnavailableError(
            PREFIX + f"GigaChat returned {len(items)} vectors for {len(texts)} texts; nothing was embedded."
        )
    return [(item.embedding, billable(item.usage.prompt_tokens)) for item in items]


def run_in_order(tasks: Sequence[Callable[[], T]], workers: int) -> list[T]:
    """Run tasks on up to `workers` threads (greenlets under Dify's gevent) and return their results in order.

    The first failure is raised as soon as it happens; tasks not yet started are cancelled, so a failed call
    does not keep sending requests whose results nobody will see.
    """
    if len(tasks) <= 1 or workers <= 1:
        return [task() for task in tasks]
    pool = ThreadPoolExecutor(max_workers=min(workers, len(tasks)), thread_name_prefix="gigachat-embeddings")
    try:
        futures = [pool.submit(task) for task in tasks]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        for future in futures:
            if future in done and future.exception() is not None:
                raise future.exception()  # type: ignore[misc]
        return [future.result() for future in futures]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# One gate per SDK client, i.e. per credential set: it lives exactly as long as the cached client does.
_gates: weakref.WeakKeyDictionary[GigaChatSyncClient, threading.Semaphore] = weakref.WeakKeyDictionary()
_gates_lock = threading.Lock()


def _gate(client: GigaChatSyncClient, parallelism: int) -> threading.Semaphore:
    with _gates_lock:
        gate = _gates.get(client)
        if gate is None:
            gate = _gates[client] = threading.BoundedSemaphore(parallelism)
        return gate
