"""Dify model parameters -> GigaChat request fields.

Dify has already checked each value against the model YAML's rules; what is left here is what GigaChat means by
them, which is not always what other APIs mean.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from dify_plugin.errors.model import InvokeBadRequestError

from ..common.catalog import BUILT_IN_TOOLS
from ..common.prefix import PREFIX
from .schema import SchemaError, normalize_response_schema

# Passed through unchanged: GigaChat's own names for them.
_PASSTHROUGH = ("max_tokens", "repetition_penalty", "update_interval", "profanity_check", "reasoning_effort")


def generation_fields(parameters: Mapping[str, object]) -> dict[str, object]:
    fields: dict[str, object] = {name: parameters[name] for name in _PASSTHROUGH if parameters.get(name) is not None}
    if parameters.get("top_p") is not None:
        fields["top_p"] = parameters["top_p"]
    temperature = parameters.get("temperature")
    if isinstance(temperature, int | float):
        if temperature <= 0:
            # GigaChat rejects temperature 0; what a caller means by it is greedy decoding, which is top_p 0.
            fields["top_p"] = 0.0
        else:
            fields["temperature"] = float(temperature)
    return fields


def built_in_tools(parameters: Mapping[str, object]) -> tuple[str, ...]:
    """The built-in tools whose switch is on (Dify has checked each is a boolean)."""
    return tuple(name for name in BUILT_IN_TOOLS if parameters.get(name) is True)


def response_schema(parameters: Mapping[str, object]) -> dict | None:
    """The JSON Schema the answer must follow, or None for free text."""
    if parameters.get("response_format") != "json_schema":
        return None
    raw = parameters.get("json_schema")
    if not raw:
        raise InvokeBadRequestError(PREFIX + "response format 'json_schema' needs a JSON Schema in 'json_schema'.")
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        raise InvokeBadRequestError(PREFIX + "the 'json_schema' parameter is not valid JSON.") from None
    except RecursionError:
        raise InvokeBadRequestError(PREFIX + "the 'json_schema' parameter is nested too deeply to read.") from None
    if not isinstance(value, dict):
        raise InvokeBadRequestError(PREFIX + "the 'json_schema' parameter must be a JSON object.")
    # Dify wraps the schema as {"schema": ..., "name": "llm_response"}; a bare schema is accepted too.
    schema = value.get("schema") if isinstance(value.get("schema"), dict) else value
    try:
        return normalize_response_schema(schema)
    except SchemaError as error:
        raise InvokeBadRequestError(PREFIX + f"the 'json_schema' parameter is not a usable schema: {error}") from None
