"""The history: every operation of a run as invoke -> ok | fail | info, in order.

As in Jepsen, ``info`` means the outcome is unknown (a timeout, a dropped connection): the
operation may or may not have taken effect, and checkers must allow both.
"""

from harness.history.model import FAULT_PROCESS, OBSERVER_PROCESS, History, Op, OpType

__all__ = ["FAULT_PROCESS", "OBSERVER_PROCESS", "History", "Op", "OpType"]
