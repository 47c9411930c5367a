"""Specification of models/llm/schema.py: real-world schemas in, the exact schema GigaChat receives out."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from models.llm.schema import MAX_DEPTH, SchemaError, normalize_response_schema, normalize_schema

TOO_DEEP = f"nested schema omitted: deeper than {MAX_DEPTH} levels"
EMPTY_PARAMETERS = {"type": "object", "properties": {}, "required": []}

# A Pydantic v2 `model_json_schema()` output, verbatim: `$defs`, `Optional[...]` as anyOf-with-null, a `Literal` enum,
# titles on every field, a nested model by `$ref`, and a `$ref` inside an Optional.
PYDANTIC_PERSON = {
    "$defs": {
        "Address": {
            "properties": {
                "street": {"title": "Street", "type": "string"},
                "city": {"title": "City", "type": "string"},
                "postcode": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None, "title": "Postcode"},
            },
            "required": ["street", "city"],
            "title": "Address",
            "type": "object",
        }
    },
    "description": "A person to add to the CRM.",
    "properties": {
        "name": {"description": "Full name", "title": "Name", "type": "string"},
        "age": {
            "anyOf": [{"maximum": 150, "minimum": 0, "type": "integer"}, {"type": "null"}],
            "default": None,
            "title": "Age",
        },
        "status": {"default": "active", "enum": ["active", "archived"], "title": "Status", "type": "string"},
        "home": {"$ref": "#/$defs/Address"},
        "work": {"anyOf": [{"$ref": "#/$defs/Address"}, {"type": "null"}], "default": None, "description": "Office"},
        "tags": {"default": [], "items": {"type": "string"}, "title": "Tags", "type": "array"},
    },
    "required": ["name", "home"],
    "title": "Person",
    "type": "object",
}
ADDRESS_OUT = {
    "type": "object",
    "properties": {"street": {"type": "string"}, "city": {"type": "string"}, "postcode": {"type": "string"}},
    "required": ["street", "city"],
}

# Pydantic v2: `pet: Cat | Dog = Field(discriminator="pet_type")`.
PYDANTIC_DISCRIMINATED = {
    "$defs": {
        "Cat": {
            "properties": {
                "pet_type": {"const": "cat", "title": "Pet Type", "type": "string"},
                "meows": {"title": "Meows", "type": "integer"},
            },
            "required": ["pet_type", "meows"],
            "title": "Cat",
            "type": "object",
        },
        "Dog": {
            "properties": {
                "pet_type": {"const": "dog", "title": "Pet Type", "type": "string"},
                "barks": {"title": "Barks", "type": "number"},
            },
            "required": ["pet_type", "barks"],
            "title": "Dog",
            "type": "object",
        },
    },
    "properties": {
        "pet": {
            "discriminator": {"mapping": {"cat": "#/$defs/Cat", "dog": "#/$defs/Dog"}, "propertyName": "pet_type"},
            "oneOf": [{"$ref": "#/$defs/Cat"}, {"$ref": "#/$defs/Dog"}],
            "title": "Pet",
        }
    },
    "required": ["pet"],
    "title": "Owner",
    "type": "object",
}

# Pydantic v2: `class Node(BaseModel): name: str; children: list["Node"] = []`, used as `root: Node`.
PYDANTIC_TREE = {
    "$defs": {
        "Node": {
            "properties": {
                "name": {"title": "Name", "type": "string"},
                "children": {"default": [], "items": {"$ref": "#/$defs/Node"}, "title": "Children", "type": "array"},
            },
            "required": ["name"],
            "title": "Node",
            "type": "object",
        }
    },
    "properties": {"root": {"$ref": "#/$defs/Node"}},
    "required": ["root"],
    "title": "Tree",
    "type": "object",
}


def _node(leaf: dict) -> dict:
    return {
        "type": "object",
        "description": "Node",
        "properties": {
            "name": {"type": "string"},
            "children": {"type": "array", "description": "default: []", "items": leaf},
        },
        "required": ["name"],
    }


@dataclass(frozen=True)
class Case:
    name: str
    schema: Any
    expected: dict
    normalize: Any = normalize_schema


def params(properties: dict, required: list | None = None, **root: Any) -> dict:
    """The expected output of `normalize_schema` for an object root."""
    return {"type": "object", **root, "properties": properties, "required": required or []}


CASES = [
    Case(
        "mcp filesystem edit_file: zod output loses $schema, additionalProperties; default becomes a note",
        {
            "type": "object",
            "properties": {
                "path": {"type": "string"},
                "edits": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "oldText": {"type": "string", "description": "Text to search for - must match exactly"},
                            "newText": {"type": "string", "description": "Text to replace with"},
                        },
                        "required": ["oldText", "newText"],
                        "additionalProperties": False,
                    },
                },
                "dryRun": {"type": "boolean", "default": False, "description": "Preview changes using git-style diff"},
            },
            "required": ["path", "edits"],
            "additionalProperties": False,
            "$schema": "http://json-schema.org/draft-07/schema#",
        },
        params(
            {
                "path": {"type": "string"},
                "edits": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "oldText": {"type": "string", "description": "Text to search for - must match exactly"},
                            "newText": {"type": "string", "description": "Text to replace with"},
                        },
                        "required": ["oldText", "newText"],
                    },
                },
                "dryRun": {"type": "boolean", "description": "Preview changes using git-style diff (default: false)"},
            },
            ["path", "edits"],
        ),
    ),
    Case(
        "github mcp create_issue: nullable arrays and number collapse to their non-null type",
        {
            "type": "object",
            "properties": {
                "owner": {"type": "string", "description": "Repository owner"},
                "title": {"type": "string", "description": "Issue title"},
                "assignees": {"type": ["array", "null"], "items": {"type": "string"}, "description": "Usernames"},
                "labels": {"type": ["array", "null"], "items": {"type": "string"}, "description": "Labels to apply"},
                "milestone": {"type": ["number", "null"], "description": "Milestone number"},
            },
            "required": ["owner", "title"],
            "additionalProperties": False,
            "$schema": "http://json-schema.org/draft-07/schema#",
        },
        params(
            {
                "owner": {"type": "string", "description": "Repository owner"},
                "title": {"type": "string", "description": "Issue title"},
                "assignees": {"type": "array", "description": "Usernames", "items": {"type": "string"}},
                "labels": {"type": "array", "description": "Labels to apply", "items": {"type": "string"}},
                "milestone": {"type": "number", "description": "Milestone number"},
            },
            ["owner", "title"],
        ),
    ),
    Case(
        "pydantic v2 model: $defs inlined, Optional collapsed, Literal kept, field-name titles dropped",
        PYDANTIC_PERSON,
        params(
            {
                "name": {"type": "string", "description": "Full name"},
                "age": {"type": "integer", "description": "minimum 0; maximum 150"},
                "status": {"type": "string", "description": 'default: "active"', "enum": ["active", "archived"]},
                "home": {**ADDRESS_OUT, "description": "Address"},
                "work": {**ADDRESS_OUT, "description": "Office"},
                "tags": {"type": "array", "description": "default: []", "items": {"type": "string"}},
            },
            ["name", "home"],
            description="A person to add to the CRM.",
        ),
    ),
    Case(
        "oneOf discriminated union of objects: properties merged, discriminator consts become one enum",
        PYDANTIC_DISCRIMINATED,
        params(
            {
                "pet": {
                    "type": "object",
                    "description": "variants: Cat {pet_type, meows} | Dog {pet_type, barks}",
                    "properties": {
                        "pet_type": {"type": "string", "enum": ["cat", "dog"]},
                        "meows": {"type": "integer"},
                        "barks": {"type": "number"},
                    },
                    "required": ["pet_type"],
                }
            },
            ["pet"],
        ),
    ),
    Case(
        "recursive tree $ref: two levels inlined, then a leaf object noted as recursive",
        PYDANTIC_TREE,
        params(
            {
                "root": _node(
                    _node({"type": "object", "description": "Node (recursive: same shape as Node)", "properties": {}})
                )
            },
            ["root"],
        ),
    ),
    Case(
        "free-form dict[str, int] and tuple[float, float]: empty properties plus key note, first tuple item",
        {
            "properties": {
                "scores": {"additionalProperties": {"type": "integer"}, "title": "Scores", "type": "object"},
                "point": {
                    "maxItems": 2,
                    "minItems": 2,
                    "prefixItems": [{"type": "number"}, {"type": "number"}],
                    "title": "Point",
                    "type": "array",
                },
            },
            "required": ["scores", "point"],
            "title": "Scores",
            "type": "object",
        },
        params(
            {
                "scores": {"type": "object", "description": "keys map to integer values", "properties": {}},
                "point": {
                    "type": "array",
                    "description": "min items 2; max items 2; positional items: number, number",
                    "items": {"type": "number"},
                },
            },
            ["scores", "point"],
        ),
    ),
    Case(
        "draft-7 tuple as an items list: first item schema, positions described",
        {
            "type": "object",
            "properties": {"row": {"type": "array", "items": [{"type": "string"}, {"type": "integer"}]}},
        },
        params(
            {"row": {"type": "array", "description": "positional items: string, integer", "items": {"type": "string"}}}
        ),
    ),
    Case(
        "openapi allOf with a local component $ref: properties and required unite, int64 format noted",
        {
            "type": "object",
            "properties": {
                "pet": {
                    "description": "The pet to create",
                    "allOf": [
                        {"$ref": "#/components/schemas/NewPet"},
                        {
                            "type": "object",
                            "required": ["id"],
                            "properties": {"id": {"type": "integer", "format": "int64", "description": "Server id"}},
                        },
                    ],
                }
            },
            "required": ["pet"],
            "components": {
                "schemas": {
                    "NewPet": {
                        "type": "object",
                        "required": ["name"],
                        "properties": {
                            "name": {"type": "string", "maxLength": 64},
                            "tag": {"type": "string", "nullable": True},
                        },
                    }
                }
            },
        },
        params(
            {
                "pet": {
                    "type": "object",
                    "description": "The pet to create",
                    "properties": {
                        "name": {"type": "string", "description": "max length 64"},
                        "tag": {"type": "string"},
                        "id": {"type": "integer", "description": "Server id (format: int64)"},
                    },
                    "required": ["name", "id"],
                }
            },
            ["pet"],
        ),
    ),
    Case(
        "pydantic v1 allOf around a single definitions $ref: the outer description wins",
        {
            "definitions": {
                "Color": {
                    "title": "Color",
                    "description": "An enumeration.",
                    "enum": ["red", "green"],
                    "type": "string",
                }
            },
            "properties": {"color": {"allOf": [{"$ref": "#/definitions/Color"}], "description": "Paint color"}},
            "required": ["color"],
        },
        params({"color": {"type": "string", "description": "Paint color", "enum": ["red", "green"]}}, ["color"]),
    ),
    Case(
        "$ref with a sibling description: siblings override the definition",
        {
            "definitions": {"Unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "Unit"}},
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "City, e.g. Moscow"},
                "unit": {"$ref": "#/definitions/Unit", "description": "Unit for the answer"},
            },
            "required": ["location"],
        },
        params(
            {
                "location": {"type": "string", "description": "City, e.g. Moscow"},
                "unit": {"type": "string", "description": "Unit for the answer", "enum": ["celsius", "fahrenheit"]},
            },
            ["location"],
        ),
    ),
    Case(
        "integer enum keeps type integer and lists the values in the description",
        {
            "type": "object",
            "properties": {"priority": {"type": "integer", "enum": [1, 2, 3], "description": "Priority"}},
        },
        params({"priority": {"type": "integer", "description": "Priority (allowed values: 1, 2, 3)"}}),
    ),
    Case(
        "boolean const without a type: inferred boolean, value described",
        {"properties": {"confirm": {"const": True, "description": "Must be confirmed"}}, "required": ["confirm"]},
        params(
            {"confirm": {"type": "boolean", "description": "Must be confirmed (allowed values: true)"}}, ["confirm"]
        ),
    ),
    Case(
        "boolean enum of both values says nothing beyond the type",
        {"type": "object", "properties": {"recursive": {"type": "boolean", "enum": [True, False]}}},
        params({"recursive": {"type": "boolean"}}),
    ),
    Case(
        "mixed enum with null: stringified into a string enum, null dropped",
        {"type": "object", "properties": {"effort": {"enum": ["auto", 0, 1, None], "description": "Reasoning effort"}}},
        params(
            {
                "effort": {
                    "type": "string",
                    "description": "Reasoning effort (non-string values are sent as text)",
                    "enum": ["auto", "0", "1"],
                }
            }
        ),
    ),
    Case(
        "type list of two real types: first wins, the other is described",
        {"properties": {"id": {"type": ["integer", "string"], "description": "Numeric id or slug"}}},
        params({"id": {"type": "integer", "description": "Numeric id or slug (also accepts: string)"}}),
    ),
    Case(
        "formats: date, date-time kept; uuid, email, uri removed and described",
        {
            "type": "object",
            "properties": {
                "id": {"type": "string", "format": "uuid"},
                "email": {"type": "string", "format": "email", "description": "Contact e-mail"},
                "at": {"type": "string", "format": "date-time"},
                "day": {"type": "string", "format": "date"},
                "site": {"type": "string", "format": "uri"},
            },
        },
        params(
            {
                "id": {"type": "string", "description": "format: uuid"},
                "email": {"type": "string", "description": "Contact e-mail (format: email)"},
                "at": {"type": "string", "format": "date-time"},
                "day": {"type": "string", "format": "date"},
                "site": {"type": "string", "description": "format: uri"},
            }
        ),
    ),
    Case("empty schema means no parameters", {}, EMPTY_PARAMETERS),
    Case("None means no parameters", None, EMPTY_PARAMETERS),
    Case(
        "only properties, no types anywhere: object root, types inferred from keywords or string",
        {"properties": {"query": {"description": "Search text"}, "limit": {"minimum": 1, "maximum": 50}}},
        params(
            {
                "query": {"type": "string", "description": "Search text"},
                "limit": {"type": "number", "description": "minimum 1; maximum 50"},
            }
        ),
    ),
    Case(
        "dify structured output: nested arrays of objects keep their shape, response root stays an object",
        {
            "type": "object",
            "properties": {
                "title": {"type": "string"},
                "sections": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "heading": {"type": "string"},
                            "bullets": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {"text": {"type": "string"}, "score": {"type": "number"}},
                                    "required": ["text"],
                                    "additionalProperties": False,
                                },
                            },
                        },
                        "required": ["heading", "bullets"],
                        "additionalProperties": False,
                    },
                },
            },
            "required": ["title", "sections"],
            "additionalProperties": False,
        },
        params(
            {
                "title": {"type": "string"},
                "sections": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "heading": {"type": "string"},
                            "bullets": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {"text": {"type": "string"}, "score": {"type": "number"}},
                                    "required": ["text"],
                                },
                            },
                        },
                        "required": ["heading", "bullets"],
                    },
                },
            },
            ["title", "sections"],
        ),
        normalize_response_schema,
    ),
    Case(
        "response schema with an array root keeps the array; its title is dropped",
        {"title": "Cities", "type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
        {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
        normalize_response_schema,
    ),
    Case(
        "function parameters with an array root are wrapped under value",
        {"type": "array", "items": {"type": "string"}, "description": "File paths"},
        {
            "type": "object",
            "properties": {"value": {"type": "array", "description": "File paths", "items": {"type": "string"}}},
            "required": ["value"],
        },
    ),
    Case(
        "deeply nested config objects all keep properties",
        {
            "type": "object",
            "properties": {
                "server": {
                    "type": "object",
                    "properties": {
                        "tls": {
                            "type": "object",
                            "properties": {"client": {"type": "object", "properties": {"cert": {"type": "string"}}}},
                        }
                    },
                }
            },
        },
        params(
            {
                "server": {
                    "type": "object",
                    "properties": {
                        "tls": {
                            "type": "object",
                            "properties": {"client": {"type": "object", "properties": {"cert": {"type": "string"}}}},
                        }
                    },
                }
            }
        ),
    ),
    Case(
        "required naming missing, duplicate and non-string entries keeps only existing properties once",
        {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a", "b", "a", 7]},
        params({"a": {"type": "string"}}, ["a"]),
    ),
    Case(
        "boolean subschemas: true is any value, a false property is removed from properties and required",
        {
            "type": "object",
            "properties": {"anything": True, "forbidden": False, "list": {"type": "array", "items": True}},
            "required": ["forbidden", "anything"],
            "additionalProperties": False,
        },
        params({"anything": {"type": "string"}, "list": {"type": "array", "items": {"type": "string"}}}, ["anything"]),
    ),
    Case(
        "string const becomes a one-value enum",
        {"type": "object", "properties": {"action": {"const": "create"}}, "required": ["action"]},
        params({"action": {"type": "string", "enum": ["create"]}}, ["action"]),
    ),
    Case(
        "openapi nullable on a required property is noted as may be null",
        {
            "type": "object",
            "properties": {"note": {"type": "string", "nullable": True, "description": "Free text"}},
            "required": ["note"],
        },
        params({"note": {"type": "string", "description": "Free text (may be null)"}}, ["note"]),
    ),
    Case(
        "openai strict-mode style: every field required, optional ones nullable",
        {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "zip": {"type": ["string", "null"], "description": "Postal code"},
            },
            "required": ["city", "zip"],
            "additionalProperties": False,
        },
        params(
            {"city": {"type": "string"}, "zip": {"type": "string", "description": "Postal code (may be null)"}},
            ["city", "zip"],
        ),
    ),
    Case(
        "oneOf of documented consts: one enum, each value explained",
        {
            "type": "object",
            "properties": {
                "sort": {
                    "oneOf": [
                        {"const": "created", "description": "Newest first"},
                        {"const": "updated", "description": "Recently changed first"},
                    ],
                    "description": "Sort order",
                }
            },
        },
        params(
            {
                "sort": {
                    "type": "string",
                    "description": "Sort order (values: created = Newest first | updated = Recently changed first)",
                    "enum": ["created", "updated"],
                }
            }
        ),
    ),
    Case(
        "anyOf of string and array of strings: first branch, the other type described",
        {
            "type": "object",
            "properties": {
                "paths": {
                    "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
                    "description": "One path or several",
                }
            },
            "required": ["paths"],
        },
        params({"paths": {"type": "string", "description": "One path or several (also accepts: array)"}}, ["paths"]),
    ),
    Case(
        "anyOf of integer and number widens to number",
        {"properties": {"amount": {"anyOf": [{"type": "integer"}, {"type": "number", "minimum": 0}]}}},
        params({"amount": {"type": "number", "description": "minimum 0"}}),
    ),
    Case(
        "constraints, default, examples and deprecated become one concise note each",
        {
            "type": "object",
            "properties": {
                "slug": {
                    "type": "string",
                    "minLength": 3,
                    "maxLength": 40,
                    "pattern": "^[a-z0-9-]+$",
                    "examples": ["my-post", "hello"],
                },
                "ids": {
                    "type": "array",
                    "items": {"type": "integer"},
                    "minItems": 1,
                    "maxItems": 10,
                    "uniqueItems": True,
                },
                "page": {"type": "integer", "default": 1, "minimum": 1, "deprecated": True},
                "ratio": {"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": 1},
                "step": {"type": "number", "exclusiveMaximum": 5, "multipleOf": 0.5},
            },
        },
        params(
            {
                "slug": {
                    "type": "string",
                    "description": 'min length 3; max length 40; pattern: ^[a-z0-9-]+$; examples: "my-post", "hello"',
                },
                "ids": {
                    "type": "array",
                    "description": "min items 1; max items 10; unique items",
                    "items": {"type": "integer"},
                },
                "page": {"type": "integer", "description": "minimum 1; default: 1; deprecated"},
                "ratio": {"type": "number", "description": "greater than 0; maximum 1"},
                "step": {"type": "number", "description": "less than 5; multiple of 0.5"},
            }
        ),
    ),
    Case(
        "patternProperties and propertyNames on a headers map are described, properties added",
        {
            "type": "object",
            "properties": {
                "headers": {
                    "type": "object",
                    "patternProperties": {"^X-": {"type": "string"}},
                    "propertyNames": {"pattern": "^[A-Za-z-]+$"},
                    "description": "Extra headers",
                }
            },
        },
        params(
            {
                "headers": {
                    "type": "object",
                    "description": "Extra headers (keys matching ^X- map to string values; key pattern: ^[A-Za-z-]+$)",
                    "properties": {},
                }
            }
        ),
    ),
    Case(
        "additionalProperties naming a $ref: the value shape is described by its fields",
        {
            "$defs": {
                "Env": {"type": "object", "properties": {"value": {"type": "string"}, "secret": {"type": "boolean"}}}
            },
            "type": "object",
            "properties": {"env": {"type": "object", "additionalProperties": {"$ref": "#/$defs/Env"}}},
        },
        params(
            {
                "env": {
                    "type": "object",
                    "description": "keys map to objects with fields value, secret",
                    "properties": {},
                }
            }
        ),
    ),
    Case(
        "titles: an informative title fills a missing description, a re-cased field name does not",
        {
            "type": "object",
            "properties": {
                "q": {"type": "string", "title": "Search query"},
                "page_size": {"type": "integer", "title": "Page Size"},
            },
        },
        params({"q": {"type": "string", "description": "Search query"}, "page_size": {"type": "integer"}}),
    ),
    Case(
        "php-encoded empty properties list is an empty map",
        {"type": "object", "properties": [], "required": []},
        EMPTY_PARAMETERS,
    ),
    Case(
        "python-ish type names from hand-written schemas are mapped",
        {
            "type": "object",
            "properties": {"count": {"type": "int"}, "name": {"type": "str"}, "options": {"type": "dict"}},
        },
        params(
            {"count": {"type": "integer"}, "name": {"type": "string"}, "options": {"type": "object", "properties": {}}}
        ),
    ),
    Case(
        "at-least-one-of via anyOf required branches keeps properties optional and names the variants",
        {
            "type": "object",
            "properties": {"id": {"type": "string"}, "email": {"type": "string"}},
            "anyOf": [{"required": ["id"]}, {"required": ["email"]}],
        },
        params({"id": {"type": "string"}, "email": {"type": "string"}}, description="variants: {id} | {email}"),
    ),
    Case(
        "list[Optional[int]]: nullable items collapse",
        {
            "type": "object",
            "properties": {"scores": {"type": "array", "items": {"anyOf": [{"type": "integer"}, {"type": "null"}]}}},
        },
        params({"scores": {"type": "array", "items": {"type": "integer"}}}),
    ),
    Case(
        "free-form object and array without items get properties and string items",
        {
            "type": "object",
            "properties": {"metadata": {"type": "object", "description": "Labels"}, "tags": {"type": "array"}},
        },
        params(
            {
                "metadata": {"type": "object", "description": "Labels", "properties": {}},
                "tags": {"type": "array", "items": {"type": "string"}},
            }
        ),
    ),
    Case(
        "json pointer refs with escaped segments resolve; remote refs keep only their siblings",
        {
            "type": "object",
            "properties": {
                "a/b": {"type": "string", "description": "Slash key"},
                "copy": {"$ref": "#/properties/a~1b"},
                "geo": {"$ref": "https://example.com/geo.json", "description": "GeoJSON point"},
            },
        },
        params(
            {
                "a/b": {"type": "string", "description": "Slash key"},
                "copy": {"type": "string", "description": "Slash key"},
                "geo": {"type": "string", "description": "GeoJSON point"},
            }
        ),
    ),
    Case(
        "dify tool parameters: plain types, string enum, required subset pass through",
        {
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "Search query"},
                "num": {"type": "number", "description": "Results to return"},
                "engine": {"type": "string", "enum": ["google", "bing"], "description": "Engine"},
            },
            "required": ["query"],
        },
        params(
            {
                "query": {"type": "string", "description": "Search query"},
                "num": {"type": "number", "description": "Results to return"},
                "engine": {"type": "string", "description": "Engine", "enum": ["google", "bing"]},
            },
            ["query"],
        ),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_real_world_schema_normalizes_exactly(case: Case) -> None:
    assert case.normalize(case.schema) == case.expected


def test_deep_nesting_is_cut_at_max_depth_with_a_note() -> None:
    schema: dict = {"type": "string"}
    for _ in range(MAX_DEPTH + 8):
        schema = {"type": "object", "properties": {"child": schema}}
    node = normalize_schema(schema)
    for _ in range(MAX_DEPTH):
        node = node["properties"]["child"]
    assert node == {"type": "object", "description": TOO_DEEP, "properties": {}}


def test_deep_array_nesting_is_cut_to_string_items() -> None:
    schema: dict = {"type": "integer"}
    for _ in range(MAX_DEPTH + 3):
        schema = {"type": "array", "items": schema}
    node = normalize_response_schema(schema)
    for _ in range(MAX_DEPTH):
        node = node["items"]
    assert node == {"type": "array", "description": TOO_DEEP, "items": {"type": "string"}}


def test_cyclic_bare_refs_raise_schema_error_naming_the_place() -> None:
    schema = {
        "$defs": {"A": {"$ref": "#/$defs/B"}, "B": {"$ref": "#/$defs/A"}},
        "properties": {"x": {"$ref": "#/$defs/A"}},
    }
    with pytest.raises(SchemaError, match=r"cyclic \$ref '#/\$defs/A' at /properties/x"):
        normalize_schema(schema)


def test_self_referencing_allof_is_a_cycle() -> None:
    with pytest.raises(SchemaError, match="cyclic"):
        normalize_schema({"$defs": {"A": {"allOf": [{"$ref": "#/$defs/A"}]}}, "$ref": "#/$defs/A"})


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ([{"type": "string"}], "expected a schema object at /, got list"),
        ("string", "expected a schema object at /, got str"),
        ({"type": "object", "properties": {"x": "string"}}, "expected a schema object at /properties/x, got str"),
        ({"properties": {"a": {"items": 5}}}, "at /properties/a/items, got int"),
        ({"type": "object", "properties": 5}, "'properties' must be an object at /, got int"),
    ],
    ids=["root list", "root string", "property as bare type name", "items as a number", "properties as a number"],
)
def test_input_that_is_not_a_schema_raises_schema_error(schema: Any, message: str) -> None:
    with pytest.raises(SchemaError) as error:
        normalize_schema(schema)
    assert message in str(error.value)
    assert isinstance(error.value, ValueError)


def test_schema_error_never_echoes_large_values() -> None:
    with pytest.raises(SchemaError) as error:
        normalize_schema({"properties": {"x" * 5000: ["y" * 5000]}})
    assert len(str(error.value)) < 250


def test_nullable_optional_property_gets_no_note() -> None:
    out = normalize_schema({"properties": {"zip": {"type": ["string", "null"]}}})
    assert out["properties"]["zip"] == {"type": "string"}


def test_recursive_root_ref_is_cut_after_two_expansions() -> None:
    schema = {"type": "object", "properties": {"label": {"type": "string"}, "next": {"$ref": "#"}}}
    out = normalize_schema(schema)
    second = out["properties"]["next"]["properties"]["next"]
    assert second["properties"]["next"] == {
        "type": "object",
        "description": "recursive: same shape as the root",
        "properties": {},
    }


# --- properties that hold for every input ----------------------------------------------------------------------------

ALLOWED_KEYS = {"type", "description", "enum", "format", "properties", "required", "items"}
GIGACHAT_TYPES = {"string", "integer", "number", "boolean", "object", "array"}


def _random_schema(rng: random.Random, depth: int = 0) -> Any:
    """A random, awkward but valid schema: unions, refs, type lists, mixed enums, booleans, keywords GigaChat lacks."""
    if depth > 4 or rng.random() < 0.25:
        return rng.choice(
            [
                True,
                {},
                {"type": rng.choice(["string", "integer", "number", "boolean", "null", "int"])},
                {"type": ["string", "null"], "format": rng.choice(["uuid", "date", "email"])},
                {"enum": rng.choice([[1, 2], ["a", None], [True], ["x", 1, 2.5, None], [{"k": 1}]])},
                {"const": rng.choice(["c", 3, False, None])},
                {"$ref": "#/$defs/Leaf"},
                {"$ref": "#/$defs/Tree"},
                {"$ref": "#/$defs/Missing", "description": "dangling"},
                {"type": "integer", "minimum": 0, "default": 3, "examples": [1]},
            ]
        )
    kind = rng.choice(["object", "array", "anyOf", "oneOf", "allOf", "typelist", "map", "tuple"])
    child = lambda: _random_schema(rng, depth + 1)  # noqa: E731
    if kind == "object":
        names = rng.sample(["a", "b", "c", "d"], rng.randint(0, 4))
        return {
            "type": "object",
            "title": "Obj",
            "properties": {name: child() for name in names},
            "required": [*names[:2], "ghost"],
            "additionalProperties": rng.choice([False, True, child()]),
        }
    if kind == "array":
        return {"type": "array", "items": child(), "minItems": 1}
    if kind in ("anyOf", "oneOf", "allOf"):
        return {kind: [child() for _ in range(rng.randint(1, 3))], "description": rng.choice(["", " ", "why"])}
    if kind == "typelist":
        return {"type": rng.sample(["string", "integer", "number", "object", "array", "null"], 2), "items": child()}
    if kind == "map":
        return {"patternProperties": {"^x": child()}, "propertyNames": {"pattern": "^x"}}
    return {"type": "array", "prefixItems": [child(), child()], "items": False}


def _random_document(seed: int) -> dict:
    rng = random.Random(seed)
    root = _random_schema(rng, 0 if seed % 2 else 1)
    return {
        "$defs": {
            "Leaf": {"type": "string", "enum": ["l1", "l2"], "title": "Leaf"},
            "Tree": {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/Tree"}}}},
        },
        **(root if isinstance(root, dict) else {"properties": {"x": root}}),
    }


PROPERTY_INPUTS = [case.schema for case in CASES] + [_random_document(seed) for seed in range(300)]


def _nodes(schema: dict) -> Iterator[dict]:
    yield schema
    for sub in schema.get("properties", {}).values():
        yield from _nodes(sub)
    if "items" in schema:
        yield from _nodes(schema["items"])


@pytest.fixture(params=[normalize_schema, normalize_response_schema], ids=["parameters", "response"])
def normalize(request: pytest.FixtureRequest) -> Any:
    return request.param


def test_every_node_uses_only_keywords_gigachat_accepts(normalize: Any) -> None:
    for schema in PROPERTY_INPUTS:
        for node in _nodes(normalize(schema)):
            assert set(node) <= ALLOWED_KEYS, node
            assert node["type"] in GIGACHAT_TYPES, node
            assert all(isinstance(value, str) for value in node.get("enum", [])), node
            assert node.get("format", "date") in {"date", "date-time", "time"}, node
            if "description" in node:
                assert isinstance(node["description"], str) and node["description"].strip(), node


def test_every_object_has_properties_and_only_existing_unique_required(normalize: Any) -> None:
    for schema in PROPERTY_INPUTS:
        for node in _nodes(normalize(schema)):
            assert (node["type"] == "object") == ("properties" in node), node
            assert (node["type"] == "array") == ("items" in node), node
            required = node.get("required", [])
            assert len(required) == len(set(required)) and set(required) <= set(node.get("properties", {})), node


def test_output_never_mentions_unsupported_constructs(normalize: Any) -> None:
    for schema in PROPERTY_INPUTS:
        text = json.dumps(normalize(schema))
        for keyword in ("anyOf", "oneOf", "allOf", "$ref", "$defs", "definitions", "additionalProperties"):
            assert f'"{keyword}"' not in text


def test_parameters_root_is_always_an_object_with_properties_and_required() -> None:
    for schema in PROPERTY_INPUTS:
        out = normalize_schema(schema)
        assert out["type"] == "object" and isinstance(out["properties"], dict) and isinstance(out["required"], list)


def test_input_is_never_mutated_and_output_shares_nothing_with_it(normalize: Any) -> None:
    for schema in PROPERTY_INPUTS:
        before = copy.deepcopy(schema)
        out = normalize(schema)
        assert schema == before
        for node in _nodes(out):  # scribbling over the output must not reach the input either
            node.clear()
        assert schema == before


def test_normalizing_twice_changes_nothing(normalize: Any) -> None:
    for schema in PROPERTY_INPUTS:
        once = normalize(schema)
        assert normalize(once) == once, schema


def test_output_is_deterministic_and_json_serializable(normalize: Any) -> None:
    for schema in PROPERTY_INPUTS:
        first = json.dumps(normalize(schema), sort_keys=False)
        assert json.dumps(normalize(copy.deepcopy(schema)), sort_keys=False) == first
