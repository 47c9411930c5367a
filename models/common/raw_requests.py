"""Each request from the daemon as raw data, before dify_plugin parses it: what dify_plugin would get wrong there.

`intercept` wraps `Plugin.dispatch`, which `Plugin._execute_request` calls with each request's raw data and its fresh
`Session`, and does two things there:

- It rejects a request whose shape dify_plugin cannot parse. dify_plugin turns the daemon's JSON into its request
  model (ModelInvokeLLMRequest, ...) before any plugin code runs. A field of the wrong shape (an unknown role,
  content that is a number, a missing key) raises pydantic's ValidationError, which reaches Dify untyped, with a
  message and a traceback that quote the offending values (a prompt, a credential). A prompt list that is not a list
  of objects is worse: its TypeError makes the router write a stray envelope-level error and then call the model
  with the raw dict (an AttributeError). So the request is parsed once more here, first, with the same model; when
  that fails the request ends with one typed error that names the fields and what they should be, and quotes nothing
  the request held.
- It keeps the daemon's top-level `tool_choice`, which dify_plugin 0.10.2 drops (pydantic ignores the keys
  ModelInvokeLLMRequest does not declare), on the session, where `tool_choice()` finds it inside `_invoke`.
"""

from __future__ import annotations

import re
from typing import Any

import pydantic
from dify_plugin import get_current_session
from dify_plugin.core.entities.plugin.request import (
    ModelActions,
    ModelGetAIModelSchemas,
    ModelGetLLMNumTokens,
    ModelGetTextEmbeddingNumTokens,
    ModelInvokeLLMRequest,
    ModelInvokeTextEmbeddingRequest,
    ModelValidateModelCredentialsRequest,
    ModelValidateProviderCredentialsRequest,
)
from dify_plugin.errors.model import InvokeBadRequestError

from .prefix import PREFIX

_MAX_PROBLEMS = 3
# Where the daemon's `tool_choice` waits on the session for `_invoke`.
TOOL_CHOICE_ATTRIBUTE = "gigachat_tool_choice"
# The model actions this plugin serves, each with the model dify_plugin parses it into.
REQUEST_MODELS: dict[str, type[pydantic.BaseModel]] = {
    ModelActions.InvokeLLM: ModelInvokeLLMRequest,
    ModelActions.GetLLMNumTokens: ModelGetLLMNumTokens,
    ModelActions.InvokeTextEmbedding: ModelInvokeTextEmbeddingRequest,
    ModelActions.GetTextEmbeddingNumTokens: ModelGetTextEmbeddingNumTokens,
    ModelActions.ValidateProviderCredentials: ModelValidateProviderCredentialsRequest,
    ModelActions.ValidateModelCredentials: ModelValidateModelCredentialsRequest,
    ModelActions.GetAIModelSchemas: ModelGetAIModelSchemas,
}
# pydantic error types whose message only states the rule ("Field required", "Input should be a valid string",
# "Input should be 'system', 'user' ..."); any other message may quote the input, and is replaced.
_RULE_ONLY = re.compile(r"^(missing|\w+_type|enum|literal_error|\w+_parsing|too_(short|long)|(greater|less)_than\w*)$")
# Location parts pydantic adds for the branches of a union ("str", "list[tagged-union[...]]"): not field names.
_BRANCH = re.compile(r"[\[\]()-]|^(str|int|float|bool|list|dict|none|function-\w+)$")


def intercept(plugin: Any) -> Any:
    """Make the plugin check every raw request and keep its tool choice before dispatching it; nothing else changes."""
    dispatch = plugin.dispatch

    def dispatch_raw(session: Any, data: Any) -> Any:
        check_request(data)
        keep_tool_choice(session, data)
        return dispatch(session, data)

    plugin.dispatch = dispatch_raw
    return plugin


def keep_tool_choice(session: Any, data: Any) -> None:
    if isinstance(data, dict) and data.get("action") == "invoke_llm" and data.get("tool_choice") is not None:
        setattr(session, TOOL_CHOICE_ATTRIBUTE, data["tool_choice"])


def tool_choice() -> object:
    """The daemon's tool choice for the request being served, or None (auto) when it sent none."""
    session = get_current_session()
    return getattr(session, TOOL_CHOICE_ATTRIBUTE, None) if session is not None else None


def check_request(data: Any) -> None:
    model = REQUEST_MODELS.get(data.get("action")) if isinstance(data, dict) and data.get("type") == "model" else None
    if model is None:
        return
    try:
        model(**data)
    except pydantic.ValidationError as error:
        raise InvokeBadRequestError(PREFIX + f"the request from Dify is malformed: {describe(error)}.") from None
    except TypeError as error:  # dify_plugin's own prompt-list checks; their messages are fixed sentences
        raise InvokeBadRequestError(PREFIX + f"the request from Dify is malformed: {str(error)[:200]}.") from None


def describe(error: pydantic.ValidationError) -> str:
    """'field.path: what it should be' for each problem, the rules of one field joined, at most a few fields."""
    by_field: dict[str, list[str]] = {}
    for item in error.errors(include_url=False, include_context=False, include_input=False):
        rule = item["msg"] if _RULE_ONLY.match(item["type"]) else "has a value of the wrong kind"
        rules = by_field.setdefault(_location(item["loc"]), [])
        if rule not in rules:
            rules.append(rule)
    problems = [f"{where}: {' or '.join(rules)}" if where else " or ".join(rules) for where, rules in by_field.items()]
    more = len(problems) - _MAX_PROBLEMS
    return "; ".join(problems[:_MAX_PROBLEMS]) + (f"; and {more} more" if more > 0 else "")


def _location(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif not _BRANCH.search(part):
            path += f".{part}" if path else part
    return path
