"""Stripe-shaped objects and errors: ids, error bodies, sessions, line items, intents, refunds, events.

Objects that stripe-mock also returns start from stripe-mock's answer (so every field Stripe's
schema has is present) with the simulator's state laid over it.
"""

from __future__ import annotations

import copy
import secrets
import string
from dataclasses import dataclass, field
from typing import Any

API_VERSION = "2026-10-28.endive"
_ALPHABET = string.ascii_letters + string.digits

JSON = dict[str, Any]


def mask_key(api_key: str) -> str:
    """An API key as records may show it: ``sk_test_…abcd``."""
    if len(api_key) <= 12:
        return api_key[:8] + "…"
    return f"{api_key[:8]}…{api_key[-4:]}"


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


@dataclass(frozen=True)
class StripeError(Exception):
    """An error answer in Stripe's shape: ``{"error": {"type", "message", "code"?, "param"?}}``."""

    status: int
    type: str
    message: str
    code: str | None = None
    param: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> JSON:
        error: JSON = {"type": self.type, "message": self.message}
        if self.code is not None:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param is not None:
            error["param"] = self.param
        return {"error": error}


def invalid(message: str, *, param: str | None = None, code: str | None = None) -> StripeError:
    return StripeError(400, "invalid_request_error", message, code, param)


def missing(kind: str, object_id: str, param: str = "id") -> StripeError:
    return StripeError(
        404, "invalid_request_error", f"No such {kind}: '{object_id}'", "resource_missing", param
    )


def list_object(data: list[JSON], url: str, has_more: bool = False) -> JSON:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


@dataclass
class LineItem:
    name: str
    currency: str
    unit_amount: int
    quantity: int
    product: str | None
    id: str = field(default_factory=lambda: new_id("li_"))
    price_id: str = field(default_factory=lambda: new_id("price_"))

    def as_stripe(self, created: int) -> JSON:
        amount = self.unit_amount * self.quantity
        product = self.product or f"prod_{self.price_id[6:20]}"
        return {
            "id": self.id,
            "object": "item",
            "amount_discount": 0,
            "amount_subtotal": amount,
            "amount_tax": 0,
            "amount_total": amount,
            "currency": self.currency,
            "description": self.name,
            "metadata": {},
            "quantity": self.quantity,
            "price": {
                "id": self.price_id,
                "object": "price",
                "active": False,
                "billing_scheme": "per_unit",
                "created": created,
                "currency": self.currency,
                "custom_unit_amount": None,
                "livemode": False,
                "lookup_key": None,
                "metadata": {},
                "nickname": None,
                "product": product,
                "recurring": None,
                "tax_behavior": "unspecified",
                "tiers_mode": None,
                "transform_quantity": None,
                "type": "one_time",
                "unit_amount": self.unit_amount,
                "unit_amount_decimal": str(self.unit_amount),
            },
        }


# Stripe caps a Checkout amount at 8 digits in the smallest unit ($999,999.99).
MAX_AMOUNT = 99_999_999
MIN_EXPIRY_S = 30 * 60
MAX_EXPIRY_S = 24 * 60 * 60


def _int_param(value: Any, param: str, minimum: int) -> int:
    if not isinstance(value, str) or not value.lstrip("-").isdigit():
        raise invalid(f"Invalid integer: {value!r}", param=param)
    number = int(value)
    if number < minimum:
        raise invalid(f"This value must be greater than or equal to {minimum}.", param=param)
    return number


def parse_line_items(params: JSON) -> list[LineItem]:
    raw = params.get("line_items")
    if not raw:
        raise invalid("You must specify `line_items` when `mode` is `payment`.", param="line_items")
    if not isinstance(raw, list):
        raise invalid("Invalid array", param="line_items")
    items: list[LineItem] = []
    for index, entry in enumerate(raw):
        where = f"line_items[{index}]"
        if not isinstance(entry, dict):
            raise invalid("Invalid object", param=where)
        if "price" in entry:
            # A Price id would need a stored catalogue; the contract only uses price_data.
            raise invalid(
                "The Stripe simulator supports `price_data` line items only, not `price` ids.",
                param=f"{where}[price]",
            )
        data = entry.get("price_data")
        if not isinstance(data, dict):
            raise invalid("Missing required param: price_data.", param=f"{where}[price_data]")
        currency = data.get("currency")
        if not isinstance(currency, str) or not currency:
            raise invalid(
                "Missing required param: currency.", param=f"{where}[price_data][currency]"
            )
        if "unit_amount" in data:
            unit_amount = _int_param(data["unit_amount"], f"{where}[price_data][unit_amount]", 0)
        elif "unit_amount_decimal" in data:
            decimal = str(data["unit_amount_decimal"])
            if not decimal.isdigit():
                raise invalid(
                    "The simulator supports whole `unit_amount_decimal` values only.",
                    param=f"{where}[price_data][unit_amount_decimal]",
                )
            unit_amount = int(decimal)
        else:
            raise invalid(
                "Missing required param: unit_amount.", param=f"{where}[price_data][unit_amount]"
            )
        product_data = data.get("product_data")
        product = data.get("product")
        if isinstance(product_data, dict) and isinstance(product_data.get("name"), str):
            name = product_data["name"]
        elif isinstance(product, str):
            name = product
        else:
            raise invalid(
                "Missing required param: product_data[name].",
                param=f"{where}[price_data][product_data][name]",
            )
        quantity = _int_param(entry.get("quantity", "missing"), f"{where}[quantity]", 1)
        items.append(
            LineItem(
                name=name,
                currency=currency.lower(),
                unit_amount=unit_amount,
                quantity=quantity,
                product=product if isinstance(product, str) else None,
            )
        )
    currencies = {item.currency for item in items}
    if len(currencies) > 1:
        raise invalid(
            "All line items must use the same currency; got " + ", ".join(sorted(currencies)),
            param="line_items",
        )
    return items


def build_session(
    template: JSON, params: JSON, items: list[LineItem], *, now: int, hosted_base: str
) -> JSON:
    """A new open Checkout Session: stripe-mock's shape, the request's values, computed amounts."""
    amount = sum(item.unit_amount * item.quantity for item in items)
    if amount > MAX_AMOUNT:
        raise invalid(
            f"The Checkout Session's total amount must be no more than {MAX_AMOUNT}.",
            param="line_items",
            code="amount_too_large",
        )
    expires_at = now + MAX_EXPIRY_S
    if "expires_at" in params:
        expires_at = _int_param(params["expires_at"], "expires_at", 0)
        if not now + MIN_EXPIRY_S <= expires_at <= now + MAX_EXPIRY_S:
            raise invalid(
                "The `expires_at` timestamp must be between 30 minutes and 24 hours from now.",
                param="expires_at",
            )
    metadata = params.get("metadata", {})
    if not isinstance(metadata, dict):
        raise invalid("Invalid object", param="metadata")
    session_id = new_id("cs_test_", 58)
    session = copy.deepcopy(template)
    session.pop("line_items", None)
    customer_email = params.get("customer_email")
    session.update(
        {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": amount,
            "amount_total": amount,
            "cancel_url": params.get("cancel_url"),
            "client_reference_id": params.get("client_reference_id"),
            "created": now,
            "currency": items[0].currency,
            "currency_conversion": None,
            "customer": None,
            "customer_details": None,
            "customer_email": customer_email if isinstance(customer_email, str) else None,
            "expires_at": expires_at,
            "livemode": False,
            "metadata": {str(k): str(v) for k, v in metadata.items()},
            "mode": "payment",
            # Since API version 2022-08-01 the PaymentIntent only exists once the customer pays.
            "payment_intent": None,
            "payment_status": "unpaid",
            "status": "open",
            "success_url": params.get("success_url"),
            "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
            "url": f"{hosted_base}/c/pay/{session_id}",
        }
    )
    return session


def build_payment_intent(session: JSON, *, now: int, status: str) -> JSON:
    amount = int(session["amount_total"])
    return {
        "id": new_id("pi_"),
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_received": amount if status == "succeeded" else 0,
        "currency": session["currency"],
        "created": now,
        "latest_charge": new_id("ch_"),
        "livemode": False,
        "metadata": dict(session.get("metadata") or {}),
        "payment_method_types": ["card"],
        "status": status,
    }


def build_refund(template: JSON, intent: JSON, amount: int, params: JSON, *, now: int) -> JSON:
    refund = copy.deepcopy(template)
    metadata = params.get("metadata", {})
    refund.update(
        {
            "id": new_id("re_"),
            "object": "refund",
            "amount": amount,
            "charge": intent["latest_charge"],
            "created": now,
            "currency": intent["currency"],
            "metadata": dict(metadata) if isinstance(metadata, dict) else {},
            "payment_intent": intent["id"],
            "reason": params.get("reason"),
            "status": "succeeded",
        }
    )
    return refund


def build_event(
    event_type: str,
    obj: JSON,
    *,
    now: int,
    request_id: str | None = None,
    idempotency_key: str | None = None,
    pending_webhooks: int = 0,
) -> JSON:
    return {
        "id": new_id("evt_"),
        "object": "event",
        "api_version": API_VERSION,
        "created": now,
        "data": {"object": copy.deepcopy(obj)},
        "livemode": False,
        "pending_webhooks": pending_webhooks,
        "request": {"id": request_id, "idempotency_key": idempotency_key},
        "type": event_type,
    }
