"""GigaChat answers in the shapes real GigaChat sends, written for the replay tests (tests/e2e/test_recorded_shapes.py).

Each builder names the recording or document its shape follows. The shapes (field names, their order, which fields
appear, the framing) are facts taken from those sources; the texts, ids and numbers are this project's own.
"SDK cassette X" means ai-forever/gigachat tests/integration/cassettes/X.yaml (recorded 2025-2026); "SDK fixture F"
means ai-forever/gigachat tests/data/F (captured 2023-2025).
"""

from __future__ import annotations

from typing import Any

MODEL_2026 = "GigaChat:2.0.28.2"
CREATED = 1769000000
REQUEST_ID = "0b7d3c52-8f1e-4a27-9d6c-2e5f4a1b3c9d"


def _chunk(delta: dict[str, Any], *, model: str = MODEL_2026, finish: str | None = None, **extra: Any) -> dict:
    choice: dict[str, Any] = {"delta": delta, "index": 0}
    if finish is not None:
        choice["finish_reason"] = finish
    return {"choices": [choice], "created": CREATED, "model": model, "object": "chat.completion", **extra}


# ---- v1 streams ---------------------------------------------------------------------------------------------------

STREAM_PIECES = ["$1\\, 2\\, 3$  \n\n**Разбор по шагам:**", "\n- Сначала один.", "\n- Потом два — и три."]
STREAM_USAGE = {"prompt_tokens": 19, "completion_tokens": 31, "total_tokens": 50, "precached_prompt_tokens": 2}


def stream_2026(pieces: list[str] = STREAM_PIECES) -> list[dict]:
    """SDK cassette test_stream_simple (production, January 2026): the role rides on the first delta; every event has
    `created`, `model` as "<name>:<build>" and `object: "chat.completion"`; the last event has empty content, the
    finish reason and usage with `precached_prompt_tokens`."""
    events = [_chunk({"content": pieces[0], "role": "assistant"})]
    events += [_chunk({"content": piece}) for piece in pieces[1:]]
    return [*events, _chunk({"content": ""}, finish="stop", usage=STREAM_USAGE)]


def stream_2023() -> list[dict]:
    """SDK fixture chat_completion.stream (September 2023): no usage in any event, `finish_reason` written before
    `index`, an older build name. The body starts with a blank line (RawAnswer.sse(leading_blank=True))."""
    model = "GigaChat:v1.2.19.2"
    last = {"choices": [{"delta": {"content": ""}, "finish_reason": "stop", "index": 0}], "created": CREATED}
    return [
        _chunk({"content": "Здравствуйте! ", "role": "assistant"}, model=model),
        _chunk({"content": "Чем могу помочь?"}, model=model),
        {**last, "model": model, "object": "chat.completion"},
    ]


def usage_twice() -> list[dict]:
    """Usage in more than one event, the later one smaller: SDK fixture threads/post_thread_messages_run.stream
    (May 2024) reports 64/23/87 with the first piece and 0/8/8 with the last."""
    first = {"prompt_tokens": 64, "completion_tokens": 23, "total_tokens": 87}
    last = {"prompt_tokens": 0, "completion_tokens": 8, "total_tokens": 8}
    return [
        _chunk({"content": "Первая часть ответа,", "role": "assistant"}, usage=first),
        _chunk({"content": " и вторая."}, finish="stop", usage=last),
    ]


def function_in_progress(seconds_left: list[str]) -> list[dict]:
    """Progress of a built-in function: Sber's OpenAPI description (MessagesRes, 2025) gives the role
    `function_in_progress`, with `content` the time left until the function finishes, `name` (e.g. text2image) and
    `created`, sent while streaming. Not recorded anywhere, so only the documented fields are used."""
    return [
        _chunk({"role": "function_in_progress", "content": left, "name": "text2image", "created": CREATED})
        for left in seconds_left
    ]


def image_markup(file_id: str) -> str:
    """How a v1 answer refers to an image the built-in text2image made: Sber's "Создание изображений" page (December
    2024) shows the tag in the answer text, `<img src="<file id>" fuse="true"/>`."""
    return f'<img src="{file_id}" fuse="true"/>'


# ---- blocking answers ---------------------------------------------------------------------------------------------


def _completion(message: dict, finish: str, model: str, usage: dict, obj: str = "chat.completion") -> dict:
    choice = {"message": message, "index": 0, "finish_reason": finish}
    return {"choices": [choice], "created": CREATED, "model": model, "object": obj, "usage": usage}


def text_completion(text: str) -> dict:
    """SDK cassette test_chat_simple (production, January 2026)."""
    usage = {"prompt_tokens": 17, "completion_tokens": 40, "total_tokens": 57, "precached_prompt_tokens": 2}
    return _completion({"content": text, "role": "assistant"}, "stop", MODEL_2026, usage)


JSON_DOCUMENT = '{\n    "city": "Новосибирск",\n    "population": 1630000\n}'


def json_schema_completion() -> dict:
    """SDK cassettes test_chat_parse_json_schema and test_chat_response_format_json_schema (April 2026): `object` is
    "chat.completions" (plural), the content is pretty-printed JSON (4-space indent), `precached_prompt_tokens` is 0."""
    message = {"content": JSON_DOCUMENT, "role": "assistant"}
    usage = {"prompt_tokens": 26, "completion_tokens": 19, "total_tokens": 45, "precached_prompt_tokens": 0}
    return _completion(message, "stop", "GigaChat-3-Ultra:32.3.7.3", usage, obj="chat.completions")


FUNCTION_ARGUMENTS = {"location": "Санкт-Петербург", "num_days": 0}


def function_call_completion() -> dict:
    """SDK fixture chat_completion_function.json (January 2024): the call's `arguments` an object with Cyrillic as raw
    UTF-8, content "", finish reason function_call, no `functions_state_id`, and an extra `system_tokens` in usage."""
    message = {"content": "", "role": "assistant", "function_call": {"name": "fc", "arguments": FUNCTION_ARGUMENTS}}
    usage = {"prompt_tokens": 120, "completion_tokens": 18, "total_tokens": 138, "system_tokens": 0}
    return _completion(message, "function_call", "GigaChat-funcs", usage)


# SDK cassettes test_chat_model_not_found and test_get_model_not_found (January 2026): 404 with this body and an
# X-Request-Id header.
NOT_FOUND = {"status": 404, "message": "No such model"}


# ---- embeddings, models, files -------------------------------------------------------------------------------------


def embeddings(tokens: list[int], dimensions: int = 1024) -> dict:
    """SDK cassette test_embeddings_multiple (January 2026): usage per item, no usage at the top level."""
    items = [
        {"object": "embedding", "index": i, "embedding": [0.5 - (i + d) % 7 / 8 for d in range(dimensions)],
         "usage": {"prompt_tokens": count}}
        for i, count in enumerate(tokens)
    ]  # fmt: skip
    return {"object": "list", "model": "Embeddings", "data": items}


MODEL_TYPES = {
    "chat": ["GigaChat", "GigaChat-2", "GigaChat-2-Max", "GigaChat-2-Pro", "GigaChat-Max", "GigaChat-Pro"],
    "filter": ["GigaFilter"],
    "aicheck": ["GigaCheckClassification", "GigaCheckDetection"],
    "embedder": ["Embeddings", "Embeddings-2", "EmbeddingsGigaR"],
}


def models_list() -> dict:
    """SDK cassette test_get_models (January 2026): each model has `type`, and besides chat and embedder models the
    list holds a `filter` and `aicheck` models (a subset of the recorded ids, by type)."""
    data = [
        {"id": model, "object": "model", "owned_by": "salutedevices", "type": kind}
        for kind, ids in MODEL_TYPES.items()
        for model in ids
    ]
    return {"object": "list", "data": data}


def uploaded_without_access_policy(file_id: str, size: int, filename: str) -> dict:
    """SDK fixture post_files.json (May 2024): an upload answer without `access_policy`."""
    return {"id": file_id, "object": "file", "bytes": size, "created_at": CREATED, "filename": filename,
            "purpose": "general"}  # fmt: skip
