"""Thin subclasses of flask-smorest's Api and Blueprint: one place to customise the whole API."""

from __future__ import annotations

import json

import flask_smorest
from webargs.flaskparser import FlaskParser

from service_app.common.schemas import ErrorSchema, text_input


class Parser(FlaskParser):
    """webargs' parser, also turning the JSON failures it does not expect into a 400.

    `json.loads` raises RecursionError for deeply nested documents and ValueError for integers of
    more than 4300 digits; both would otherwise escape as 500s. Every location but the JSON body
    (query string, form, headers, path) carries text, which the number fields then parse.
    """

    def parse(self, argmap, req=None, *, location=None, **kwargs):
        if (location or self.location) == "json":
            return super().parse(argmap, req, location=location, **kwargs)
        with text_input():
            return super().parse(argmap, req, location=location, **kwargs)

    def _raw_load_json(self, req):
        try:
            return super()._raw_load_json(req)
        except json.JSONDecodeError:
            raise
        except (ValueError, RecursionError) as error:
            raise json.JSONDecodeError(f"unparseable JSON: {type(error).__name__}", "<body>", 0) from None


class Api(flask_smorest.Api):
    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        """Errors are handled by service_app.errors, which registers its handlers after ours."""


class Blueprint(flask_smorest.Blueprint):
    """Domain blueprints derive from this: one place for project-wide parsing and doc defaults."""

    ARGUMENTS_PARSER = Parser()


def error_responses(*statuses: int) -> dict:
    """OpenAPI `responses` for error statuses, all in the one error shape."""
    from http import HTTPStatus

    return {
        str(status): {
            "description": HTTPStatus(status).phrase,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for status in statuses
    }
