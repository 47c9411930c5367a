"""The GigaChat TextEmbeddingModel: the model's own data (retrieval instruction, context size, prices); the rules
of an embedding call live in embed.py.

dify_plugin imports this module at start to find the class; embed.py (and the gigachat SDK beneath it) is imported
by the first request that needs it, so that starting the plugin loads neither.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping, Sequence

from dify_plugin.entities.model import EmbeddingInputType, ModelPropertyKey, PriceType
from dify_plugin.entities.model.text_embedding import EmbeddingUsage, TextEmbeddingResult
from dify_plugin.interfaces.model.text_embedding_model import TextEmbeddingModel

from ..common.catalog import FALLBACK_EMBEDDING_CONTEXT, family_of
from ..common.model_base import GigaChatModel
from ..common.tokens import estimate_tokens

# The retrieval instruction EmbeddingsGigaR expects before a search query, and never before a document
# (the instruction several third-party projects cite as Sber's reference one; Sber's page itself was not available
# to confirm its exact spacing).
QUERY_INSTRUCTIONS = {"EmbeddingsGigaR": "Дан вопрос, необходимо найти абзац текста с ответом \nвопрос: "}
# Typed into a customizable model's "Query instruction" field, this turns the instruction off.
NO_INSTRUCTION = "none"


class GigaChatTextEmbeddingModel(GigaChatModel, TextEmbeddingModel):
    def _invoke(
        self,
        model: str,
        credentials: dict,
        texts: list[str],
        user: str | None = None,
        input_type: EmbeddingInputType = EmbeddingInputType.DOCUMENT,
    ) -> TextEmbeddingResult:
        from . import embed

        instruction = self.query_instruction(model, credentials) if input_type == EmbeddingInputType.QUERY else ""
        context_size = self._get_context_size(model, credentials)
        usage_for = functools.partial(self._usage, model, credentials)
        return embed.invoke(model, credentials, texts, instruction, context_size, usage_for)

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
