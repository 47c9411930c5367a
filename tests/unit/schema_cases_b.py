"""More real-world schemas for tests/unit/test_schema.py (split only to keep files short)."""

from __future__ import annotations

from models.llm.schema import normalize_response_schema
from tests.unit.schema_cases_a import EMPTY_PARAMETERS, Case, params

CASES_B = [
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
