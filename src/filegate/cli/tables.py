"""Tables of the commands: rich tables on a terminal, tab-separated lines anywhere else.

On a terminal a table has a title, a header, a bold total row and cells that wrap to the
terminal's width. Without one (a pipe, a file, a CI log) every row is one line: its cells in
the terminal's column order, separated by tabs, never wrapped; no title, header or total,
so that ``cut -f1`` gives the first column. Tabs and line breaks inside a cell become spaces.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

_SEPARATORS = re.compile(r"[\t\r\n\x0b\x0c\x1c-\x1f\x85\u2028\u2029]")


@dataclass(frozen=True)
class Col:
    """A column: its header, and how a terminal shows its cells."""

    header: str
    right: bool = False
    """Right-justified (numbers, sizes)."""
    wraps: bool = False
    """Long free text that may fold onto more lines on a terminal; other cells never wrap."""
    markup: Callable[[str], str] | None = None
    """Rich markup for a cell's plain text on a terminal (e.g. a state in its colour)."""


@dataclass
class Sheet:
    """Rows of plain-text cells under ``columns``; ``grid`` sheets have no header (key/value)."""

    columns: tuple[Col, ...]
    title: str | None = None
    grid: bool = False
    rows: list[tuple[str, ...]] = field(default_factory=list)
    total: tuple[str, ...] | None = None
    """A summary row, shown (bold) on a terminal only."""

    def add(self, *cells: str) -> None:
        self.rows.append(cells)


def print_sheets(console: Console, *sheets: Sheet) -> None:
    """Print ``sheets`` on ``console``: rich tables on a terminal, else tab-separated rows."""
    if not console.is_terminal:  # straight to the file: rich would expand the tabs
        lines = [
            "\t".join(plain_cell(cell) for cell in row) for sheet in sheets for row in sheet.rows
        ]
        console.file.write("".join(f"{line}\n" for line in lines))
        console.file.flush()
        return
    for number, sheet in enumerate(sheets):
        if number:
            console.print()
        console.print(_rich_table(sheet), soft_wrap=False)


def plain_cell(text: str) -> str:
    """``text`` on one line, without tabs: a cell of a tab-separated row."""
    return _SEPARATORS.sub(" ", text)


def _rich_table(sheet: Sheet) -> Table:
    table = _grid() if sheet.grid else _table(sheet.title)
    for number, col in enumerate(sheet.columns):
        table.add_column(
            col.header,
            justify="right" if col.right else "left",
            no_wrap=not col.wraps,
            overflow="fold",
            style="bold" if sheet.grid and number == 0 else None,
        )
    for row in sheet.rows:
        table.add_row(*_marked(sheet.columns, row))
    if sheet.total is not None:
        table.add_row(*(f"[bold]{escape(cell)}[/]" for cell in sheet.total))
    return table


def _marked(columns: tuple[Col, ...], row: tuple[str, ...]) -> list[str]:
    return [
        col.markup(cell) if col.markup and cell else escape(cell)
        for col, cell in zip(columns, row, strict=True)
    ]


def _table(title: str | None) -> Table:
    return Table(
        title=title,
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )


def _grid() -> Table:
    return Table.grid(padding=(0, 2))
