from collections.abc import Mapping

from dify_plugin import ModelProvider


class GigaChatProvider(ModelProvider):
    def validate_provider_credentials(self, credentials: Mapping) -> None:
        """Authenticate and list models: a free call, so saving credentials spends no tokens."""
        # Imported here, not at start: dify_plugin loads this module to find the class, and starting the plugin
        # should not load the gigachat SDK.
        from models.common.validation import validate_connection

        validate_connection(credentials)
