"""Committing a paid session whose reservation is gone sells its units without a stock check.

The reference's commit script falls back to "sell from what is left, or report out_of_stock";
this one sells regardless, so a paid session whose stock vanished oversells instead of refunding.
"""

from __future__ import annotations

from reference_impl import inventory
from reference_impl.zoo.patching import Patcher

_FINAL_CHECK = """
  for i = 4, #ARGV, 2 do
    local avail = tonumber(redis.call('HGET', 'inv:' .. ARGV[i], 'available') or '0')
    if avail < tonumber(ARGV[i + 1]) then
      redis.call('SET', KEYS[1], 'out_of_stock', 'EX', ARGV[1])
      return 'out_of_stock'
    end
  end
"""


def commit_script() -> str:
    script = inventory._COMMIT
    if _FINAL_CHECK not in script:
        raise RuntimeError("the reference commit script changed: update this zoo member")
    return script.replace(_FINAL_CHECK, "\n")


def apply(patcher: Patcher) -> None:
    # Inventory registers its scripts when it is built, after this runs.
    patcher.set(inventory, "_COMMIT", commit_script())
