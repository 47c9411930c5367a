"""What a call costs in Dify's usage: nothing for a model without prices (no Sber tariff could be verified), and the
operator's own prices, in roubles per 1,000 tokens, for a customizable model that has them, also one added under a
predefined model's id."""

from __future__ import annotations

from decimal import Decimal

import pytest

from devkit.emulator import Reply
from devkit.harness import messages as m
from devkit.rig import PROVIDER

pytestmark = pytest.mark.e2e
PRICES = {"input_price": "1,5", "output_price": "3"}  # a decimal comma, as a Russian operator may type it


def chat(plugin, creds, model, stream):
    data = m.invoke_llm(PROVIDER, model, creds, [m.user("2+2?")], stream=stream)
    return plugin.request(data)


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "blocking"])
@pytest.mark.parametrize("model", ["GigaChat-2-Max", "GigaChat-2-Max-preview", "GigaChat-3-Ultra"])
def test_a_model_with_the_operators_prices_reports_what_the_call_cost(plugin, emu, creds, model, stream):
    emu.script(Reply(text="Four.", usage={"prompt_tokens": 1000, "completion_tokens": 200, "total_tokens": 1200}))
    usage = chat(plugin, {**creds, **PRICES}, model, stream).usage
    assert (Decimal(usage["prompt_price"]), Decimal(usage["completion_price"])) == (Decimal("1.5"), Decimal("0.6"))
    assert Decimal(usage["total_price"]) == Decimal("2.1")
    assert (usage["currency"], Decimal(usage["prompt_price_unit"])) == ("RUB", Decimal("0.001"))


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "blocking"])
def test_a_model_without_prices_costs_nothing_in_dify(plugin, emu, creds, stream):
    usage = chat(plugin, creds, "GigaChat-2-Max", stream).usage
    assert usage["prompt_tokens"] > 0
    assert Decimal(usage["total_price"]) == 0


@pytest.mark.parametrize(("model", "prices"), [("Embeddings-2", {"input_price": "0.5"}), ("Embeddings-2", {})])
def test_an_embedding_model_costs_its_input_price_or_nothing(plugin, emu, creds, model, prices):
    texts = ["Первый фрагмент.", "Второй фрагмент, чуть длиннее первого."]
    usage = plugin.request(m.invoke_embedding(PROVIDER, model, {**creds, **prices}, texts)).chunks[0]["usage"]
    expected = Decimal(usage["tokens"]) * Decimal("0.5") / 1000 if prices else 0
    assert Decimal(usage["total_price"]) == pytest.approx(expected)
    assert (Decimal(usage["total_price"]) > 0) is bool(prices)


def test_the_model_schema_dify_reads_carries_the_prices(plugin, creds):
    reply = plugin.request(m.model_schema(PROVIDER, "llm", "GigaChat-2-Max", {**creds, **PRICES}))
    pricing = reply.chunks[0]["model_schema"]["pricing"]
    assert {key: Decimal(str(value)) for key, value in pricing.items() if key != "currency"} == {
        "input": Decimal("1.5"), "output": Decimal(3), "unit": Decimal("0.001")
    }  # fmt: skip
    assert pricing["currency"] == "RUB"


@pytest.mark.parametrize(("field", "value"), [("input_price", "free"), ("output_price", "-2")])
def test_a_price_that_is_not_a_number_is_refused_when_the_model_is_saved(plugin, emu, creds, field, value):
    reply = plugin.request(m.validate_model_credentials(PROVIDER, "llm", "GigaChat-2-Max", {**creds, field: value}))
    assert reply.error["error_type"] == "CredentialsValidateFailedError"
    label = "Input price" if field == "input_price" else "Output price"
    assert f"{label}: expected roubles per 1,000 tokens" in reply.error["message"]
