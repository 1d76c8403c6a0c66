"""Results that read as the row they wrap: a row plus what a service computed for the caller."""

from __future__ import annotations

from typing import Any, ClassVar


class RowView:
    """Reads as the wrapped row for every name the view does not define itself.

    A subclass (usually a dataclass) names the field holding the row:
    `class ProblemView(RowView, row="problem")`. Schemas then dump the row's columns and the
    view's own fields alike.
    """

    _row_field: ClassVar[str]

    def __init_subclass__(cls, *, row: str, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._row_field = row

    def __getattr__(self, name: str) -> Any:
        # Only reached for names the view lacks; the row field itself unset (copying, unpickling)
        # must not recurse.
        field = type(self)._row_field
        if name == field:
            raise AttributeError(name)
        return getattr(getattr(self, field), name)
