"""Dify tools -> GigaChat functions, and the names between them.

GigaChat's legacy `Function` model in the SDK keeps only a few schema keywords and silently drops the rest, so
functions are sent as plain dicts after normalization (models/llm/schema.py), never through that model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dify_plugin.entities.model.message import PromptMessageTool
from dify_plugin.errors.model import InvokeBadRequestError

from .schema import SchemaError, normalize_schema

PREFIX = "[gigachat] "
# Names of GigaChat's built-in functions: a user's tool with one of these names would be shadowed by the built-in
# (gpt2giga renames `web_search` for the same reason; see gigachat-api.md section 10 item 8).
RESERVED_NAMES = frozenset({"web_search", "text2image"})
RENAMED_PREFIX = "user_"
# The name of the function used to obtain structured output when GigaChat's response_format is not available.
STRUCTURED_OUTPUT_FUNCTION = "structured_output"


@dataclass(frozen=True)
class ToolNames:
    """Maps a Dify tool name to the name GigaChat sees, and back."""

    to_wire: Mapping[str, str]
    from_wire: Mapping[str, str]

    @classmethod
    def of(cls, names: Sequence[str]) -> ToolNames:
        to_wire = {name: wire_name(name) for name in names}
        return cls(to_wire, {wire: name for name, wire in to_wire.items()})

    def wire(self, name: str) -> str:
        return self.to_wire.get(name) or wire_name(name)

    def dify(self, name: str) -> str:
        return self.from_wire.get(name, name)


def wire_name(name: str) -> str:
    return RENAMED_PREFIX + name if name in RESERVED_NAMES else name


def functions_for(tools: Sequence[PromptMessageTool], names: ToolNames) -> list[dict]:
    seen: set[str] = set()
    functions = []
    for tool in tools:
        wire = names.wire(tool.name)
        if wire in seen:
            raise InvokeBadRequestError(PREFIX + f"two tools are named '{tool.name}'; tool names must be unique.")
        seen.add(wire)
        functions.append(function_spec(wire, tool.description, tool.parameters, f"tool '{tool.name}'"))
    return functions


def function_spec(name: str, description: str, parameters: Mapping | None, what: str) -> dict:
    try:
        schema = normalize_schema(parameters)
    except SchemaError as error:
        raise InvokeBadRequestError(
            PREFIX + f"the parameters of {what} are not a usable JSON Schema: {error}"
        ) from None
    spec: dict = {"name": name, "parameters": schema}
    if description:
        spec["description"] = description
    return spec


def function_call_mode(tool_choice: object, names: ToolNames) -> str | dict | None:
    """Dify's tool choice (auto / none / a named tool) as GigaChat's `function_call` field."""
    if tool_choice in (None, "", "auto"):
        return "auto" if names.to_wire else None
    if tool_choice == "none":
        return "none"
    name = None
    if isinstance(tool_choice, str):
        name = tool_choice
    elif isinstance(tool_choice, Mapping):
        function = tool_choice.get("function")
        name = function.get("name") if isinstance(function, Mapping) else tool_choice.get("name")
    if name and name in names.to_wire:
        return {"name": names.wire(name)}
    # GigaChat has no "must call some tool" mode; "required" can only mean auto here.
    return "auto"
