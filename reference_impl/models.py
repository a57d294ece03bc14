"""pydantic models at every boundary: HTTP bodies, the Stripe session we ask for, and webhook data.

Inputs are strict (a JSON ``true`` is not a quantity) and bounded; text refuses NUL and lone
surrogates, which PostgreSQL or UTF-8 encoding would otherwise turn into a 500 later.
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    field_validator,
)

MAX_AMOUNT_CENTS = 99_999_999  # contract 6.3
MAX_QUANTITY = 1000
MAX_STOCK = 1_000_000_000


def _storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    if not value.strip():
        raise ValueError("must not be blank")
    return value


ShortText = Annotated[
    str, StringConstraints(min_length=1, max_length=200), AfterValidator(_storable)
]
LongText = Annotated[
    str, StringConstraints(min_length=1, max_length=1000), AfterValidator(_storable)
]
FieldName = Annotated[
    str, StringConstraints(min_length=1, max_length=100), AfterValidator(_storable)
]
FieldValue = Annotated[
    str, StringConstraints(min_length=1, max_length=500), AfterValidator(_storable)
]
UserId = ShortText
Sku = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]
SKU_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError("must be an e-mail address")
    return value


class _Input(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)


# --- catalogue -------------------------------------------------------------------------------


class ProductIn(_Input):
    name: ShortText
    price_cents: Annotated[StrictInt, Field(gt=0, le=MAX_AMOUNT_CENTS)]
    stock: Annotated[StrictInt, Field(ge=0, le=MAX_STOCK)]


class ProductOut(BaseModel):
    sku: str
    name: str
    price_cents: int
    available: int


class AdminProductOut(ProductOut):
    stock: int


# --- carts -----------------------------------------------------------------------------------


class CartCreate(_Input):
    user_id: UserId


class CartCreated(BaseModel):
    cart_id: str


class ItemQuantity(_Input):
    quantity: Annotated[StrictInt, Field(ge=0, le=MAX_QUANTITY)]


class LineItem(BaseModel):
    sku: str
    quantity: int
    unit_price_cents: int


class CartOut(BaseModel):
    cart_id: str
    user_id: str
    items: list[LineItem]
    total_cents: int


# --- checkout --------------------------------------------------------------------------------

Address = LongText | Annotated[dict[FieldName, FieldValue], Field(min_length=1, max_length=20)]


class CheckoutIn(_Input):
    """The customer's contact details: personal data, never logged in clear."""

    email: Annotated[
        str, StringConstraints(max_length=254), AfterValidator(_storable), AfterValidator(_email)
    ]
    name: ShortText
    address: Address

    def pii_values(self) -> list[str]:
        values = [self.email, self.name]
        values.extend([self.address] if isinstance(self.address, str) else self.address.values())
        return values


class CheckoutOut(BaseModel):
    checkout_session_id: str
    url: str
    amount_total: int


class CheckoutPlan(BaseModel):
    """What a checkout attempt sells, priced from the catalogue at the moment the cart was locked."""

    cart_id: str
    user_id: str
    cart_version: int
    items: list[LineItem]
    amount_total: int
    product_names: dict[str, str]
    expires_at: int  # fixed here: Stripe refuses different parameters under the same key


# --- Stripe ----------------------------------------------------------------------------------


class StripeLineItem(BaseModel):
    name: str
    unit_amount: Annotated[int, Field(gt=0)]
    quantity: Annotated[int, Field(gt=0, le=MAX_QUANTITY)]
    currency: Literal["usd"] = "usd"


class StripeSessionConfig(BaseModel):
    """Exactly the ``POST /v1/checkout/sessions`` parameters the contract lists (section 3)."""

    mode: Literal["payment"] = "payment"
    line_items: Annotated[list[StripeLineItem], Field(min_length=1)]
    client_reference_id: str
    cart_id: str
    user_id: str
    success_url: str
    cancel_url: str
    expires_at: int

    def to_form(self) -> list[tuple[str, str]]:
        form: list[tuple[str, str]] = [("mode", self.mode)]
        for i, item in enumerate(self.line_items):
            prefix = f"line_items[{i}]"
            form += [
                (f"{prefix}[price_data][currency]", item.currency),
                (f"{prefix}[price_data][unit_amount]", str(item.unit_amount)),
                (f"{prefix}[price_data][product_data][name]", item.name),
                (f"{prefix}[quantity]", str(item.quantity)),
            ]
        form += [
            ("client_reference_id", self.client_reference_id),
            ("metadata[cart_id]", self.cart_id),
            ("metadata[user_id]", self.user_id),
            ("success_url", self.success_url),
            ("cancel_url", self.cancel_url),
            ("expires_at", str(self.expires_at)),
        ]
        return form


class StripeSession(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    url: str | None = None
    amount_total: int | None = None
    payment_intent: str | None = None


class StripeRefund(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: Annotated[str, StringConstraints(min_length=1, max_length=255)]


# --- webhooks --------------------------------------------------------------------------------


class StripeEventData(BaseModel):
    model_config = ConfigDict(extra="ignore")

    object: dict[str, Any]


class StripeEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: Annotated[str, StringConstraints(min_length=1, max_length=255), AfterValidator(_storable)]
    type: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    data: StripeEventData


class CheckoutSessionObject(BaseModel):
    """The ``data.object`` of a ``checkout.session.*`` event; only what fulfilment reads."""

    model_config = ConfigDict(extra="ignore")

    id: Annotated[str, StringConstraints(min_length=1, max_length=255), AfterValidator(_storable)]
    object: Literal["checkout.session"] = "checkout.session"
    payment_status: Literal["paid", "unpaid", "no_payment_required"] | None = None
    payment_intent: str | None = None
    amount_total: int | None = None
    client_reference_id: str | None = None
    metadata: dict[str, Any] | None = None

    @field_validator("payment_intent", mode="before")
    @classmethod
    def _expanded_intent(cls, value: Any) -> Any:
        # Expanded objects carry their id; keep only that.
        if isinstance(value, dict):
            return value.get("id")
        return value


class FulfilmentMetadata(BaseModel):
    """The metadata we set on every session; strictly typed, numbers and UUIDs coerced from strings."""

    model_config = ConfigDict(extra="ignore")

    cart_id: uuid.UUID
    user_id: UserId


class FulfilmentData(BaseModel):
    """Everything fulfilment needs from one verified event."""

    event_id: str
    event_type: str
    session_id: str
    paid: bool
    payment_intent: str | None
    amount_total: int | None
    cart_id: str
    user_id: str


# --- orders ----------------------------------------------------------------------------------

OrderStatus = Literal["pending", "fulfilled", "refunded"]


class OrderOut(BaseModel):
    order_id: str
    cart_id: str
    user_id: str
    checkout_session_id: str
    status: OrderStatus
    amount_total: int
    items: list[LineItem]
