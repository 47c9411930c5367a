"""models/common/errors.py: every failure becomes the right InvokeError, with a message that leaks nothing."""

from __future__ import annotations

import base64
import json
import ssl

import httpx
import pydantic
import pytest
from dify_plugin.errors.model import (
    CredentialsValidateFailedError,
    InvokeAuthorizationError,
    InvokeBadRequestError,
    InvokeConnectionError,
    InvokeError,
    InvokeRateLimitError,
    InvokeServerUnavailableError,
)
from gigachat import exceptions as sdk
from gigachat.models.chat import ChatCompletion

from models.common.bounded import AnswerTooLarge
from models.common.client import client_for
from models.common.errors import credentials_failure, invoke_error, safe_server_message
from models.common.prefix import PREFIX
from models.common.settings import AuthMethod, CredentialsError, GigaChatSettings, parse_credentials

CLIENT_SECRET = "client-secret-canary-7d41"
KEY = base64.b64encode(f"client-id-0042:{CLIENT_SECRET}".encode()).decode()
SETTINGS = parse_credentials({"api_key": KEY})
API = "https://gigachat.devices.sberbank.ru/api/v1/chat/completions"
OAUTH = "https://ngw.devices.sberbank.ru:9443/api/v2/oauth"
PROMPT = "Расскажи про мой диагноз: canary-prompt-0b7e, пациент Иванов И.И., полис 1234 5678"


def response_error(cls: type[sdk.ResponseError], status: int, body: object, url: str = API, **headers: str):
    content = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return cls(httpx.URL(url), status, content, httpx.Headers({"x-request-id": "req-1", **headers}))


def message_of(error: InvokeError) -> str:
    return str(error)


# ---- HTTP statuses -----------------------------------------------------------------------------------------------

STATUS_TABLE = [
    pytest.param(
        sdk.BadRequestError, 400, {"status": 400, "message": "Your request contains invalid JSON syntax."}, API,
        InvokeBadRequestError, ["400", "invalid JSON syntax"], id="400",
    ),
    pytest.param(
        sdk.AuthenticationError, 401, {"status": 401, "message": "Unauthorized"}, API,
        InvokeAuthorizationError, ["401", "access token", "check the credentials"], id="401-api",
    ),
    pytest.param(
        sdk.AuthenticationError, 401, {"code": 4, "message": "Can't decode 'Authorization' header"}, OAUTH,
        InvokeAuthorizationError, ["ngw.devices.sberbank.ru:9443", "code 4", "can't be decoded"], id="401-oauth-4",
    ),
    pytest.param(
        sdk.AuthenticationError, 401, {"code": 6, "message": "credentials doesn't match db data"}, OAUTH,
        InvokeAuthorizationError, ["code 6", "wrong or revoked", "'Authorization key'"], id="401-oauth-6",
    ),
    pytest.param(  # 400, per Sber's error table
        sdk.BadRequestError, 400, {"code": 7, "message": "scope from db not fully includes consumed scope"}, OAUTH,
        InvokeAuthorizationError, ["scope GIGACHAT_API_PERS", "'Scope'"], id="400-oauth-7",
    ),
    pytest.param(
        sdk.BadRequestError, 400, {"code": 5, "message": "scope is empty"}, OAUTH,
        InvokeAuthorizationError, ["code 5", "no scope was sent"], id="400-oauth-5",
    ),
    pytest.param(
        sdk.AuthenticationError, 401, b"", "https://gigachat.devices.sberbank.ru/api/v1/token",
        InvokeAuthorizationError, ["Authentication at", "failed (401)"], id="401-token-endpoint-empty-body",
    ),
    pytest.param(
        sdk.ServerError, 503, b"Service Unavailable", OAUTH,
        InvokeServerUnavailableError, ["Authentication at", "503"], id="503-oauth",
    ),
    pytest.param(
        sdk.ResponseError, 402, {"status": 402, "message": "Payment Required"}, API,
        InvokeRateLimitError, ["402", "quota"], id="402",
    ),
    pytest.param(
        sdk.ForbiddenError, 403, {"status": 403, "message": "Permission denied"}, API,
        InvokeAuthorizationError, ["403", "Permission denied", "scope"], id="403",
    ),
    pytest.param(
        sdk.NotFoundError, 404, {"status": 404, "message": "No such model"}, API,
        InvokeBadRequestError, ["404", "No such model", "model name"], id="404",
    ),
    pytest.param(
        sdk.RequestEntityTooLargeError, 413, {"status": 413, "message": "Payload too large"}, API,
        InvokeBadRequestError, ["413", "too large"], id="413",
    ),
    pytest.param(
        sdk.UnprocessableEntityError, 422, {"status": 422, "message": "Requested model does not support functions"},
        API, InvokeBadRequestError, ["422", "does not support functions"], id="422",
    ),
    pytest.param(
        sdk.RateLimitError, 429, {"status": 429, "message": "Too Many Requests"}, API,
        InvokeRateLimitError, ["429", "rate limit", "try again later"], id="429",
    ),
    pytest.param(
        sdk.ServerError, 500, {"status": 500, "message": "Internal Server Error"}, API,
        InvokeServerUnavailableError, ["unavailable", "500"], id="500",
    ),
    pytest.param(
        sdk.ServerError, 502, b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>", API,
        InvokeServerUnavailableError, ["502", "HTML error page"], id="502-html",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("cls", "status", "body", "url", "expected", "words"), STATUS_TABLE)
def test_each_http_status_becomes_the_matching_invoke_error(
    cls: type[sdk.ResponseError], status: int, body: object, url: str, expected: type[InvokeError], words: list[str]
) -> None:
    error = invoke_error(response_error(cls, status, body, url), SETTINGS)
    assert type(error) is expected
    message = message_of(error)
    assert message.startswith(PREFIX)
    for word in words:
        assert word in message
    assert message.endswith(" GigaChat's request id: req-1.")  # what Sber's support asks for
    assert "Headers" not in message


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("", id="empty"),
        pytest.param("req 1; see <html>", id="not-an-id"),
        pytest.param("a" * 65, id="too-long"),
        pytest.param(KEY.rstrip("="), id="the-key"),
    ],
)
def test_a_request_id_header_that_is_not_an_id_is_not_quoted(value: str) -> None:
    error = response_error(sdk.ServerError, 500, {"status": 500, "message": "Internal"}, **{"x-request-id": value})
    message = message_of(invoke_error(error, SETTINGS))
    assert "request id" not in message
    assert message.endswith("(500: Internal).")


def test_without_settings_an_oauth_failure_is_still_an_authorization_error() -> None:
    error = invoke_error(response_error(sdk.AuthenticationError, 401, {"code": 6, "message": "x"}, OAUTH))
    assert isinstance(error, InvokeAuthorizationError)


def test_a_long_server_message_is_cut_and_its_whitespace_squashed() -> None:
    body = {"status": 400, "message": "bad\n\n  field " + "x" * 1000}
    message = message_of(invoke_error(response_error(sdk.BadRequestError, 400, body), SETTINGS))
    assert "bad field xxx" in message
    assert len(message) < 450


# ---- privacy -----------------------------------------------------------------------------------------------------

CANARY_BODIES = [
    pytest.param(sdk.ServerError, 500, {"status": 500, "message": f"cannot process: {PROMPT}"}, id="500-echoes-prompt"),
    pytest.param(
        sdk.UnprocessableEntityError, 422, {"message": f"invalid content '{PROMPT[20:60]}'"}, id="422-quotes-part"
    ),
    pytest.param(sdk.BadRequestError, 400, {"message": f"bad key {KEY}"}, id="400-echoes-the-key"),
    pytest.param(sdk.BadRequestError, 400, {"message": f"bad secret {CLIENT_SECRET}"}, id="400-echoes-the-secret"),
    pytest.param(sdk.BadRequestError, 400, {"message": "bad", "request": PROMPT, "key": KEY}, id="other-fields"),
    pytest.param(sdk.ServerError, 502, f"<html><body>{PROMPT} {KEY}</body></html>".encode(), id="html-page"),
    pytest.param(sdk.ResponseError, 418, f"{PROMPT} {KEY}".encode(), id="plain-text-body"),
    pytest.param(
        sdk.AuthenticationError, 401, {"code": 99, "message": f"bad credentials {CLIENT_SECRET}"}, id="oauth-unknown"
    ),
]


@pytest.mark.parametrize(("cls", "status", "body"), CANARY_BODIES)
@pytest.mark.parametrize("url", [API, OAUTH])
def test_no_secret_and_no_part_of_the_prompt_reaches_the_message(
    cls: type[sdk.ResponseError], status: int, body: object, url: str
) -> None:
    message = message_of(invoke_error(response_error(cls, status, body, url), SETTINGS, sensitive=[PROMPT]))
    for canary in ("canary-prompt", PROMPT[20:60], KEY, CLIENT_SECRET, "Иванов"):
        assert canary not in message


def test_an_echoed_prompt_is_withheld_with_a_notice() -> None:
    body = {"status": 500, "message": f"cannot process: {PROMPT}"}
    message = message_of(invoke_error(response_error(sdk.ServerError, 500, body), SETTINGS, sensitive=[PROMPT]))
    assert "withheld" in message
    assert "500" in message


def test_an_echo_of_a_multi_line_prompt_is_withheld_although_the_message_squashes_whitespace() -> None:
    prompt = "Иванов И.И.\nполис 1234\nдиагноз: canary\n\nчто делать?"  # every line under the 16-char window
    assert "canary" not in safe_server_message(f"rejected: {prompt}", [prompt])
    assert "canary" not in safe_server_message(f"rejected: {prompt[12:]}", [prompt])


@pytest.mark.parametrize(
    ("message", "sensitive", "kept"),
    [
        ("No such model", ["a long prompt that has nothing in common"], True),
        ("Field 'messages' is invalid", ["short"], True),  # values under 8 characters are not matched
        ("Echo: HELLO-CANARY-WORLD", ["hello-canary-world"], False),  # case does not hide an echo
        ("Context: the quick brown fox jumps", ["...the quick brown fox jumps over the lazy dog"], False),
    ],
)
def test_safe_server_message_keeps_only_messages_that_quote_nothing(
    message: str, sensitive: list[str], kept: bool
) -> None:
    assert (safe_server_message(message, sensitive) == message) is kept


# ---- transport and parsing failures ------------------------------------------------------------------------------


def transport(cls: type[httpx.TransportError], url: str = API, text: str = "boom", cause: BaseException | None = None):
    error = cls(text, request=httpx.Request("POST", url))
    error.__cause__ = cause
    return error


def test_an_untrusted_certificate_names_the_host_and_both_tls_options() -> None:
    cause = ssl.SSLCertVerificationError(1, "self-signed certificate in certificate chain")
    error = invoke_error(transport(httpx.ConnectError, cause=cause), SETTINGS)
    assert isinstance(error, InvokeConnectionError)
    message = message_of(error)
    for words in ("gigachat.devices.sberbank.ru", "'CA certificate'", "'Verify TLS certificates'", "Russian Trusted"):
        assert words in message


def test_a_tls_failure_recognised_from_the_error_text_alone_names_the_oauth_host() -> None:
    error = transport(httpx.ConnectError, url=OAUTH, text="[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    assert "ngw.devices.sberbank.ru:9443" in message_of(invoke_error(error, SETTINGS))


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (transport(httpx.ConnectError), ["The request to GigaChat", "could not connect to gigachat.devices"]),
        (transport(httpx.ConnectError, url=OAUTH), ["Authentication at ngw.devices.sberbank.ru:9443", "connect"]),
        (httpx.ConnectError("no request"), ["could not connect to the server"]),
        (transport(httpx.ReadTimeout), ["timed out", "'Request timeout'"]),
        (transport(httpx.ConnectTimeout, url=OAUTH), ["Authentication at", "timed out"]),
        (transport(httpx.RemoteProtocolError), ["closed the connection before the answer was complete"]),
        (transport(httpx.ReadError), ["connection to gigachat.devices.sberbank.ru failed (ReadError)"]),
    ],
)
def test_transport_failures_become_connection_errors_that_say_where(error: Exception, words: list[str]) -> None:
    mapped = invoke_error(error, SETTINGS)
    assert type(mapped) is InvokeConnectionError
    for word in words:
        assert word in message_of(mapped)
    assert "boom" not in message_of(mapped)


def test_unreadable_model_output_is_a_server_error_that_does_not_quote_it() -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        ChatCompletion.model_validate({"choices": [{"message": {"content": PROMPT}}], "model": 1})
    error = invoke_error(caught.value, SETTINGS)
    assert isinstance(error, InvokeServerUnavailableError)
    assert "could not read" in message_of(error)
    assert "canary" not in message_of(error)


def test_a_non_json_answer_is_a_server_error_that_does_not_quote_it() -> None:
    with pytest.raises(json.JSONDecodeError) as caught:
        json.loads(f"{PROMPT} not json")
    error = invoke_error(caught.value, SETTINGS)
    assert isinstance(error, InvokeServerUnavailableError)
    assert "canary" not in message_of(error)


@pytest.mark.parametrize(
    ("error", "expected", "words"),
    [
        (sdk.ModelNotSpecifiedError(), InvokeBadRequestError, "no model was named"),
        (CredentialsError("Scope: must be one of X."), InvokeAuthorizationError, "Scope: must be one of X."),
        (ValueError(f"unexpected {PROMPT}"), InvokeError, "unexpected ValueError"),
    ],
)
def test_other_failures_map_without_quoting_the_original(
    error: Exception, expected: type[InvokeError], words: str
) -> None:
    mapped = invoke_error(error, SETTINGS)
    assert type(mapped) is expected
    assert words in message_of(mapped)
    assert "canary" not in message_of(mapped)


def test_an_invoke_error_passes_through_unchanged() -> None:
    error = InvokeRateLimitError("already mapped")
    assert invoke_error(error, SETTINGS) is error


# ---- the credential form -----------------------------------------------------------------------------------------


def test_a_credentials_error_is_shown_under_the_form_as_it_is() -> None:
    failure = credentials_failure(CredentialsError("Request timeout: must be a number of seconds."))
    assert isinstance(failure, CredentialsValidateFailedError)
    assert str(failure) == "Request timeout: must be a number of seconds."


def test_a_rejected_key_is_shown_under_the_form_without_the_prefix_or_the_key() -> None:
    body = {"code": 6, "message": f"credentials doesn't match db data {KEY}"}
    failure = credentials_failure(response_error(sdk.AuthenticationError, 401, body, OAUTH), SETTINGS)
    assert isinstance(failure, CredentialsValidateFailedError)
    assert str(failure).startswith("Authentication at ngw.devices.sberbank.ru:9443 failed (code 6)")
    assert KEY not in str(failure)


# ---- messages that depend on the authentication method -----------------------------------------------------------

TOKEN_SETTINGS = parse_credentials({"auth_method": "access_token", "access_token": "eyJ.canary-token"})
USER_SETTINGS = parse_credentials(
    {"auth_method": "user_password", "username": "alice", "password": "pw-canary", "base_url": "https://onprem.test/v1"}
)
MTLS_SETTINGS = SETTINGS.model_copy(update={"auth_method": AuthMethod.CLIENT_CERTIFICATE, "authorization_key": None})
TOKEN_URL = "https://onprem.test/v1/token"
UNAUTHORIZED = {"status": 401, "message": "Unauthorized"}


@pytest.mark.parametrize(
    ("settings", "error", "expected", "words"),
    [
        pytest.param(
            TOKEN_SETTINGS, response_error(sdk.AuthenticationError, 401, UNAUTHORIZED), InvokeAuthorizationError,
            ["401: Unauthorized", "expired", "never renews", "'Access token'"], id="expired-access-token",
        ),
        pytest.param(
            MTLS_SETTINGS, response_error(sdk.AuthenticationError, 401, UNAUTHORIZED), InvokeAuthorizationError,
            ["401: Unauthorized", "client certificate"], id="401-with-a-client-certificate",
        ),
        pytest.param(
            USER_SETTINGS, response_error(sdk.AuthenticationError, 401, UNAUTHORIZED, url=TOKEN_URL),
            InvokeAuthorizationError,
            ["Authentication at onprem.test/token", "401: Unauthorized", "'Username' and 'Password'"],
            id="wrong-password",
        ),
        pytest.param(
            USER_SETTINGS, response_error(sdk.ServerError, 503, b"", url=TOKEN_URL), InvokeServerUnavailableError,
            ["Authentication at onprem.test/token", "503"], id="token-endpoint-down",
        ),
        pytest.param(
            SETTINGS, transport(httpx.ReadError, text="[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] alert"),
            InvokeConnectionError,
            ["gigachat.devices.sberbank.ru requires a client certificate", "'Client certificate (mutual TLS)'"],
            id="server-wants-a-client-certificate",
        ),
        pytest.param(
            MTLS_SETTINGS, transport(httpx.ConnectError, text="[SSL: TLSV1_ALERT_UNKNOWN_CA] tlsv1 alert unknown ca"),
            InvokeConnectionError,
            ["gigachat.devices.sberbank.ru did not accept the client certificate", "'Client certificate'"],
            id="server-refuses-the-client-certificate",
        ),
    ],
)  # fmt: skip
def test_authentication_failures_name_what_to_change_for_the_chosen_method(
    settings: GigaChatSettings, error: Exception, expected: type[InvokeError], words: list[str]
) -> None:
    mapped = invoke_error(error, settings)
    assert type(mapped) is expected
    for word in words:
        assert word in message_of(mapped)
    for secret in settings.secrets():
        assert secret not in message_of(mapped)


# ---- credential-derived values, any length ----------------------------------------------------------------------

SHORT = parse_credentials({"auth_method": "user_password", "username": "bob", "password": "q7#Zx"})


@pytest.mark.parametrize(
    ("settings", "said"),
    [
        (SHORT, "password q7#Zx is wrong"),  # a password shorter than the window
        (SHORT, f"Authorization: Basic {base64.b64encode(b'bob:q7#Zx').decode()}"),  # its encoded form
        (SETTINGS, f"no client with secret ending {CLIENT_SECRET[-9:]}"),  # nine characters of a secret
        (SETTINGS, "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlMTIz"),  # a token of nobody's
    ],
    ids=["short-password", "basic-string", "fragment-of-a-secret", "unknown-token"],
)
def test_a_message_quoting_anything_derived_from_a_credential_is_withheld(settings, said: str) -> None:
    error = response_error(sdk.AuthenticationError, 401, {"status": 401, "message": said})
    message = message_of(invoke_error(error, settings))
    assert "withheld" in message
    assert "q7#Zx" not in message and "Basic" not in message and CLIENT_SECRET[-9:] not in message


def test_a_message_quoting_an_access_token_the_client_was_issued_is_withheld() -> None:
    settings = parse_credentials({"api_key": KEY, "request_timeout": "123"})  # a client of its own
    client = client_for(settings)
    client.issued_tokens.append("issued-token-canary-5f1d")
    said = "token issued-token-canary-5f1d has expired"
    assert "canary" not in message_of(invoke_error(response_error(sdk.AuthenticationError, 401, {"message": said}),
                                                   settings))  # fmt: skip


def test_ids_and_names_are_not_mistaken_for_credentials() -> None:
    said = "File 7d1e8a5c-1234-4abc-8def-0123456789ab not found for function get_current_weather_for_location"
    message = message_of(invoke_error(response_error(sdk.NotFoundError, 404, {"message": said}), SETTINGS))
    assert said in message


def test_an_upload_refusal_never_quotes_gigachat() -> None:
    error = response_error(sdk.BadRequestError, 400, {"message": "Unsupported file content"})
    message = message_of(invoke_error(error, SETTINGS, quote_server=False))
    assert "(400)" in message and "Unsupported" not in message


def test_json_nested_too_deeply_to_read_is_a_bad_request_saying_so() -> None:
    error = invoke_error(RecursionError("maximum recursion depth exceeded"), SETTINGS)
    assert isinstance(error, InvokeBadRequestError)
    assert "nested too deeply" in message_of(error)


@pytest.mark.parametrize(("line", "phrase"), [(False, "GigaChat's answer"), (True, "A line of GigaChat's answer")])
def test_an_answer_over_its_bound_is_the_server_unavailable_naming_the_bound(line: bool, phrase: str) -> None:
    error = invoke_error(AnswerTooLarge(16 * 2**20, line), SETTINGS)
    assert isinstance(error, InvokeServerUnavailableError)
    assert f"{phrase} is larger than the plugin reads (16 MiB)" in message_of(error)
