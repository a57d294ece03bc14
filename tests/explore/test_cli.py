"""``checkout-chaos explore`` refuses bad options with a message naming the option, before it
starts anything."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--examples", "0"], "--examples"),
        (["--examples", "many"], "--examples"),
        (["--steps", "0"], "--steps"),
        (["--steps", "201"], "--steps"),
        (["--seed", "-1"], "--seed"),
        (["--max-seconds", "0"], "--max-seconds"),
        (["--max-seconds", "soon"], "--max-seconds"),
    ],
)
def test_bad_option_is_refused_by_name(args: list[str], option: str) -> None:
    result = CliRunner().invoke(app, ["explore", *args])

    assert result.exit_code == 2
    assert option in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_bad_target_file_is_refused_by_name(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\ncommand = []\n')

    for path, says in ((missing, "does not exist"), (bad, "'command' is empty")):
        result = CliRunner().invoke(app, ["explore", "--target", str(path)])

        flat = " ".join(result.output.split())  # rich wraps long lines
        assert result.exit_code == 2
        assert str(path) in flat
        assert says in flat
        assert result.exception is None or isinstance(result.exception, SystemExit)
