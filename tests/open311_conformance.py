"""Conformance checks of Open311 answers: the official JSON Schemas (tests/data/open311, `$ref`s resolved
with a `referencing` registry) and the spec's XML element names. Shared by the gateway and live tests."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from xml.etree import ElementTree

from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

SCHEMA_DIR = Path(__file__).resolve().parent / "data" / "open311"
_SCHEMAS = {path.name: json.loads(path.read_text()) for path in SCHEMA_DIR.glob("*.json")}
REGISTRY = Registry().with_resources(
    (name, Resource.from_contents(contents, default_specification=DRAFT7)) for name, contents in _SCHEMAS.items()
)

# The spec's element names: the document element, each list's item element, and each item's fields.
REQUEST_FIELDS = {
    "service_request_id", "status", "status_notes", "service_name", "service_code", "description",
    "agency_responsible", "service_notice", "requested_datetime", "updated_datetime", "expected_datetime",
    "address", "address_id", "zipcode", "lat", "long", "media_url",
}
POSTED_FIELDS = {"service_request_id", "token", "service_notice", "account_id"}
SERVICE_FIELDS = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
ATTRIBUTE_FIELDS = {
    "variable", "code", "datatype", "required", "datatype_description", "order", "description", "values",
}
DISCOVERY_FIELDS = {"changeset", "contact", "key_service", "endpoints"}
ENDPOINT_FIELDS = {"specification", "url", "changeset", "type", "formats"}
DATE_FIELDS = ("requested_datetime", "updated_datetime", "expected_datetime")


def assert_valid(document, schema_name: str) -> None:
    """The document is valid against the official schema (every error listed when not)."""
    validator = Draft7Validator(_SCHEMAS[schema_name], registry=REGISTRY)
    errors = [f"{list(error.absolute_path)}: {error.message}" for error in validator.iter_errors(document)]
    assert errors == [], errors


def assert_w3_dates(requests: list[dict]) -> None:
    """Date fields carry an offset (the spec's w3 format), which the schemas' `format` does not enforce."""
    for request in requests:
        for name in DATE_FIELDS:
            if request.get(name) is not None:
                assert datetime.fromisoformat(request[name]).utcoffset() is not None, request[name]


def assert_error_list(document, status: int) -> None:
    assert isinstance(document, list) and document, document
    for error in document:
        assert set(error) == {"code", "description"}, error
        assert error["code"] == status and isinstance(error["description"], str) and error["description"]


def _scalar(element: ElementTree.Element) -> str | None:
    assert len(element) == 0, f"<{element.tag}> should hold text, not elements"
    return element.text


def _items(element: ElementTree.Element, item: str) -> list[ElementTree.Element]:
    assert all(child.tag == item for child in element), (element.tag, [child.tag for child in element])
    return list(element)


def _fields(element: ElementTree.Element, allowed: set[str]) -> dict[str, ElementTree.Element]:
    names = [child.tag for child in element]
    assert set(names) <= allowed, set(names) - allowed
    assert len(names) == len(set(names)), names
    return {child.tag: child for child in element}


def parse_xml(body: bytes) -> ElementTree.Element:
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>'), body[:60]
    root = ElementTree.fromstring(body)
    assert "}" not in root.tag, "the spec's XML has no namespace"
    return root


def xml_document(body: bytes, kind: str):
    """Parse an XML answer, check every element name against the spec for `kind`, return it as data.

    kinds: services, service_definition, requests, posted, errors, discovery. Values stay strings
    (XML has no types), so callers compare them with the JSON answer's values as text.
    """
    root = parse_xml(body)
    if kind == "services":
        assert root.tag == "services"
        return [{k: _scalar(v) for k, v in _fields(s, SERVICE_FIELDS).items()} for s in _items(root, "service")]
    if kind in ("requests", "posted"):
        assert root.tag == "service_requests"
        allowed = REQUEST_FIELDS if kind == "requests" else POSTED_FIELDS
        return [{k: _scalar(v) for k, v in _fields(r, allowed).items()} for r in _items(root, "request")]
    if kind == "errors":
        assert root.tag == "errors"
        return [{k: _scalar(v) for k, v in _fields(e, {"code", "description"}).items()} for e in _items(root, "error")]
    if kind == "service_definition":
        assert root.tag == "service_definition"
        top = _fields(root, {"service_code", "attributes"})
        attributes = []
        for attribute in _items(top["attributes"], "attribute"):
            fields = _fields(attribute, ATTRIBUTE_FIELDS)
            values = fields.pop("values", None)
            item = {k: _scalar(v) for k, v in fields.items()}
            if values is not None:
                item["values"] = [{k: _scalar(v) for k, v in _fields(value, {"key", "name"}).items()}
                                  for value in _items(values, "value")]
            attributes.append(item)
        return {"service_code": _scalar(top["service_code"]), "attributes": attributes}
    if kind == "discovery":
        assert root.tag == "discovery"
        top = _fields(root, DISCOVERY_FIELDS)
        endpoints = []
        for endpoint in _items(top.pop("endpoints"), "endpoint"):
            fields = _fields(endpoint, ENDPOINT_FIELDS)
            formats = [_scalar(f) for f in _items(fields.pop("formats"), "format")]
            endpoints.append({**{k: _scalar(v) for k, v in fields.items()}, "formats": formats})
        return {**{k: _scalar(v) for k, v in top.items()}, "endpoints": endpoints}
    raise ValueError(kind)


def as_text(value):
    """A JSON value as the XML answer writes it."""
    if isinstance(value, dict):
        return {k: as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_text(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return None if value is None else str(value)
