"""Real-world schemas and the exact schema GigaChat receives for each: the data of tests/unit/test_schema.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from models.llm.schema import normalize_response_schema, normalize_schema

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


CASES_A = [
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
]
