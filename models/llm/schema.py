"""Rewrite arbitrary JSON Schema into the subset GigaChat accepts, for function parameters and `response_format`.

Schemas come from MCP servers, OpenAPI tools, Dify plugins and Pydantic. GigaChat answers much of JSON Schema with
HTTP 422 (ai-forever/gigachain #253, ai-forever/langchain-gigachat #11, #35; the rules of ai-forever/gpt2giga
src/gpt2giga/common/json_schema.py), and the SDK's legacy `Function` model silently drops keywords it does not know
(`gigachat/models/chat.py` of gigachat 0.2.3). So each construct is rewritten into one GigaChat understands, and
what the smaller schema cannot say becomes a short note in `description`, where the model still reads it. Rules:
- `$ref` to any local JSON pointer (`#/$defs/...`, `#/definitions/...`) is inlined: GigaChat 422, and "$ref support is
  partial" in response_format. A ref inlined twice on one path becomes a leaf of its type noted "recursive: same shape
  as X"; a cycle of bare refs raises SchemaError; a remote or dangling ref keeps only its sibling keywords.
- `allOf` merges: properties and required are unions, other keywords first wins (the node before its branches).
- `anyOf`/`oneOf` (GigaChat 422 on unions): null branches go; object branches merge (properties union, required
  intersection, "variants: ..."); same-type scalars merge their enums; different types keep the first branch and note
  "also accepts: ...". `type` lists likewise; integer with number widens to number.
- Nullable (null branch or type, null in an enum, OpenAPI `nullable`) collapses to the non-null schema, `required` kept.
  Only a required nullable property is noted "may be null": an optional one can be omitted, and notes cost tokens.
- Every node gets one `type` (a missing one is a 422), inferred from other keywords, else string (object at the root).
- Objects always have `properties` ("Field 'properties.data.properties' is missing"); `required` names existing
  properties once. `additionalProperties`/`patternProperties`/`propertyNames` go, described ("keys map to integer
  values"). A `false` property is removed; `true`, `{}` and `null` subschemas mean any value (sent as a string).
- Arrays always have `items` (default string); a tuple keeps its first item schema, noting "positional items: ...".
- `format`: only date, date-time and time are accepted; others go, noted ("format: uuid").
- `enum`: GigaChat takes string enums only. A string node keeps its enum (non-string values stringified, noted);
  integer, number and boolean nodes keep their type and list the values in the description, so the tool receives
  the type it validates (a stringified "1" fails a strict validator). `const` is a one-value enum.
- What the SDK drops becomes a note: bounds, lengths, pattern, item counts, default, examples, deprecated. `title` goes,
  or fills a missing description when it says more than the property name. Every other keyword goes.
- Nodes deeper than MAX_DEPTH, and refs past _MAX_INLINES per document, become leaves with a note: output is bounded.
Output keys come in a fixed order; the input is never mutated; normalising a normalised schema changes nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import unquote

__all__ = ["MAX_DEPTH", "SchemaError", "normalize_response_schema", "normalize_schema"]

MAX_DEPTH = 32
_REF_EXPANSIONS = 2  # a recursive type shows two levels to the model before it is cut
_MAX_INLINES = 256  # per document: mutually recursive definitions would otherwise fan out exponentially
_KEPT_FORMATS = frozenset({"date", "date-time", "time"})
# Hand-written MCP and OpenAPI schemas use Python-ish names; mapping them beats guessing from keywords.
_TYPE_NAMES = {name: name for name in ("string", "integer", "number", "boolean", "object", "array", "null")} | dict(
    int="integer", float="number", double="number", str="string", bool="boolean", dict="object", list="array"
)
_OBJECT_HINTS = ("properties", "additionalProperties", "patternProperties", "propertyNames", "minProperties")
_ARRAY_HINTS = ("items", "prefixItems", "minItems", "maxItems", "uniqueItems", "contains")
_STRING_HINTS = ("minLength", "maxLength", "pattern", "format")
_NUMBER_HINTS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")
_BOUNDS = ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum", "multipleOf", "minLength", "maxLength")
_BOUNDS += ("minItems", "maxItems", "minProperties", "maxProperties")  # in the order notes are written
_LABELS = {"exclusiveMinimum": "greater than", "exclusiveMaximum": "less than", "multipleOf": "multiple of"}
_DRAFT4_FLAGS = {"minimum": "exclusiveMinimum", "maximum": "exclusiveMaximum"}  # draft 4 wrote them as booleans
_TEXTS = {"pattern": "pattern", "contentEncoding": "encoding", "contentMediaType": "media type"}
# Keywords a union merge decides itself instead of taking them from the first branch.
_UNION_OWNED = frozenset({"type", "properties", "required", "enum", "const", "items", "title", "description"})
_TOO_DEEP = f"nested schema omitted: deeper than {MAX_DEPTH} levels"


class SchemaError(ValueError):
    """The input cannot be read as a JSON Schema at all: not an object, or a cycle of bare `$ref`s."""


def normalize_schema(schema: Mapping[str, Any] | None) -> dict[str, Any]:
    """Normalise function `parameters`: the root is always `{"type": "object", "properties": ..., "required": ...}`.

    `None` and `{}` mean "no parameters". A root of another type (say an array) is wrapped as `{"type": "object",
    "properties": {"value": <it>}, "required": ["value"]}`: GigaChat then calls the tool with {"value": …}."""
    root = normalize_response_schema(schema)
    wrapped = {"type": "object", "properties": {"value": root}, "required": ["value"]}
    return root if root["type"] == "object" else wrapped


def normalize_response_schema(schema: Mapping[str, Any] | None) -> dict[str, Any]:
    """Normalise a `response_format` json_schema: the same rules, but the root keeps its own type."""
    root = _as_schema(schema, _Walk(root={}))
    out = _normalize(root, _Walk(root=root))
    if out["type"] == "object":
        out.setdefault("required", [])  # the root always lists it, even when empty
    return out


@dataclass(frozen=True)
class _Walk:
    """Where a node sits: the whole document (for `$ref`), its input path (for errors), depth, refs inlined above."""

    root: Mapping[str, Any]
    path: str = ""
    depth: int = 0
    refs: tuple[str, ...] = ()
    inlined: list[int] = field(default_factory=lambda: [0])  # shared by every walk of one document

    def child(self, *parts: object) -> _Walk:
        suffix = "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)
        return replace(self, path=self.path + suffix, depth=self.depth + 1)

    def where(self) -> str:
        return _clip(self.path or "/", 120)


@dataclass
class _Flat:
    """One node with `$ref`, `allOf`, `anyOf`/`oneOf` and type lists resolved away, plus what that cost."""

    node: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    nullable: bool = False
    null_only: bool = False
    leaf: bool = False  # a cut (recursion or the inline budget): emitted without children
    refs: tuple[str, ...] = ()

    def absorb(self, other: _Flat) -> None:
        self.node = _merge_all(self.node, other.node)
        self.notes += [note for note in other.notes if note not in self.notes]
        self.nullable = self.nullable or other.nullable
        self.leaf = self.leaf or other.leaf
        self.refs += other.refs


def _normalize(schema: object, walk: _Walk, key: str | None = None, required: bool = False) -> dict[str, Any]:
    return _emit(_flatten(schema, walk), walk, key, required)


def _flatten(schema: object, walk: _Walk, chain: frozenset[str] = frozenset(), level: int = 0) -> _Flat:
    """Resolve one node's refs, allOf, unions, type lists and nulls; `chain` holds the refs followed to reach it."""
    if level > MAX_DEPTH:  # combinators nested absurdly deep inside one node: stop merging
        return _Flat({})
    flat = _Flat(dict(_as_schema(schema, walk)))
    chain = _expand_refs(flat, walk, chain)
    if flat.leaf:
        return flat
    for keyword in ("allOf", "anyOf", "oneOf"):
        branches = flat.node.pop(keyword, None)
        if not isinstance(branches, list):
            continue
        flats = [_flatten(branch, walk, chain, level + 1) for branch in branches if branch is not False]
        if keyword == "allOf":
            for branch in flats:
                flat.absorb(branch)
            continue
        real = [branch for branch in flats if not branch.null_only]
        flat.nullable = flat.nullable or len(real) < len(flats)
        if real:
            flat.absorb(_merge_union(real, _declared_type(flat.node)))
    _collapse_nulls(flat)
    return flat


def _expand_refs(flat: _Flat, walk: _Walk, chain: frozenset[str]) -> frozenset[str]:
    """Inline `$ref`s of this node; sibling keywords win over the target, as in JSON Schema 2019+."""
    while "$ref" in flat.node:
        pointer = flat.node.pop("$ref")
        target = _resolve(walk.root, pointer) if isinstance(pointer, str) else None
        if target is None:
            continue  # remote or dangling: only the sibling keywords are known
        if pointer in chain:
            raise SchemaError(f"cyclic $ref {_clip(pointer, 80)!r} at {walk.where()}")
        target = _as_schema(target, walk)
        recursive = (walk.refs + flat.refs).count(pointer) >= _REF_EXPANSIONS
        if recursive or walk.inlined[0] >= _MAX_INLINES:
            name = _clip(unquote(pointer).rsplit("/", 1)[-1].replace("~1", "/").replace("~0", "~").lstrip("#"), 40)
            name = name or "the root"
            note = f"recursive: same shape as {name}" if recursive else f"{name} omitted: schema too large"
            shape = {key: target[key] for key in ("description", "title") if key in target}
            flat.node = _merge_all(flat.node, {"type": _infer_type(target, "object"), **shape})
            flat.notes.append(note)
            flat.leaf = True
            return chain
        walk.inlined[0] += 1
        chain = chain | {pointer}
        flat.refs += (pointer,)
        flat.node = _merge_all(flat.node, target)
    return chain


def _merge_union(flats: list[_Flat], outer_type: str | None) -> _Flat:
    if len(flats) == 1:
        return flats[0]
    kinds = _widen([_infer_type(branch.node, outer_type or "string") for branch in flats])
    if len(set(kinds)) > 1:
        flats[0].notes.append("also accepts: " + ", ".join(_dedupe(kind for kind in kinds if kind != kinds[0])))
        return flats[0]
    merged = _Flat({"type": kinds[0]}, nullable=any(f.nullable for f in flats), leaf=all(f.leaf for f in flats))
    for branch in flats:
        merged.refs += branch.refs
        merged.notes += [note for note in branch.notes if note not in merged.notes]
        merged.node = _merge_all(merged.node, {k: v for k, v in branch.node.items() if k not in _UNION_OWNED})
    if kinds[0] == "object":
        _merge_object_branches(flats, merged)
    elif kinds[0] == "array":
        items = _dedupe_json(branch.node.get("items", {}) for branch in flats)
        merged.node["items"] = items[0] if len(items) == 1 or isinstance(items[0], list) else {"anyOf": items}
    else:
        _merge_scalar_branches(flats, merged)
    return merged


def _merge_object_branches(flats: list[_Flat], merged: _Flat) -> None:
    """Any branch may be sent, so every property is offered but only those all branches require stay required."""
    collected: dict[str, list] = {}
    labels = []
    for branch in flats:
        properties = _as_properties(branch.node.get("properties"))
        for name, sub in properties.items():
            alternatives = collected.setdefault(str(name), [])
            if sub not in alternatives:
                alternatives.append(sub)
        fields = ", ".join(map(str, list(properties) or _names(branch.node.get("required"))))
        title = _text(branch.node.get("title"))
        labels.append(f"{title} " * bool(title) + _clip("{" + fields + "}", 100))
    merged.node["properties"] = {k: v[0] if len(v) == 1 else {"anyOf": v} for k, v in collected.items()}
    required = [_names(branch.node.get("required")) for branch in flats]
    merged.node["required"] = [name for name in required[0] if all(name in other for other in required[1:])]
    merged.notes.append("variants: " + " | ".join(labels))


def _merge_scalar_branches(flats: list[_Flat], merged: _Flat) -> None:
    values = [_enum_values(branch.node) for branch in flats]
    if all(values):  # one branch without an enum accepts any value of the type
        merged.node["enum"] = _dedupe_json(value for branch_values in values for value in branch_values)
    descriptions = [_text(branch.node.get("description")) for branch in flats]
    one_each = all(branch_values and len(branch_values) == 1 for branch_values in values)
    if one_each and len({text for text in descriptions if text}) > 1:
        # a oneOf of documented consts is a common way to explain each enum value
        labels = [f"{_plain(vals[0])} = {text}" for vals, text in zip(values, descriptions, strict=True) if text]
        merged.notes.append("values: " + " | ".join(labels))
    elif any(descriptions):
        merged.node["description"] = next(text for text in descriptions if text)


def _collapse_nulls(flat: _Flat) -> None:
    node = flat.node
    if node.pop("nullable", None) is True:  # OpenAPI 3.0
        flat.nullable = True
    if "type" in node:
        raw = node.pop("type")
        names = [_TYPE_NAMES.get(str(name).lower()) for name in (raw if isinstance(raw, list) else [raw])]
        real = _dedupe(_widen([name for name in names if name and name != "null"]))
        flat.nullable = flat.nullable or "null" in names
        flat.null_only = "null" in names and not real
        if real:
            node["type"] = real[0]
        if len(real) > 1:
            flat.notes.append("also accepts: " + ", ".join(real[1:]))
    values = _enum_values(node)
    if values is not None and any(value is None for value in values):
        flat.nullable = True
        node.pop("const", None)
        node["enum"] = [value for value in values if value is not None]
        flat.null_only = flat.null_only or (not node["enum"] and "type" not in node)


def _widen(kinds: list[str]) -> list[str]:
    """integer and number together mean number: the wider type loses nothing."""
    return ["number" if kind == "integer" else kind for kind in kinds] if {"integer", "number"} <= set(kinds) else kinds


def _merge_all(first: Mapping[str, Any], second: Mapping[str, Any]) -> dict[str, Any]:
    """Both schemas apply: properties and required are unions, every other keyword first wins."""
    out = dict(first)
    for key, value in second.items():
        if key not in out:
            out[key] = value
        elif key == "properties" and isinstance(out[key], Mapping) and isinstance(value, Mapping):
            properties = dict(out[key])
            for name, sub in value.items():
                # both constraints apply to a shared property; its own flattening merges them
                old = properties.get(name, sub)
                properties[name] = sub if old == sub else {"allOf": [old, sub]}
            out[key] = properties
        elif key == "required" and isinstance(out[key], list) and isinstance(value, list):
            out[key] = _dedupe(name for name in [*out[key], *value] if isinstance(name, str))
    return out


def _emit(flat: _Flat, walk: _Walk, key: str | None, required: bool) -> dict[str, Any]:
    """Write the GigaChat node: type, description, enum, format, then properties/required or items."""
    node, is_root = flat.node, walk.depth == 0
    kind = _infer_type(node, "object" if is_root else "string")
    notes = ["may be null", *flat.notes] if flat.nullable and required else list(flat.notes)
    enum = _emit_enum(node, kind, notes)
    fmt = node.get("format") if isinstance(node.get("format"), str) else ""
    kept = fmt if kind == "string" and fmt in _KEPT_FORMATS else None
    notes += [f"format: {_clip(fmt, 40)}"] if fmt and not kept else []
    notes += _constraint_notes(node)
    inner = replace(walk, refs=walk.refs + flat.refs)
    leaf = flat.leaf or walk.depth >= MAX_DEPTH
    if kind == "object":
        body = _emit_object(node, inner, leaf, notes)
    else:
        body = {"items": _emit_items(node, inner, leaf, notes)} if kind == "array" else {}
    head = {"type": kind, "description": _description(node, key, is_root, notes), "enum": enum, "format": kept}
    return {name: value for name, value in head.items() if value} | body  # empty descriptions are omitted


def _emit_enum(node: Mapping[str, Any], kind: str, notes: list[str]) -> list[str] | None:
    values = [value for value in _enum_values(node) or [] if value is not None]
    if not values:
        return None
    if kind == "string":
        if not all(isinstance(value, str) for value in values):
            notes.append("non-string values are sent as text")
        return _dedupe(_plain(value) for value in values)  # "1" and 1 become one value
    if kind != "boolean" or {_plain(value) for value in values} != {"true", "false"}:  # true|false says nothing
        notes.append("allowed values: " + ", ".join(_plain(value) for value in values))
    return None


def _constraint_notes(node: Mapping[str, Any]) -> list[str]:
    notes = []
    for key in _BOUNDS:
        if isinstance(node.get(key), int | float) and not isinstance(node[key], bool):
            flag = _DRAFT4_FLAGS.get(key, "")
            label = _LABELS.get(flag if node.get(flag) is True else key) or re.sub("([A-Z])", r" \1", key).lower()
            notes.append(f"{label} {_render(node[key])}")
    notes += [f"{label}: {_clip(node[key], 120)}" for key, label in _TEXTS.items() if _text(node.get(key))]
    if node.get("uniqueItems") is True:
        notes.append("unique items")
    if node.get("default") is not None:  # Pydantic writes `default: null` for every Optional: noise
        notes.append(f"default: {_render(node['default'])}")
    if isinstance(node.get("examples"), list) and node["examples"]:
        notes.append("examples: " + ", ".join(_render(example) for example in node["examples"][:3]))
    elif node.get("example") is not None:  # OpenAPI 3.0
        notes.append(f"example: {_render(node['example'])}")
    if node.get("deprecated") is True:
        notes.append("deprecated")
    return notes


def _emit_object(node: Mapping[str, Any], walk: _Walk, leaf: bool, notes: list[str]) -> dict[str, Any]:
    raw = node.get("properties")
    if raw is not None and raw != [] and not isinstance(raw, Mapping):
        raise SchemaError(f"'properties' must be an object at {walk.where()}, got {type(raw).__name__}")
    raw = _as_properties(raw)
    if leaf:
        notes += [_TOO_DEEP] if raw else []
        return {"properties": {}}
    names = _names(node.get("required"))
    properties = {}
    for name, sub in raw.items():
        if sub is not False:  # `false` forbids the property: not offering it is the faithful translation
            properties[str(name)] = _normalize(sub, walk.child("properties", name), str(name), name in names)
    notes += _map_notes(node, walk)
    required = [name for name in names if name in properties]
    return {"properties": properties, "required": required} if required else {"properties": properties}


def _map_notes(node: Mapping[str, Any], walk: _Walk) -> list[str]:
    """Describe the keys and values of a free-form map, which GigaChat cannot express."""
    notes = []
    extra = node.get("additionalProperties")
    if isinstance(extra, Mapping) and extra:
        notes.append("keys map to " + _value_phrase(_normalize(extra, walk.child("additionalProperties"))))
    patterns = node.get("patternProperties")
    for pattern, sub in patterns.items() if isinstance(patterns, Mapping) else ():
        if isinstance(sub, Mapping) and sub:
            phrase = _value_phrase(_normalize(sub, walk.child("patternProperties", pattern)))
            notes.append(f"keys matching {_clip(str(pattern), 80)} map to {phrase}")
    key_schema = node.get("propertyNames")
    if isinstance(key_schema, Mapping) and _text(key_schema.get("pattern")):
        notes.append(f"key pattern: {_clip(key_schema['pattern'], 120)}")
    return notes


def _value_phrase(value: Mapping[str, Any]) -> str:
    kind = value["type"]
    if kind == "object":
        return _clip("objects with fields " + ", ".join(value["properties"]), 120) if value["properties"] else "objects"
    if kind == "array":
        return f"arrays of {value['items']['type']}"
    return f"{kind} values" + (f" ({_clip(', '.join(value['enum']), 120)})" if "enum" in value else "")


def _emit_items(node: Mapping[str, Any], walk: _Walk, leaf: bool, notes: list[str]) -> dict[str, Any]:
    prefix, items = node.get("prefixItems"), node.get("items")
    keyword, positional = ("prefixItems", prefix) if isinstance(prefix, list) and prefix else ("items", items)
    is_tuple = isinstance(positional, list)
    first = (positional[0] if positional else None) if is_tuple else items
    if leaf:
        notes += [] if first in (None, True, {}, {"type": "string"}) else [_TOO_DEEP]
        return {"type": "string"}
    if not is_tuple or len(positional) < 2:
        return _normalize(first, walk.child(keyword, 0) if is_tuple else walk.child("items"))
    # normalised once and reused: normalising the first item again would double the work at every nested tuple
    each = [_normalize(sub, walk.child(keyword, index)) for index, sub in enumerate(positional)]
    notes.append("positional items: " + ", ".join(sub["type"] for sub in each))
    return each[0]


def _description(node: Mapping[str, Any], key: str | None, is_root: bool, notes: list[str]) -> str:
    text = _text(node.get("description"))
    if not text and not is_root:  # the root's title names the function or response, which have their own names
        title = _text(node.get("title"))
        squashed = ["".join(char for char in word.lower() if char.isalnum()) for word in (title, key or "")]
        text = title if squashed[0] != squashed[1] else ""  # Pydantic titles just re-case the field name
    note = "; ".join(notes)
    return f"{text} ({note})" if text and note else text or note


def _infer_type(node: Mapping[str, Any], default: str) -> str:
    declared = _declared_type(node)
    values = [value for value in _enum_values(node) or [] if value is not None]
    if declared:
        return declared
    if any(key in node for key in _OBJECT_HINTS) or isinstance(node.get("required"), list):
        return "object"
    if any(key in node for key in _ARRAY_HINTS):
        return "array"
    if values or node.get("default") is not None:
        return _value_type(values or [node["default"]])
    if any(key in node for key in _STRING_HINTS):
        return "string"
    return "number" if any(key in node for key in _NUMBER_HINTS) else default


def _declared_type(node: Mapping[str, Any]) -> str | None:
    raw = node.get("type")
    names = [_TYPE_NAMES.get(str(name).lower()) for name in (raw if isinstance(raw, list) else [raw])]
    return next((name for name in names if name and name != "null"), None)


def _value_type(values: list) -> str:
    if all(isinstance(value, bool) for value in values):
        return "boolean"
    if all(isinstance(value, int | float) and not isinstance(value, bool) for value in values):
        return "integer" if all(isinstance(value, int) for value in values) else "number"
    if all(isinstance(value, Mapping) for value in values):
        return "object"
    return "array" if all(isinstance(value, list) for value in values) else "string"  # a mix only text carries


def _enum_values(node: Mapping[str, Any]) -> list | None:
    if "const" in node:
        return [node["const"]]
    return _dedupe_json(node["enum"]) if isinstance(node.get("enum"), list) else None


def _resolve(root: Mapping[str, Any], pointer: str) -> Mapping[str, Any] | bool | None:
    """Follow a local JSON pointer (`#`, `#/$defs/A`, `#/properties/a~1b/items`); anything else is unresolvable."""
    fragment = unquote(pointer[1:])
    if not pointer.startswith("#") or (fragment and not fragment.startswith("/")):
        return None  # another document, or an `$anchor` name
    node: Any = root
    for part in fragment.split("/")[1:] if fragment else []:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node if isinstance(node, Mapping | bool) else None


def _as_schema(schema: object, walk: _Walk) -> Mapping[str, Any]:
    if schema is None or isinstance(schema, bool):  # `true`, and `null` written by serializers: any value
        return {}
    if isinstance(schema, Mapping):
        return schema
    raise SchemaError(f"expected a schema object at {walk.where()}, got {type(schema).__name__}")


def _as_properties(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}  # PHP encoders write an empty map as []


def _names(value: object) -> list[str]:
    return _dedupe(name for name in value if isinstance(name, str)) if isinstance(value, list) else []


def _dedupe(items: Iterable) -> list:
    return list(dict.fromkeys(items))


def _dedupe_json(values: Iterable) -> list:
    """Dedupe by JSON text, because Python equality conflates 1, 1.0 and True."""
    return list({_render(value, limit=None): value for value in values}.values())  # equal text, equal value


def _render(value: object, limit: int | None = 60) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if limit is None else _clip(text, limit)


def _plain(value: object) -> str:
    return value if isinstance(value, str) else _render(value, limit=None)


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
