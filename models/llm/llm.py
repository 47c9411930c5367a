"""The GigaChat LargeLanguageModel: routing only; the rules live in the modules it calls."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterator

from dify_plugin.entities.model.llm import LLMResult, LLMResultChunk
from dify_plugin.entities.model.message import PromptMessage, PromptMessageTool
from dify_plugin.errors.model import InvokeBadRequestError
from dify_plugin.interfaces.model.large_language_model import LargeLanguageModel

from ..common import raw_requests
from ..common.errors import PREFIX, invoke_error
from ..common.model_base import GigaChatModel
from ..common.settings import parse_credentials
from ..common.tokens import estimate_prompt_tokens, estimate_tokens
from . import chat
from .conversation import countable_texts
from .tools import ToolNames, functions_for


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
        settings = None
        try:
            settings = parse_credentials(credentials)
            request = chat.build_request(model, prompt_messages, model_parameters, tools, raw_requests.tool_choice())
            # Inside the try: building the SDK client (TLS context, SDK settings) can fail too, and an error that
            # escapes here is re-raised by dify_plugin `from` the original, whose text would reach the traceback.
            usage_for = functools.partial(self._calc_response_usage, model, credentials)
            return chat.generate(settings, request, stop, stream, user, usage_for)
        except Exception as error:
            raise invoke_error(error, settings) from None

    def get_num_tokens(
        self,
        model: str,
        credentials: dict,
        prompt_messages: list[PromptMessage],
        tools: list[PromptMessageTool] | None = None,
    ) -> int:
        # Attachments are not counted: GigaChat's token counts cover text only.
        specs = functions_for(tools or (), ToolNames.of([]))
        tool_tokens = sum(estimate_tokens(json.dumps(spec, ensure_ascii=False)) for spec in specs)
        return estimate_prompt_tokens(countable_texts(prompt_messages)) + tool_tokens

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
