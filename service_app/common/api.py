"""Thin subclasses of flask-smorest's Api and Blueprint: one place to customise the whole API."""

from __future__ import annotations

import json
import re
from http import HTTPStatus

import apispec.ext.marshmallow
import flask_smorest
import marshmallow as ma
from apispec import BasePlugin
from flask.views import MethodView
from webargs.flaskparser import FlaskParser

from service_app.common.error_codes import CATALOGUE
from service_app.common.field_docs import GLOSSARY
from service_app.common.schemas import ErrorSchema, text_input

_SCHEMAS: dict[type[ma.Schema], ma.Schema] = {}


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

    def _get_schema(self, argmap, req):
        """One instance per schema class, made on first use: webargs makes one per request, which
        deep-copies every declared field (a tenth of a list request's CPU). Loading keeps no state
        on the instance (marshmallow 4 has no `context`), so threads can share it."""
        if isinstance(argmap, type) and issubclass(argmap, ma.Schema):
            schema = _SCHEMAS.get(argmap)
            return schema if schema is not None else _SCHEMAS.setdefault(argmap, argmap())
        return super()._get_schema(argmap, req)

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

    def _init_spec(self, *, extra_plugins=None, **options):
        super()._init_spec(
            marshmallow_plugin=MarshmallowPlugin(), extra_plugins=[*(extra_plugins or ()), ExamplesPlugin()], **options
        )


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
    return {
        str(status): {
            "description": HTTPStatus(status).phrase,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for status in statuses
    }


# --- What the document says about fields and bodies (issue 20) ---------------------------------------

_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")


def _schema_names(field) -> list[str]:
    """Component names of the schema a field belongs to and of its bases (`ProblemDetail`, `Problem`)."""
    owner = field.parent
    while owner is not None and not isinstance(owner, ma.Schema):
        owner = getattr(owner, "parent", None)
    if owner is None:
        return []
    return [cls.__name__.removesuffix("Schema") for cls in type(owner).__mro__ if issubclass(cls, ma.Schema)]


def _glossary_entry(field):
    name = field.data_key or field.name
    for schema in _schema_names(field):
        if f"{schema}.{name}" in GLOSSARY:
            return GLOSSARY[f"{schema}.{name}"]
    return GLOSSARY.get(name)


def field_docs(_converter, field, ret: dict, **_kwargs) -> dict:
    """apispec attribute function: a bilingual description and an example for every field.

    The field's own metadata wins; what it lacks comes from the glossary (common/field_docs.py),
    keyed by `Schema.name` (the schema or one of its bases) or by `name`: its Chinese text is put
    before an English-only description of the field's own (its English after a Chinese-only one), and
    its example is used when the field gives none. A field with choices and no example shows its
    first choice. tests/test_api_contract.py fails on a property left without.
    """
    if isinstance(field.parent, ma.fields.Field):
        return {}  # the items of a List or the values of a Dict: their container carries the text
    entry = _glossary_entry(field)
    own = ret.get("description")
    if entry is not None:
        if not own:
            ret["description"] = f"{entry.zh} / {entry.en}"
        elif not _CJK.search(own):
            ret["description"] = f"{entry.zh} / {own}"
        elif not _LATIN.search(own):
            ret["description"] = f"{own} / {entry.en}"
    if "$ref" in ret and "description" in ret:  # OpenAPI 3.0 ignores siblings of $ref: wrap it
        ret["allOf"] = [{"$ref": ret.pop("$ref")}]
    nested = any(key in ret or key in ret.get("items", {}) for key in ("$ref", "allOf", "anyOf", "oneOf"))
    if "example" not in ret and not nested:
        if entry is not None and (entry.example is not None or ret.get("nullable")):
            ret["example"] = entry.example
        elif ret.get("enum"):
            ret["example"] = next((choice for choice in ret["enum"] if choice is not None), None)
    return {}


class MarshmallowPlugin(apispec.ext.marshmallow.MarshmallowPlugin):
    """apispec's marshmallow plugin with `field_docs`, in place before the first schema is converted.

    Output-only (`dump_only`) fields are listed as `required`: the service always writes them (null
    when they have no value), so generated clients need not treat every field of a response as
    optional. The fuzz test's response-conformance check holds the service to it.
    """

    def init_spec(self, spec):
        super().init_spec(spec)
        self.converter.add_attribute_function(field_docs)

    def schema_helper(self, name, _, schema=None, **kwargs):
        json_schema = super().schema_helper(name, _, schema=schema, **kwargs)
        if json_schema is not None:
            output_only = [key for key, prop in json_schema.get("properties", {}).items() if prop.get("readOnly")]
            required = json_schema.get("required", [])
            if output_only:
                json_schema["required"] = required + [key for key in output_only if key not in required]
        return json_schema


_MISSING = object()


def compose_example(schema: dict, components: dict, *, reading: bool, depth: int = 0):
    """An example of a (resolved) schema built from its properties' examples, or _MISSING.

    Request bodies leave read-only properties out, responses write-only ones.
    """
    if "example" in schema:
        return schema["example"]
    if depth > 8:
        return _MISSING
    if "$ref" in schema:
        target = components[schema["$ref"].rsplit("/", 1)[-1]]
        return compose_example(target, components, reading=reading, depth=depth + 1)
    for key in ("allOf", "anyOf", "oneOf"):
        options = [option for option in schema.get(key, []) if not option.get("nullable") or "$ref" in option]
        if options:
            return compose_example(options[0], components, reading=reading, depth=depth + 1)
    if schema.get("type") == "array":
        item = compose_example(schema.get("items", {}), components, reading=reading, depth=depth + 1)
        return _MISSING if item is _MISSING else [item]
    if "properties" in schema:
        skip = "writeOnly" if reading else "readOnly"
        example = {}
        for name, prop in schema["properties"].items():
            if prop.get(skip):
                continue
            value = compose_example(prop, components, reading=reading, depth=depth + 1)
            if value is _MISSING:
                return _MISSING
            example[name] = value
        return example
    return _MISSING


_ERROR_REF = "#/components/schemas/Error"
_PHRASES = {status.phrase: status for status in HTTPStatus}


def error_example(status: int) -> dict | None:
    """The error shape as answered with `status`: its first code in the catalogue, zh message."""
    code = next((code for code, entry in CATALOGUE.items() if entry.status == status), None)
    if code is None:
        return None
    example = {"code": status, "status": HTTPStatus(status).phrase, "message": CATALOGUE[code].zh, "error_code": code}
    if status == HTTPStatus.UNPROCESSABLE_ENTITY:
        example["errors"] = ErrorSchema._declared_fields["errors"].metadata["example"]
    return example


class ExamplesPlugin(BasePlugin):
    """Every JSON request body and JSON response gets an `example`: an error response the catalogue's
    for its status, any other one composed from its fields' examples.

    It runs after the marshmallow plugin, when schemas are already components (`$ref`).
    """

    def init_spec(self, spec):
        self.spec = spec

    def _add_example(self, media: dict | None, *, reading: bool, status: int | None = None) -> None:
        if not media or "example" in media or "schema" not in media:
            return
        example = _MISSING
        if status is not None and media["schema"].get("$ref") == _ERROR_REF:
            example = error_example(status) or _MISSING
        if example is _MISSING:
            example = compose_example(media["schema"], self.spec.components.schemas, reading=reading)
        if example is not _MISSING:
            media["example"] = example

    def response_helper(self, response, **_kwargs):
        """Component responses: flask-smorest's per-status error responses are described by their phrase."""
        status = _PHRASES.get(response.get("description"))
        self._add_example(response.get("content", {}).get("application/json"), reading=True, status=status)
        return response

    def operation_helper(self, path=None, operations=None, **_kwargs):
        for operation in (operations or {}).values():
            body = operation.get("requestBody")
            if isinstance(body, dict):
                self._add_example(body.get("content", {}).get("application/json"), reading=False)
            for status, response in operation.get("responses", {}).items():
                if isinstance(response, dict):
                    media = response.get("content", {}).get("application/json")
                    self._add_example(media, reading=True, status=int(status) if str(status).isdigit() else None)
