"""Matplotlib figures as inline SVG text: what every plot of every report page shares.

Figures are built with ``matplotlib.figure.Figure`` rather than pyplot, so no global figure state
is touched and reports can be written from any thread.
"""

from __future__ import annotations

import io
import re

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def label_text(s: str, limit: int = 40) -> str:
    """Target data as a matplotlib label: '$' would start mathtext (and could fail to parse)."""
    s = s if len(s) <= limit else s[: limit - 1] + "…"
    return s.replace("$", r"\$")


def figure_svg(fig: Figure, salt: str) -> str:
    """The figure as an SVG element ready to inline in HTML (no prolog, DTD or namespaces).

    Coordinates are cut to 0.1 pt: invisible at this size, and about half the bytes."""
    FigureCanvasAgg(fig)
    buf = io.StringIO()
    # Text stays text (smaller, selectable); the salt keeps ids of different plots distinct.
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": salt}):
        fig.savefig(
            buf,
            format="svg",
            metadata={"Date": None, "Creator": None, "Format": None, "Type": None},
        )
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    # Namespace URIs are implied for inline SVG in HTML; dropping them keeps the page free of
    # anything that looks like a network reference. Generic ids would repeat across plots.
    svg = re.sub(r'\s+xmlns(:xlink)?="[^"]*"', "", svg, count=2)
    svg = re.sub(r' id="[A-Za-z][A-Za-z0-9.]*_\d+"', "", svg)
    svg = re.sub(r'd="([^"]*)"', lambda m: 'd="' + _short_path(m.group(1)) + '"', svg)
    svg = re.sub(r' ([xy])="(-?\d+\.\d)\d*"', r' \1="\2"', svg)  # marker positions likewise
    return re.sub(r"\n\s*", "\n", svg)


def _short_path(d: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"(\.\d)\d+", r"\1", d)).strip()


def set_margins(
    fig: Figure, left_in: float, right_in: float, top_in: float, bottom_in: float
) -> None:
    """Fixed margins in inches: ``tight_layout`` would lay every text out once more (slow)."""
    w, h = fig.get_size_inches()
    fig.subplots_adjust(
        left=left_in / w, right=1 - right_in / w, top=1 - top_in / h, bottom=bottom_in / h
    )


def label_width_in(labels: list[str], size_pt: float) -> float:
    """Rough width of the longest label (DejaVu Sans averages ~0.6 em per character)."""
    return max((len(s) for s in labels), default=0) * size_pt * 0.6 / 72 + 0.15


def message_svg(message: str, salt: str) -> str:
    """A small SVG that only says ``message``: a plot with nothing to draw."""
    fig = Figure(figsize=(6, 1.0))
    fig.text(0.5, 0.5, label_text(message, 80), ha="center", va="center", color="#666")
    return figure_svg(fig, salt)
