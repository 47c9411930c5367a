"""GigaChat embeddings for Dify knowledge bases: long texts split and merged, requests batched and concurrent.

The rules (docs/embeddings.md):
- every text becomes exactly one vector, in input order: GigaChat's own, unchanged, or, for a text longer than the
  model's context, the unit-length average of its parts' directions by token count (the text is split at sentence,
  line or word boundaries); Dify normalizes every vector itself before storing it;
- an empty (or whitespace-only) text is refused with InvokeBadRequestError before anything is sent;
- a search query (input_type=query) to an asymmetric model gets that model's retrieval instruction, a document
  never does;
- requests run concurrently, at most `embedding_parallelism` at a time per credential set in this process (by
  default what the scope's stream limit allows, settings.default_embedding_parallelism); if one fails, the whole
  call fails with a typed error and the requests not yet sent are dropped;
- a call bigger than Dify's max_chunks whose reply would not fit the daemon's 5 MiB line gets rounded vectors
  (batching.fit_reply), or a typed error when even those would not fit.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import TypeVar

from dify_plugin.entities.model import EmbeddingInputType, ModelPropertyKey, PriceType
from dify_plugin.entities.model.text_embedding import EmbeddingUsage, TextEmbeddingResult
from dify_plugin.errors.model import InvokeBadRequestError, InvokeServerUnavailableError
from dify_plugin.interfaces.model.text_embedding_model import TextEmbeddingModel
from gigachat import GigaChatSyncClient
from gigachat.exceptions import ResponseError

from ..common.catalog import FALLBACK_EMBEDDING_CONTEXT, family_of
from ..common.client import client_for
from ..common.errors import PREFIX, invoke_error
from ..common.model_base import GigaChatModel
from ..common.retry import call_with_retries
from ..common.settings import parse_credentials
from ..common.tokens import estimate_tokens
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
# The retrieval instruction EmbeddingsGigaR expects before a search query, and never before a document
# (the instruction several third-party projects cite as Sber's reference one; Sber's page itself was not available
# to confirm its exact spacing).
QUERY_INSTRUCTIONS = {"EmbeddingsGigaR": "Дан вопрос, необходимо найти абзац текста с ответом \nвопрос: "}
# Typed into a customizable model's "Query instruction" field, this turns the instruction off.
NO_INSTRUCTION = "none"
# The token estimate may still undercount; parts are cut this far below the context so GigaChat's count fits.
_CONTEXT_MARGIN = 0.8

T = TypeVar("T")


class GigaChatTextEmbeddingModel(GigaChatModel, TextEmbeddingModel):
    def _invoke(
        self,
        model: str,
        credentials: dict,
        texts: list[str],
        user: str | None = None,
        input_type: EmbeddingInputType = EmbeddingInputType.DOCUMENT,
    ) -> TextEmbeddingResult:
        settings = None
        try:
            settings = parse_credentials(credentials)
            _refuse_empty(texts)
            instruction = self.query_instruction(model, credentials) if input_type == EmbeddingInputType.QUERY else ""
            limit = int(self._get_context_size(model, credentials) * _CONTEXT_MARGIN) - budget_tokens(instruction)
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
        return TextEmbeddingResult.model_construct(
            model=model, embeddings=fitted, usage=self._usage(model, credentials, tokens)
        )

    def get_num_tokens(self, model: str, credentials: dict, texts: list[str]) -> list[int]:
        """Local and offline: Dify calls this to estimate indexing cost, so it must not spend a request."""
        return [estimate_tokens(text) for text in texts]

    def query_instruction(self, model: str, credentials: Mapping) -> str:
        """The prefix for search queries: the model's own field if set ("none" for no prefix), else its family's."""
        custom = str(credentials.get("query_instruction") or "")
        if custom.strip():
            # Dify's text field is one line, so a typed "\n" stands for a line break.
            return "" if custom.strip().lower() == NO_INSTRUCTION else custom.replace("\\n", "\n")
        family = family_of(self.predefined_models(), model)
        return QUERY_INSTRUCTIONS.get(family.model, "") if family else ""

    def _usage(self, model: str, credentials: dict, tokens: Sequence[int]) -> EmbeddingUsage:
        total = sum(tokens)
        price = self.get_price(model, credentials, PriceType.INPUT, total)
        return EmbeddingUsage(
            tokens=total,
            total_tokens=total,
            unit_price=price.unit_price,
            price_unit=price.unit,
            total_price=price.total_amount,
            currency=price.currency,
            latency=time.perf_counter() - self.started_at,
        )

    def _get_context_size(self, model: str, credentials: Mapping | None = None) -> int:
        schema = self.get_model_schema(model, credentials)
        if schema and ModelPropertyKey.CONTEXT_SIZE in schema.model_properties:
            return int(schema.model_properties[ModelPropertyKey.CONTEXT_SIZE])
        return FALLBACK_EMBEDDING_CONTEXT


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
    return [(item.embedding, item.usage.prompt_tokens) for item in items]


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
