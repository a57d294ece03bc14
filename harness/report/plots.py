"""Plots of a run's history as inline SVG text: timeline, latencies, order convergence."""

from __future__ import annotations

import itertools
import random
from collections import defaultdict

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch, PathPatch
from matplotlib.path import Path
from matplotlib.ticker import FuncFormatter, NullFormatter

from harness.history import FAULT_PROCESS, History, OpType
from harness.report.data import (
    ORDER_STATUSES,
    FaultWindow,
    Span,
    end_time,
    fault_windows,
    observations,
    process_order,
    spans,
)
from harness.report.svg import figure_svg, label_text, label_width_in, message_svg, set_margins

# Beyond these, bars/points are sampled so each SVG stays a few tens of KB; past MAX_VECTOR_BARS
# the bars are embedded as one raster image (a data: URI inside the SVG), whose size is bounded.
MAX_BARS = 5000
MAX_VECTOR_BARS = 600
MAX_POINTS_PER_KIND = 50
MAX_LANES = 60  # processes drawn on the timeline; the rest are folded away and said so

COLOURS = {OpType.OK: "#2e9d4a", OpType.FAIL: "#d62f2f", OpType.INFO: "#f0a020"}
STATUS_COLOURS = {"pending": "#f0a020", "fulfilled": "#2e9d4a", "refunded": "#6a5acd"}
FAULT_COLOUR = "#8a8a8a"


def _shade_faults(ax: Axes, windows: list[FaultWindow], end_s: float, label: bool) -> None:
    for i, w in enumerate(windows):
        stop = w.end_s if w.end_s is not None else end_s
        ax.axvspan(w.start_s, max(stop, w.start_s + end_s * 0.002), color=FAULT_COLOUR, alpha=0.18)
        if label:
            suffix = "" if w.end_s is not None else " (never healed)"
            ax.annotate(
                label_text(w.name) + suffix,
                xy=(w.start_s, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(0, 2 + 9 * (i % 3)),  # staggered so overlapping windows' names stay legible
                textcoords="offset points",
                fontsize=7,
                color="#444",
                va="bottom",
            )


def _sample(items: list[Span], limit: int, seed: int = 0) -> list[Span]:
    """At most ``limit`` spans, chosen at random but with fail/info ones (what a reader looks
    for) given up to half the budget, so they are never crowded out by thousands of oks."""
    if len(items) <= limit:
        return items
    rare = [s for s in items if s.outcome is not OpType.OK]
    common = [s for s in items if s.outcome is OpType.OK]
    rng = random.Random(seed)  # deterministic: the same history draws the same picture
    n_rare = min(len(rare), max(limit // 2, limit - len(common)))
    chosen = rng.sample(rare, n_rare) + rng.sample(common, min(len(common), limit - n_rare))
    return sorted(chosen, key=lambda s: s.index)


def _rectangles(items: list[tuple[float, float, int]], height: float = 0.7) -> Path:
    """All bars of one colour as a single compound path: one SVG element instead of one per bar,
    about a third of the bytes."""
    half = height / 2
    vertices: list[tuple[float, float]] = []
    for x, w, row in items:
        vertices += [(x, row - half), (x + w, row - half), (x + w, row + half), (x, row + half)]
        vertices.append((x, row - half))
    codes = [Path.MOVETO, Path.LINETO, Path.LINETO, Path.LINETO, Path.CLOSEPOLY] * len(items)
    return Path(vertices, codes)


def timeline_svg(history: History, salt: str = "timeline") -> str:
    """Jepsen-style: one lane per process, a bar per operation coloured by outcome, faults shaded."""
    all_spans = spans(history)
    if not all_spans:
        return message_svg("no operations recorded", salt)
    end_s = max(end_time(history), 1e-3)
    lanes = process_order(s.process for s in all_spans)
    folded = 0
    if len(lanes) > MAX_LANES:
        keep = set(lanes[: MAX_LANES - 2] + lanes[-2:])  # keep observer/nemesis at the end
        folded = len(lanes) - len(keep)
        lanes = [p for p in lanes if p in keep]
        all_spans = [s for s in all_spans if s.process in keep]
    drawn = _sample(all_spans, MAX_BARS)
    row = {p: i for i, p in enumerate(lanes)}
    fig = Figure(figsize=(10, min(1.4 + 0.22 * len(lanes), 12)))
    ax = fig.add_subplot()
    min_width = end_s * 0.003  # instantaneous ops stay visible
    bars: dict[OpType, list[tuple[float, float, int]]] = defaultdict(list)
    for s in drawn:
        stop = s.end_s if s.end_s is not None else end_s
        bars[s.outcome].append((s.start_s, max(stop - s.start_s, min_width), row[s.process]))
    for outcome, items in bars.items():
        patch = PathPatch(
            _rectangles(items), facecolor=COLOURS[outcome], linewidth=0, antialiased=False
        )
        patch.set_rasterized(len(drawn) > MAX_VECTOR_BARS)
        ax.add_patch(patch)
    windows = fault_windows(history)
    _shade_faults(ax, windows, end_s, label=True)
    labels = [label_text(p, 16) for p in lanes]
    ax.set_yticks(range(len(lanes)), labels, fontsize=7)
    ax.set_ylim(-0.6, len(lanes) - 0.4)
    ax.invert_yaxis()
    ax.set_xlim(0, end_s * 1.01)
    ax.set_xlabel("time (s)")
    handles = [Patch(color=COLOURS[t], label=t.value) for t in COLOURS]
    if windows:
        handles.append(Patch(color=FAULT_COLOUR, alpha=0.3, label="fault"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7)
    notes = []
    if len(drawn) < len(all_spans):
        notes.append(
            f"{len(drawn)} of {len(all_spans)} operations drawn (a random sample;"
            " fail/info ones over-represented)"
        )
    if folded:
        notes.append(f"{folded} processes not shown")
    if notes:
        fig.text(0.01, 0.01, "; ".join(notes), fontsize=7, color="#444", va="bottom")
    top = 0.15 + 0.13 * min(len(windows), 3)
    set_margins(fig, label_width_in(labels, 7), 0.9, top, 0.6 if notes else 0.45)
    return figure_svg(fig, salt)


def latency_svg(history: History, salt: str = "latency") -> str:
    """Latency per operation kind (ms): a box per kind, sampled points coloured by outcome."""
    by_f: dict[str, list[Span]] = defaultdict(list)
    for s in spans(history):
        if s.process != FAULT_PROCESS and s.latency_s is not None:
            by_f[s.f].append(s)
    if not by_f:
        return message_svg("no completed operations", salt)
    kinds = sorted(by_f)
    fig = Figure(figsize=(8, 1.0 + 0.35 * len(kinds)))
    ax = fig.add_subplot()
    data = [[(s.latency_s or 0.0) * 1000 for s in by_f[f]] for f in kinds]
    ax.boxplot(
        data,
        positions=range(len(kinds)),
        orientation="horizontal",
        showfliers=False,
        widths=0.6,
        medianprops={"color": "#222"},
    )
    rng = random.Random(0)
    sampled = False
    for i, f in enumerate(kinds):
        points = _sample(by_f[f], MAX_POINTS_PER_KIND)
        sampled = sampled or len(points) < len(by_f[f])
        for outcome in COLOURS:
            xs = [(s.latency_s or 0.0) * 1000 for s in points if s.outcome is outcome]
            ys = [i + rng.uniform(-0.22, 0.22) for _ in xs]
            if xs:
                ax.scatter(xs, ys, s=14, color=COLOURS[outcome], alpha=0.8, linewidths=0, zorder=3)
    labels = [f"{label_text(f, 24)} (n={len(by_f[f])})" for f in kinds]
    ax.set_yticks(range(len(kinds)), labels)
    ax.tick_params(axis="y", labelsize=7)
    ax.invert_yaxis()
    values = [v for d in data for v in d if v > 0]
    if values and max(values) / max(min(values), 1e-3) > 100:
        ax.set_xscale("log")  # a timeout next to 2 ms calls would flatten everything else
        # Plain numbers: the default 10^n labels go through mathtext, which is slow to parse.
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("latency (ms)")
    if sampled:
        ax.set_title(
            f"points sampled (at most {MAX_POINTS_PER_KIND} per kind); boxes use every operation",
            fontsize=7,
            loc="left",
        )
    set_margins(fig, label_width_in(labels, 7), 0.2, 0.3, 0.45)
    return figure_svg(fig, salt)


def convergence_svg(history: History, salt: str = "convergence") -> str | None:
    """Order statuses the observer saw over time; ``None`` when nothing was observed."""
    seen = observations(history)
    if not seen:
        return None
    statuses = list(ORDER_STATUSES) + sorted(
        {k for o in seen for k in o.counts} - set(ORDER_STATUSES)
    )
    fig = Figure(figsize=(8, 2.6))
    ax = fig.add_subplot()
    end_s = max(end_time(history), 1e-3)
    _shade_faults(ax, fault_windows(history), end_s, label=False)
    times = [o.time_s for o in seen]
    # Each answer holds until the next one; the last is drawn for one typical poll interval.
    gaps = sorted(b - a for a, b in itertools.pairwise(times))
    tail = gaps[len(gaps) // 2] if gaps else end_s * 0.02
    xs = [*times, times[-1] + tail]
    layers = [[o.counts.get(st, 0) for o in seen] for st in statuses]
    ax.stackplot(
        xs,
        *[[*layer, layer[-1]] for layer in layers],
        labels=[label_text(st, 20) for st in statuses],
        colors=[STATUS_COLOURS.get(st, "#999") for st in statuses],
        step="post",
        alpha=0.85,
    )
    end_s = max(end_s, xs[-1])
    ax.set_xlim(0, end_s * 1.01)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("orders (stacked)")
    ax.set_title(f"{len(seen)} observation(s)", fontsize=7, loc="left")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7)
    set_margins(fig, 0.6, 1.1, 0.15, 0.45)
    return figure_svg(fig, salt)
