"""Stripe's bracketed form encoding decodes into nested structures, and round-trips."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.stripe.formcodec import FormError, decode, encode


def test_a_contract_checkout_body_nests_line_items_metadata_and_expand() -> None:
    body = (
        "mode=payment&line_items[0][price_data][currency]=usd"
        "&line_items[0][price_data][unit_amount]=1500"
        "&line_items[0][price_data][product_data][name]=mug%20%26%20co"
        "&line_items[0][quantity]=2&line_items[1][price_data][unit_amount]=5"
        "&line_items[1][quantity]=1&metadata[cart_id]=c1&metadata[0]=zero"
        "&expand[]=line_items&expand[]=payment_intent"
    )
    assert decode(body) == {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {
                    "currency": "usd",
                    "unit_amount": "1500",
                    "product_data": {"name": "mug & co"},
                },
                "quantity": "2",
            },
            {"price_data": {"unit_amount": "5"}, "quantity": "1"},
        ],
        "metadata": {"cart_id": "c1", "0": "zero"},
        "expand": ["line_items", "payment_intent"],
    }


def test_indexes_order_an_array_whatever_order_they_arrive_in() -> None:
    assert decode("a[2]=z&a[0]=x&a[1]=y") == {"a": ["x", "y", "z"]}


def test_url_encoded_brackets_decode_like_plain_ones() -> None:
    assert decode("metadata%5Bcart_id%5D=c9") == {"metadata": {"cart_id": "c9"}}


@pytest.mark.parametrize(
    "body",
    ["a=1&a[b]=2", "a[b]=2&a=1", "a=1&a=2", "a[b=1", "a]=1", "a[]=1&a[x]=2", "a[5000]=1"],
)
def test_malformed_or_conflicting_keys_are_rejected(body: str) -> None:
    with pytest.raises(FormError):
        decode(body)


def test_nesting_and_size_are_bounded() -> None:
    with pytest.raises(FormError):
        decode("a" + "[b]" * 20 + "=1")
    with pytest.raises(FormError):
        decode("&".join(f"k{i}=v" for i in range(1_001)))


_names = st.text(alphabet="abcdefghij_", min_size=1, max_size=6)
_leaves = st.text(max_size=8)
_values: st.SearchStrategy[Any] = st.recursive(
    _leaves,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3),
        st.dictionaries(_names, inner, min_size=1, max_size=3),
    ),
    max_leaves=8,
)


@given(st.dictionaries(_names.filter(lambda n: n != "metadata"), _values, max_size=4))
def test_encoding_then_decoding_gives_back_the_structure(params: dict[str, Any]) -> None:
    assert decode(encode(params)) == params
