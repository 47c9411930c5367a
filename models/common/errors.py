"""SDK and transport exceptions -> Dify's InvokeError types, with messages that are safe and actionable.

The SDK's exception text carries the response body and headers, and pydantic errors carry model output; the
daemon logs every error message and its traceback. So nothing here ever formats the original exception: a message
is built from the status, GigaChat's error code and GigaChat's own message, and that message is withheld when it
quotes the request. Callers raise the result `from None`, so the original never reaches a traceback either.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterable
from urllib.parse import urlsplit

import httpx
import pydantic
from dify_plugin.errors.model import (
    CredentialsValidateFailedError,
    InvokeAuthorizationError,
    InvokeBadRequestError,
    InvokeConnectionError,
    InvokeError,
    InvokeRateLimitError,
    InvokeServerUnavailableError,
)
from gigachat.exceptions import GigaChatException, ModelNotSpecifiedError, ResponseError

from .settings import CredentialsError, GigaChatSettings

PREFIX = "[gigachat] "
_MAX_SERVER_MESSAGE = 300
# A server message sharing this many consecutive characters with the request is treated as an echo of it.
_ECHO_WINDOW = 16
_WITHHELD = "(GigaChat's message is withheld because it quotes the request)"

# GigaChat's OAuth error codes (developers.sber.ru errors page, see gigachat-api.md section 1.2).
_OAUTH_CODE_HINTS = {
    1: "the scope value is malformed",
    4: "the authorization key can't be decoded; paste the base64 'Authorization key' or client_id:client_secret",
    5: "no scope was sent",
    6: "the authorization key is wrong or revoked; check 'Authorization key'",
}


def invoke_error(
    error: BaseException, settings: GigaChatSettings | None = None, sensitive: Iterable[str] = ()
) -> InvokeError:
    """Map any exception raised while talking to GigaChat to the InvokeError a Dify user should see."""
    if isinstance(error, InvokeError):
        return error
    secrets = tuple(s for s in (*sensitive, *(settings.secrets() if settings else ())) if s)
    if isinstance(error, CredentialsError):
        return InvokeAuthorizationError(PREFIX + str(error))
    if isinstance(error, ResponseError):
        return _response_error(error, settings, secrets)
    if isinstance(error, httpx.TimeoutException):
        return InvokeConnectionError(
            PREFIX + f"{_step(error, settings)} timed out; try again or raise 'Request timeout'."
        )
    if isinstance(error, httpx.TransportError):
        return _transport_error(error, settings)
    if isinstance(error, ModelNotSpecifiedError):
        return InvokeBadRequestError(PREFIX + "no model was named in the request.")
    if isinstance(error, pydantic.ValidationError | json.JSONDecodeError | GigaChatException):
        return InvokeServerUnavailableError(PREFIX + "GigaChat sent a response the plugin could not read.")
    return InvokeError(PREFIX + f"unexpected {type(error).__name__} while talking to GigaChat.")


def credentials_failure(
    error: BaseException, settings: GigaChatSettings | None = None
) -> CredentialsValidateFailedError:
    """The sentence shown under Dify's credential form when validation fails."""
    if isinstance(error, CredentialsError):
        return CredentialsValidateFailedError(str(error))
    mapped = invoke_error(error, settings)
    return CredentialsValidateFailedError(str(mapped.description or mapped).removeprefix(PREFIX))


def _response_error(error: ResponseError, settings: GigaChatSettings | None, secrets: tuple[str, ...]) -> InvokeError:
    status = error.status_code
    code, message = _server_detail(error.content, secrets)
    if _is_oauth(error, settings):
        return _oauth_error(status, code, message, settings)
    detail = f": {message}" if message else ""
    if status == 401:
        return InvokeAuthorizationError(
            PREFIX + f"GigaChat rejected the access token (401{detail}); check the credentials."
        )
    if status == 402:
        return InvokeRateLimitError(
            PREFIX + f"GigaChat answered 402 Payment Required{detail}: the token quota is used up."
        )
    if status == 403:
        return InvokeAuthorizationError(PREFIX + f"GigaChat denied access (403{detail}); the scope may not include it.")
    if status == 404:
        return InvokeBadRequestError(
            PREFIX + f"GigaChat does not know this model or file (404{detail}); check the model name and the scope."
        )
    if status == 413:
        return InvokeBadRequestError(PREFIX + f"the request is too large for GigaChat (413{detail}).")
    if status == 429:
        return InvokeRateLimitError(PREFIX + f"GigaChat's rate limit was reached (429{detail}); try again later.")
    if status >= 500:
        page = " with an HTML error page from a gateway" if _is_html(error.content) else ""
        return InvokeServerUnavailableError(PREFIX + f"GigaChat is unavailable ({status}{page}{detail}).")
    return InvokeBadRequestError(PREFIX + f"GigaChat rejected the request ({status}{detail}).")


def _oauth_error(status: int, code: int | None, message: str, settings: GigaChatSettings | None) -> InvokeError:
    where = f"Authentication at {settings.auth_host}" if settings else "Authentication"
    if code == 7:
        scope = settings.scope if settings else "the chosen scope"
        return InvokeAuthorizationError(
            PREFIX + f"{where} failed: the key does not match scope {scope}; choose your key's scope in 'Scope'."
        )
    hint = _OAUTH_CODE_HINTS.get(code) if code is not None else None
    if hint:
        return InvokeAuthorizationError(PREFIX + f"{where} failed (code {code}): {hint}.")
    if status >= 500 or status == 429:
        return InvokeServerUnavailableError(PREFIX + f"{where} failed: the OAuth server answered {status}.")
    detail = f": {message}" if message else ""
    return InvokeAuthorizationError(PREFIX + f"{where} failed ({status}{detail}).")


def _transport_error(error: httpx.TransportError, settings: GigaChatSettings | None) -> InvokeError:
    step = _step(error, settings)
    host = _host(error) or "the server"
    if _tls_cause(error):
        return InvokeConnectionError(
            PREFIX + f"TLS: the certificate of {host} is not trusted; add its CA in 'CA certificate' "
            "(the Russian Trusted Root CA is already built in), or turn off 'Verify TLS certificates' at your own risk."
        )
    if isinstance(error, httpx.ConnectError):
        return InvokeConnectionError(PREFIX + f"{step}: could not connect to {host}; check the URL and the network.")
    if isinstance(error, httpx.RemoteProtocolError):
        return InvokeConnectionError(PREFIX + f"{step}: {host} closed the connection before the answer was complete.")
    return InvokeConnectionError(PREFIX + f"{step}: the connection to {host} failed ({type(error).__name__}).")


def _tls_cause(error: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in repr(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def _server_detail(content: bytes | None, secrets: tuple[str, ...]) -> tuple[int | None, str]:
    """GigaChat's error code and message from a JSON error body, or nothing if the body is not GigaChat's JSON."""
    try:
        body = json.loads(content or b"")
    except (ValueError, UnicodeDecodeError):
        return None, ""
    if not isinstance(body, dict):
        return None, ""
    code = body.get("code")
    message = body.get("message")
    code = code if isinstance(code, int) and not isinstance(code, bool) else None
    if not isinstance(message, str):
        return code, ""
    return code, safe_server_message(message, secrets)


def safe_server_message(message: str, sensitive: Iterable[str]) -> str:
    """GigaChat's message, unless it quotes a secret or the request (some gateways echo the body they reject)."""
    text = " ".join(message.split())[:_MAX_SERVER_MESSAGE]
    lowered = text.lower()
    for value in sensitive:
        # Squashed like the message, or a multi-line prompt echoed back would never match.
        value = " ".join(value.split()).lower()
        if len(value) >= 8 and value in lowered:
            return _WITHHELD
        if len(value) >= _ECHO_WINDOW and _shares_window(lowered, value):
            return _WITHHELD
    return text


def _shares_window(message: str, text: str) -> bool:
    return any(message[i : i + _ECHO_WINDOW] in text for i in range(len(message) - _ECHO_WINDOW + 1))


def _is_html(content: bytes | None) -> bool:
    head = (content or b"")[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head


def _is_oauth(error: ResponseError, settings: GigaChatSettings | None) -> bool:
    if settings is None:
        return False
    url = str(error.url)
    return url.startswith(settings.auth_url) or urlsplit(url).path.endswith("/token")


def _host(error: httpx.TransportError) -> str | None:
    try:
        return error.request.url.netloc.decode()
    except RuntimeError:  # httpx raises when the request was never attached
        return None


def _step(error: BaseException, settings: GigaChatSettings | None) -> str:
    if settings and isinstance(error, httpx.TransportError):
        host = _host(error)
        if host and host == settings.auth_host and settings.auth_host != settings.api_host:
            return f"Authentication at {host}"
    return "The request to GigaChat"
