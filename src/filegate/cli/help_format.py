"""One correction to typer's rich help: flags show no value type.

typer (pinned in pyproject) prints a type beside every option in its rich help panels,
flags included: ``--help <bool>``, ``--wait <bool>``. A flag takes no value, so that column
stays empty for flags here, as it does in typer's plain help.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperOption

_typed = TyperOption.display_type_rich


def _flag_aware(self: TyperOption, ctx: Any) -> str | None:
    if self.is_flag or self.count:
        return None
    return _typed(self, ctx)


def hide_flag_types() -> None:
    """Make typer's rich help show no type for flags (idempotent)."""
    TyperOption.display_type_rich = _flag_aware  # type: ignore[method-assign]
