"""Thin subclasses of flask-smorest's Api and Blueprint: one place to customise the whole API."""

from __future__ import annotations

import json
import re

import flask_smorest
from flask.views import MethodView
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


_METHOD_VERBS = {"post": "create", "put": "replace", "patch": "update", "delete": "delete"}


def operation_id(name: str) -> str:
    """camelCase of a snake_case (or CamelCase) name: `list_problems` -> `listProblems`."""
    words = [word for word in re.split(r"_|(?<=[a-z0-9])(?=[A-Z])", name) if word]
    return words[0].lower() + "".join(word[:1].upper() + word[1:] for word in words[1:])


def _method_view_operation_id(view: type[MethodView], method: str, rule: str) -> str:
    """`Users.get` -> listUsers, `UserById.get` -> getUser, `Users.post` -> createUser, `UserById.patch` -> updateUser.

    The verb comes from the HTTP method; a GET whose rule ends in a path parameter reads one item.
    """
    name = view.__name__.removesuffix("ById")
    singular = name.removesuffix("s") if name.endswith("s") and not name.endswith("ss") else name
    if method == "get":
        return operation_id(("get" if rule.endswith(">") else "list") + (singular if rule.endswith(">") else name))
    return operation_id(_METHOD_VERBS[method] + singular)


class Blueprint(flask_smorest.Blueprint):
    """Domain blueprints derive from this: one place for project-wide parsing and doc defaults.

    Every operation gets an `operationId` here: a view function's endpoint name in camelCase
    (`list_problems` -> `listProblems`), or for a MethodView the HTTP verb and the class name
    (`getUser`, `createUser`). A view may name itself with `@blp.doc(operationId=...)`. An operation
    without a `security` of its own is marked public (`security: []`).
    """

    ARGUMENTS_PARSER = Parser()

    def add_url_rule(self, rule, endpoint=None, view_func=None, provide_automatic_options=None, **options):
        super().add_url_rule(rule, endpoint, view_func, provide_automatic_options, **options)
        endpoint = self._endpoints[-1]
        for method, doc in self._docs[endpoint].items():
            if method == "parameters":
                continue
            manual = doc.setdefault("manual_doc", {})
            manual.setdefault("security", [])  # public unless roles_required/login_required says otherwise
            if "operationId" not in manual:
                if isinstance(view_func, type) and issubclass(view_func, MethodView):
                    manual["operationId"] = _method_view_operation_id(view_func, method, rule)
                else:
                    manual["operationId"] = operation_id(endpoint)


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
