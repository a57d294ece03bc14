"""selftest.html from hand-made matrices: the cells' colours, the plot, the headline, escaping."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from markupsafe import escape
from rich.console import Console

from harness.report.selftest import first_detection_svg, render_selftest_html, write_selftest_html
from harness.selftest import cli
from harness.selftest.matrix import Cell, Matrix, MemberRun
from harness.selftest.runner import reproduce_command

EVIL = "<script>alert('pwned')</script>"
EVIL_SCENARIO = 'x"><b>$1 & 2</b>'  # an attribute break-out, markup, mathtext and an ampersand


def _cell(scenario: str, *violated: str, at: float = 1.0, error: str | None = None) -> Cell:
    return Cell(scenario, tuple(violated), error, 0.5, at)


def _bug(name: str, expected: str, *cells: Cell) -> MemberRun:
    return MemberRun(name, f"the {name} bug", False, list(cells), 10.0, 1, None, (expected,))


def mixed_matrix() -> Matrix:
    """One cell of every kind; the control listed last, to show it is drawn first anyway.

    columns: control, refund-twice, EVIL, pii-in-logs, non-atomic-stock
    storm:       clean     collateral  counted  clean    collateral
    stock-out:   alarm     counted     broken   clean    clean
    EVIL_SCEN.:  clean     clean       clean    counted  clean
    """
    runs = [
        _bug(
            "refund-twice",
            "refund-exactly-once",
            _cell("storm", "conservation", at=2.0),
            _cell("stock-out", "conservation", "refund-exactly-once", at=7.5),
            _cell(EVIL_SCENARIO, at=8.0),
        ),
        _bug(
            EVIL,
            "no-oversell",
            _cell("storm", "no-oversell", at=2.0),
            _cell("stock-out", error="TimeoutError: <never> answered", at=3.0),
            _cell(EVIL_SCENARIO, at=4.0),
        ),
        _bug(
            "pii-in-logs",
            "no-pii-in-logs",
            _cell("storm", at=1.0),
            _cell("stock-out", at=5.0),
            _cell(EVIL_SCENARIO, "no-pii-in-logs", at=9.0),
        ),
        _bug(
            "non-atomic-stock",
            "no-oversell",
            _cell("storm", "convergence", at=1.0),
            _cell("stock-out", at=2.0),
            _cell(EVIL_SCENARIO, at=3.0),
        ),
        MemberRun(
            "control",
            "the correct reference",
            is_control=True,
            cells=[_cell("storm"), _cell("stock-out", "convergence"), _cell(EVIL_SCENARIO)],
        ),
    ]
    return Matrix(["storm", "stock-out", EVIL_SCENARIO], runs, seed=42, lanes=3, total_s=123.4)


@pytest.fixture(scope="module")
def page() -> str:
    """Rendered once: the tests below only read it (plotting is the slow part)."""
    return render_selftest_html(mixed_matrix())


def _table(html: str, cls: str) -> str:
    match = re.search(rf'<table class="{cls}">.*?</table>', html, re.S)
    assert match is not None, cls
    return match.group(0)


def _rows(html: str) -> list[list[str]]:
    """The matrix's cell classes, row by row."""
    body = _table(html, "matrix zoo")
    return [
        re.findall(r'<td class="z ([a-z]+)', row)
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)[1:]
    ]


def test_cells_are_classed_counted_collateral_broken_alarm_and_clean(page: str) -> None:
    assert _rows(page) == [
        ["clean", "collateral", "counted", "clean", "collateral"],
        ["alarm", "counted", "broken", "clean", "clean"],
        ["clean", "clean", "clean", "counted", "clean"],
    ]
    header = _table(page, "matrix zoo").split("</tr>")[0]
    members = re.findall(r"<div>(.*?)</div>", header)
    assert members[0] == "control"  # listed last in the matrix, drawn first
    assert members[1:3] == ["refund-twice", str(escape(EVIL))]


def test_cells_name_their_invariants_by_short_code(page: str) -> None:
    body = _table(page, "matrix zoo")
    # counted bold, the collateral beside it dimmed; collateral-only dimmed alone
    assert re.search(r'class="z counted"[^>]*>REF<span class="extra">/CON</span></td>', body)
    assert re.search(r'class="z collateral"[^>]*><span class="extra">CON</span></td>', body)
    assert re.search(r'class="z broken"[^>]*>ERR</td>', body)
    assert re.search(r'class="z alarm control"[^>]*>CNV</td>', body)
    # the hover text says why, including the error of a broken run
    assert "TimeoutError: &lt;never&gt; answered" in body
    assert "<strong>CON</strong> conservation" in page  # the legend
    assert "<strong>5XX</strong> no-server-errors-on-bad-input" in page


def test_headline_seed_lanes_and_runtime(page: str) -> None:
    banner = re.search(r'<div class="banner (\w+)">(.*?)</div>', page, re.S)
    assert banner is not None
    assert banner.group(1) == "fail"
    assert (
        "3 of 4 bugs detected; control raised false alarms; "
        "median time to first detection 7.5 s" in banner.group(2)
    )
    assert "Undetected: non-atomic-stock." in banner.group(2)
    assert "seed <strong>42</strong>" in page
    assert "<strong>3</strong> lane(s)" in page
    assert "total runtime <strong>123.4 s</strong>" in page


def test_the_first_detection_plot_is_inline_svg_sorted_with_the_median(page: str) -> None:
    assert page.count("<svg") == 1
    svg = page[page.index("<svg") : page.index("</svg>")]
    assert "median 7.5 s" in svg
    assert "dashed: the median, 7.5 s" in page
    # fastest first, the escaped bug last; the control has no bar
    order = [svg.index(name) for name in ("&lt;script&gt;", "refund-twice", "pii-in-logs")]
    assert order == sorted(order)
    assert svg.index("pii-in-logs") < svg.index("non-atomic-stock")
    assert "undetected" in svg
    assert "control" not in svg
    assert "7.5 s  stock-out" in svg  # each bar names the scenario that caught it first


def test_reproduce_commands_for_every_catching_cell_and_problem(page: str) -> None:
    detections = _table(page, "detections")
    for member, scenario in (
        ("refund-twice", "stock-out"),
        (EVIL, "storm"),
        ("pii-in-logs", EVIL_SCENARIO),
    ):
        assert str(escape(reproduce_command(member, scenario, 42))) in detections
    assert "--bug non-atomic-stock" not in detections  # collateral only: not a detection
    problems = _table(page, "problems")
    assert "false alarm: CNV convergence" in problems
    assert str(escape(reproduce_command("control", "stock-out", 42))) in problems
    assert "run broke: TimeoutError: &lt;never&gt; answered" in problems
    members = _table(page, "members")
    assert "tripped only invariants it does not break (storm: CNV)" in members
    assert "a detection must flag OVR" in members
    control = re.search(r"<tr>\s*<td>control</td>.*?</tr>", members, re.S)
    assert control is not None
    assert '<td class="num">\u2013</td>' in control.group(0)  # an alarm is not a detection


def test_hostile_member_and_scenario_names_are_escaped_everywhere(page: str) -> None:
    assert "<script" not in page
    assert "<b>" not in page
    assert page.count("&lt;script&gt;") >= 6  # header, hover texts, tables, plot
    assert "x&#34;&gt;&lt;b&gt;$1 &amp; 2&lt;/b&gt;" in page  # the scenario, as text
    assert "<a href" not in page  # no folder given: no links, and nothing to escape in one


def test_self_contained_no_scripts_no_network(page: str) -> None:
    assert "<link" not in page.lower()
    assert "@import" not in page
    assert "http://" not in page
    assert "https://" not in page
    assert not re.search(r"\bsrc=", page)


def test_links_to_the_runs_files_that_exist(tmp_path: Path) -> None:
    run_dir = tmp_path / "refund-twice" / "stock-out"
    run_dir.mkdir(parents=True)
    for name in ("result.json", "history.jsonl"):
        (run_dir / name).write_text("{}")
    matrix = mixed_matrix()
    matrix.write(tmp_path / "selftest.json")
    page = write_selftest_html(matrix, tmp_path)
    assert page == tmp_path / "selftest.html"
    html = page.read_text()
    cell = re.search(r'<td class="z counted"[^>]*><a href="([^"]+)">REF', html)
    assert cell is not None
    assert cell.group(1) == "refund-twice/stock-out/result.json"
    detections = _table(html, "detections")
    assert '<a href="refund-twice/stock-out/history.jsonl">history.jsonl</a>' in detections
    assert '<a href="refund-twice/">refund-twice</a>' in _table(html, "members")
    assert html.count("<a href=") == 4  # the cell, its two files, the member's folder


def test_a_clean_run_passes_with_nothing_needing_attention() -> None:
    runs = [
        MemberRun("control", "correct", is_control=True, cells=[_cell("s")]),
        _bug("refund-twice", "refund-exactly-once", _cell("s", "refund-exactly-once", at=4.0)),
    ]
    html = render_selftest_html(Matrix(["s"], runs, seed=1, lanes=1))
    assert '<div class="banner pass">' in html
    assert "1 of 1 bugs detected; control clean; median time to first detection 4.0 s" in html
    assert "Needs attention" not in html
    assert _rows(html) == [["clean", "counted"]]


def test_a_zoo_without_bugs_draws_a_plot_that_says_so() -> None:
    control = MemberRun("control", "correct", is_control=True, cells=[_cell("s")])
    svg = first_detection_svg(Matrix(["s"], [control], seed=1, lanes=1))
    assert svg.startswith("<svg")
    assert "no bugs in this selftest" in svg


def test_the_selftest_command_writes_the_page_beside_the_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wiring, with the lanes replaced by the hand-made matrix (the real run takes minutes)."""
    monkeypatch.setattr(cli, "run_selftest", lambda *_args, **_kwargs: mixed_matrix())
    out = io.StringIO()
    console = Console(file=out, width=300, no_color=True)
    code = cli.selftest_command(
        bugs=["refund-twice"],
        scenarios=["happy-path"],
        seed=42,
        out=tmp_path,
        scenarios_dir=None,
        lanes=1,
        console=console,
        err=Console(file=io.StringIO()),
    )
    assert code == 1  # a bug escaped and the control alarmed
    assert (tmp_path / "selftest.json").is_file()
    assert (tmp_path / "selftest.html").is_file()
    text = out.getvalue()
    assert f"report: {tmp_path / 'selftest.html'}" in text
    assert text.index("matrix: ") < text.index("report: ")
