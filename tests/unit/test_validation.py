"""models/common/validation.py: a model the user names must be one the host offers these credentials, as the type
Dify will use it as; the refusal names the host asked and what it offers."""

from __future__ import annotations

import pytest
from dify_plugin.errors.model import CredentialsValidateFailedError

from models.common.client import ListedModel, ModelList
from models.common.settings import parse_credentials
from models.common.validation import check_offered

KEY = "Y2xpZW50OnNlY3JldA=="
LISTED = ModelList(
    data=[
        ListedModel(id="GigaChat-2", type="chat"),
        ListedModel(id="GigaChat-2-Max", type="chat"),
        ListedModel(id="GigaFilter", type="filter"),
        ListedModel(id="Embeddings", type="embedder"),
        ListedModel(id="GigaChat-Legacy"),  # an entry without a type, as older lists have
    ]
)
B2B = parse_credentials({"api_key": KEY, "scope": "GIGACHAT_API_B2B"})


@pytest.mark.parametrize(
    ("model", "wanted"),
    [("GigaChat-2-Max", "chat"), ("Embeddings", "embedder"), ("GigaChat-Legacy", "chat"), ("GigaFilter", None)],
)
def test_a_model_the_host_offers_as_that_type_passes(model: str, wanted: str | None) -> None:
    check_offered(LISTED, model, wanted, B2B)


@pytest.mark.parametrize(
    ("model", "wanted", "message"),
    [
        pytest.param("GigaChat-3-Ultra", "chat",
                     "GigaChat at api.giga.chat: model 'GigaChat-3-Ultra' is not offered to scope GIGACHAT_API_B2B. "
                     "Its chat models: GigaChat-2, GigaChat-2-Max, GigaChat-Legacy.", id="not-listed"),
        pytest.param("GigaFilter", "chat",
                     "GigaChat at api.giga.chat: model 'GigaFilter' is a filter model, not a chat model. "
                     "Its chat models: GigaChat-2, GigaChat-2-Max, GigaChat-Legacy.", id="listed-as-another-type"),
        pytest.param("EmbeddingsGigaR", "embedder",
                     "GigaChat at api.giga.chat: model 'EmbeddingsGigaR' is not offered to scope GIGACHAT_API_B2B. "
                     "Its embedding models: Embeddings, GigaChat-Legacy.", id="an-embedder"),
    ],
)  # fmt: skip
def test_a_model_the_host_does_not_offer_is_refused_naming_the_host_and_its_models(model, wanted, message) -> None:
    with pytest.raises(CredentialsValidateFailedError) as caught:
        check_offered(LISTED, model, wanted, B2B)
    assert str(caught.value) == message


def test_without_a_scope_the_refusal_speaks_of_these_credentials() -> None:
    token = parse_credentials({"auth_method": "access_token", "access_token": "eyJ.t", "base_url": "https://h.test/v1"})
    with pytest.raises(
        CredentialsValidateFailedError, match=r"^GigaChat at h\.test: model 'X' is not offered to these"
    ):
        check_offered(LISTED, "X", "chat", token)
