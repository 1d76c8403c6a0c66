"""Hostile-input property test (issue 16): every operation of the OpenAPI document, fed bodies,
queries, path values and cursors drawn from hostile strings (lone surrogates, NUL, bidi marks,
10^5 characters, LIKE wildcards), boundary datetimes and boundary numbers, as every role and
anonymously — never a 5xx, and every 4xx in the one error shape.

The generator reads the document itself: each documented body property and query parameter is
left out, given a plausible value of its type, or given a hostile one, so hostile values reach
validation next to valid ones. HOSTILE_EXAMPLES bounds the examples per operation (derandomised).
tests/test_fuzz_openapi.py runs schemathesis with the boundary datetimes as its date formats.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service_app.extensions import limiter
from tests.test_fuzz_openapi import UNFUZZED

EXAMPLES = int(os.environ.get("HOSTILE_EXAMPLES", "6"))

HOSTILE_STRINGS = [
    "\ud800", "a\udfffb", "\udbff\udc00\ud800", "\x00", "nul\x00inside", "\u202egnp.exe\u202c", "\u200f\u200e\u061c",
    "%", "_", "%_\\", "' OR '1'='1", "\r\n\t", '=HYPERLINK("http://x","y")', "🚀" * 50,
    "١٢٣", "", "   ", "null", "true", "[]", "{}",
]
BOUNDARY_MOMENTS = [
    "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "1899-12-31T23:59:59Z", "1900-01-01T00:00:00Z",
    "2099-12-31T23:59:59.999999Z", "2100-01-01T00:00:00Z", "2020-02-30T00:00:00Z", "2020-01-01T24:00:00Z",
    "2020-01-01T00:00:00", "2020-01-01T00:00:00+24:00", "2020-01-01", "0001-01-01", "9999-12-31",
    "1970-01-01T00:00:00Z",
]
BOUNDARY_NUMBERS = [
    0, -1, 1, 1.5, 1.0, -0.0, 2**31 - 1, 2**31, 2**63, -(2**63) - 1, 10**100, 1e308, -1e308, 5e-324,
    True, False, None, "1", "27.7", "NaN", "Infinity", "1e309", "0x10", "1_000",
]


def _cursor(values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


FORGED_CURSORS = [
    _cursor(["2026-01-01T00:00:00", 5]), _cursor(["2026-01-01", 5]), _cursor(["0001-01-01T00:00:00+14:00", 5]),
    _cursor(["9999-12-31T23:59:59-14:00", 5]), _cursor([1.5]), _cursor([True]), _cursor(["\ud800"]),
    _cursor([2**80]), _cursor([None, None]), _cursor({"a": 1}), _cursor(["NaN", 1]), _cursor([1e400, 1]),
    "", "!!!", "A" * 600, "=", "e30", "W10", base64.urlsafe_b64encode(b"\xff\xfe\x00").decode(),
]

# Characters a hypothesis text() mixes into generated strings besides the fixed catalogue.
_ALPHABET = st.sampled_from(["\ud800", "\udfff", "\x00", "\u202e", "\u200f", "a", "中", "%", "_", "\\", "'", "\n"])
# 10^5 characters in bodies, built when drawn (a strategy holding them would repr them in every
# report). URLs get 10^3: gunicorn refuses request lines over 4094 bytes before the app sees them.
_long_strings = st.sampled_from(["a", "中", "\ud800", "%"]).map(lambda char: char * 100_000)
_long_url_strings = st.sampled_from(["a", "中", "\ud800", "%"]).map(lambda char: char * 1_000)
url_strings = st.sampled_from(HOSTILE_STRINGS) | st.text(_ALPHABET, max_size=24) | _long_url_strings
hostile_strings = st.sampled_from(HOSTILE_STRINGS) | st.text(_ALPHABET, max_size=24) | _long_strings
_boundaries = st.sampled_from(BOUNDARY_MOMENTS) | st.sampled_from(BOUNDARY_NUMBERS)
hostile_scalars = hostile_strings | _boundaries
url_scalars = url_strings | _boundaries
hostile_values = (
    hostile_scalars
    | st.lists(hostile_scalars, max_size=3)
    | st.dictionaries(hostile_strings, hostile_scalars, max_size=2)
)


_REPEATS = re.compile(r"(.)\1{50,}")  # long strings shortened in failure reports


def _text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _resolve(document: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    if "allOf" in schema:
        merged: dict = {"properties": {}}
        for part in schema["allOf"]:
            merged["properties"].update(_resolve(document, part).get("properties", {}))
        return merged
    return schema


def _plausible(document: dict, schema: dict):
    """A value of the property's documented type, so hostile values sit next to valid ones."""
    schema = _resolve(document, schema)
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind, fmt = schema.get("type"), schema.get("format")
    if kind == "integer":
        low = schema.get("minimum", 1)
        return st.integers(min_value=low, max_value=min(schema.get("maximum", low + 4), low + 4))
    if kind == "number":
        return st.sampled_from([0.0, 27.83, 113.1])
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        return st.lists(_plausible(document, schema.get("items", {})), max_size=2)
    if fmt == "date-time":
        return st.just("2026-06-01T08:00:00+08:00")
    if fmt == "date":
        return st.just("2020-06-01")
    return st.just("株洲测试")


def _value(document: dict, schema: dict):
    return _plausible(document, schema) | hostile_values


@st.composite
def _json_body(draw, document: dict, schema: dict):
    properties = _resolve(document, schema).get("properties", {})
    body = {}
    for name, property_schema in properties.items():
        if property_schema.get("readOnly"):
            continue
        choice = draw(st.sampled_from(["omit", "plausible", "hostile"]))
        if choice == "plausible":
            body[name] = draw(_plausible(document, property_schema))
        elif choice == "hostile":
            body[name] = draw(hostile_values)
    if draw(st.integers(0, 4)) == 0:
        body[draw(hostile_strings)] = draw(hostile_scalars)  # an unknown field with a hostile name
    return body


@st.composite
def _query(draw, document: dict, parameters: list[dict]):
    query = {}
    for parameter in parameters:
        name = parameter["name"]
        choice = draw(st.sampled_from(["omit", "plausible", "hostile"]))
        if name == "cursor" and choice != "omit":
            query[name] = draw(st.sampled_from(FORGED_CURSORS) | url_strings)
        elif choice == "plausible":
            query[name] = _text(draw(_plausible(document, parameter.get("schema", {}))))
        elif choice == "hostile":
            query[name] = _text(draw(url_scalars))
    return query


@st.composite
def _path(draw, template: str, parameters: list[dict]):
    path = template
    for parameter in parameters:
        if parameter.get("schema", {}).get("type") == "integer":
            value = str(draw(st.sampled_from([1, 2, 2**31 - 1])))
        else:
            enum = parameter.get("schema", {}).get("enum", [])
            value = _url_encoded(_text(draw(st.sampled_from(enum) | url_strings if enum else url_strings)))
        path = path.replace("{" + parameter["name"] + "}", value or "x")
    return path


def _operations(document: dict):
    for template, item in document["paths"].items():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"} or (method.upper(), template) in UNFUZZED:
                continue
            parameters = [*item.get("parameters", []), *operation.get("parameters", [])]
            content = operation.get("requestBody", {}).get("content", {})
            yield method, template, parameters, content


def _request_strategy(document: dict, template: str, parameters: list[dict], content: dict):
    path = _path(template, [p for p in parameters if p["in"] == "path"])
    query = _query(document, [p for p in parameters if p["in"] == "query"])
    if "application/json" in content:
        body = _json_body(document, content["application/json"]["schema"]).map(lambda b: {"json_text": b})
    elif "multipart/form-data" in content:
        names = st.sampled_from(["\x00.png", "\u202egnp.exe", "a" * 1_000 + ".pdf", "../../etc/passwd", "%_.xlsx"])
        payloads = st.sampled_from([b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, b"PK\x03\x04" + b"\x00" * 64, b"", b"a,\x00"])
        body = st.tuples(names, payloads).map(lambda pair: {"file": pair})
    else:
        body = st.just({})
    return st.tuples(path, query, body)


def _url_encoded(text: str) -> str:
    """Percent-encoding as a careless client produces it: a lone surrogate as its three bytes."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def _send(client, method: str, path: str, query: dict, body: dict, headers: dict):
    query_string = "&".join(f"{_url_encoded(name)}={_url_encoded(value)}" for name, value in query.items())
    kwargs = {"query_string": query_string, "headers": headers}
    if "json_text" in body:
        # ensure_ascii keeps lone surrogates as \\ud800 escapes, as a client's JSON encoder sends them.
        kwargs.update(data=json.dumps(body["json_text"], ensure_ascii=True), content_type="application/json")
    elif "file" in body:
        name, payload = body["file"]
        kwargs.update(data={"file": (io.BytesIO(payload), name)}, content_type="multipart/form-data")
    return client.open(path, method=method.upper(), **kwargs)


def _assert_no_5xx_and_error_shape(response, label: str) -> None:
    assert response.status_code < 500, (label, response.status_code, response.get_data(as_text=True)[:300])
    if response.status_code >= 400:
        assert response.mimetype == "application/json", (label, response.status_code, response.mimetype)
        body = response.get_json()
        assert body["code"] == response.status_code, (label, body)
        assert isinstance(body["message"], str) and body["message"], (label, body)
        assert isinstance(body["error_code"], str), (label, body)


def _hostile_property(client, role_headers: dict, method: str, requests):
    @given(request=requests)
    @settings(
        max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
    )
    def run(request):
        path, query, body = request
        limiter.reset()
        for role, headers in role_headers.items():
            response = _send(client, method, path, query, body, headers)
            _assert_no_5xx_and_error_shape(response, f"{method.upper()} {path} as {role}")

    return run


def test_hostile_inputs_never_reach_a_5xx(client, caller_headers):
    document = client.get("/api/v1/openapi.json").get_json()
    operations = list(_operations(document))
    failures = []
    for method, template, parameters, content in operations:
        try:
            requests = _request_strategy(document, template, parameters, content)
            _hostile_property(client, caller_headers, method, requests)()
        except Exception as error:  # noqa: BLE001 - collect every operation's failure before failing
            failures.append(f"{method.upper()} {template}: {_REPEATS.sub('…', str(error))[:1500]}")
    print(f"hostile inputs: {len(operations)} operations x {len(caller_headers)} callers x up to {EXAMPLES} examples")
    assert len(operations) > 40 and not failures, "\n\n".join(failures)
