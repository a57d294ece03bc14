"""Plots: SVG text for any history, escaped labels, bounded size for big histories."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable

import pytest

from harness.history import History, OpType
from harness.report import data, plots
from tests.report.builders import EVIL, Ops, reindexed, rich_history


def _is_svg(text: str) -> None:
    assert text.startswith("<svg")
    assert text.rstrip().endswith("</svg>")
    # Well-formed XML once the xlink prefix, implied in HTML, is declared.
    ET.fromstring(text.replace("<svg", '<svg xmlns:xlink="urn:xlink"', 1))  # noqa: S314 - ours
    assert "http" not in text  # no DTD, no namespace URIs, nothing to fetch


@pytest.mark.parametrize("plot", [plots.timeline_svg, plots.latency_svg])
def test_empty_history_gives_an_svg_saying_so(plot: Callable[[History], str]) -> None:
    svg = plot(History())
    _is_svg(svg)
    assert "no " in svg


def test_no_observer_means_no_convergence_plot() -> None:
    assert plots.convergence_svg(History()) is None


def test_timeline_shows_lanes_outcomes_and_fault_names() -> None:
    svg = plots.timeline_svg(rich_history())
    _is_svg(svg)
    for lane in ("w1", "w2", "w10", "customer-0", "observer", "nemesis", "redis-down"):
        assert f">{lane}<" in svg
    for colour in plots.COLOURS.values():
        assert colour in svg  # one bar per outcome at least: ok, fail and info
    # Workers in numeric order: w2 is drawn above w10.
    assert svg.index(">w2<") < svg.index(">w10<")


def test_latency_and_convergence_plot_the_history() -> None:
    history = rich_history()
    latency = plots.latency_svg(history)
    _is_svg(latency)
    assert "checkout (n=3)" in latency
    assert "start_fault" not in latency  # the nemesis is not a target operation
    convergence = plots.convergence_svg(history)
    assert convergence is not None
    _is_svg(convergence)
    for status in ("pending", "fulfilled", "refunded"):
        assert f">{status}<" in convergence
    assert "2 observation(s)" in convergence  # the failed poll is not an observation


def test_target_data_is_escaped_and_dollars_are_not_mathtext() -> None:
    ops = Ops()
    ops.call(EVIL, EVIL, 0.0, 0.1, OpType.OK)
    ops.call("w$1", "price $5 and $x^2$", 0.1, 0.2, OpType.FAIL)
    ops.call("nemesis", "start_fault", 0.0, 0.01, OpType.OK, name="$\\frac{", cycle=0)
    history = reindexed(ops.history())
    for svg in (plots.timeline_svg(history), plots.latency_svg(history)):
        _is_svg(svg)
        assert "<script" not in svg
        assert "&lt;script&gt;" in svg


def test_huge_histories_are_sampled_and_stay_small() -> None:
    ops = Ops()
    for i in range(6000):
        start = i * 0.001
        outcome = OpType.FAIL if i % 500 == 0 else OpType.OK
        ops.call(f"w{i % 40}", "checkout" if i % 2 else "pay", start, start + 0.02, outcome)
    history = reindexed(ops.history())
    timeline = plots.timeline_svg(history)
    _is_svg(timeline)
    assert f"{plots.MAX_BARS} of 6000 operations drawn" in timeline
    assert len(timeline) < 120_000
    assert "<image" in timeline  # past MAX_VECTOR_BARS the bars are one embedded raster
    assert "data:image/png;base64," in timeline
    assert "<image" not in plots.timeline_svg(rich_history())  # small histories stay vector
    latency = plots.latency_svg(history)
    assert "points sampled" in latency
    assert len(latency) < 80_000


def test_sampling_keeps_failures_without_crowding_out_oks() -> None:
    ops = Ops()
    for i in range(3000):
        outcome = OpType.INFO if i % 100 == 0 else OpType.OK
        ops.call(f"w{i % 8}", "checkout", i * 0.01, i * 0.01 + 0.005, outcome)
    spans = data.spans(reindexed(ops.history()))
    drawn = plots._sample(spans, 100)
    assert len(drawn) == 100
    assert sum(1 for s in drawn if s.outcome is OpType.INFO) == 30
    assert drawn == sorted(drawn, key=lambda s: s.index)
    mostly_failures = [s for s in spans if s.outcome is OpType.INFO] * 10
    drawn = plots._sample(mostly_failures + spans[1:99], 100)
    assert sum(1 for s in drawn if s.outcome is OpType.OK) == 50  # half the budget at most


def test_plot_ids_differ_between_plots() -> None:
    history = rich_history()
    ids = [
        set(re.findall(r'id="([^"]+)"', plots.timeline_svg(history, salt=salt)))
        for salt in ("a", "b")
    ]
    assert ids[0]
    assert not ids[0] & ids[1]  # two plots on one page never share an id
