"""Locust users that shop against a checkout target and pay at the Stripe simulator.

Run by ``checkout-chaos load`` (which starts the stack, the simulator and the target, then checks
the invariants on what the load left behind). Run by hand, it needs:

- ``--host``: the target's base URL;
- ``CHECKOUT_CHAOS_SKUS``: comma-separated skus the target sells;
- ``CHECKOUT_CHAOS_SIMULATOR``: the Stripe simulator's base URL (admin routes pay sessions);
- ``CHECKOUT_CHAOS_ITERATIONS``: purchases per user before it stops (bounded, default 20);
- ``CHECKOUT_CHAOS_PAY_RATIO``: share of sessions paid, the rest abandoned (default 0.8);
- ``CHECKOUT_CHAOS_SEED``: seeds each user's choices (skus, double clicks, pay or abandon), so a
  run's decisions repeat; timing still depends on the machine.

Every request goes to loopback (the harness refuses other hosts unless allowed), and every user
stops after its iterations, so the load is bounded in count as well as by ``--run-time``.
"""

from __future__ import annotations

import itertools
import os
import random
import uuid

from locust import HttpUser, between, task
from locust.exception import StopUser

SKUS = [s for s in os.environ.get("CHECKOUT_CHAOS_SKUS", "").split(",") if s]
SIMULATOR = os.environ.get("CHECKOUT_CHAOS_SIMULATOR", "")
ITERATIONS = int(os.environ.get("CHECKOUT_CHAOS_ITERATIONS", "20"))
PAY_RATIO = float(os.environ.get("CHECKOUT_CHAOS_PAY_RATIO", "0.8"))
SEED = int(os.environ.get("CHECKOUT_CHAOS_SEED", "0"))
_user_numbers = itertools.count()  # users start one at a time in this process


class Shopper(HttpUser):
    """One buyer: cart, one or two items, checkout (sometimes twice: a double click), pay."""

    wait_time = between(0.05, 0.3)

    def on_start(self) -> None:
        if not SKUS or not SIMULATOR:
            raise StopUser("CHECKOUT_CHAOS_SKUS and CHECKOUT_CHAOS_SIMULATOR must be set")
        self.user_id = f"load-{uuid.uuid4().hex[:10]}"
        self.rng = random.Random(f"{SEED}:{next(_user_numbers)}")
        self.done = 0

    @task
    def buy(self) -> None:
        if self.done >= ITERATIONS:
            raise StopUser
        self.done += 1
        headers = {"X-User-Id": self.user_id}
        with self.client.post(
            "/carts", json={"user_id": self.user_id}, catch_response=True, name="POST /carts"
        ) as created:
            if created.status_code != 201:
                created.failure(f"cart: {created.status_code}")
                return
            cart_id = created.json()["cart_id"]
        for sku in self.rng.sample(SKUS, k=min(len(SKUS), self.rng.randint(1, 2))):
            self.client.put(
                f"/carts/{cart_id}/items/{sku}",
                json={"quantity": 1},
                headers=headers,
                name="PUT /carts/[id]/items/[sku]",
            )
        contact = {
            "email": f"{self.user_id}@load.invalid",
            "name": "Load Tester",
            "address": "1 Load Street",
        }
        clicks = 2 if self.rng.random() < 0.2 else 1  # some users double-click
        session_id = None
        for _ in range(clicks):
            with self.client.post(
                f"/carts/{cart_id}/checkout",
                json=contact,
                headers=headers,
                catch_response=True,
                name="POST /carts/[id]/checkout",
            ) as out:
                if out.status_code == 201:
                    session_id = out.json()["checkout_session_id"]
                elif out.status_code == 409:
                    out.success()  # out of stock is a correct answer under load
                else:
                    out.failure(f"checkout: {out.status_code}")
        if session_id is None:
            return
        action = "pay" if self.rng.random() < PAY_RATIO else "expire"
        self.client.post(
            f"{SIMULATOR}/_simulator/sessions/{session_id}/{action}",
            json={"outcome": "paid"} if action == "pay" else {},
            name=f"simulator {action}",
        )
