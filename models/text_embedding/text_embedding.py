"""GigaChat embeddings for Dify knowledge bases: long texts split and merged, requests batched and concurrent."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from dify_plugin.entities.model import AIModelEntity, EmbeddingInputType, ModelPropertyKey, ModelType, PriceType
from dify_plugin.entities.model.text_embedding import EmbeddingUsage, TextEmbeddingResult
from dify_plugin.errors.model import InvokeBadRequestError, InvokeError
from dify_plugin.interfaces.model.text_embedding_model import TextEmbeddingModel
from gigachat import GigaChatSyncClient

from ..common.catalog import customizable_schema, family_of
from ..common.client import client_for
from ..common.errors import invoke_error
from ..common.retry import call_with_retries
from ..common.settings import parse_credentials
from ..common.tokens import estimate_tokens
from ..common.validation import validate_connection
from .batching import merge_vectors, plan_batches, split_text

PREFIX = "[gigachat] "
# GigaChat's per-request limits are not published; langchain-gigachat batched at 90 texts per request
# (gigachat-api.md section 4), which the plugin keeps below.
MAX_ITEMS_PER_REQUEST = 64
MAX_TOKENS_PER_REQUEST = 64 * 4096
PARALLEL_REQUESTS = 4
# The retrieval instruction EmbeddingsGigaR expects before a search query, and never before a document
# (gigachat-api.md section 4: the instruction third-party projects cite as Sber's reference one).
QUERY_INSTRUCTIONS = {"EmbeddingsGigaR": "Дан вопрос, необходимо найти абзац текста с ответом \nвопрос: "}
# The estimate may undercount; parts are cut below the context so GigaChat's real count still fits.
_CONTEXT_MARGIN = 0.8


class GigaChatTextEmbeddingModel(TextEmbeddingModel):
    def _invoke(
        self,
        model: str,
        credentials: dict,
        texts: list[str],
        user: str | None = None,
        input_type: EmbeddingInputType = EmbeddingInputType.DOCUMENT,
    ) -> TextEmbeddingResult:
        try:
            settings = parse_credentials(credentials)
            if any(not text.strip() for text in texts):
                raise InvokeBadRequestError(PREFIX + "an empty text cannot be embedded.")
            prefix = self._query_instruction(model, credentials) if input_type == EmbeddingInputType.QUERY else ""
            limit = max(1, int(self._get_context_size(model, credentials) * _CONTEXT_MARGIN))
            parts = [split_text(prefix + text, limit, estimate_tokens) for text in texts]
            vectors, tokens = embed_all(client_for(settings), model, [p for ps in parts for p in ps])
        except Exception as error:
            raise invoke_error(error, None, texts) from None
        embeddings, offset = [], 0
        for text_parts in parts:
            count = len(text_parts)
            weights = [len(p) for p in text_parts]
            embeddings.append(merge_vectors(vectors[offset : offset + count], weights))
            offset += count
        return TextEmbeddingResult(model=model, embeddings=embeddings, usage=self._usage(model, credentials, tokens))

    def get_num_tokens(self, model: str, credentials: dict, texts: list[str]) -> list[int]:
        return [estimate_tokens(text) for text in texts]

    def validate_credentials(self, model: str, credentials: Mapping) -> None:
        validate_connection(credentials, model)

    def get_customizable_model_schema(self, model: str, credentials: Mapping) -> AIModelEntity | None:
        return customizable_schema(self.predefined_models(), model, credentials, ModelType.TEXT_EMBEDDING)

    @property
    def _invoke_error_mapping(self) -> dict[type[InvokeError], list[type[Exception]]]:
        return {}

    def _transform_invoke_error(self, error: Exception) -> InvokeError:
        mapped = invoke_error(error)
        return type(mapped)(mapped.description)

    def _query_instruction(self, model: str, credentials: Mapping) -> str:
        custom = str(credentials.get("query_instruction") or "")
        if custom:
            return custom
        family = family_of(self.predefined_models(), model)
        return QUERY_INSTRUCTIONS.get(family.model, "") if family else ""

    def _usage(self, model: str, credentials: dict, tokens: int) -> EmbeddingUsage:
        price = self.get_price(model, credentials, PriceType.INPUT, tokens)
        return EmbeddingUsage(
            tokens=tokens,
            total_tokens=tokens,
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
        return 512


def embed_all(client: GigaChatSyncClient, model: str, texts: Sequence[str]) -> tuple[list[list[float]], int]:
    """Embed texts in order: batched within GigaChat's limits, PARALLEL_REQUESTS requests at a time."""
    sizes = [estimate_tokens(text) for text in texts]
    batches = plan_batches(sizes, MAX_ITEMS_PER_REQUEST, MAX_TOKENS_PER_REQUEST)

    def embed(batch: list[int]) -> tuple[list[list[float]], int]:
        response = call_with_retries(lambda: client.embeddings([texts[i] for i in batch], model=model))
        items = sorted(response.data, key=lambda item: item.index)
        if len(items) != len(batch):
            raise InvokeBadRequestError(PREFIX + f"GigaChat returned {len(items)} vectors for {len(batch)} texts.")
        return [item.embedding for item in items], sum(item.usage.prompt_tokens for item in items if item.usage)

    if len(batches) == 1:
        results = [embed(batches[0])]
    else:
        with ThreadPoolExecutor(max_workers=min(PARALLEL_REQUESTS, len(batches))) as pool:
            results = list(pool.map(embed, batches))
    vectors = [vector for batch_vectors, _ in results for vector in batch_vectors]
    return vectors, sum(tokens for _, tokens in results)
