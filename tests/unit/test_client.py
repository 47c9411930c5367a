"""models/common/client.py: one SDK client per distinct settings, built only from what the plugin passes."""

from __future__ import annotations

import base64
import threading

import gigachat
import pytest
from gigachat.settings import Settings

from devkit.emulator import GigaChatEmulator
from models.common.client import (
    ClientCache,
    ExplicitClient,
    ExplicitSettings,
    client_for,
    clients,
    fingerprint,
    sdk_settings,
)
from models.common.settings import GigaChatSettings, parse_credentials

KEY = base64.b64encode(b"client-id-1:client-secret-1").decode()
OTHER_KEY = base64.b64encode(b"client-id-2:client-secret-2").decode()
HOSTILE_ENVIRONMENT = {
    "GIGACHAT_CREDENTIALS": base64.b64encode(b"env-id:env-secret").decode(),
    "GIGACHAT_BASE_URL": "https://attacker.example/api/v1",
    "GIGACHAT_AUTH_URL": "https://attacker.example/oauth",
    "GIGACHAT_ACCESS_TOKEN": "env-access-token",
    "GIGACHAT_USER": "env-user",
    "GIGACHAT_PASSWORD": "env-password",
    "GIGACHAT_SCOPE": "GIGACHAT_API_CORP",
    "GIGACHAT_MODEL": "GigaChat-Env",
    "GIGACHAT_CA_BUNDLE_FILE": "/nonexistent/ca.pem",
    "GIGACHAT_CERT_FILE": "/nonexistent/cert.pem",
    "GIGACHAT_KEY_FILE": "/nonexistent/key.pem",
    "GIGACHAT_VERIFY_SSL_CERTS": "false",
    "GIGACHAT_TIMEOUT": "abc",
    "GIGACHAT_MAX_RETRIES": "5",
    "GIGACHAT_PROFANITY_CHECK": "true",
    "GIGACHAT_TOKEN_EXPIRY_BUFFER_MS": "1",
}


def unverified(key: str = KEY, **extra: str) -> GigaChatSettings:
    """Settings without TLS verification: no CA bundle to load, so caching tests stay fast."""
    return parse_credentials({"api_key": key, "verify_ssl": "false", **extra})


@pytest.fixture
def hostile_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in HOSTILE_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in HOSTILE_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


# ---- explicit settings -------------------------------------------------------------------------------------------


def test_every_sdk_setting_is_chosen_explicitly() -> None:
    chosen = sdk_settings(unverified())
    assert chosen.model_fields_set == set(Settings.model_fields)


def test_the_sdk_settings_carry_the_plugins_choices() -> None:
    settings = parse_credentials({"api_key": KEY, "scope": "GIGACHAT_API_B2B", "request_timeout": "42"})
    chosen = sdk_settings(settings)
    assert chosen.credentials == KEY
    assert chosen.scope == "GIGACHAT_API_B2B"
    assert chosen.base_url == settings.base_url and chosen.auth_url == settings.auth_url
    assert chosen.timeout == 42.0
    assert chosen.verify_ssl_certs is True and chosen.ssl_context is not None
    assert chosen.max_retries == 0  # one retry layer only: the plugin's
    assert (chosen.access_token, chosen.user, chosen.password, chosen.model, chosen.profanity_check) == (None,) * 5
    assert (chosen.ca_bundle_file, chosen.cert_file, chosen.key_file, chosen.key_file_password) == (None,) * 4


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        ({"auth_method": "user_password", "username": "u", "password": "p"}, {"user": "u", "password": "p"}),
        ({"auth_method": "access_token", "access_token": "tok"}, {"access_token": "tok"}),
    ],
)
def test_only_the_chosen_method_reaches_the_sdk(form: dict, expected: dict) -> None:
    chosen = sdk_settings(parse_credentials({**form, "api_key": KEY, "verify_ssl": "false"}))
    assert chosen.credentials is None
    for name in ("user", "password", "access_token"):
        assert getattr(chosen, name) == expected.get(name)


def test_turning_verification_off_reaches_the_sdk_as_no_context() -> None:
    chosen = sdk_settings(unverified())
    assert chosen.verify_ssl_certs is False and chosen.ssl_context is None


def test_the_plain_sdk_settings_do_read_the_environment(hostile_environment: None) -> None:
    """Shows the environment below is hostile; without this the next tests would prove nothing."""
    plain = Settings(timeout=5.0)
    assert plain.base_url == HOSTILE_ENVIRONMENT["GIGACHAT_BASE_URL"]
    assert plain.max_retries == 5


def test_gigachat_environment_variables_change_nothing_in_the_sdk_settings(
    clean_environment: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = parse_credentials({"api_key": KEY})
    before = sdk_settings(settings).model_dump(exclude={"ssl_context"})
    for name, value in HOSTILE_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    assert sdk_settings(settings).model_dump(exclude={"ssl_context"}) == before
    assert ExplicitSettings().model_dump() == ExplicitSettings.model_construct().model_dump()


def test_gigachat_environment_variables_change_nothing_in_the_client(hostile_environment: None) -> None:
    settings = parse_credentials({"api_key": KEY, "request_timeout": "30"})
    client = ExplicitClient(sdk_settings(settings))
    chosen = client._settings
    assert chosen.credentials == KEY
    assert chosen.base_url == settings.base_url and chosen.auth_url == settings.auth_url
    assert chosen.access_token is None and client.token is None
    assert (chosen.user, chosen.password, chosen.model, chosen.profanity_check) == (None, None, None, None)
    assert chosen.ca_bundle_file is None and chosen.cert_file is None and chosen.key_file is None
    assert chosen.verify_ssl_certs is True and chosen.ssl_context is not None
    assert chosen.timeout == 30.0
    assert chosen.max_retries == 0
    assert chosen.scope == "GIGACHAT_API_PERS"
    assert chosen.token_expiry_buffer_ms == 60_000


def test_an_access_token_from_the_form_is_the_clients_token(hostile_environment: None) -> None:
    client = ExplicitClient(sdk_settings(parse_credentials({"auth_method": "access_token", "access_token": "tok-1"})))
    assert client.token == "tok-1"


def test_the_explicit_client_sets_up_exactly_the_attributes_the_sdk_client_does(clean_environment: None) -> None:
    """A drift guard: ExplicitClient re-implements GigaChatSyncClient.__init__ and must stay in step with it (it adds
    only the record of the tokens it was issued)."""
    plain = gigachat.GigaChatSyncClient(access_token="tok", verify_ssl_certs=False)
    explicit = ExplicitClient(sdk_settings(parse_credentials({"auth_method": "access_token", "access_token": "tok"})))
    assert sorted(set(vars(explicit)) - {"issued_tokens"}) == sorted(vars(plain))
    for name, value in vars(plain).items():
        assert isinstance(getattr(explicit, name), type(value)), name
    assert isinstance(explicit, gigachat.GigaChatSyncClient)


# ---- the cache ---------------------------------------------------------------------------------------------------


def test_the_same_settings_give_the_same_client() -> None:
    cache = ClientCache()
    first = cache.get(unverified())
    assert cache.get(unverified()) is first
    assert len(cache) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"api_key": OTHER_KEY},
        {"scope": "GIGACHAT_API_CORP"},
        {"base_url": "https://gigachat.devices.sberbank.ru/api/v1"},
        {"verify_ssl": "true"},
    ],
)
def test_different_settings_give_a_different_client(change: dict) -> None:
    cache = ClientCache()
    first = cache.get(unverified())
    assert cache.get(parse_credentials({"api_key": KEY, "verify_ssl": "false", **change})) is not first
    assert len(cache) == 2


def test_the_cache_evicts_the_least_recently_used_client() -> None:
    cache = ClientCache(capacity=2)
    a, b, c = (unverified(scope=scope) for scope in ("GIGACHAT_API_PERS", "GIGACHAT_API_B2B", "GIGACHAT_API_CORP"))
    client_a, client_b = cache.get(a), cache.get(b)
    assert cache.get(a) is client_a  # a is now the most recently used
    cache.get(c)
    assert len(cache) == 2
    assert cache.get(a) is client_a
    assert cache.get(b) is not client_b


def test_the_cache_key_is_a_digest_that_holds_no_secret() -> None:
    key = fingerprint(unverified())
    assert len(key) == 64 and KEY not in key
    assert fingerprint(unverified()) == key != fingerprint(unverified(OTHER_KEY))


def test_many_threads_asking_at_once_share_one_client() -> None:
    cache = ClientCache()
    settings = unverified()
    start = threading.Barrier(24)
    results: list[object] = []
    lock = threading.Lock()

    def ask() -> None:
        start.wait()
        for _ in range(20):
            client = cache.get(settings)
            with lock:
                results.append(client)

    threads = [threading.Thread(target=ask) for _ in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 24 * 20
    assert len({id(client) for client in results}) == 1
    assert len(cache) == 1


def test_clearing_the_cache_drops_every_client() -> None:
    cache = ClientCache()
    first = cache.get(unverified())
    cache.clear()
    assert len(cache) == 0
    assert cache.get(unverified()) is not first


def test_client_for_uses_the_process_wide_cache() -> None:
    settings = unverified(scope="GIGACHAT_API_B2B")
    try:
        assert client_for(settings) is client_for(settings)
        assert isinstance(client_for(settings), ExplicitClient)
    finally:
        clients.clear()


# ---- token lifetime ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("unit", ["seconds", "milliseconds"])
def test_a_token_from_the_token_endpoint_is_reused_whether_it_expires_in_seconds_or_milliseconds(unit: str) -> None:
    with GigaChatEmulator() as emu:
        emu.token_exp_in_seconds = unit == "seconds"
        emu.add_user("alice", "alice-password")
        settings = parse_credentials(
            {
                "auth_method": "user_password",
                "username": "alice",
                "password": "alice-password",
                "base_url": emu.base_url,
            }
        )
        client = ExplicitClient(sdk_settings(settings))
        for _ in range(3):
            client.get_models()
        assert emu.token_calls == 1
        assert client.token is not None
        expires_at = client._access_token.expires_at  # type: ignore[union-attr]
        assert expires_at > 10**12  # milliseconds, in the future


def test_a_pre_issued_token_is_never_refreshed_and_its_expiry_is_reported_as_a_401() -> None:
    with GigaChatEmulator() as emu:
        settings = parse_credentials(
            {"auth_method": "access_token", "access_token": emu.issue_access_token(), "base_url": emu.base_url}
        )
        client = ExplicitClient(sdk_settings(settings))
        client.get_models()
        emu.expire_tokens()
        with pytest.raises(gigachat.exceptions.AuthenticationError):
            client.get_models()
        assert (emu.oauth_calls, emu.token_calls) == (0, 0)
