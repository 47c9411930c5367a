"""The GigaChat LargeLanguageModel: routing only; the rules live in the modules it calls.

dify_plugin imports this module at start to find the class. What serves a request (chat.py, and the gigachat SDK
beneath it) is imported by the first request that needs it, so that starting the plugin loads neither.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator

from dify_plugin.entities.model import ModelFeature
from dify_plugin.entities.model.llm import LLMResult, LLMResultChunk
from dify_plugin.entities.model.message import PromptMessage, PromptMessageTool
from dify_plugin.errors.model import InvokeBadRequestError
from dify_plugin.interfaces.model.large_language_model import LargeLanguageModel

from ..common.model_base import GigaChatModel
from ..common.prefix import PREFIX


class GigaChatLargeLanguageModel(GigaChatModel, LargeLanguageModel):
    def _invoke(
        self,
        model: str,
        credentials: dict,
        prompt_messages: list[PromptMessage],
        model_parameters: dict,
        tools: list[PromptMessageTool] | None = None,
        stop: list[str] | None = None,
        stream: bool = True,
        user: str | None = None,
    ) -> LLMResult | Iterator[LLMResultChunk]:
        from . import chat

        usage_for = functools.partial(self._calc_response_usage, model, credentials)
        schema = self.get_model_schema(model, credentials)
        takes_audio = schema is not None and ModelFeature.AUDIO in (schema.features or ())
        return chat.invoke(
            model, credentials, prompt_messages, model_parameters, tools, stop, stream, user, usage_for, takes_audio
        )

    def get_num_tokens(
        self,
        model: str,
        credentials: dict,
        prompt_messages: list[PromptMessage],
        tools: list[PromptMessageTool] | None = None,
    ) -> int:
        from . import chat

        return chat.prompt_tokens(prompt_messages, tools)

    def _validate_and_filter_model_parameters(self, model: str, model_parameters: dict, credentials: dict) -> dict:
        """dify_plugin's check of the YAML parameter rules, its plain ValueError (an "internal error" in Dify)
        raised as a bad request; its sentences name the parameter and the rule, never the value."""
        for name, value in model_parameters.items():
            if isinstance(value, float) and not math.isfinite(value):
                raise InvokeBadRequestError(PREFIX + f"model parameter {name[:64]} must be a finite number.")
        try:
            return super()._validate_and_filter_model_parameters(model, model_parameters, credentials)
        except ValueError as error:
            raise InvokeBadRequestError(PREFIX + str(error)) from None
