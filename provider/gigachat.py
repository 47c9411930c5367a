from collections.abc import Mapping

from dify_plugin import ModelProvider

from models.common.validation import validate_connection


class GigaChatProvider(ModelProvider):
    def validate_provider_credentials(self, credentials: Mapping) -> None:
        """Authenticate and list models: a free call, so saving credentials spends no tokens."""
        validate_connection(credentials)
