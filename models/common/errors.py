"""SDK and transport exceptions -> Dify's InvokeError types, with messages that are safe and actionable.

The SDK's exception text carries the response body and headers, and pydantic errors carry model output; the
daemon logs every error message and its traceback. So nothing here ever formats the original exception: a message
is built from the status, GigaChat's error code and GigaChat's own message, and that message is withheld when it
quotes the request. Callers raise the result `from None`, so the original never reaches a traceback either.

Every sentence is written here, once. What only the caller knows comes in as data: the request's texts that must
not be quoted, and which of the request's tools a refusal is about (`Blame`): a Dify tool by its name, a built-in
tool by the switch that turned it on.
"""

from __future__ import annotations

import json
import re
import ssl
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
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

from .bounded import AnswerTooLarge, UnknownEncoding
from .client import withheld
from .prefix import PREFIX
from .pricing import PriceError
from .settings import AuthMethod, CredentialsError, GigaChatSettings

_MAX_SERVER_MESSAGE = 300
# A server message sharing this many consecutive characters with the request's text is treated as an echo of it.
_ECHO_WINDOW = 16
# With a credential (a key, a password, an issued token, their encoded forms) the bar is lower: any run of this many
# of its characters, or the whole value when it is shorter. Six characters of a random secret do not turn up in a
# message by chance; a shorter fragment tells nobody much.
_SECRET_WINDOW = 6
# A run this long of base64 characters mixing capitals, small letters and digits is a credential of some kind (a
# token a proxy issued, a Basic string), even one the plugin does not know: GigaChat's own messages hold nothing like
# it (its ids are UUIDs of one case, its names identifiers).
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/=_.-]{32,}")  # dots join the parts of a JWT
_WITHHELD = "(GigaChat's message is withheld because it quotes the request)"
# What a request id looks like (GigaChat sends a UUID in X-Request-Id, in every recorded answer, errors included); a
# header of any other shape is not quoted.
_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True)
class Blamed:
    """What a refusal is about among the request's tools: Dify tools whose parameter schema it complains about (by
    name), and built-in tools it refuses (by the label of their switch). Both empty: not about a tool."""

    tools: Sequence[str] = ()
    switches: Sequence[str] = ()


# GigaChat's message refusing a request (400, 404 or 422) -> what it is about (models/llm/tools.py `blamed`).
Blame = Callable[[str], Blamed]

# GigaChat's OAuth error codes (developers.sber.ru/docs/ru/gigachat/api/errors-description, as compiled in
# tigusigalpa/gigachat-go README-en.md).
_OAUTH_CODE_HINTS = {
    1: "the scope value is malformed",
    4: "the authorization key can't be decoded; paste the base64 'Authorization key' or client_id:client_secret",
    5: "no scope was sent",
    6: "the authorization key is wrong or revoked; check 'Authorization key'",
}


def invoke_error(
    error: BaseException,
    settings: GigaChatSettings | None = None,
    sensitive: Iterable[str] = (),
    blame: Blame | None = None,
    *,
    quote_server: bool = True,
) -> InvokeError:
    """Map any exception raised while talking to GigaChat to the InvokeError a Dify user should see.

    `sensitive`: the request's texts, which a message must not quote. `quote_server=False`: never quote GigaChat's
    message, for answers to requests whose content cannot be compared with it (an uploaded file of any size)."""
    if isinstance(error, InvokeError):
        return error
    if isinstance(error, CredentialsError):
        return InvokeAuthorizationError(PREFIX + str(error))
    if isinstance(error, ResponseError):
        texts = tuple(text for text in sensitive if text)
        secrets = withheld(settings) if settings else ()
        mapped = _response_error(error, settings, texts, secrets, blame, quote_server)
        return _with_request_id(mapped, error, texts, secrets)
    if isinstance(error, AnswerTooLarge):
        what = f"A line of GigaChat's answer is larger than the plugin reads ({error.limit // 2**20} MiB)"
        if not error.line:
            what = f"GigaChat's answer is larger than the plugin reads ({error.limit // 2**20} MiB)"
        return InvokeServerUnavailableError(PREFIX + f"{what}; check that 'API base URL' leads to GigaChat.")
    if isinstance(error, httpx.TimeoutException):
        return InvokeConnectionError(
            PREFIX + f"{_step(error, settings)} timed out; try again or raise 'Request timeout'."
        )
    if isinstance(error, httpx.TransportError):
        return _transport_error(error, settings)
    if isinstance(error, RecursionError):  # a schema or value nested past Python's stack (enums of lists in lists)
        return InvokeBadRequestError(PREFIX + "the request holds JSON nested too deeply to read; flatten it.")
    if isinstance(error, ModelNotSpecifiedError):
        return InvokeBadRequestError(PREFIX + "no model was named in the request.")
    if isinstance(error, pydantic.ValidationError | json.JSONDecodeError | GigaChatException | UnknownEncoding):
        return InvokeServerUnavailableError(PREFIX + "GigaChat sent a response the plugin could not read.")
    return InvokeError(PREFIX + f"unexpected {type(error).__name__} while talking to GigaChat.")


def step_error(
    error: BaseException, settings: GigaChatSettings | None, step: str, *, quote_server: bool = True
) -> InvokeError:
    """The mapped error of one step of a request that is not the chat call itself (uploading a file, downloading a
    generated image), its sentence starting with that step."""
    mapped = invoke_error(error, settings, quote_server=quote_server)
    detail = str(mapped.description or mapped).removeprefix(PREFIX)
    return type(mapped)(PREFIX + f"{step} failed: {detail}")


def credentials_failure(
    error: BaseException, settings: GigaChatSettings | None = None
) -> CredentialsValidateFailedError:
    """The sentence shown under Dify's credential form when validation fails."""
    if isinstance(error, CredentialsError | PriceError):
        return CredentialsValidateFailedError(str(error))
    mapped = invoke_error(error, settings)
    return CredentialsValidateFailedError(str(mapped.description or mapped).removeprefix(PREFIX))


def _with_request_id(
    mapped: InvokeError, error: ResponseError, texts: tuple[str, ...], secrets: tuple[str, ...]
) -> InvokeError:
    """The message with GigaChat's X-Request-Id, the one thing Sber's support needs to find the request."""
    request_id = (error.headers or {}).get("x-request-id") or ""
    if not _REQUEST_ID.fullmatch(request_id) or safe_server_message(request_id, texts, secrets) != request_id:
        return mapped
    return type(mapped)(f"{mapped.description} GigaChat's request id: {request_id}.")


def _response_error(
    error: ResponseError,
    settings: GigaChatSettings | None,
    texts: tuple[str, ...],
    secrets: tuple[str, ...],
    blame: Blame | None,
    quote_server: bool,
) -> InvokeError:
    status = error.status_code
    code, said = _server_detail(error.content)
    message = safe_server_message(said, texts, secrets) if quote_server else ""
    if _is_oauth(error, settings):
        return _oauth_error(status, code, message, settings)
    detail = f": {message}" if message else ""
    blamed = blame(said) if blame is not None and status in (400, 404, 422) else Blamed()
    if blamed.switches:
        return InvokeBadRequestError(PREFIX + _switches_refused(blamed.switches, f"{status}{detail}"))
    if status == 401:
        return InvokeAuthorizationError(PREFIX + _unauthorized(detail, settings))
    if status == 402:
        return InvokeRateLimitError(
            PREFIX + f"GigaChat answered 402 Payment Required{detail}: the token quota is used up."
        )
    if status == 403:
        return InvokeAuthorizationError(PREFIX + f"GigaChat denied access (403{detail}); the scope may not include it.")
    if status == 404:
        # Which models a host serves differs between hosts (GigaChat 3 is served on the new one), so name the host.
        where = f" at {settings.api_host}" if settings else ""
        return InvokeBadRequestError(
            PREFIX + f"GigaChat{where} does not know this model or file (404{detail}); check the model name, the "
            "scope and the API base URL."
        )
    if status == 413:
        return InvokeBadRequestError(PREFIX + f"the request is too large for GigaChat (413{detail}).")
    if status == 429:
        return InvokeRateLimitError(PREFIX + f"GigaChat's rate limit was reached (429{detail}); try again later.")
    if status >= 500:
        page = " with an HTML error page from a gateway" if _is_html(error.content) else ""
        return InvokeServerUnavailableError(PREFIX + f"GigaChat is unavailable ({status}{page}{detail}).")
    if status in (400, 422) and blamed.tools:
        return InvokeBadRequestError(PREFIX + _tools_refused(blamed.tools, f"{status}{detail}"))
    return InvokeBadRequestError(PREFIX + f"GigaChat rejected the request ({status}{detail}).")


def _tools_refused(tools: Sequence[str], status_detail: str) -> str:
    named = ", ".join(f"'{tool}'" for tool in tools)
    which = f"tool {named}" if len(tools) == 1 else f"one of the tools {named}"
    return (
        f"GigaChat refused the parameter schema of {which} ({status_detail}). The plugin already rewrites schemas "
        "into the subset GigaChat accepts; simplify the tool's parameters, or report the schema as a plugin issue."
    )


def _switches_refused(switches: Sequence[str], status_detail: str) -> str:
    named = ", ".join(f"'{switch}'" for switch in switches)
    if len(switches) == 1:
        return (
            f"GigaChat refused the built-in tool of the switch {named} ({status_detail}): this model does not offer "
            "it here. Turn that switch off in the model's parameters."
        )
    return (
        f"GigaChat refused a built-in tool of the switches {named} ({status_detail}): this model does not offer it "
        "here. Turn those switches off in the model's parameters, or keep one at a time to find which."
    )


def _unauthorized(detail: str, settings: GigaChatSettings | None) -> str:
    method = settings.auth_method if settings else None
    if method is AuthMethod.ACCESS_TOKEN:
        return (
            f"GigaChat rejected the access token (401{detail}): it has expired or is not valid. The plugin never "
            "renews a pre-issued token, and GigaChat's tokens last 30 minutes: enter a fresh one in 'Access token', "
            "or choose an authentication method whose tokens the plugin renews."
        )
    if method is AuthMethod.CLIENT_CERTIFICATE:
        return f"GigaChat refused the request (401{detail}): the client certificate does not grant access to the API."
    return f"GigaChat rejected the access token (401{detail}); check the credentials."


def _oauth_error(status: int, code: int | None, message: str, settings: GigaChatSettings | None) -> InvokeError:
    if settings and settings.auth_method is AuthMethod.USER_PASSWORD:
        # The token endpoint of this method is {API base URL}/token, not the OAuth URL.
        where = f"Authentication at {settings.api_host}/token"
        detail = f": {message}" if message else ""
        if status >= 500 or status == 429:
            return InvokeServerUnavailableError(PREFIX + f"{where} failed: the server answered {status}.")
        hint = "; check 'Username' and 'Password'" if status in (401, 403) else ""
        return InvokeAuthorizationError(PREFIX + f"{where} failed ({status}{detail}){hint}.")
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
    if _in_chain(error, ("Hostname mismatch", "IP address mismatch")):
        return InvokeConnectionError(
            PREFIX + f"TLS: the certificate of {host} was issued for another host name; use the host name it names "
            "in the URL."
        )
    if _tls_cause(error):
        return InvokeConnectionError(
            PREFIX + f"TLS: the certificate of {host} is not trusted; add its CA in 'CA certificate' "
            "(the Russian Trusted Root CA is already built in), or turn off 'Verify TLS certificates' at your own risk."
        )
    if _in_chain(error, _CLIENT_CERTIFICATE_ALERTS):
        if settings and settings.auth_method is AuthMethod.CLIENT_CERTIFICATE:
            return InvokeConnectionError(
                PREFIX + f"TLS: {host} did not accept the client certificate; check that 'Client certificate' "
                "is issued by a CA it trusts and has not expired."
            )
        return InvokeConnectionError(
            PREFIX + f"TLS: {host} requires a client certificate (mutual TLS); choose "
            "'Client certificate (mutual TLS)' in 'Authentication'."
        )
    if isinstance(error, httpx.ConnectError):
        return InvokeConnectionError(PREFIX + f"{step}: could not connect to {host}; check the URL and the network.")
    if isinstance(error, httpx.RemoteProtocolError):
        return InvokeConnectionError(PREFIX + f"{step}: {host} closed the connection before the answer was complete.")
    return InvokeConnectionError(PREFIX + f"{step}: the connection to {host} failed ({type(error).__name__}).")


def _tls_cause(error: BaseException) -> bool:
    return _in_chain(error, ("CERTIFICATE_VERIFY_FAILED",), ssl.SSLCertVerificationError)


# OpenSSL's names for a server's alert that it wants a client certificate, or does not accept the one it got.
_CLIENT_CERTIFICATE_ALERTS = (
    "ALERT_CERTIFICATE_REQUIRED",
    "ALERT_BAD_CERTIFICATE",
    "ALERT_UNKNOWN_CA",
    "ALERT_CERTIFICATE_UNKNOWN",
)


def _in_chain(error: BaseException, marks: tuple[str, ...], kind: type[BaseException] | None = None) -> bool:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if (kind is not None and isinstance(current, kind)) or any(mark in repr(current) for mark in marks):
            return True
        current = current.__cause__ or current.__context__
    return False


def _server_detail(content: bytes | None) -> tuple[int | None, str]:
    """GigaChat's error code and message, as sent, from a JSON error body; nothing if the body is not GigaChat's JSON.
    The message may quote the request: it is shown only through `safe_server_message`."""
    try:
        body = json.loads(content or b"")
    except (ValueError, UnicodeDecodeError):
        return None, ""
    if not isinstance(body, dict):
        return None, ""
    code = body.get("code")
    message = body.get("message")
    code = code if isinstance(code, int) and not isinstance(code, bool) else None
    return code, message if isinstance(message, str) else ""


def safe_server_message(message: str, texts: Iterable[str], secrets: Iterable[str] = ()) -> str:
    """GigaChat's message as shown, unless what is shown quotes the request's texts (some gateways echo the body they
    reject) or anything derived from a credential (a gateway echoing the Authorization header)."""
    text = " ".join(message.split())[:_MAX_SERVER_MESSAGE]
    lowered = text.lower()
    if any(_looks_like_a_credential(run) for run in _BASE64_RUN.findall(text)):
        return _WITHHELD
    for value in texts:
        # Squashed like the message, or a multi-line prompt echoed back would never match.
        value = " ".join(value.split()).lower()
        if len(value) >= 8 and value in lowered:
            return _WITHHELD
        if len(value) >= _ECHO_WINDOW and _shares_window(lowered, value, _ECHO_WINDOW):
            return _WITHHELD
    for value in secrets:
        if _shares_window(lowered, value.lower(), min(_SECRET_WINDOW, len(value))):
            return _WITHHELD
    return text


def _looks_like_a_credential(run: str) -> bool:
    return any(c.isupper() for c in run) and any(c.islower() for c in run) and any(c.isdigit() for c in run)


def _shares_window(message: str, value: str, window: int) -> bool:
    """Whether any `window` consecutive characters of `value` occur in `message` (both already lower-cased)."""
    if window <= 0 or len(message) < window or len(value) < window:
        return False
    if len(value) > len(message):  # a long prompt: search it for each piece of the short message
        return any(message[i : i + window] in value for i in range(len(message) - window + 1))
    pieces = {message[i : i + window] for i in range(len(message) - window + 1)}
    return any(value[i : i + window] in pieces for i in range(len(value) - window + 1))


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
        # One host for both (a gateway, the emulator): the request's URL still tells the OAuth call apart.
        if host and _request_url(error).startswith(settings.auth_url):
            return f"Authentication at {host}"
    return "The request to GigaChat"


def _request_url(error: httpx.TransportError) -> str:
    try:
        return str(error.request.url)
    except RuntimeError:
        return ""
