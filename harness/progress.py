"""The two progress displays every long CLI command uses, so they look and behave alike."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)


def spinner(console: Console, *, transient: bool = True) -> Progress:
    """Work of unknown length: a spinner, what is happening now, and the time so far."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=transient,
    )


def counter(console: Console) -> Progress:
    """A known number of steps (scenarios, matrix cells): a bar, M of N, and the time so far."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
