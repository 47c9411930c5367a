"""The plugin daemon's acceptance rules, as small pure functions.

Every ``check_*`` function returns a list of problems (empty = accepted). Each problem starts with a rule id so a
failing test says which rule broke. The rules come from what the Go daemon does with plugin output
(contract doc sections 0, 3.3 and 3.4): it splits stdout into lines with a 5 MiB scanner, parses each line as an
event, and parses every ``stream`` payload into a typed Go struct that is run through ``validator.Struct``; a payload
that fails closes the request with ``unmarshal_error``. A few rules are stricter than Go on purpose, because Dify's
Python side breaks on the same input a moment later (tool-call arguments are ``json.loads``-ed on every chunk; usage
objects are built with every field required).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

# The daemon's bufio.Scanner limit (PLUGIN_RUNTIME_MAX_BUFFER_SIZE). The scanner needs room for the line and its
# newline, so a line of exactly 5 MiB already ends the scan and the instance is killed.
MAX_LINE_BYTES = 5 * 1024 * 1024

EVENTS = ("session", "heartbeat", "log", "error")
SESSION_TYPES = ("stream", "end", "error", "invoke")
ROLES = ("system", "user", "assistant", "tool")
# The daemon's ModelType enum (wider than the SDK's: it also knows the multimodal types).
MODEL_TYPES = (
    "llm",
    "text-embedding",
    "rerank",
    "speech2text",
    "moderation",
    "tts",
    "text2img",
    "multimodal-embedding",
    "multimodal-rerank",
)
CONFIGURATE_METHODS = ("predefined-model", "customizable-model")
PARAMETER_TYPES = ("float", "int", "string", "boolean", "text")
FORM_TYPES = ("text-input", "secret-input", "select", "radio", "switch")

LLM_USAGE_INTS = ("prompt_tokens", "completion_tokens", "total_tokens")
LLM_USAGE_DECIMALS = (
    "prompt_unit_price",
    "prompt_price_unit",
    "prompt_price",
    "completion_unit_price",
    "completion_price_unit",
    "completion_price",
    "total_price",
)
EMBEDDING_USAGE_INTS = ("tokens", "total_tokens")
EMBEDDING_USAGE_DECIMALS = ("unit_price", "price_unit", "total_price")
MAX_ERROR_ARGS = 10


# ---- scalar helpers ----------------------------------------------------------------------------------------------


def _is_int(value: Any) -> bool:
    # bool is an int subclass in Python but a different JSON type for Go.
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


def _is_decimal(value: Any) -> bool:
    # shopspring/decimal accepts JSON numbers and numeric strings; the SDK writes strings such as "0.0000020", "5E-7".
    if _is_number(value):
        return True
    if isinstance(value, str):
        try:
            return Decimal(value).is_finite()
        except InvalidOperation:
            return False
    return False


def _non_empty_str(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def check_i18n(obj: Any, where: str) -> list[str]:
    """Go I18nObject: en_US required, 1..1023 chars; other locales < 1024 chars."""
    if not isinstance(obj, Mapping):
        return [f"i18n.object: {where} must be an object with en_US, got {type(obj).__name__}"]
    problems = []
    en = obj.get("en_US")
    if not _non_empty_str(en):
        problems.append(f"i18n.en_US: {where}.en_US must be a non-empty string, got {en!r}")
    for key, value in obj.items():
        if isinstance(value, str) and len(value) >= 1024:
            problems.append(f"i18n.length: {where}.{key} has {len(value)} chars (max 1023)")
    return problems


# ---- stdout framing and envelopes --------------------------------------------------------------------------------


def check_stdout_line(raw: bytes) -> tuple[dict | None, list[str]]:
    """Parse one stdout line (without its newline). Blank lines are skipped, as the daemon does."""
    if len(raw) >= MAX_LINE_BYTES:
        return None, [f"line.size: a stdout line of {len(raw)} bytes reaches the daemon's 5 MiB scanner limit"]
    if not raw.strip():
        return None, []
    try:
        obj = json.loads(raw)
    except ValueError:
        preview = raw[:120].decode("utf-8", "replace")
        return None, [f"line.json: non-JSON line on stdout (plugin code printing to stdout?): {preview!r}"]
    if not isinstance(obj, dict):
        return None, [f"line.object: stdout line is JSON but not an object: {type(obj).__name__}"]
    return obj, []


def check_event(obj: Mapping, manifest_seen: bool) -> list[str]:
    """Envelope-level rules for one parsed line (session payloads are checked separately)."""
    if "event" not in obj:
        if manifest_seen:
            return ["event.missing: a JSON line without `event` after the manifest (plugin code printing JSON?)"]
        return []
    event = obj["event"]
    if event not in EVENTS:
        return [f"event.unknown: unknown event {event!r} (expected one of {', '.join(EVENTS)})"]
    if event != "session":
        return []
    problems = []
    if not _non_empty_str(obj.get("session_id")):
        problems.append(f"session.id: session message without a session_id: {obj.get('session_id')!r}")
    data = obj.get("data")
    if not isinstance(data, Mapping):
        return [*problems, "session.data: session message `data` must be an object"]
    if data.get("type") not in SESSION_TYPES:
        problems.append(f"session.type: unknown session message type {data.get('type')!r}")
    if not isinstance(data.get("data"), Mapping):
        problems.append(f"session.payload: session {data.get('type')!r} payload must be an object")
    return problems


def check_session_order(previous: Collection[str], new_type: str) -> list[str]:
    """Per session: 0..n stream, at most one error, exactly one end and it is last."""
    if "end" in previous:
        return [f"session.after_end: a {new_type!r} message arrived after `end`"]
    if new_type == "error" and "error" in previous:
        return ["session.two_errors: a second `error` in one session"]
    if new_type == "stream" and "error" in previous:
        # The daemon closes the response on the error; anything after it is silently dropped.
        return ["session.stream_after_error: a `stream` after `error` is discarded by the daemon"]
    if new_type == "invoke":
        return ["session.invoke: backwards invocation from a model plugin is not supported by this harness"]
    return []


def check_session_complete(types: Sequence[str]) -> list[str]:
    if not types or types[-1] != "end":
        return ["session.no_end: the session did not finish with `end`"]
    if types.count("end") != 1:
        return ["session.end_count: more than one `end`"]
    return []


def check_error_data(data: Any) -> list[str]:
    """Go ErrorResponse: error_type and message strings, args an object with at most 10 keys."""
    if not isinstance(data, Mapping):
        return ["error.object: error payload must be an object"]
    problems = []
    for key in ("error_type", "message"):
        if not isinstance(data.get(key), str):
            problems.append(f"error.{key}: must be a string, got {data.get(key)!r}")
    args = data.get("args")
    if not isinstance(args, Mapping):
        problems.append(f"error.args: must be an object, got {type(args).__name__}")
    elif len(args) > MAX_ERROR_ARGS:
        problems.append(f"error.args_count: args has {len(args)} keys (max {MAX_ERROR_ARGS})")
    return problems


# ---- stream payloads per action ----------------------------------------------------------------------------------


def _named_object(item: Any, rule: str, where: str, key: str, check_rest: Callable[[Mapping], list[str]]) -> list[str]:
    """An object whose `key` field (its id or name) is a non-empty string, and whatever else `check_rest` requires."""
    if not isinstance(item, Mapping):
        return [f"{rule}.object: {where} must be an object"]
    named = _non_empty_str(item.get(key))
    return ([] if named else [f"{rule}.{key}: {where}.{key} must be a non-empty string"]) + check_rest(item)


def check_tool_call(call: Any, where: str) -> list[str]:
    return _named_object(call, "tool_call", where, "id", lambda c: _check_tool_function(c, where))


def _check_tool_function(call: Mapping, where: str) -> list[str]:
    problems = []
    if call.get("type") != "function":
        problems.append(f"tool_call.type: {where}.type must be 'function', got {call.get('type')!r}")
    function = call.get("function")
    if not isinstance(function, Mapping):
        return [*problems, f"tool_call.function: {where}.function must be an object"]
    if not _non_empty_str(function.get("name")):
        problems.append(f"tool_call.name: {where}.function.name must be a non-empty string")
    arguments = function.get("arguments")
    if not isinstance(arguments, str):
        problems.append(f"tool_call.arguments: {where}.function.arguments must be a JSON string")
    else:
        try:
            json.loads(arguments)
        except ValueError:
            # Dify's agent runners json.loads the arguments of every chunk they see.
            problems.append(f"tool_call.arguments_json: {where}.function.arguments is not JSON: {arguments[:80]!r}")
    return problems


def _check_usage(usage: Any, ints: Sequence[str], decimals: Sequence[str], where: str) -> list[str]:
    if not isinstance(usage, Mapping):
        return [f"usage.object: {where} must be an object"]
    problems = []
    for key in ints:
        if not _is_int(usage.get(key)):
            problems.append(f"usage.{key}: {where}.{key} must be an integer, got {usage.get(key)!r}")
    for key in decimals:
        if not _is_decimal(usage.get(key)):
            problems.append(f"usage.{key}: {where}.{key} must be a decimal, got {usage.get(key)!r}")
    if not isinstance(usage.get("currency"), str):
        problems.append(f"usage.currency: {where}.currency must be a string")
    if not _is_number(usage.get("latency")):
        problems.append(f"usage.latency: {where}.latency must be a number, got {usage.get('latency')!r}")
    return problems


def check_llm_usage(usage: Any) -> list[str]:
    return _check_usage(usage, LLM_USAGE_INTS, LLM_USAGE_DECIMALS, "delta.usage")


def check_embedding_usage(usage: Any) -> list[str]:
    return _check_usage(usage, EMBEDDING_USAGE_INTS, EMBEDDING_USAGE_DECIMALS, "usage")


def check_llm_chunk(item: Any) -> list[str]:
    """One ``invoke_llm`` stream item against Go's LLMResultChunk."""
    return _named_object(item, "llm", "chunk", "model", _check_llm_delta)


def _check_llm_delta(item: Mapping) -> list[str]:
    delta = item.get("delta")
    if not isinstance(delta, Mapping):
        return ["llm.delta: chunk.delta must be an object"]
    index = delta.get("index")
    problems = [] if _is_int(index) else [f"llm.index: delta.index must be an integer, got {index!r}"]
    problems += _check_llm_message(delta.get("message"))
    if delta.get("usage") is not None:
        problems += check_llm_usage(delta["usage"])
    finish = delta.get("finish_reason")
    if finish is not None and not isinstance(finish, str):
        problems.append(f"llm.finish_reason: must be a string or null, got {finish!r}")
    return problems


def _check_llm_message(message: Any) -> list[str]:
    if not isinstance(message, Mapping):
        return ["llm.message: delta.message must be an object"]
    role, content, tool_calls = message.get("role"), message.get("content"), message.get("tool_calls")
    problems = [] if role in ROLES else [f"llm.role: delta.message.role must be one of {ROLES}, got {role!r}"]
    if content is None:
        problems.append("llm.content_null: delta.message.content is null (the daemon requires a string or a list)")
    elif not isinstance(content, str | list):
        problems.append(f"llm.content_type: delta.message.content must be a string or list, got {type(content)}")
    if tool_calls is not None and not isinstance(tool_calls, list):
        problems.append("llm.tool_calls: delta.message.tool_calls must be a list")
    elif tool_calls:
        for i, call in enumerate(tool_calls):
            problems += check_tool_call(call, f"delta.message.tool_calls[{i}]")
    return problems


def check_embedding_result(item: Any) -> list[str]:
    return _named_object(item, "embedding", "result", "model", _check_vectors)


def _check_vectors(item: Mapping) -> list[str]:
    embeddings = item.get("embeddings")
    if not isinstance(embeddings, list):
        problems = ["embedding.embeddings: embeddings must be a list of vectors"]
    else:
        # set(map(type, ...)) runs in C: a reply holds up to a million numbers, and bool is not a number here.
        bad = (i for i, v in enumerate(embeddings) if not isinstance(v, list) or not set(map(type, v)) <= {float, int})
        first_bad = next(bad, None)
        problems = [] if first_bad is None else [f"embedding.vector: embeddings[{first_bad}] must be a list of numbers"]
    return problems + check_embedding_usage(item.get("usage"))


def check_credentials_result(item: Any) -> list[str]:
    if not isinstance(item, Mapping):
        return ["credentials.object: result must be an object"]
    problems = []
    if not isinstance(item.get("result"), bool):
        problems.append(f"credentials.result: result must be a boolean, got {item.get('result')!r}")
    if not isinstance(item.get("credentials"), Mapping):
        problems.append("credentials.credentials: credentials must be an object")
    return problems


def check_llm_num_tokens(item: Any) -> list[str]:
    if not isinstance(item, Mapping) or not _is_int(item.get("num_tokens")):
        return [f"num_tokens.llm: expected {{'num_tokens': int}}, got {item!r}"]
    return []


def check_embedding_num_tokens(item: Any) -> list[str]:
    ok = isinstance(item, Mapping) and isinstance(item.get("num_tokens"), list)
    if not ok or not all(_is_int(n) for n in item["num_tokens"]):
        return [f"num_tokens.embedding: expected {{'num_tokens': [int, ...]}}, got {item!r}"]
    return []


def check_parameter_rule(rule: Any, where: str) -> list[str]:
    return _named_object(rule, "rule", where, "name", lambda r: _check_rule_fields(r, where))


def _check_rule_fields(rule: Mapping, where: str) -> list[str]:
    problems = []
    if not rule.get("use_template") and (rule.get("label") is None or rule.get("type") is None):
        problems.append(f"rule.label_type: {where} needs label and type when it has no use_template")
    if rule.get("type") is not None and rule["type"] not in PARAMETER_TYPES:
        problems.append(f"rule.type: {where}.type {rule['type']!r} is not one of {PARAMETER_TYPES}")
    if rule.get("label") is not None:
        problems += check_i18n(rule["label"], f"{where}.label")
    return problems


def check_model_declaration(model: Any, where: str = "model") -> list[str]:
    """Go ModelDeclaration (an AIModelEntity): what get_ai_model_schemas and remote registration must satisfy."""
    if not isinstance(model, Mapping):
        return [f"model.object: {where} must be an object"]
    problems = []
    if not _non_empty_str(model.get("model")) or len(model["model"]) >= 256:
        problems.append(f"model.id: {where}.model must be a non-empty string under 256 chars")
    problems += check_i18n(model.get("label"), f"{where}.label")
    if model.get("model_type") not in MODEL_TYPES:
        problems.append(f"model.model_type: {where}.model_type {model.get('model_type')!r} is not a daemon model type")
    fetch_from = model.get("fetch_from")
    if fetch_from not in (None, "", *CONFIGURATE_METHODS):
        problems.append(f"model.fetch_from: {where}.fetch_from {fetch_from!r} is invalid")
    if model.get("model_properties") is not None and not isinstance(model["model_properties"], Mapping):
        problems.append(f"model.properties: {where}.model_properties must be an object")
    rules = model.get("parameter_rules") or []
    if not isinstance(rules, list) or len(rules) > 128:
        problems.append(f"model.rules: {where}.parameter_rules must be a list of at most 128")
    else:
        for i, rule in enumerate(rules):
            problems += check_parameter_rule(rule, f"{where}.parameter_rules[{i}]")
    pricing = model.get("pricing")
    if pricing is not None:
        if not isinstance(pricing, Mapping):
            problems.append(f"model.pricing: {where}.pricing must be an object")
        else:
            for key in ("input", "unit"):
                if not _is_decimal(pricing.get(key)):
                    problems.append(f"model.pricing_{key}: {where}.pricing.{key} must be a decimal")
            if not _non_empty_str(pricing.get("currency")):
                problems.append(f"model.pricing_currency: {where}.pricing.currency is required")
    return problems


def check_model_schema_response(item: Any) -> list[str]:
    if not isinstance(item, Mapping) or "model_schema" not in item:
        return ["schema.key: expected {'model_schema': object|null}"]
    if item["model_schema"] is None:
        return []
    return check_model_declaration(item["model_schema"], "model_schema")


STREAM_CHECKS = {
    "invoke_llm": check_llm_chunk,
    "invoke_text_embedding": check_embedding_result,
    "validate_provider_credentials": check_credentials_result,
    "validate_model_credentials": check_credentials_result,
    "get_llm_num_tokens": check_llm_num_tokens,
    "get_text_embedding_num_tokens": check_embedding_num_tokens,
    "get_ai_model_schemas": check_model_schema_response,
}


def check_stream_item(action: str | None, item: Any) -> list[str]:
    """Dispatch on the request's action; actions this harness does not model are not checked."""
    check = STREAM_CHECKS.get(action or "")
    return check(item) if check else []


# ---- registration (remote debugging) -----------------------------------------------------------------------------


def check_provider_declaration(provider: Any) -> list[str]:
    """Go ModelProviderDeclaration, as the daemon parses it from a remote plugin's model_declaration."""
    if not isinstance(provider, Mapping):
        return ["provider.object: provider declaration must be an object"]
    problems = []
    if not _non_empty_str(provider.get("provider")) or len(provider["provider"]) >= 256:
        problems.append("provider.id: provider must be a non-empty string under 256 chars")
    problems += check_i18n(provider.get("label"), "provider.label")
    types = provider.get("supported_model_types")
    if not isinstance(types, list) or not types or len(types) > 16 or any(t not in MODEL_TYPES for t in types):
        problems.append(f"provider.model_types: supported_model_types invalid: {types!r}")
    methods = provider.get("configurate_methods")
    if not isinstance(methods, list) or not methods or any(m not in CONFIGURATE_METHODS for m in methods):
        problems.append(f"provider.configurate_methods: invalid: {methods!r}")
    for schema_key in ("provider_credential_schema", "model_credential_schema"):
        schema = provider.get(schema_key) or {}
        for i, form in enumerate(schema.get("credential_form_schemas") or []):
            where = f"{schema_key}.credential_form_schemas[{i}]"
            if not _non_empty_str(form.get("variable")):
                problems.append(f"provider.form_variable: {where}.variable is required")
            if form.get("type") not in FORM_TYPES:
                problems.append(f"provider.form_type: {where}.type {form.get('type')!r} is invalid")
            if form.get("default") is not None and not isinstance(form["default"], str):
                problems.append(f"provider.form_default: {where}.default must be a string")
            problems += check_i18n(form.get("label"), f"{where}.label")
    models = provider.get("models")
    if isinstance(models, list):
        for i, model in enumerate(models):
            problems += check_model_declaration(model, f"models[{i}]")
    return problems


def check_manifest_declaration(manifest: Any) -> list[str]:
    """The subset of PluginDeclaration tags and ManifestValidate that a model plugin can get wrong."""
    if not isinstance(manifest, Mapping):
        return ["manifest.object: manifest declaration must be an object"]
    problems = []
    version_re = r"^\d{1,4}(\.\d{1,4}){2}(-\w{1,16})?$"
    checks = [
        ("manifest.version", re.match(version_re, str(manifest.get("version", ""))), "version"),
        ("manifest.type", manifest.get("type") == "plugin", "type must be 'plugin'"),
        ("manifest.author", re.match(r"^[a-z0-9_-]{1,64}$", str(manifest.get("author", ""))), "author"),
        ("manifest.name", re.match(r"^[a-z0-9_-]{1,128}$", str(manifest.get("name", ""))), "name"),
        ("manifest.icon", _non_empty_str(manifest.get("icon")), "icon is required"),
    ]
    problems += [f"{rule}: {what} invalid: {manifest.get(what.split()[0])!r}" for rule, ok, what in checks if not ok]
    problems += check_i18n(manifest.get("label"), "manifest.label")
    meta = manifest.get("meta") or {}
    runner = meta.get("runner") or {}
    if runner.get("language") != "python" or not _non_empty_str(runner.get("entrypoint")):
        problems.append(f"manifest.runner: meta.runner must be python with an entrypoint, got {runner!r}")
    if not meta.get("arch") or any(a not in ("amd64", "arm64") for a in meta["arch"]):
        problems.append(f"manifest.arch: meta.arch invalid: {meta.get('arch')!r}")
    plugins = manifest.get("plugins") or {}
    if len(plugins.get("models") or []) != 1:
        problems.append("manifest.models: a model plugin declares exactly one provider file in plugins.models")
    if any(plugins.get(kind) for kind in ("tools", "endpoints", "agent_strategies")):
        problems.append("manifest.exclusive: a model plugin cannot also declare tools/endpoints/agent strategies")
    return problems
