"""One `gigachat` SDK client per distinct credential set per process, held in memory only.

The SDK client keeps its OAuth token and its HTTP connections, and refreshes the token under its own lock, so
sharing one client across requests (and gevent greenlets) means OAuth happens once per token lifetime instead of
once per call. The cache key is a digest of the settings; the clients themselves (and so the tokens) never leave
this process's memory.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict, deque

import httpx
from gigachat import GigaChatSyncClient
from gigachat.api.models import _get_models_kwargs
from gigachat.api.utils import execute_request_sync
from gigachat.authentication import _with_auth
from gigachat.models.auth import AccessToken
from gigachat.models.base import APIResponse
from gigachat.settings import Settings
from pydantic import BaseModel
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from .bounded import Bounds, bound, is_bound
from .settings import AuthMethod, GigaChatSettings
from .trust import ssl_context_for

MAX_CACHED_CLIENTS = 32
# Tokens a client was issued, newest last: an answer may echo the one its request carried, so error messages withhold
# every token still in use (a request may carry the one before the newest while another request renews it).
_TOKENS_KEPT = 4
# Token expiry times below this are Unix seconds, not milliseconds: 10**11 ms is March 1973, 10**11 s is year 5138.
_SECONDS_BEFORE = 10**11

# The SDK and httpx log URLs, response headers and, on a parse failure, the raw streamed line (model output).
# Silence them for good so that nothing a user sent or received can reach the daemon's logs.
for _name in ("gigachat", "httpx", "httpcore"):
    _logger = logging.getLogger(_name)
    _logger.handlers[:] = [logging.NullHandler()]
    _logger.propagate = False
    _logger.setLevel(logging.CRITICAL + 1)


class ExplicitSettings(Settings):
    """The SDK's settings, but taken only from what we pass: GIGACHAT_* variables are ignored."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


class ListedModel(BaseModel):
    """One entry of `GET /models` with the `type` the SDK's Model drops: `chat`, `embedder`, `filter` or `aicheck`
    (the SDK's recording of the list, ai-forever/gigachat tests/integration/cassettes/test_get_models.yaml)."""

    id: str
    type: str | None = None


class ModelList(APIResponse):
    data: list[ListedModel]


class ExplicitClient(GigaChatSyncClient):
    """GigaChatSyncClient built from ExplicitSettings.

    The SDK constructor fills every argument left as None from the environment (GIGACHAT_ACCESS_TOKEN,
    GIGACHAT_CA_BUNDLE_FILE, ...), and None is exactly what we need for the settings a mode does not use, so we
    set up the same attributes GigaChatSyncClient.__init__ does, from settings nobody else can change.
    tests/unit/test_client.py checks that this stays in step with the SDK.
    """

    def __init__(self, settings: ExplicitSettings) -> None:
        self._settings = settings
        self._access_token = (
            AccessToken(access_token=settings.access_token, expires_at=0) if settings.access_token else None
        )
        self._sync_token_lock = threading.RLock()
        self._client_instance = None
        self._auth_client_instance = None
        self.issued_tokens: deque[str] = deque(maxlen=_TOKENS_KEPT)

    # The SDK's own httpx clients, built as the SDK builds them, with every answer bounded in size and time
    # (bounded.py): `Request timeout` is the longest a request may run, not only the longest wait for data.
    @property
    def _client(self) -> httpx.Client:
        return self._bounded(super()._client)

    @property
    def _auth_client(self) -> httpx.Client:
        return self._bounded(super()._auth_client)

    def _bounded(self, client: httpx.Client) -> httpx.Client:
        return client if is_bound(client) else bound(client, Bounds(seconds=self._settings.timeout))

    @_with_auth
    def list_models(self) -> ModelList:
        """`GET /models`, sent as the SDK's get_models sends it (and signed in the same way), each model's type kept."""
        return execute_request_sync(self._client, _get_models_kwargs(access_token=self.token), ModelList)

    def _update_token(self) -> None:
        """The SDK's refresh, with the expiry time read in the unit the server used.

        The SDK takes `/token`'s `exp` as milliseconds, but Sber documents it in seconds
        (developers.sber.ru/docs/en/gigachat/api/authorization). Read as milliseconds, a seconds value lies in 1970,
        so the SDK would fetch a new token before every request. The lock is the SDK's own (reentrant), so no request
        sees the token before it is corrected.
        """
        with self._sync_token_lock:
            super()._update_token()
            token = self._access_token
            if token is not None and 0 < token.expires_at < _SECONDS_BEFORE:
                self._access_token = token = token.model_copy(update={"expires_at": token.expires_at * 1000})
            if token is not None and token.access_token not in self.issued_tokens:
                self.issued_tokens.append(token.access_token)


def sdk_settings(settings: GigaChatSettings) -> ExplicitSettings:
    """Every SDK setting, chosen explicitly."""
    key_mode = settings.auth_method is AuthMethod.AUTHORIZATION_KEY
    return ExplicitSettings(
        base_url=settings.base_url,
        auth_url=settings.auth_url,
        credentials=settings.authorization_key if key_mode else None,
        scope=settings.scope,
        access_token=settings.access_token,
        model=None,
        profanity_check=None,
        user=settings.username,
        password=settings.password,
        timeout=settings.timeout,
        verify_ssl_certs=settings.verify_ssl,
        ssl_context=ssl_context_for(settings),
        ca_bundle_file=None,
        cert_file=None,
        key_file=None,
        key_file_password=None,
        flags=None,
        max_connections=None,
        # One retry layer only: ours (models/common/retry.py), which never repeats a stream that has begun.
        max_retries=0,
        retry_backoff_factor=0.5,
        retry_on_status_codes=(),
        token_expiry_buffer_ms=60_000,
    )


class ClientCache:
    """An LRU of SDK clients keyed by a digest of the settings.

    An evicted client is dropped, not closed: a request may still be streaming through it, and its connections
    are released when the last such request lets go of it.
    """

    def __init__(self, capacity: int = MAX_CACHED_CLIENTS) -> None:
        self._capacity = capacity
        self._clients: OrderedDict[str, GigaChatSyncClient] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, settings: GigaChatSettings) -> GigaChatSyncClient:
        key = fingerprint(settings)
        with self._lock:
            client = self._clients.get(key)
            if client is not None:
                self._clients.move_to_end(key)
                return client
        # Built outside the lock: loading CA bundles takes milliseconds and must not stall other requests.
        fresh = ExplicitClient(sdk_settings(settings))
        with self._lock:
            client = self._clients.setdefault(key, fresh)
            self._clients.move_to_end(key)
            while len(self._clients) > self._capacity:
                self._clients.popitem(last=False)
        return client

    def peek(self, settings: GigaChatSettings) -> GigaChatSyncClient | None:
        """The cached client of these settings, if there is one; never builds one."""
        with self._lock:
            return self._clients.get(fingerprint(settings))

    def __len__(self) -> int:
        return len(self._clients)

    def clear(self) -> None:
        with self._lock:
            clients = list(self._clients.values())
            self._clients.clear()
        for client in clients:
            client.close()


def fingerprint(settings: GigaChatSettings) -> str:
    return hashlib.sha256(settings.model_dump_json().encode()).hexdigest()


clients = ClientCache()


def client_for(settings: GigaChatSettings) -> GigaChatSyncClient:
    return clients.get(settings)


def withheld(settings: GigaChatSettings) -> tuple[str, ...]:
    """Every credential-derived value a message must not quote: the settings' own secrets and the access tokens the
    client of these settings was issued (OAuth or /token), which never appear in the settings."""
    client = clients.peek(settings)
    tokens = tuple(client.issued_tokens) if isinstance(client, ExplicitClient) else ()
    return settings.secrets() + tokens
