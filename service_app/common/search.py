"""Text search for `?q=` filters: the one place a LIKE pattern is built from user input.

`%` and `_` in the query are escaped, so `?q=%` finds names containing a percent sign instead of
every row; the match ignores case on both databases (SQLite's LIKE does, PostgreSQL's does not).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_


def contains_text(*columns, text: str) -> ColumnElement[bool]:
    """Any of `columns` contains `text`, literally and case-insensitively."""
    return or_(*(column.icontains(text, autoescape=True) for column in columns))
