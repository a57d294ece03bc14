"""Selftest: the default suite against every member of the bug zoo, and the detection matrix.

A harness is worth the bugs it catches. ``run_selftest`` runs each zoo member (the reference with
one classic bug, plus the correct reference as the control) through the scenarios, in parallel
lanes that each own a whole stack, and ``Matrix`` says which scenario caught which bug by which
invariant, how soon, and whether the control stayed clean.
"""

from harness.selftest.matrix import Cell, Matrix, MemberRun
from harness.selftest.runner import run_selftest
from harness.selftest.zoo import Member, members

__all__ = ["Cell", "Matrix", "Member", "MemberRun", "members", "run_selftest"]
