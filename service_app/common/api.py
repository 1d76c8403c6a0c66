"""Thin subclasses of flask-smorest's Api and Blueprint: one place to customise the whole API."""

from __future__ import annotations

import flask_smorest

from service_app.common.schemas import ErrorSchema


class Api(flask_smorest.Api):
    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        """Errors are handled by service_app.errors, which registers its handlers after ours."""


class Blueprint(flask_smorest.Blueprint):
    """Domain blueprints derive from this (room for project-wide doc defaults)."""


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
