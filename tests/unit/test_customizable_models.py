"""What a customizable model's own form adds to its schema: the audio and reasoning-effort switches, and the prices an
operator enters, also for a model added under a predefined model's id."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from dify_plugin.entities.model import (
    AIModelEntity,
    ModelFeature,
    ModelPropertyKey,
    ModelType,
    PriceConfig,
    PriceType,
)

from models.common.catalog import MODEL_FIELDS, customizable_schema, has_model_fields
from models.common.pricing import PriceError, pricing_of
from models.llm.llm import GigaChatLargeLanguageModel
from models.text_embedding.text_embedding import GigaChatTextEmbeddingModel
from tests.tables import table

ROOT = Path(__file__).resolve().parents[2]
PROVIDER = yaml.safe_load((ROOT / "provider/gigachat.yaml").read_text(encoding="utf-8"))


def predefined(folder: str) -> list[AIModelEntity]:
    order = yaml.safe_load((ROOT / "models" / folder / "_position.yaml").read_text(encoding="utf-8"))
    return [AIModelEntity(**yaml.safe_load((ROOT / "models" / folder / f"{m}.yaml").read_text())) for m in order]


LLMS = predefined("llm")
EMBEDDERS = predefined("text_embedding")


def llm_schema(model: str, **credentials: str) -> AIModelEntity:
    return customizable_schema(LLMS, model, credentials, ModelType.LLM)


def rule_names(entity: AIModelEntity) -> list[str]:
    return [rule.name for rule in entity.parameter_rules]


def test_the_model_only_fields_are_exactly_those_of_the_customizable_models_form():
    connection = {f["variable"] for f in PROVIDER["provider_credential_schema"]["credential_form_schemas"]}
    per_model = {f["variable"] for f in PROVIDER["model_credential_schema"]["credential_form_schemas"]}
    assert per_model - connection == MODEL_FIELDS


# ---- audio ----------------------------------------------------------------------------------------------------------


def test_no_predefined_model_declares_audio_because_no_source_says_which_take_it():
    assert all(ModelFeature.AUDIO not in (model.features or []) for model in LLMS)


@pytest.mark.parametrize(
    ("model", "switch", "audio"),
    [("GigaChat-2-Max-preview", "true", True), ("GigaChat-7-Future", "true", True), ("GigaChat-2-Max", "false", False)],
)
def test_the_accepts_audio_switch_declares_audio_and_keeps_the_familys_other_features(model, switch, audio):
    entity = llm_schema(model, audio_support=switch)
    assert (ModelFeature.AUDIO in entity.features) is audio
    if model.startswith("GigaChat-2-Max"):
        assert {ModelFeature.VISION, ModelFeature.DOCUMENT} <= set(entity.features)


# ---- reasoning effort -----------------------------------------------------------------------------------------------


def reasoning_rule(entity: AIModelEntity):
    return next((rule for rule in entity.parameter_rules if rule.name == "reasoning_effort"), None)


def test_gigachat_2_max_declares_reasoning_effort_low_medium_high_without_a_default():
    rule = reasoning_rule(next(model for model in LLMS if model.model == "GigaChat-2-Max"))
    assert (rule.options, rule.default, rule.required) == (["low", "medium", "high"], None, False)
    assert "<think>" in rule.help.en_us
    assert [model.model for model in LLMS if reasoning_rule(model)] == ["GigaChat-2-Max"]


@pytest.mark.parametrize(
    ("model", "credentials", "offered"),
    **table(
        ("max-family", "GigaChat-2-Max-preview", {}, True),
        ("reasoning-in-the-id", "GigaChat-2-Reasoning", {}, True),
        ("switch-on", "GigaChat-3-Pro", {"reasoning_support": "true"}, True),
        ("unknown-family-switch-on", "Kandinsky-Chat", {"reasoning_support": "true"}, True),
        ("switch-off", "GigaChat-3-Pro", {"reasoning_support": "false"}, False),
        ("another-family", "GigaChat-2-Pro-preview", {}, False),
    ),
)
def test_reasoning_effort_is_offered_where_a_source_or_the_operator_says_the_model_reasons(model, credentials, offered):
    entity = llm_schema(model, **credentials)
    assert (reasoning_rule(entity) is not None) is offered
    assert rule_names(entity).count("reasoning_effort") == int(offered)
    if offered:
        max_rule = reasoning_rule(next(m for m in LLMS if m.model == "GigaChat-2-Max"))
        assert reasoning_rule(entity) == max_rule  # one definition: GigaChat-2-Max's YAML


@pytest.mark.parametrize("first", ["GigaChat-2-Max", "GigaChat-2"])
def test_an_id_of_no_known_family_gets_no_reasoning_effort_whichever_model_dify_plugin_lists_first(first):
    ordered = sorted(LLMS, key=lambda model: model.model != first)
    entity = customizable_schema(ordered, "Kandinsky-Chat", {}, ModelType.LLM)
    assert "reasoning_effort" not in rule_names(entity)
    assert "temperature" in rule_names(entity)


# ---- prices ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("credentials", "model_type", "expected"),
    **table(
        ("none", {}, ModelType.LLM, None),
        ("empty", {"input_price": " ", "output_price": ""}, ModelType.LLM, None),
        ("both", {"input_price": "1.5", "output_price": "3"}, ModelType.LLM, ("1.5", "3")),
        ("decimal-comma", {"input_price": "0,25"}, ModelType.LLM, ("0.25", None)),
        ("output-only", {"output_price": "2"}, ModelType.LLM, ("0", "2")),
        ("embedding-has-no-output-price", {"input_price": "0.1", "output_price": "9"}, ModelType.TEXT_EMBEDDING,
         ("0.1", None)),
    ),
)  # fmt: skip
def test_prices_are_roubles_per_1000_tokens(credentials, model_type, expected):
    pricing = pricing_of(credentials, model_type)
    if expected is None:
        assert pricing is None
        return
    output = Decimal(expected[1]) if expected[1] is not None else None
    assert pricing == PriceConfig(input=Decimal(expected[0]), output=output, unit=Decimal("0.001"), currency="RUB")


@pytest.mark.parametrize("value", ["free", "-1", "1001", "nan", "inf", "1.2.3", "1e9"])
def test_a_value_that_is_not_a_price_is_refused_naming_the_field(value):
    with pytest.raises(PriceError, match=r"^Output price: expected roubles per 1,000 tokens, a number from 0 to 1,000"):
        pricing_of({"output_price": value}, ModelType.LLM)


@pytest.mark.parametrize(
    ("credentials", "own"),
    [({}, False), ({"api_key": "k", "scope": "GIGACHAT_API_PERS"}, False), ({"query_instruction": ""}, False),
     ({"input_price": "1"}, True), ({"chat_protocol": "auto"}, True), ({"context_size": "4096"}, True)],
)  # fmt: skip
def test_credentials_with_a_field_of_the_models_own_form_are_a_customizable_models(credentials, own):
    assert has_model_fields(credentials) is own


def test_a_model_added_under_a_predefined_id_gets_its_prices_and_keeps_its_familys_schema():
    llm = GigaChatLargeLanguageModel(model_schemas=LLMS)
    provider_level = llm.get_model_schema("GigaChat-2-Max", {"api_key": "k"})
    own = llm.get_model_schema("GigaChat-2-Max", {"api_key": "k", "input_price": "2", "output_price": "4"})
    assert provider_level.pricing is None
    assert own.pricing == PriceConfig(input=Decimal(2), output=Decimal(4), unit=Decimal("0.001"), currency="RUB")
    assert own.features == provider_level.features
    assert rule_names(own) == rule_names(provider_level)
    price = llm.get_price("GigaChat-2-Max", {"input_price": "2"}, PriceType.INPUT, 1500)
    assert (price.total_amount, price.currency) == (Decimal("3.000"), "RUB")


def test_an_embedding_model_added_under_a_predefined_id_gets_its_price_and_context():
    embedder = GigaChatTextEmbeddingModel(model_schemas=EMBEDDERS)
    own = embedder.get_model_schema("Embeddings-2", {"input_price": "0.05", "context_size": "2048"})
    assert (own.pricing.input, own.pricing.output, own.model_properties[ModelPropertyKey.CONTEXT_SIZE]) == (
        Decimal("0.05"),
        None,
        2048,
    )
    assert embedder.get_model_schema("Embeddings-2", {}).pricing is None
