"""The PyPI Open311 client `georeport` reads the gateway of a live server started the way `make run` starts
it (migrate, seed, gunicorn and the scheduler), in JSON and in XML. georeport sends no api_key, so it
reads services, definitions and, with OPEN311_PUBLIC_READ=true, requests; a partner files the request
first over plain HTTP with its key, as a 12345 hotline would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from georeport import GeoReport

from tests.factories import new_credit_code
from tests.live import free_port, private_postgres
from tests.open311_conformance import assert_valid, assert_w3_dates

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.prefix) / "bin"
ADMIN_PASSWORD = "Admin@2019live"
READER_ONLY = {"status_notes", "description", "address", "lat", "long"}


def _call(url: str, *, body: bytes | None = None, content_type: str = "application/json", token: str | None = None):
    headers = {"Content-Type": content_type} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _post_json(url: str, document: dict, token: str | None = None):
    status, raw = _call(url, body=json.dumps(document).encode(), token=token)
    return status, json.loads(raw)


def _backends() -> list[str]:
    return [b.strip() for b in os.environ.get("TEST_BACKENDS", "sqlite,postgresql").split(",") if b.strip()]


@pytest.fixture(scope="module", params=_backends())
def database_url(request, tmp_path_factory):
    """SQLite (make run's default) or a private PostgreSQL cluster, so the live server owns its database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('open311-db') / 'run.db'}"
        return
    cluster = private_postgres("the live Open311 test")
    yield cluster.url
    cluster.destroy()


@pytest.fixture(scope="module")
def live_server(database_url, tmp_path_factory):
    """`make run` (SEED=reference, public read on) plus an admin account; stopped with Ctrl-C."""
    tmp = tmp_path_factory.mktemp("open311-live")
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PORT": str(port),
        "SEED": "reference",
        "WEB_CONCURRENCY": "1",
        "ATTACHMENT_DIR": str(tmp / "files"),
        "OPEN311_PUBLIC_READ": "true",
        "FLASK_APP": "wsgi",
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        # Stopping waited the whole 20 s graceful timeout after georeport's calls; the test need not.
        "GUNICORN_GRACEFUL_TIMEOUT": "3",
    }
    with open(tmp / "make-run.log", "w+b") as log:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "run", f"VENV={Path(sys.prefix)}"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if _call(f"{base}/api/v1/health")[0] == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None, (tmp / "make-run.log").read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "make run did not serve within 90 s"
            time.sleep(0.5)
        # The first admin of a new database, as an operator would create it (make run has migrated it).
        command = [BIN / "flask", "create-admin", "--username", "liveadmin"]
        subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise


@pytest.fixture(scope="module")
def filed(live_server):
    """An admin registers an enterprise and the hotline's key; the hotline files one request with it."""
    api = f"{live_server}/api/v1"
    status, login = _post_json(f"{api}/auth/login", {"username": "liveadmin", "password": ADMIN_PASSWORD})
    assert status == 200, login
    token = login["access_token"]
    credit_code = new_credit_code()
    status, enterprise = _post_json(f"{api}/enterprises", {"name": "株洲联调测试有限公司", "credit_code": credit_code,
                                                           "lat": 27.84, "lng": 113.08}, token)
    assert status == 201, enterprise
    status, issued = _post_json(f"{api}/api-clients", {"name": "12345-hotline", "scopes": ["read", "write"]}, token)
    assert status == 201, issued
    status, services = _call(f"{live_server}/open311/v2/services.json")
    service_code = json.loads(services)[0]["service_code"]
    form = urllib.parse.urlencode({
        "api_key": issued["api_key"], "service_code": service_code, "attribute[credit_code]": credit_code,
        "attribute[contact_name]": "王经理", "description": "园区东门路灯不亮",
    }).encode()
    form_type = "application/x-www-form-urlencoded"
    status, raw = _call(f"{live_server}/open311/v2/requests.json", body=form, content_type=form_type)
    assert status == 200, raw
    return {"code": json.loads(raw)[0]["service_request_id"], "service_code": service_code, "key": issued["api_key"]}


def test_georeport_reads_services_and_definitions_in_json_and_xml(live_server, filed):
    json_client = GeoReport(f"{live_server}/open311/v2", output_format="json")
    xml_client = GeoReport(f"{live_server}/open311/v2", output_format="xml")
    services = json_client.get_service_list()
    assert_valid(services, "services.json")
    xml_services = xml_client.get_service_list()
    assert [s["service_code"] for s in xml_services] == [s["service_code"] for s in services]
    assert {s["metadata"] for s in xml_services} == {"true"} and {s["type"] for s in xml_services} == {"realtime"}

    definition = json_client.get_service_definition(filed["service_code"])
    assert_valid(definition, "service-definition.json")
    xml_definition = xml_client.get_service_definition(filed["service_code"])
    attributes = xml_definition["attributes"]["attribute"]
    assert [a["code"] for a in attributes] == [a["code"] for a in definition["attributes"]]
    assert attributes[0] == {**attributes[0], "code": "credit_code", "required": "true"}


def test_georeport_reads_requests_under_public_read_in_json_and_xml(live_server, filed):
    json_client = GeoReport(f"{live_server}/open311/v2", output_format="json")
    xml_client = GeoReport(f"{live_server}/open311/v2", output_format="xml")
    requests = json_client.get_service_requests(status="open")
    assert_valid(requests, "requests.json")
    assert_w3_dates(requests)
    assert [r["service_request_id"] for r in requests] == [filed["code"]]
    assert not READER_ONLY & set(requests[0])
    one = json_client.get_service_request(filed["code"])
    assert one == requests[0]
    by_id = json_client.get_service_requests(service_request_id=filed["code"])
    assert by_id == requests

    xml_one = xml_client.get_service_request(filed["code"])  # one <request>: xmltodict gives a mapping
    assert xml_one["service_request_id"] == filed["code"] and xml_one["status"] == "open"
    assert not READER_ONLY & set(xml_one)
    xml_listed = xml_client.get_service_requests(service_code=filed["service_code"])
    assert xml_listed["service_request_id"] == filed["code"]


def test_the_hotline_follows_its_request_with_its_key(live_server, filed):
    query = urllib.parse.urlencode({"api_key": filed["key"]})
    status, raw = _call(f"{live_server}/open311/v2/requests/{filed['code']}.json?{query}")
    assert status == 200
    (request,) = json.loads(raw)
    assert_valid([request], "requests.json")
    assert request["description"].startswith("园区东门路灯不亮") and "王经理" in request["description"]
    assert (request["lat"], request["long"]) == (27.84, 113.08)
    status, raw = _call(f"{live_server}/open311/v2/requests.json?api_key=wrong")
    assert status == 403 and json.loads(raw)[0]["code"] == 403
