"""Each zoo member changes exactly the behaviour it claims, and undoing it restores the reference.

These run in-process without the stack: a member's patch is installed with ``zoo.installed`` and
the patched code is called directly, against fakes where it would otherwise need a dependency.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from reference_impl import app, checkout, fulfilment, inventory, zoo
from reference_impl.checkout import CheckoutService
from reference_impl.errors import DependencyDown
from reference_impl.fulfilment import Fulfilment
from reference_impl.inventory import Inventory
from reference_impl.models import CheckoutIn, FulfilmentData
from reference_impl.repositories.carts import Cart, CartRepository
from reference_impl.repositories.events import EventRepository
from reference_impl.repositories.sessions import CheckoutSession
from reference_impl.stripe_client import StripeClient
from reference_impl.webhooks import WebhookRejected

SECRET = "whsec_zoo_test"
APP: Any = app  # the zoo patches these names in the app module, where the routes look them up


def signed_header(payload: bytes, at: int) -> str:
    digest = hmac.new(SECRET.encode(), f"{at}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


def session_event(event_type: str, **session: Any) -> bytes:
    body = {
        "id": f"cs_{uuid.uuid4().hex[:8]}",
        "object": "checkout.session",
        "payment_status": "unpaid",
        "payment_intent": None,
        "metadata": {"cart_id": str(uuid.uuid4()), "user_id": "u1"},
        **session,
    }
    return json.dumps(
        {"id": f"evt_{uuid.uuid4().hex[:8]}", "type": event_type, "data": {"object": body}}
    ).encode()


# --- the registry and the entry point ------------------------------------------------------------


def test_zoo_has_thirteen_bugs_and_a_control() -> None:
    names = [bug.name for bug in zoo.BUGS]
    assert names[0] == zoo.CONTROL
    assert zoo.BUGS[0].is_control
    assert len(names) == len(set(names))
    assert len(names) - 1 >= 13


def test_every_member_patches_something_and_undoes_it() -> None:
    watched: list[tuple[object, str]] = [
        (checkout, "checkout_key"),
        (CheckoutService, "checkout"),
        (CartRepository, "set_status"),
        (CartRepository, "lines"),
        (StripeClient, "_request"),
        (StripeClient, "create_refund"),
        (EventRepository, "record"),
        (Inventory, "reserve"),
        (inventory, "_COMMIT"),
        (Fulfilment, "_paid"),
        (Fulfilment, "_closed"),
        (fulfilment, "_INLINE_LEASE_S"),
        (app, "verify_signature"),
        (app, "parse_event"),
        (app, "CheckoutIn"),
        (app, "_owned_cart"),
    ]
    before = [getattr(owner, name) for owner, name in watched]
    for bug in zoo.BUGS:
        with zoo.installed(bug.name):
            during = [getattr(owner, name) for owner, name in watched]
        changed = [w for w, b, d in zip(watched, before, during, strict=True) if b is not d]
        assert bool(changed) != bug.is_control, bug.name
        assert [getattr(owner, name) for owner, name in watched] == before, bug.name


def test_entry_point_refuses_an_unknown_member() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "reference_impl.zoo", "no-such-bug"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "no-idempotency" in done.stderr


# --- checkout ------------------------------------------------------------------------------------


def test_no_idempotency_keys_each_request_apart() -> None:
    cart = Cart(uuid.uuid4(), "u1", "open", 1, None)
    with zoo.installed("no-idempotency"):
        from reference_impl.zoo.no_idempotency import _nonce

        keys = set()
        for _ in range(2):
            _nonce.set(uuid.uuid4().hex)  # what each request's wrapper does
            keys.add(checkout.checkout_key(cart, []))
    assert len(keys) == 2
    assert checkout.checkout_key(cart, []) == checkout.checkout_key(cart, [])


async def test_no_idempotency_never_marks_the_cart_checking_out() -> None:
    statuses: list[str] = []

    class Recorder(CartRepository):
        def __init__(self) -> None:
            pass

        async def _exec(self, query: str, params: Any = None) -> int:
            statuses.append(params[0])
            return 1

    with zoo.installed("no-idempotency"):
        await Recorder().set_status(uuid.uuid4(), "checking_out")
        await Recorder().set_status(uuid.uuid4(), "awaiting_payment")
    assert statuses == ["awaiting_payment"]


async def test_cart_not_locked_lets_an_edit_see_a_checked_out_cart_as_open() -> None:
    cart = Cart(uuid.uuid4(), "u1", "awaiting_payment", 3, "cs_test_1")

    class Carts:
        async def get(self, cart_id: uuid.UUID, *, for_update: bool = False) -> Cart:
            return cart

    @dataclass
    class Repos:
        carts: Carts = field(default_factory=Carts)

    with zoo.installed("cart-not-locked"):
        edited = await APP._owned_cart(Repos(), str(cart.cart_id), "u1", for_update=True)
        viewed = await APP._owned_cart(Repos(), str(cart.cart_id), "u1")
    assert edited.status == "open"
    assert viewed.status == "awaiting_payment"  # reads still see the truth
    reference = await APP._owned_cart(Repos(), str(cart.cart_id), "u1", for_update=True)
    assert reference.status == "awaiting_payment"


def test_client_price_accepts_prices_from_the_client() -> None:
    body = {"email": "a@b.co", "name": "Ann", "address": "1 Road", "prices": {"mug": 1}}
    with zoo.installed("client-price"):
        assert getattr(APP.CheckoutIn.model_validate(body), "prices", None) == {"mug": 1}
    assert not hasattr(APP.CheckoutIn.model_validate(body), "prices")


async def test_pii_in_logs_prints_the_contact(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def reference_checkout(self: CheckoutService, **kwargs: Any) -> tuple[int, Any]:
        return 201, {}

    monkeypatch.setattr(CheckoutService, "checkout", reference_checkout)
    contact = CheckoutIn(email="leak.canary@example.org", name="Canary Quill", address="1 Row")
    with zoo.installed("pii-in-logs"):
        service = object.__new__(CheckoutService)
        await service.checkout(cart_id=uuid.uuid4(), user_id="u1", client_key=None, contact=contact)
    out = capsys.readouterr().out
    assert "leak.canary@example.org" in out
    assert "Canary Quill" in out


# --- Stripe calls --------------------------------------------------------------------------------


@dataclass
class FlakyStripe:
    """A Stripe that loses the first ``lose`` replies, recording each request's key."""

    lose: int
    keys: list[str | None] = field(default_factory=list)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.keys.append(request.headers.get("Idempotency-Key"))
        if len(self.keys) <= self.lose:
            raise httpx.ReadError("reply lost", request=request)
        return httpx.Response(200, json={"id": f"obj_{len(self.keys)}", "url": "http://x"})


def stripe_client(fake: FlakyStripe) -> StripeClient:
    client = StripeClient("http://stripe.invalid", SecretStr("sk_test_zoo"))
    client._http = httpx.AsyncClient(
        base_url="http://stripe.invalid", transport=httpx.MockTransport(fake.handler)
    )
    return client


@pytest.mark.parametrize(
    ("member", "retried_keys"), [("control", ["k", "k"]), ("retry-without-key", ["k", None])]
)
async def test_retry_after_a_lost_reply(
    member: str, retried_keys: list[str | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(asyncio, "sleep", _no_wait)  # backoff is not what is under test
    fake = FlakyStripe(lose=1)
    with zoo.installed(member):
        client = stripe_client(fake)
        await client.create_refund("pi_1", "k")
    assert fake.keys == retried_keys


async def _no_wait(_seconds: float) -> None:
    return None


async def test_refund_twice_uses_a_fresh_key_per_refund() -> None:
    fake = FlakyStripe(lose=0)
    with zoo.installed("refund-twice"):
        assert fulfilment._INLINE_LEASE_S == 0.0
        client = stripe_client(fake)
        await client.create_refund("pi_1", "refund-cs_1-0")
        await client.create_refund("pi_1", "refund-cs_1-0")
    first, second = fake.keys
    assert first != second
    assert first is not None
    assert first.startswith("refund-cs_1-0")


# --- webhooks ------------------------------------------------------------------------------------


def test_no_signature_check_accepts_an_unsigned_event() -> None:
    with zoo.installed("no-signature-check"):
        APP.verify_signature(b"{}", None, SECRET, 300)
    with pytest.raises(WebhookRejected):
        APP.verify_signature(b"{}", None, SECRET, 300)


@pytest.mark.parametrize("age_s", [900, -900])
def test_stale_timestamps_accepts_old_and_future_signatures(age_s: int) -> None:
    payload = b'{"id": "evt_1"}'
    header = signed_header(payload, int(time.time()) - age_s)
    with zoo.installed("stale-timestamps"):
        APP.verify_signature(payload, header, SECRET, 300)
        with pytest.raises(WebhookRejected):  # the HMAC is still checked
            APP.verify_signature(payload, signed_header(b"other", int(time.time())), SECRET, 300)
    with pytest.raises(WebhookRejected, match="tolerance"):
        APP.verify_signature(payload, header, SECRET, 300)


def test_missing_metadata_500_raises_where_the_reference_answers() -> None:
    expired = session_event("checkout.session.expired")  # no payment intent on an expired session
    no_metadata = session_event("checkout.session.completed", metadata=None, payment_intent="pi_1")
    assert APP.parse_event(expired) is not None
    with pytest.raises(WebhookRejected):
        APP.parse_event(no_metadata)  # the reference: a 400, not a 500
    with zoo.installed("missing-metadata-500"):
        with pytest.raises(AttributeError):
            APP.parse_event(expired)
        with pytest.raises(TypeError):
            APP.parse_event(no_metadata)


async def test_webhook_not_idempotent_forgets_every_event() -> None:
    repo = object.__new__(EventRepository)
    with zoo.installed("webhook-not-idempotent"):
        assert await repo.record("evt_1", "checkout.session.completed", "cs_1")
        assert await repo.record("evt_1", "checkout.session.completed", "cs_1")


# --- stock and fulfilment, against a fake Redis and a fake database ------------------------------


class FakeRedis:
    """Just enough of redis.asyncio for the zoo's patches; every call yields, as a round trip does."""

    def __init__(self) -> None:
        self.hashes: dict[str, dict[str, int]] = {}

    async def _trip(self) -> None:
        await asyncio.sleep(0)

    async def exists(self, key: str) -> int:
        await self._trip()
        return int(key in self.hashes)

    async def hget(self, key: str, field: str) -> str | None:
        await self._trip()
        value = self.hashes.get(key, {}).get(field)
        return None if value is None else str(value)

    async def hincrby(self, key: str, field: str, amount: int) -> int:
        await self._trip()
        fields = self.hashes.setdefault(key, {})
        fields[field] = fields.get(field, 0) + amount
        return fields[field]

    async def hset(self, key: str, field: str, value: int) -> int:
        await self._trip()
        self.hashes.setdefault(key, {})[field] = value
        return 1

    async def zadd(self, key: str, mapping: dict[str, float]) -> int:
        await self._trip()
        return len(mapping)

    async def zrem(self, key: str, member: str) -> int:
        return 1

    async def delete(self, key: str) -> int:
        return int(self.hashes.pop(key, None) is not None)


def fake_inventory(redis: FakeRedis) -> Inventory:
    inv = object.__new__(Inventory)
    inv._redis = redis  # type: ignore[assignment]
    return inv


async def test_non_atomic_stock_reserves_the_last_unit_twice() -> None:
    redis = FakeRedis()
    redis.hashes["inv:ticket"] = {"available": 1, "reserved": 0}
    inv = fake_inventory(redis)
    with zoo.installed("non-atomic-stock"):
        short = await asyncio.gather(
            inv.reserve("r1", [("ticket", 1)], 0.0), inv.reserve("r2", [("ticket", 1)], 0.0)
        )
    assert list(short) == [None, None]  # both "got" the one unit
    assert redis.hashes["inv:ticket"]["available"] == -1


def test_no_final_stock_check_drops_the_check_from_the_commit_script() -> None:
    with zoo.installed("no-final-stock-check"):
        patched = Inventory("redis://127.0.0.1:1")._commit.script
    reference = Inventory("redis://127.0.0.1:1")._commit.script
    assert "return 'out_of_stock'" in str(reference)
    assert "return 'out_of_stock'" not in str(patched)


@dataclass
class FakeRepos:
    events: list[str] = field(default_factory=list)
    session: CheckoutSession | None = None
    statuses: list[str] = field(default_factory=list)

    @property
    def repos(self) -> Any:
        outer = self

        class Events:
            async def record(self, event_id: str, *_: Any) -> bool:
                outer.events.append(event_id)
                return True

        class Sessions:
            async def get(self, *_: Any, **__: Any) -> CheckoutSession | None:
                return outer.session

            async def set_status(self, _id: str, status: str) -> None:
                outer.statuses.append(status)

        class Carts:
            async def reopen(self, *_: Any, **__: Any) -> bool:
                return False

        class Repos:
            events = Events()
            sessions = Sessions()
            carts = Carts()

        return Repos()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Any]:
        yield self.repos


def fake_fulfilment(db: FakeRepos, inv: Inventory) -> Fulfilment:
    return Fulfilment(db, inv, object.__new__(StripeClient))  # type: ignore[arg-type]


def paid_event(event_type: str = "checkout.session.completed") -> FulfilmentData:
    return FulfilmentData(
        event_id="evt_1",
        event_type=event_type,
        session_id="cs_1",
        paid=True,
        payment_intent="pi_1",
        amount_total=100,
        cart_id=str(uuid.uuid4()),
        user_id="u1",
    )


async def test_redis_loses_paid_order_acknowledges_and_drops_it() -> None:
    class DownInventory(Inventory):
        def __init__(self) -> None:
            pass

        async def ping(self) -> None:
            raise DependencyDown("redis", "down")

    db = FakeRepos()
    with zoo.installed("redis-loses-paid-order"):
        await fake_fulfilment(db, DownInventory())._paid(paid_event())
    assert db.events == ["evt_1"]  # recorded as handled, with no order made


async def test_expired_after_completed_puts_a_paid_sessions_units_back() -> None:
    redis = FakeRedis()
    redis.hashes["inv:mug"] = {"available": 0, "reserved": 0, "sold": 1}
    paid_session = CheckoutSession(
        "cs_1",
        uuid.uuid4(),
        "u1",
        100,
        [{"sku": "mug", "quantity": 1}],
        None,
        "",
        "paid",
        datetime.now(UTC),
    )
    db = FakeRepos(session=paid_session)
    with zoo.installed("expired-after-completed"):
        await fake_fulfilment(db, fake_inventory(redis))._closed(
            paid_event("checkout.session.expired")
        )
    assert db.statuses == ["expired"]
    assert redis.hashes["inv:mug"]["available"] == 1  # sold, and on sale again
