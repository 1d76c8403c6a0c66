"""The API contract mobile teams build against (issue 20): operation ids and the error-code catalogue.

The route walk covers every operation of the OpenAPI document, so a new endpoint that does not pass
through the mechanisms (common/api.py's Blueprint, the catalogue) fails here.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from service_app.common.error_codes import CATALOGUE, readme_table
from service_app.errors import AppError, error_body

ROOT = Path(__file__).resolve().parent.parent
METHODS = {"get", "post", "put", "patch", "delete"}
CAMEL = re.compile(r"^[a-z][a-zA-Z0-9]*$")


@pytest.fixture
def document(client):
    return client.get("/api/v1/openapi.json").get_json()


def _operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield f"{method.upper()} {path}", operation


def test_every_operation_has_a_unique_camel_case_operation_id(document):
    ids = {name: operation.get("operationId") for name, operation in _operations(document)}
    missing = [name for name, operation_id in ids.items() if not operation_id or not CAMEL.match(operation_id)]
    assert missing == []
    assert len(set(ids.values())) == len(ids)


def test_every_operation_has_a_bilingual_summary(document):
    """Summaries read "中文 / English" (DESIGN §15)."""
    bilingual = re.compile(r"^[^/]*[\u4e00-\u9fff][^/]* / [A-Za-z`]")
    missing = [name for name, operation in _operations(document) if not bilingual.match(operation.get("summary", ""))]
    assert missing == []


def test_every_operation_has_a_description(document):
    missing = [name for name, operation in _operations(document) if not operation.get("description", "").strip()]
    assert missing == []


def test_operation_ids_read_as_the_story(document):
    ids = {name: operation["operationId"] for name, operation in _operations(document)}
    assert ids["POST /api/v1/auth/login"] == "login"
    assert ids["GET /api/v1/problems"] == "listProblems"
    assert ids["POST /api/v1/problems"] == "fileProblem"
    assert ids["POST /api/v1/problems/{problem_id}/accept"] == "acceptProblem"
    assert ids["POST /api/v1/visits/check-in"] == "checkIn"
    assert ids["GET /api/v1/users"] == "listUsers"
    assert ids["POST /api/v1/users"] == "createUser"
    assert ids["PATCH /api/v1/users/{user_id}"] == "updateUser"


def test_every_workflow_action_endpoint_is_named_after_its_record(document):
    from service_app.problems import workflow

    ids = {name: operation["operationId"] for name, operation in _operations(document)}
    for spec in workflow.ROUTED:
        expected = re.sub(r"_(\w)", lambda m: m.group(1).upper(), f"{spec.name}_problem")
        assert ids[f"POST /api/v1/problems/{{problem_id}}/{spec.name}"] == expected


def test_the_error_schema_publishes_the_catalogue_as_an_enum(document):
    assert document["components"]["schemas"]["Error"]["properties"]["error_code"]["enum"] == list(CATALOGUE)


def test_the_error_shape_has_an_example(document):
    properties = document["components"]["schemas"]["Error"]["properties"]
    example = {name: field["example"] for name, field in properties.items()}
    assert example["error_code"] in CATALOGUE and CATALOGUE[example["error_code"]].status == example["code"]
    assert example["message"] == CATALOGUE[example["error_code"]].zh


def test_the_readme_table_is_the_catalogue():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("<!-- error-codes:start -->\n") + len("<!-- error-codes:start -->\n")
    end = readme.index("<!-- error-codes:end -->")
    assert readme[start:end] == readme_table(), "regenerate with: python -m service_app.common.error_codes"


def test_catalogue_entries_are_complete():
    for code, entry in CATALOGUE.items():
        assert re.match(r"^[a-z][a-z0-9_]*$", code)
        assert 400 <= entry.status < 600 and entry.zh and entry.en


def _error_classes() -> dict[str, type[AppError]]:
    """AppError and its subclasses (the app fixture has imported every module that defines one)."""
    found, stack = {}, [AppError]
    while stack:
        cls = stack.pop()
        found[cls.__name__] = cls
        stack.extend(cls.__subclasses__())
    return found


# `SomeError("code"` (possibly across lines), `error_code = "code"` and `error_response(401, "code"`.
_RAISED = re.compile(r"\b([A-Z]\w*)\(\s*\"([a-z][a-z0-9_]*)\"")
_CLASS_CODE = re.compile(r"error_code\s*=\s*(?:\d+\s*,\s*)?\"([a-z][a-z0-9_]*)\"")
_RESPONSE = re.compile(r"error_response\(\s*(\d+)\s*,\s*\"([a-z][a-z0-9_]*)\"")


def test_every_code_in_the_source_is_in_the_catalogue_with_its_status(app):
    classes = _error_classes()
    seen: set[str] = set()
    for path in sorted((ROOT / "service_app").rglob("*.py")):
        if "open311" in path.parts and path.name in {"routes.py", "service.py"}:
            continue  # GeoReport v2: outside /api/v1, with its own error shape (DESIGN §15)
        source = path.read_text(encoding="utf-8")
        for name, code in _RAISED.findall(source):
            if name in classes:
                assert code in CATALOGUE, f"{path.name}: {name}({code!r}) is not in the catalogue"
                assert CATALOGUE[code].status == classes[name].http_status, f"{path.name}: {code}"
                seen.add(code)
        for code in _CLASS_CODE.findall(source):
            assert code in CATALOGUE, f"{path.name}: error_code {code!r} is not in the catalogue"
            seen.add(code)
        for status, code in _RESPONSE.findall(source):
            assert code in CATALOGUE and CATALOGUE[code].status == int(status), f"{path.name}: {code}"
            seen.add(code)
    for cls in classes.values():
        assert CATALOGUE[cls.error_code].status == cls.http_status, cls.__name__
    assert seen >= {"bad_credentials", "invalid_transition", "visit_checked_out", "token_expired"}


def test_the_error_handler_refuses_a_code_missing_from_the_catalogue(app_ctx):
    assert error_body(409, "x", error_code="invalid_transition")["error_code"] == "invalid_transition"
    with pytest.raises(AssertionError, match="no_such_code"):
        error_body(409, "x", error_code="no_such_code")


def test_the_document_is_valid_openapi(document):
    from openapi_spec_validator import validate

    assert document["openapi"] == "3.0.3"
    validate(document)


def _node_tools() -> Path:
    """The npm tools of package-lock.json, installed into ./node_modules by `npm ci` when missing."""
    bin_dir = ROOT / "node_modules" / ".bin"
    if not (bin_dir / "redocly").exists():
        if shutil.which("npm") is None:
            if os.environ.get("CI") == "true":
                pytest.fail("npm is required under CI=true")
            pytest.skip("npm is not installed")
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=ROOT, check=True, timeout=600)
    return bin_dir


def test_redocly_lints_the_document_without_errors(document, tmp_path):
    bin_dir = _node_tools()
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    result = subprocess.run(
        [str(bin_dir / "redocly"), "lint", str(path), "--config", str(ROOT / "redocly.yaml"), "--format", "summary"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- Field descriptions, types and examples (common/field_docs.py, common/api.py) -------------------

CJK = re.compile(r"[\u4e00-\u9fff]")
COMPOUND = ("$ref", "allOf", "anyOf", "oneOf")


def _properties(document):
    """(where, property) for every property of every component schema and every query parameter."""
    for name, schema in document["components"]["schemas"].items():
        for field, prop in schema.get("properties", {}).items():
            yield f"{name}.{field}", prop
    for operation_name, operation in _operations(document):
        for parameter in operation.get("parameters", []):
            if "$ref" not in parameter and parameter["in"] == "query":
                yield f"{operation_name} ?{parameter['name']}", {**parameter["schema"], **parameter}


def test_every_property_has_a_bilingual_description(document):
    missing = [where for where, prop in _properties(document)
               if not (CJK.search(prop.get("description", "")) and re.search(r"[A-Za-z]", prop["description"]))]
    assert missing == [], "describe them in service_app/common/field_docs.py or the field's metadata"


def test_every_property_has_a_type(document):
    """Output-only Function/Method fields name their type (metadata={"type": ...}): apispec cannot guess it."""
    missing = [where for where, prop in _properties(document)
               if "type" not in prop and not any(k in prop for k in COMPOUND)]
    assert missing == []


def test_every_scalar_property_has_an_example(document):
    missing = [
        where for where, prop in _properties(document)
        if "example" not in prop and not any(k in prop for k in COMPOUND)
        and not (prop.get("type") == "array" and any(k in prop["items"] for k in COMPOUND))
        and prop.get("format") != "binary"
    ]
    assert missing == [], "give them an example in service_app/common/field_docs.py or the field's metadata"


def _json_bodies(document):
    """(where, media type object, reading) of every JSON request body and JSON response."""
    for name, operation in _operations(document):
        media = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if media:
            yield f"{name} request", media, False
        for status, response in operation.get("responses", {}).items():
            if "$ref" in response:
                response = document["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
            media = response.get("content", {}).get("application/json")
            if media:
                yield f"{name} {status}", media, True


def test_every_json_body_and_success_response_has_an_example(document):
    missing = [where for where, media, reading in _json_bodies(document)
               if "example" not in media and (not reading or where.rsplit(" ", 1)[-1].startswith("2"))]
    assert missing == []


def test_every_example_is_valid_against_its_schema(document):
    """The bodies' examples and the properties' own, so that no example can rot."""
    from openapi_schema_validator import OAS30ReadValidator, OAS30Validator, OAS30WriteValidator

    invalid = []
    for where, prop in _properties(document):
        if "example" in prop:
            schema = {key: value for key, value in prop.items() if key not in {"example", "in", "name", "required"}}
            validator = OAS30Validator({**schema, "components": document["components"]})
            invalid += [f"{where}: {error.message}" for error in validator.iter_errors(prop["example"])]
    for where, media, reading in _json_bodies(document):
        if "example" not in media:
            continue
        validator = (OAS30ReadValidator if reading else OAS30WriteValidator)(
            {**media["schema"], "components": document["components"]}
        )
        invalid += [f"{where}: {error.json_path} {error.message}" for error in validator.iter_errors(media["example"])]
    assert invalid == []
