"""What the LLM and the embedding model share, written once: free credential validation, schemas for
customizable models, and errors mapped where they happen.

dify_plugin imports this module at start, with the model classes: validation and the error mapper (and the gigachat
SDK beneath them) are imported when first used.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from dify_plugin.entities.model import AIModelEntity
from dify_plugin.errors.model import InvokeError

from .catalog import customizable_schema, has_model_fields

if TYPE_CHECKING:
    from dify_plugin.interfaces.model.ai_model import AIModel

    _Base = AIModel
else:
    _Base = object


class GigaChatModel(_Base):
    """Mixed in before dify_plugin's model class: `class X(GigaChatModel, LargeLanguageModel)`."""

    def validate_credentials(self, model: str, credentials: Mapping) -> None:
        from .validation import validate_connection

        validate_connection(credentials, model, self.model_type)

    def get_customizable_model_schema(self, model: str, credentials: Mapping) -> AIModelEntity | None:
        return customizable_schema(self.predefined_models(), model, credentials, self.model_type)

    def get_model_schema(self, model: str, credentials: Mapping | None = None) -> AIModelEntity | None:
        """dify_plugin answers a predefined model's id with its YAML whatever the credentials; a customizable model
        under that id (added to enter prices or a larger context) gets the schema its own form describes."""
        if has_model_fields(credentials):
            return self.get_customizable_model_schema_from_credentials(model, credentials)  # type: ignore[arg-type]
        return super().get_model_schema(model, credentials)  # type: ignore[safe-super]

    @property
    def _invoke_error_mapping(self) -> dict[type[InvokeError], list[type[Exception]]]:
        # Every failure is mapped where it happens (models/common/errors.py), with a message safe to show.
        return {}

    def _transform_invoke_error(self, error: Exception) -> InvokeError:
        from .errors import invoke_error

        mapped = invoke_error(error)
        # A fresh instance: dify_plugin raises the result `from` the original, which must not be the same object.
        return type(mapped)(mapped.description)
