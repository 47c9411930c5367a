"""Builders of requests in the exact JSON shape the Go plugin daemon writes to a plugin's stdin.

The daemon does not forward Dify's JSON as-is: it unmarshals it into Go structs and marshals them again
(``GetInvokePluginMap`` in ``internal/core/io_tunnel``), so every struct field appears in what the plugin receives:
a user message carries ``"name": ""``, ``"tool_calls": null`` and ``"tool_call_id": ""``; every multimodal item carries
all nine string fields. Dify always sends assistant ``tool_calls`` as a list. Tests that build requests by hand tend
to send the short form, which the SDK accepts but which hides bugs that only the full form triggers.

Provider ids: the SDK routes a model request by comparing ``data.provider`` for equality with the ``provider:`` value
of the provider YAML (``PluginRegistration.models_mapping`` is keyed by ``provider.provider``;
``get_model_provider_instance``/``get_model_instance`` compare with ``==``). Dify addresses the plugin separately
(the ``X-Plugin-ID`` header, ``author/name``) and passes only the bare provider name in ``data.provider``, which the
daemon forwards unchanged. So for ``provider: gigachat`` the request says ``"provider": "gigachat"``; the long form
``author/gigachat/gigachat`` is rejected with "Model `ModelType.LLM` not found for provider ..." (see
``test_provider_id_is_the_bare_provider_yaml_value`` in tests/devkit/test_harness.py).
"""

from __future__ import annotations

import uuid
from typing import Any

# ---- prompt messages -----------------------------------------------------------------------------------------------


def _message(
    role: str, content: Any, *, name: str = "", tool_calls: list | None = None, tool_call_id: str = ""
) -> dict:
    return {"role": role, "content": content, "name": name, "tool_calls": tool_calls, "tool_call_id": tool_call_id}


def system(text: str) -> dict:
    return _message("system", text)


def user(text_or_parts: str | list[dict]) -> dict:
    return _message("user", text_or_parts)


def assistant(text: str | list[dict] = "", tool_calls: list[dict] | None = None, opaque_body: Any = None) -> dict:
    # Dify sends [] rather than null for an assistant without tool calls; the SDK rejects null here.
    msg = _message("assistant", text, tool_calls=list(tool_calls or []))
    if opaque_body is not None:
        msg["opaque_body"] = opaque_body  # Go marshals it with omitempty
    return msg


def tool(content: str, tool_call_id: str, name: str) -> dict:
    return _message("tool", content, name=name, tool_call_id=tool_call_id)


def _content_item(kind: str, **fields: str) -> dict:
    item = {
        "type": kind,
        "base64_data": "",
        "url": "",
        "data": "",
        "encode_format": "",
        "format": "",
        "mime_type": "",
        "detail": "",
        "filename": "",
    }
    item.update(fields)
    return item


def text_part(text: str) -> dict:
    return _content_item("text", data=text)


def _file_part(
    kind: str, base64_data: str | None, url: str | None, mime_type: str, filename: str, **extra: str
) -> dict:
    # Dify fills `format` with the file extension; fall back to the MIME subtype.
    file_format = filename.rsplit(".", 1)[1].lower() if "." in filename else mime_type.split("/")[-1]
    fields = {"base64_data": base64_data or "", "url": url or "", "format": file_format, "mime_type": mime_type}
    return _content_item(kind, **fields, **extra, filename=filename)


def image_part(
    base64_data: str | None = None,
    url: str | None = None,
    mime_type: str = "image/png",
    filename: str = "a.png",
    detail: str = "high",
) -> dict:
    return _file_part("image", base64_data, url, mime_type, filename, detail=detail)


def document_part(
    base64_data: str | None = None,
    url: str | None = None,
    mime_type: str = "application/pdf",
    filename: str = "a.pdf",
) -> dict:
    # Documents have no `detail` in the SDK, but Go still sends the empty field.
    return _file_part("document", base64_data, url, mime_type, filename)


def audio_part(
    base64_data: str | None = None,
    url: str | None = None,
    mime_type: str = "audio/mpeg",
    filename: str = "a.mp3",
) -> dict:
    return _file_part("audio", base64_data, url, mime_type, filename)


def tool_call(id: str, name: str, arguments_json_str: str) -> dict:  # `id` mirrors the wire field name
    return {"id": id, "type": "function", "function": {"name": name, "arguments": arguments_json_str}}


def tool_def(name: str, description: str, parameters: dict) -> dict:
    return {"name": name, "description": description, "parameters": parameters}


# ---- request data --------------------------------------------------------------------------------------------------


def _data(action: str, user_id: str, **fields: Any) -> dict:
    # GetInvokePluginMap puts user_id/type/action first, then the request struct's JSON fields.
    return {"user_id": user_id, "type": "model", "action": action, **fields}


def _model_data(action: str, user_id: str, provider: str, model_type: str, model: str, creds: dict, **fields: Any):
    """A request about one model: the fields every such request struct starts with, then its own."""
    model_fields = {"provider": provider, "model_type": model_type, "model": model, "credentials": creds}
    return _data(action, user_id, **model_fields, **fields)


def invoke_llm(
    provider: str,
    model: str,
    credentials: dict,
    prompt_messages: list[dict],
    model_parameters: dict | None = None,
    tools: list[dict] | None = None,
    stop: list[str] | None = None,
    stream: bool = True,
    user_id: str = "u-1",
) -> dict:
    # `tools` and `stop` are required keys for the SDK (null allowed); `json_schema` is always present in Go's struct.
    fields = {"model_parameters": dict(model_parameters or {}), "prompt_messages": prompt_messages, "tools": tools}
    fields |= {"stop": stop, "stream": stream, "json_schema": None}
    return _model_data("invoke_llm", user_id, provider, "llm", model, credentials, **fields)


def llm_num_tokens(
    provider: str,
    model: str,
    credentials: dict,
    prompt_messages: list[dict],
    tools: list[dict] | None = None,
    user_id: str = "u-1",
) -> dict:
    fields = {"prompt_messages": prompt_messages, "tools": tools}
    return _model_data("get_llm_num_tokens", user_id, provider, "llm", model, credentials, **fields)


def invoke_embedding(
    provider: str,
    model: str,
    credentials: dict,
    texts: list[str],
    input_type: str = "document",
    user_id: str = "u-1",
) -> dict:
    fields = {"texts": texts, "input_type": input_type}
    return _model_data("invoke_text_embedding", user_id, provider, "text-embedding", model, credentials, **fields)


def embedding_num_tokens(provider: str, model: str, credentials: dict, texts: list[str], user_id: str = "u-1") -> dict:
    action = "get_text_embedding_num_tokens"
    return _model_data(action, user_id, provider, "text-embedding", model, credentials, texts=texts)


def validate_provider_credentials(provider: str, credentials: dict, user_id: str = "u-1") -> dict:
    return _data("validate_provider_credentials", user_id, provider=provider, credentials=credentials)


def validate_model_credentials(
    provider: str, model_type: str, model: str, credentials: dict, user_id: str = "u-1"
) -> dict:
    return _model_data("validate_model_credentials", user_id, provider, model_type, model, credentials)


def model_schema(provider: str, model_type: str, model: str, credentials: dict, user_id: str = "u-1") -> dict:
    return _model_data("get_ai_model_schemas", user_id, provider, model_type, model, credentials)


def envelope(
    data: dict, session_id: str | None = None, conversation_id: str | None = None, app_id: str | None = None
) -> dict:
    """The daemon's request line (session_manager.Session.Message), field order included."""
    return {
        "session_id": session_id or str(uuid.uuid4()),
        "conversation_id": conversation_id,
        "message_id": None,
        "app_id": app_id,
        "endpoint_id": None,
        "context": None,
        "event": "request",
        "data": data,
    }
