"""What a call costs, for models whose operator entered their contract's prices.

No predefined model declares a price: Sber's pay-as-you-go tariffs could not be read from any source, and a guessed
price would make Dify's cost figures look exact while being wrong. An operator who knows the prices of their
contract enters them on a customizable model (its 'Input price' and 'Output price' fields, in roubles per 1,000
tokens), and Dify's usage then shows what each call cost: dify_plugin multiplies the tokens by `input` (or `output`)
and by `unit`, so a unit of 0.001 makes the entered figure a price per 1,000 tokens.

Loaded at start with the schemas of customizable models (catalog.py), so it imports nothing the first request pays for.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from dify_plugin.entities.model import ModelType, PriceConfig

PRICE_FIELDS = {"input_price": "Input price", "output_price": "Output price"}
PRICE_UNIT = Decimal("0.001")  # the entered figure is per 1,000 tokens
CURRENCY = "RUB"
# A value pasted into the wrong field (a key, a date) is refused rather than turned into absurd costs.
MAX_PRICE = Decimal(1000)


class PriceError(ValueError):
    """A price field that cannot be a price; the message names the field and is safe to show."""


def pricing_of(credentials: Mapping, model_type: ModelType) -> PriceConfig | None:
    """The model's prices from its form, or None when none was entered. An embedding model has no output price."""
    prices = {name: price(credentials.get(name), label) for name, label in PRICE_FIELDS.items()}
    if model_type is not ModelType.LLM:
        prices["output_price"] = None
    if prices["input_price"] is None and prices["output_price"] is None:
        return None
    return PriceConfig(
        input=prices["input_price"] or Decimal(0), output=prices["output_price"], unit=PRICE_UNIT, currency=CURRENCY
    )


def price(value: object, label: str) -> Decimal | None:
    """A price as typed: empty is no price; a decimal comma is accepted (1,5 is 1.5 roubles)."""
    text = str(value if value is not None else "").strip().replace(" ", "").replace(",", ".")
    if not text:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite() or not 0 <= number <= MAX_PRICE:
        raise PriceError(
            f"{label}: expected roubles per 1,000 tokens, a number from 0 to {MAX_PRICE:,}, like 1.5; "
            "leave it empty for no price."
        )
    return number
