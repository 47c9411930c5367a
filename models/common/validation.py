"""Credential validation with a free call: listing models costs no tokens."""

from __future__ import annotations

from collections.abc import Mapping

from dify_plugin.entities.model import ModelType
from dify_plugin.errors.model import CredentialsValidateFailedError

from .client import ModelList, client_for
from .errors import credentials_failure
from .pricing import pricing_of
from .retry import call_with_retries
from .settings import AuthMethod, GigaChatSettings, parse_credentials, protocol_choice

# The `type` GigaChat's model list gives the ids a Dify model type can use (the SDK's recording of `GET /models`,
# ai-forever/gigachat tests/integration/cassettes/test_get_models.yaml); filter and aicheck models serve neither.
LISTED_TYPES = {ModelType.LLM: "chat", ModelType.TEXT_EMBEDDING: "embedder"}
_KIND_NAMES = {"chat": "chat", "embedder": "embedding"}
_SHOWN = 12


def validate_connection(credentials: Mapping, model: str | None = None, model_type: ModelType | None = None) -> None:
    """Authenticate and list the host's models; when a model is named, it must be one this host offers these
    credentials, of the type Dify will use it as."""
    settings = None
    try:
        settings = parse_credentials(credentials)
        # A model's 'Chat protocol' and prices are refused on saving, not at its first request.
        protocol_choice(credentials)
        pricing_of(credentials, model_type or ModelType.LLM)
        listed = call_with_retries(client_for(settings).list_models)
    except Exception as error:
        raise credentials_failure(error, settings) from None
    if model and listed.data:
        check_offered(listed, model, LISTED_TYPES.get(model_type) if model_type else None, settings)


def check_offered(listed: ModelList, model: str, wanted: str | None, settings: GigaChatSettings) -> None:
    """Refuse a model the list does not offer (as `wanted`, when the list says types), naming the host asked and what
    it does offer."""
    types = {item.id: item.type for item in listed.data}
    if model in types and (wanted is None or types[model] in (wanted, None)):
        return
    kind = _KIND_NAMES.get(wanted or "", "")
    offered = sorted(name for name, listed_type in types.items() if wanted is None or listed_type in (wanted, None))
    shown = ", ".join(offered[:_SHOWN]) + (", …" if len(offered) > _SHOWN else "") if offered else "none"
    who = f"scope {settings.scope}" if settings.auth_method is AuthMethod.AUTHORIZATION_KEY else "these credentials"
    what = f"is {_a(types[model])} model, not {_a(kind)} model" if model in types else f"is not offered to {who}"
    raise CredentialsValidateFailedError(
        f"GigaChat at {settings.api_host}: model '{model}' {what}. Its {kind + ' ' if kind else ''}models: {shown}."
    )


def _a(word: str | None) -> str:
    return f"{'an' if (word or 'x')[0] in 'aeiou' else 'a'} {word}"
