"""Hypothesis: whatever arrives on any route, the answer is never a 5xx.

Bodies are arbitrary JSON (often shaped like the route's real body, with wrong types and edge
values), raw bytes, or validly signed garbage for the webhook; path segments and headers vary too.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st

from harness.stripe import sign
from tests.reference_impl.conftest import Service

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(["", "\x00", "\ud800", "a" * 5000, "-1", "1e309", "💳"])
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = [
    "user_id",
    "quantity",
    "name",
    "price_cents",
    "stock",
    "email",
    "address",
    "id",
    "type",
    "data",
    "object",
    "metadata",
    "cart_id",
]
shaped = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=6)
raw = st.binary(max_size=200)


def encode(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    # surrogates cannot be UTF-8 encoded: escape them the way a JSON client would
    return json.dumps(body).encode()


bodies = shaped | json_values | raw
segments = st.text(min_size=1, max_size=30).map(lambda s: quote(s, safe=""))
ROUTES = ["put_product", "get_product", "create_cart", "put_item", "checkout", "webhook", "orders"]


@given(
    route=st.sampled_from(ROUTES),
    body=bodies,
    segment=segments,
    user=st.sampled_from([None, "owner", "other", "", "x y"]),
    key=st.none()
    | st.text(max_size=150).filter(lambda k: k.isascii() and k.isprintable() and k == k.strip()),
    signed=st.booleans(),
)
def test_no_route_answers_5xx_to_malformed_requests(
    reference_service: Service,
    route: str,
    body: Any,
    segment: str,
    user: str | None,
    key: str | None,
    signed: bool,
) -> None:
    svc = reference_service
    fixture = _fixture(svc)
    payload = encode(body)
    headers = {"Content-Type": "application/json"}
    if user is not None:
        headers["X-User-Id"] = user
    if key:
        headers["Idempotency-Key"] = key
    cart, sku = (fixture["cart"], fixture["sku"]) if signed else (segment, segment)

    if route == "put_product":
        answer = svc.http.put(
            f"/admin/products/{segment}", content=payload, headers=headers | svc.admin
        )
    elif route == "get_product":
        answer = svc.http.get(f"/products/{segment}")
    elif route == "create_cart":
        answer = svc.http.post("/carts", content=payload, headers=headers)
    elif route == "put_item":
        answer = svc.http.put(f"/carts/{cart}/items/{sku}", content=payload, headers=headers)
    elif route == "checkout":
        answer = svc.http.post(f"/carts/{cart}/checkout", content=payload, headers=headers)
    elif route == "webhook":
        if signed:
            headers["Stripe-Signature"] = sign(
                payload, svc.env["STRIPE_WEBHOOK_SECRET"], int(time.time())
            )
        answer = svc.http.post("/webhooks/stripe", content=payload, headers=headers)
    else:
        answer = svc.http.get("/admin/orders", headers={"Authorization": f"Bearer {segment}"})

    assert answer.status_code < 500, (route, payload[:200], answer.status_code, answer.text)
    if isinstance(body, bytes) and route in ("put_product", "create_cart", "put_item", "checkout"):
        try:
            json.loads(body)
        except (ValueError, UnicodeDecodeError):
            assert 400 <= answer.status_code < 500, answer.text
    if route == "webhook" and not signed:
        assert answer.status_code == 400
    if route == "orders":
        assert answer.status_code == 401


_fixtures: dict[str, dict[str, str]] = {}


def _fixture(svc: Service) -> dict[str, str]:
    """One product and one cart (owned by ``owner``) per service, for routes needing real ids."""
    if svc.env["DATABASE_URL"] not in _fixtures:
        assert svc.put_product("fuzz", price_cents=100, stock=1000).status_code == 200
        _fixtures[svc.env["DATABASE_URL"]] = {
            "cart": svc.new_cart("owner", {"fuzz": 1}),
            "sku": "fuzz",
        }
    return _fixtures[svc.env["DATABASE_URL"]]
