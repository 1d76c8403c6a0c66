"""JSON encoding for the API: Decimal amounts are JSON numbers, as the OpenAPI document says.

Flask's default provider writes Decimal as a string. Amounts here are Numeric(14, 2) at most,
which a double represents to the cent, so clients get the numbers they expect.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask.json.provider import DefaultJSONProvider


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    return DefaultJSONProvider.default(value)


class JSONProvider(DefaultJSONProvider):
    default = staticmethod(_default)
    sort_keys = False
    ensure_ascii = False
