"""Credential validation with a free call: listing models costs no tokens."""

from __future__ import annotations

from collections.abc import Mapping

from dify_plugin.errors.model import CredentialsValidateFailedError

from .client import client_for
from .errors import credentials_failure
from .retry import call_with_retries
from .settings import parse_credentials


def validate_connection(credentials: Mapping, model: str | None = None) -> None:
    """Authenticate and list models; when a model is named, it must be one this key and scope can use."""
    settings = None
    try:
        settings = parse_credentials(credentials)
        client = client_for(settings)
        listed = call_with_retries(client.get_models)
    except Exception as error:
        raise credentials_failure(error, settings) from None
    available = sorted(item.id_ for item in listed.data)
    if model and available and model not in available:
        shown = ", ".join(available[:12]) + (", …" if len(available) > 12 else "")
        raise CredentialsValidateFailedError(
            f"GigaChat does not offer model '{model}' for these credentials; it offers: {shown}."
        )
