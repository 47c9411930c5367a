"""Dify tools -> GigaChat functions, the names between them, Dify's tool choice, and which tool a complaint is about.

GigaChat's legacy `Function` model in the SDK keeps only a few schema keywords and silently drops the rest, so
functions are sent as plain dicts after normalization (models/llm/schema.py), never through that model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dify_plugin.entities.model.message import PromptMessageTool
from dify_plugin.errors.model import InvokeBadRequestError

from ..common.catalog import BUILT_IN_TOOLS
from ..common.errors import Blamed
from ..common.prefix import PREFIX
from .schema import SchemaError, normalize_schema

# Names of GigaChat's built-in functions (v1) and tools (v2): a user's tool with one of these names would be shadowed
# by the built-in (gpt2giga renames `web_search` for the same reason: ai-forever/gpt2giga src/gpt2giga/common/tools.py),
# and a refusal naming it would be taken for one about the built-in.
RESERVED_NAMES = frozenset({"text2image", *BUILT_IN_TOOLS})
RENAMED_PREFIX = "user_"
# The name of the function used to obtain structured output when GigaChat's response_format is not available.
STRUCTURED_OUTPUT_FUNCTION = "structured_output"
# GigaChat has no "call some tool, any tool" mode: these can only mean auto.
_ANY_TOOL = frozenset({"required", "any"})
# A 400/422 whose message talks about these is a complaint about the functions, not about the conversation.
# ("Requested model does not support functions" is not one: it names no part of a schema.)
_SCHEMA_COMPLAINT = re.compile(r"schema|parameter|propert|items|enum|\$ref|anyOf|oneOf|functions\[", re.IGNORECASE)
# ... unless it points into the conversation ("function call 'x' in messages[2] must be followed by its result").
_HISTORY_COMPLAINT = re.compile(r"messages?\[\d+\]")
# A refusal about tools that names none of them ("Tool … is unavailable", "Unknown tool …" name theirs).
_TOOLS_COMPLAINT = re.compile(r"\btools?\b", re.IGNORECASE)
_FUNCTION_INDEX = re.compile(r"functions\[(\d+)\]")
_QUOTED_PATH = re.compile(r"'((?:properties|items)[\w.$-]*)'")


@dataclass(frozen=True)
class ToolNames:
    """Maps a Dify tool name to the name GigaChat sees, and back."""

    to_wire: Mapping[str, str]
    from_wire: Mapping[str, str]

    @classmethod
    def of(cls, names: Sequence[str]) -> ToolNames:
        taken = set(names) - RESERVED_NAMES
        to_wire: dict[str, str] = {}
        for name in names:
            wire = wire_name(name)
            if name in RESERVED_NAMES:
                # `user_web_search` may be a tool of its own: then the renamed one gets a number.
                number = 2
                while wire in taken:
                    wire, number = f"{wire_name(name)}_{number}", number + 1
                taken.add(wire)
            to_wire[name] = wire
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


def function_call_mode(tool_choice: object, names: ToolNames, builtin_tools: bool = False) -> str | dict | None:
    """Dify's tool choice as GigaChat's `function_call` field; None (the field left out) when there are no tools,
    neither Dify's nor GigaChat's built-in ones (which "none" turns off too).

    Accepted shapes: "auto" / "none" / "required" / a tool name, OpenAI's {"type": "function", "function": {"name"}},
    {"name": ...}, and {"type": "auto" | "none" | "any" | "tool"}. "required"/"any" and a name that is not among the
    tools become "auto": GigaChat cannot force "some tool", and forcing an unknown function is a 422.
    """
    if not names.to_wire and not builtin_tools:
        return None
    kind, name = _choice(tool_choice)
    if kind == "none":
        return "none"
    if name and name in names.to_wire:
        return {"name": names.wire(name)}
    return "auto"


def _choice(tool_choice: object) -> tuple[str, str | None]:
    if isinstance(tool_choice, str):
        text = tool_choice.strip()
        if text.startswith("{"):  # a JSON object sent as a string
            try:
                return _choice(json.loads(text))
            except ValueError:
                return "auto", None
        if text in ("", "auto", *_ANY_TOOL):
            return "auto", None
        return ("none", None) if text == "none" else ("named", text)
    if isinstance(tool_choice, Mapping):
        function = tool_choice.get("function")
        name = function.get("name") if isinstance(function, Mapping) else tool_choice.get("name")
        if isinstance(name, str) and name:
            return "named", name
        kind = tool_choice.get("type")
        return ("none", None) if kind == "none" else ("auto", None)
    return "auto", None


def blamed(message: str, functions: Sequence[dict], names: ToolNames, builtin: Sequence[str] = ()) -> Blamed:
    """What GigaChat's refusal is about: the Dify tools whose schema it complains about, and the built-in tools it
    refuses ("Tool code_interpreter is unavailable", 422; "Unknown tool url_extraction", 404: a third-party log of
    the live host), or every built-in tool turned on when it is about tools but names none of the request's."""
    tools = blamed_tools(message, functions, names)
    refused = _named_in(message, builtin)
    if not refused and not tools and _TOOLS_COMPLAINT.search(message):
        refused = list(builtin)
    return Blamed(tools, [BUILT_IN_TOOLS[name] for name in refused])


def blamed_tools(message: str, functions: Sequence[dict], names: ToolNames) -> list[str]:
    """The Dify names of the tools GigaChat's refusal complains about: those it points at (by name, index or schema
    path), else every tool sent; none when it is not about the functions' schemas."""
    if not functions or not _SCHEMA_COMPLAINT.search(message) or _HISTORY_COMPLAINT.search(message):
        return []
    wire = [str(spec.get("name")) for spec in functions]
    suspects = _named_in(message, wire)
    if not suspects and (match := _FUNCTION_INDEX.search(message)) and int(match.group(1)) < len(wire):
        suspects = [wire[int(match.group(1))]]
    if not suspects:
        suspects = _owners_of_path(message, functions)
    return [names.dify(name) for name in suspects or wire]


def _named_in(message: str, wire: Sequence[str]) -> list[str]:
    # Whole names only: `get_weather` is not found inside `get_weather_v2`.
    return [name for name in wire if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", message)]


def _owners_of_path(message: str, functions: Sequence[dict]) -> list[str]:
    """The functions whose parameters hold the node a complaint points at ("Field 'properties.a.properties' is
    missing": the one with a property `a`), when exactly one does."""
    match = _QUOTED_PATH.search(message)
    if not match:
        return []
    parent = match.group(1).split(".")[:-1]
    owners = []
    for spec in functions:
        node: object = spec.get("parameters")
        for part in parent:
            node = node.get(part) if isinstance(node, Mapping) else None
        if isinstance(node, Mapping):
            owners.append(str(spec.get("name")))
    return owners if len(owners) == 1 else []
