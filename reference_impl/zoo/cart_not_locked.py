"""Item edits ignore the cart's checkout status: the cart stays editable while its session is open.

The buyer pays the session's amount for the cart as it was; the shop now holds a cart that says
something else (contract 6.4: a cart is locked while its session is open and after payment).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from reference_impl import app
from reference_impl.zoo.patching import Patcher


def apply(patcher: Patcher) -> None:
    owned_cart = app._owned_cart

    async def owned_cart_always_open(
        repos: Any, cart_id: str, user_id: str, *, for_update: bool = False
    ) -> Any:
        cart = await owned_cart(repos, cart_id, user_id, for_update=for_update)
        if for_update:  # only the item edit locks the row: the bug is that it then sees "open"
            return dataclasses.replace(cart, status="open")
        return cart

    patcher.set(app, "_owned_cart", owned_cart_always_open)
