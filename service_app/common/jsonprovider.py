"""JSON encoding for the API: orjson, with the answers Flask's own provider gives.

orjson writes a page of problems several times faster than the standard library (the encoder was a
tenth of a list request's CPU time). What it would write differently is kept as before:
Decimal amounts are JSON numbers (Numeric(14, 2) at most, which a double represents to the cent);
date/datetime values handed to `jsonify` directly go through Flask's own `default` (HTTP dates),
as they did; keys keep their order; non-ASCII text stays as it is. Parsing stays the standard
library's, whose acceptance of inputs the hardening tests pin down.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
from flask.json.provider import DefaultJSONProvider

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS
_INDENTED = _OPTIONS | orjson.OPT_INDENT_2


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    return DefaultJSONProvider.default(value)


class JSONProvider(DefaultJSONProvider):
    default = staticmethod(_default)
    sort_keys = False
    ensure_ascii = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        if kwargs.keys() - {"indent"}:  # a caller asking for the standard library's options gets them
            return super().dumps(obj, **kwargs)
        return self._bytes(obj, indented=bool(kwargs.get("indent"))).decode()

    def response(self, *args: Any, **kwargs: Any):
        obj = self._prepare_response_obj(args, kwargs)
        indented = self.compact is False or (self.compact is None and self._app.debug)
        return self._app.response_class(self._bytes(obj, indented=indented) + b"\n", mimetype=self.mimetype)

    def _bytes(self, obj: Any, *, indented: bool) -> bytes:
        return orjson.dumps(obj, default=_default, option=_INDENTED if indented else _OPTIONS)
