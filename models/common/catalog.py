"""Schemas for customizable models: any GigaChat model id a user adds by name.

A new id (a `-preview` twin, a newer generation) inherits the schema of the predefined model whose id is its
longest prefix, because that is the family it belongs to; an id that no predefined id prefixes but that names a
generation the plugin lists (`GigaChat-3-Pro` beside `GigaChat-3-Ultra`) inherits from that generation's model.
The user's form values override the context size and the output limit, add the features and the reasoning effort
its switches turn on, and set its prices (pricing.py); a GigaChat 3 id or any id on the v2 protocol gets the built-in
tool switches. An id from no known family gets the plain chat (or embedding)
parameters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from dify_plugin.entities.model import (
    AIModelEntity,
    FetchFrom,
    I18nObject,
    ModelFeature,
    ModelPropertyKey,
    ModelType,
    ParameterRule,
)

from .pricing import PRICE_FIELDS, PriceError, pricing_of

# The smallest context GigaChat has documented for a chat model (first-generation GigaChat, 8192 tokens; see Sber's
# 2024 models page, developers.sber.ru/docs/ru/gigachat/models): a safe assumption for an unknown id until the user
# enters the real size.
FALLBACK_LLM_CONTEXT = 8192
# GigaChat's `Embeddings` model takes 512 tokens per input (shamspias/dify-gigachat-plugin README): the safe lower
# bound.
FALLBACK_EMBEDDING_CONTEXT = 512
FALLBACK_EMBEDDING_MAX_CHUNKS = 16
_GENERATION = re.compile(r"^gigachat-\d+(?=-|$)", re.IGNORECASE)
_FILE_INPUT = frozenset({ModelFeature.VISION, ModelFeature.DOCUMENT, ModelFeature.AUDIO, ModelFeature.VIDEO})
REASONING_EFFORT = "reasoning_effort"
# The fields of a customizable model's form beyond the connection ones (provider/gigachat.yaml
# model_credential_schema): credentials holding one of them are a model's own, even under a predefined model's id.
MODEL_FIELDS = frozenset(
    {
        "context_size", "max_tokens", "chat_protocol", "vision_support", "audio_support", "reasoning_support",
        "query_instruction", *PRICE_FIELDS,
    }
)  # fmt: skip
# The form's switches for a feature no source confirms for an id: on adds it; off never removes a feature the id
# inherits from its family (GigaChat-2-Max-preview accepts images like GigaChat-2-Max).
_FEATURE_SWITCHES = {"vision_support": ModelFeature.VISION, "audio_support": ModelFeature.AUDIO}
# A customizable model's 'Chat protocol' values (models/common/settings.py `ProtocolChoice`, not imported: the
# catalog loads when the plugin starts, settings only with the first request): v2 offers the switches whatever the
# model's family, v1 never does. The built-in tools exist only on v2.
_V1, _V2 = "v1", "v2"
# GigaChat's built-in tools, each a boolean switch of the same name among a model's parameters (labels as the model
# YAMLs write them in English): the v2 protocol's tool names (ai-forever/gigachat
# tests/integration/cassettes/test_primary_chat_builtin_tools.yaml records all four on GigaChat-3-Ultra).
BUILT_IN_TOOLS = {
    "web_search": "Web search",
    "url_content_extraction": "Read web pages",
    "code_interpreter": "Code interpreter",
    "image_generate": "Image generation",
}


def customizable_schema(
    predefined: Sequence[AIModelEntity], model: str, credentials: Mapping, model_type: ModelType
) -> AIModelEntity:
    base = family_of(predefined, model)
    entity = base.model_copy(deep=True) if base is not None else _plain_entity(model_type, predefined)
    entity.model = model
    entity.label = I18nObject(en_US=model)
    entity.fetch_from = FetchFrom.CUSTOMIZABLE_MODEL
    if model_type is ModelType.LLM:
        entity.parameter_rules = _with_switches(entity.parameter_rules, base, predefined, credentials)
    _apply_overrides(entity, credentials, predefined)
    return entity


def has_model_fields(credentials: Mapping | None) -> bool:
    """Whether these are a customizable model's credentials holding a value of its own form (a switch's "false"
    included): then its schema is built from them even when its id is a predefined model's (an operator adds
    `GigaChat-2-Max` to enter prices). Without any such value that schema would be the predefined one anyway."""
    return bool(credentials) and any(str(credentials.get(name) or "").strip() for name in MODEL_FIELDS)


def family_of(predefined: Sequence[AIModelEntity], model: str) -> AIModelEntity | None:
    """The predefined model whose id is the longest prefix of `model`, else the one of the same generation (with
    several, the shortest id: the line's base model)."""
    matches = [entity for entity in predefined if model.lower().startswith(entity.model.lower())]
    if matches:
        return max(matches, key=lambda entity: len(entity.model))
    generation = _generation(model)
    peers = [entity for entity in predefined if generation is not None and _generation(entity.model) == generation]
    return min(peers, key=lambda entity: len(entity.model), default=None)


def _generation(model: str) -> str | None:
    """The line and its number: "gigachat-3" for "GigaChat-3-Pro"."""
    match = _GENERATION.match(model)
    return match.group(0).lower() if match else None


def _plain_entity(model_type: ModelType, predefined: Sequence[AIModelEntity]) -> AIModelEntity:
    if model_type is ModelType.LLM:
        # What a GigaChat chat model takes, from the first predefined model (dify_plugin lists them in no set
        # order): its parameters but reasoning effort, and its features but file input. The chat models Sber
        # documents support functions (GigaChat 3 too, in ai-forever/gigachat's recorded tests), and structured output
        # has the forced-function fallback where response_format is missing.
        first = predefined[0] if predefined else None
        common = (r for r in first.parameter_rules if r.name != REASONING_EFFORT) if first else ()
        rules: list[ParameterRule] = [r.model_copy(deep=True) for r in common]
        features = [f for f in (first.features or []) if f not in _FILE_INPUT] if first else []
        properties = {ModelPropertyKey.MODE: "chat", ModelPropertyKey.CONTEXT_SIZE: FALLBACK_LLM_CONTEXT}
        return AIModelEntity(
            model="", label=I18nObject(en_US=""), model_type=model_type, features=features,
            model_properties=properties, parameter_rules=rules,
        )  # fmt: skip
    properties = {
        ModelPropertyKey.CONTEXT_SIZE: FALLBACK_EMBEDDING_CONTEXT,
        ModelPropertyKey.MAX_CHUNKS: FALLBACK_EMBEDDING_MAX_CHUNKS,
    }
    return AIModelEntity(
        model="", label=I18nObject(en_US=""), model_type=model_type, features=[], model_properties=properties
    )


def _with_switches(
    rules: list[ParameterRule], base: AIModelEntity | None, predefined: Sequence[AIModelEntity], credentials: Mapping
) -> list[ParameterRule]:
    """The built-in tool switches for an id of a family that has them (GigaChat-3-…) or of the v2 protocol; none for
    an id of no known family, which copies another model's parameters, nor for one fixed to v1, whose host or
    gateway may not serve v2 at all."""
    others = [rule for rule in rules if rule.name not in BUILT_IN_TOOLS]
    protocol = str(credentials.get("chat_protocol", "")).strip().lower()
    if protocol == _V1:
        return others
    if protocol == _V2:
        switches = [rule for model in predefined for rule in model.parameter_rules if rule.name in BUILT_IN_TOOLS]
        unique = {rule.name: rule for rule in reversed(switches)}  # the first model's rule of each name
        return [*others, *(unique[name].model_copy(deep=True) for name in BUILT_IN_TOOLS if name in unique)]
    return rules if base is not None else others


def _apply_overrides(entity: AIModelEntity, credentials: Mapping, predefined: Sequence[AIModelEntity]) -> None:
    if entity.model_type is ModelType.LLM:
        features = list(entity.features or [])
        for switch, feature in _FEATURE_SWITCHES.items():
            if _switched_on(credentials, switch) and feature not in features:
                features.append(feature)
        entity.features = features
        if _switched_on(credentials, "reasoning_support") or "reasoning" in entity.model.lower():
            _add_reasoning_effort(entity, predefined)
    try:
        entity.pricing = pricing_of(credentials, entity.model_type)
    except PriceError:
        entity.pricing = None  # refused when the model was saved (validation.py); never a guessed price
    context = _positive_int(credentials.get("context_size"))
    if context:
        entity.model_properties[ModelPropertyKey.CONTEXT_SIZE] = context
    max_tokens = _positive_int(credentials.get("max_tokens"))
    if max_tokens:
        for rule in entity.parameter_rules:
            if rule.name == "max_tokens":
                rule.max = max_tokens
                if rule.default is not None and rule.default > max_tokens:
                    rule.default = max_tokens


def _switched_on(credentials: Mapping, name: str) -> bool:
    return str(credentials.get(name, "")).strip().lower() == "true"


def _add_reasoning_effort(entity: AIModelEntity, predefined: Sequence[AIModelEntity]) -> None:
    """The reasoning-effort rule as the predefined models declare it (their YAML is its one definition)."""
    if any(rule.name == REASONING_EFFORT for rule in entity.parameter_rules):
        return
    declared = (r for model in predefined for r in model.parameter_rules if r.name == REASONING_EFFORT)
    rule = next(declared, None)
    if rule is not None:
        entity.parameter_rules = [*entity.parameter_rules, rule.model_copy(deep=True)]


def _positive_int(value: object) -> int | None:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None
