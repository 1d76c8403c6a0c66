"""PATCH semantics for typed service functions: a field the request did not send is UNCHANGED.

None is a value ("clear it"), so an absent field needs a default of its own; `sent()` keeps the
fields a request did send, for the service to check and apply.
"""

from __future__ import annotations

from typing import Any


class _Unchanged:
    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Any = _Unchanged()


def sent(**fields: Any) -> dict[str, Any]:
    """The fields whose value is not UNCHANGED, in the order given."""
    return {name: value for name, value in fields.items() if value is not UNCHANGED}
