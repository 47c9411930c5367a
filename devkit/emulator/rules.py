"""What GigaChat accepts: model catalogue, token rule, file types and request validation.

Every rejection is an `ApiError` carrying the status and the message GigaChat would answer with, so the
server only has to serialise it as `{"status": N, "message": "..."}`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message


def count_tokens(text: str) -> int:
    """The emulator's tokenizer: one token per started group of 4 characters (code points); "" is 0 tokens.

    Sber documents roughly 3-4 characters per token; a fixed rule keeps usage numbers predictable in tests.
    """
    return (len(text) + 3) // 4


# `GET /models` as recorded (ai-forever/gigachat tests/integration/cassettes/test_get_models.yaml, January 2026, in
# that order, with the real `type` of each: not every listed id is a chat model), then the ids other sources show:
# GigaChat-2-Reasoning (the SDK's example examples/chat_completions/reasoning.py) and GigaChat-3-Ultra (Sber's
# GigaChat 3 Ultra page, July 2026, and the SDK's v2 recordings).
LISTED_MODELS: dict[str, str] = {
    **dict.fromkeys(
        (
            "GigaChat", "GigaChat-2", "GigaChat-2-Max", "GigaChat-2-Max-preview", "GigaChat-2-Pro",
            "GigaChat-2-Pro-preview", "GigaChat-2-preview", "GigaChat-Max", "GigaChat-Max-preview", "GigaChat-Plus",
            "GigaChat-Pro", "GigaChat-Pro-preview", "GigaChat-preview",
        ),
        "chat",
    ),
    "GigaFilter": "filter",
    "GigaCheckClassification": "aicheck",
    "GigaCheckDetection": "aicheck",
    **dict.fromkeys(("Embeddings", "Embeddings-2", "EmbeddingsGigaR", "GigaEmbeddings-3B-2025-09"), "embedder"),
    "GigaChat-2-Reasoning": "chat",
    "GigaChat-3-Ultra": "chat",
}  # fmt: skip
CHAT_MODELS: tuple[str, ...] = tuple(model for model, kind in LISTED_MODELS.items() if kind == "chat")
# Numbers per vector: Embeddings' 1024 is recorded (cassette test_embeddings_multiple); the others are the plugin's
# stated assumptions (models/text_embedding/*.yaml comments: 1024 for Embeddings-2 like the model it improves on,
# 2048 for the 3B model like Sber's open Giga-Embeddings-instruct) and a third-party figure for EmbeddingsGigaR.
EMBEDDING_DIMENSIONS: dict[str, int] = {
    "Embeddings": 1024,
    "Embeddings-2": 1024,
    "EmbeddingsGigaR": 2560,
    "GigaEmbeddings-3B-2025-09": 2048,
}
# GigaChat answers with "<name>:<build>" rather than the requested id; clients must not rely on equality.
MODEL_BUILD = "2.0.28.2"

ROLES = frozenset({"system", "user", "assistant", "function", "search_result", "function_in_progress"})
SCOPES = frozenset({"GIGACHAT_API_PERS", "GIGACHAT_API_B2B", "GIGACHAT_API_CORP"})
UNSUPPORTED_SCHEMA_KEYWORDS = ("anyOf", "oneOf", "allOf", "$ref")

MB = 1024 * 1024
IMAGE_MIME_TYPES = frozenset({"image/jpeg", "image/jpg", "image/png", "image/tiff", "image/bmp"})
TEXT_MIME_TYPES = frozenset(
    {
        "text/plain",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/pdf",
        "application/epub",
        "application/ppt",
        "application/pptx",
    }
)
AUDIO_MIME_TYPES = frozenset(
    {
        "audio/mp4",
        "audio/mp3",
        "audio/mpeg",
        "audio/x-m4a",
        "audio/wav",
        "audio/wave",
        "audio/x-wav",
        "audio/x-pn-wav",
        "audio/webm",
        "audio/ogg",
        "audio/x-ogg",
        "audio/opus",
    }
)
DEFAULT_FILE_SIZE_LIMITS: dict[str, int] = {"image": 15 * MB, "text": 40 * MB, "audio": 35 * MB}


def file_kind(mime: str) -> str | None:
    mime = mime.lower()
    if mime in IMAGE_MIME_TYPES:
        return "image"
    if mime in TEXT_MIME_TYPES:
        return "text"
    if mime in AUDIO_MIME_TYPES:
        return "audio"
    return None


@dataclass
class EmbeddingLimits:
    """Server-side limits of `POST /embeddings`; official figures are unpublished, these follow third-party docs and,
    for Embeddings-2 and the 3B model, the plugin's assumed context sizes, so that tests hold the plugin to them."""

    max_inputs: int = 100
    max_tokens: dict[str, int] = field(
        default_factory=lambda: {
            "Embeddings": 512,
            "Embeddings-2": 512,
            "EmbeddingsGigaR": 4096,
            "GigaEmbeddings-3B-2025-09": 512,
        }
    )
    too_many_inputs_status: int = 413
    too_long_input_status: int = 422


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _unprocessable(message: str) -> ApiError:
    return ApiError(422, message)


def validate_function_schema(schema: Any, path: str = "") -> None:
    """Reject what GigaChat's function-schema checker rejects: object nodes without `properties`,
    unions and references, non-string enums."""
    if not isinstance(schema, dict):
        raise _unprocessable(f"Field '{path or 'parameters'}' must be an object")
    prefix = f"{path}." if path else ""
    for keyword in UNSUPPORTED_SCHEMA_KEYWORDS:
        if keyword in schema:
            raise _unprocessable(f"Field '{prefix}{keyword}' is not supported")
    enum = schema.get("enum")
    if enum is not None and (not isinstance(enum, list) or not all(isinstance(v, str) for v in enum)):
        raise _unprocessable(f"Field '{prefix}enum' must contain only strings")
    if schema.get("type") == "object" or "properties" in schema:
        properties = schema.get("properties")
        if not isinstance(properties, dict):
            raise _unprocessable(f"Field '{prefix}properties' is missing")
        for name, sub in properties.items():
            validate_function_schema(sub, f"{prefix}properties.{name}")
    if isinstance(schema.get("items"), dict):
        validate_function_schema(schema["items"], f"{prefix}items")


def _validate_sampling(body: dict[str, Any]) -> None:
    temperature = body.get("temperature")
    if temperature is not None and (not _is_number(temperature) or temperature <= 0):
        raise _unprocessable("temperature must be greater than 0")
    top_p = body.get("top_p")
    if top_p is not None and (not _is_number(top_p) or not 0 <= top_p <= 1):
        raise _unprocessable("top_p must be in range [0, 1]")
    max_tokens = body.get("max_tokens")
    if max_tokens is not None and (not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1):
        raise _unprocessable("max_tokens must be greater than or equal to 1")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise _unprocessable("stream must be a boolean")


def _validate_functions(body: dict[str, Any]) -> set[str]:
    functions = body.get("functions")
    if functions is None:
        return set()
    if not isinstance(functions, list):
        raise _unprocessable("functions must be an array")
    names: set[str] = set()
    for index, function in enumerate(functions):
        if not isinstance(function, dict) or not isinstance(function.get("name"), str) or not function["name"]:
            raise _unprocessable(f"Field 'functions[{index}].name' is missing")
        if "parameters" not in function:
            raise _unprocessable(f"Field 'functions[{index}].parameters' is missing")
        validate_function_schema(function["parameters"])
        names.add(function["name"])
    return names


def _validate_function_call_mode(body: dict[str, Any], names: set[str]) -> None:
    mode = body.get("function_call")
    if mode is None or mode in ("auto", "none"):
        return
    if isinstance(mode, dict) and isinstance(mode.get("name"), str):
        if mode["name"] not in names:
            raise _unprocessable(f"function_call refers to unknown function '{mode['name']}'")
        return
    raise _unprocessable("function_call must be 'auto', 'none' or an object with a function name")


def _validate_response_format(body: dict[str, Any], unsupported_models: Iterable[str]) -> None:
    fmt = body.get("response_format")
    if fmt is None:
        return
    if body.get("model") in set(unsupported_models):
        raise _unprocessable(f"response_format is not supported for model {body.get('model')}")
    if not isinstance(fmt, dict) or fmt.get("type") not in ("json_schema", "text"):
        raise _unprocessable("response_format.type must be 'json_schema' or 'text'")
    if fmt["type"] == "json_schema" and not isinstance(fmt.get("schema"), dict):
        raise _unprocessable("Field 'response_format.schema' is missing")


def _validate_function_result(message: dict[str, Any], index: int) -> None:
    if not isinstance(message.get("name"), str) or not message["name"]:
        raise _unprocessable(f"Field 'messages[{index}].name' is required for function messages")
    try:
        parsed = json.loads(message.get("content", ""))
    except (TypeError, ValueError):
        parsed = None
    if not isinstance(parsed, dict):
        raise _unprocessable(f"messages[{index}].content of a function message must be a JSON object")


def _validate_call_pairs(messages: list[dict[str, Any]]) -> None:
    for index, message in enumerate(messages):
        call = message.get("function_call")
        if message["role"] != "assistant" or call is None:
            continue
        if not isinstance(call, dict) or not isinstance(call.get("name"), str):
            raise _unprocessable(f"Field 'messages[{index}].function_call.name' is missing")
        if not isinstance(call.get("arguments", {}), dict):
            raise _unprocessable(f"messages[{index}].function_call.arguments must be a JSON object")
        following = messages[index + 1] if index + 1 < len(messages) else None
        if following is None or following["role"] != "function" or following.get("name") != call["name"]:
            raise _unprocessable(
                f"function call '{call['name']}' in messages[{index}] must be followed by its function result"
            )


# One image per message, up to ten per request "whatever the number of messages" (Sber's chat reference,
# developers.sber.ru/docs/ru/gigachat/api/reference/rest/post-chat, 19 February 2026).
def _validate_attachments(
    messages: list[dict[str, Any]], file_mime: Callable[[str], str | None], per_message: int, per_request: int
) -> None:
    total = 0
    for index, message in enumerate(messages):
        attachments = message.get("attachments")
        if attachments is None:
            continue
        if not isinstance(attachments, list) or not all(isinstance(a, str) for a in attachments):
            raise _unprocessable(f"messages[{index}].attachments must be an array of file ids")
        images = 0
        for file_id in attachments:
            mime = file_mime(file_id)
            if mime is None:
                raise _unprocessable(f"File {file_id} not found")
            images += file_kind(mime) == "image"
        if images > per_message:
            raise _unprocessable(f"Too many images in messages[{index}]: at most {per_message} allowed")
        total += len(attachments)
    if total > per_request:
        raise _unprocessable(f"Too many attachments in the request: at most {per_request} allowed")


def validate_chat(
    body: Any,
    *,
    file_mime: Callable[[str], str | None],
    unsupported_response_format_models: Iterable[str] = (),
    max_images_per_message: int = 1,
    max_attachments_per_request: int = 10,
) -> None:
    """Validate a legacy `/chat/completions` body; `file_mime` maps a live file id to its MIME type."""
    if not isinstance(body, dict):
        raise ApiError(400, "Your request contains invalid JSON syntax.")
    if body.get("model") not in CHAT_MODELS:
        raise ApiError(404, "No such model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _unprocessable("Field 'messages' must not be empty")
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise _unprocessable(f"messages[{index}] must be an object")
        if message.get("role") not in ROLES:
            raise _unprocessable(f"Invalid role '{message.get('role')}' in messages[{index}]")
        if not isinstance(message.get("content", ""), str):
            raise _unprocessable(f"messages[{index}].content must be a string")
        if message["role"] == "system" and index != 0:
            raise _unprocessable("system message must be the first message")
        if message["role"] == "function":
            _validate_function_result(message, index)
    _validate_call_pairs(messages)
    _validate_attachments(messages, file_mime, max_images_per_message, max_attachments_per_request)
    _validate_sampling(body)
    names = _validate_functions(body)
    _validate_function_call_mode(body, names)
    _validate_response_format(body, unsupported_response_format_models)


def validate_embeddings(body: Any, limits: EmbeddingLimits) -> tuple[str, list[str]]:
    if not isinstance(body, dict):
        raise ApiError(400, "Your request contains invalid JSON syntax.")
    model = body.get("model")
    if model not in EMBEDDING_DIMENSIONS:
        raise ApiError(404, "No such model")
    inputs = body.get("input")
    if isinstance(inputs, str):
        inputs = [inputs]
    if not isinstance(inputs, list) or not inputs or not all(isinstance(text, str) for text in inputs):
        raise _unprocessable("Field 'input' must be a non-empty array of strings")
    if len(inputs) > limits.max_inputs:
        raise ApiError(
            limits.too_many_inputs_status, f"Too many inputs: {len(inputs)}, at most {limits.max_inputs} allowed"
        )
    max_tokens = limits.max_tokens.get(model)
    for index, text in enumerate(inputs):
        if not text:
            raise _unprocessable(f"input[{index}] must not be empty")
        tokens = count_tokens(text)
        if max_tokens is not None and tokens > max_tokens:
            raise ApiError(
                limits.too_long_input_status,
                f"input[{index}] has {tokens} tokens, the model {model} accepts at most {max_tokens}",
            )
    return model, inputs
