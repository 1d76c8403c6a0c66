"""The spec's two formats: JSON, and XML without a namespace whose element names follow the spec."""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree

from flask import Response

# The element of each item of a list, by the list's own element (the spec's ⇊ / ↴ pairs).
ITEM_TAGS = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}
CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(element: ElementTree.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _fill(ElementTree.SubElement(element, key), child)
    elif isinstance(value, list):
        for item in value:
            _fill(ElementTree.SubElement(element, ITEM_TAGS[element.tag]), item)
    else:
        element.text = _text(value)


def to_xml(payload: Any, root: str) -> bytes:
    element = ElementTree.Element(root)
    _fill(element, payload)
    body = ElementTree.tostring(element, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


def render(payload: Any, *, fmt: str, root: str, status: int = 200, headers: dict | None = None) -> Response:
    """`root` names the XML document element (services, service_requests, service_definition …)."""
    if fmt == "xml":
        body = to_xml(payload, root)
    else:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return Response(body, status=status, content_type=CONTENT_TYPES[fmt], headers=headers)
