"""Clients generated from the OpenAPI document, used as the mobile teams would use them (issue 20).

Python: `openapi-python-client` generates a package from the document a live server serves (gunicorn,
production settings, its own SQLite database); the package is imported from tmp_path and drives the
main story, against that server and against one on a private PostgreSQL cluster: an admin sets the
accounts up, then the enterprise files a problem with a photo, the cadre accepts and dispatches it,
the department claims and resolves it, the enterprise rates it, the cadre checks in on site and the
manager reads the figures. Generation must print no warning (DESIGN §15 would allow the non-JSON
content types, listed in ALLOWED_WARNINGS: none is needed today).

TypeScript: `openapi-typescript` turns the same document into `schema.d.ts`, and `tests/ts/story.ts`
(openapi-fetch's `createClient<paths>`) calls the story's operations with typed bodies and responses;
`tsc --noEmit --strict` must accept it, and must refuse a copy with a misspelt field.
"""

from __future__ import annotations

import importlib
import io
import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.factories import new_credit_code
from tests.factories_files import png_bytes
from tests.live import BIN, ROOT, LiveService, private_postgres

PACKAGE = "lianqi_client"
# Warnings openapi-python-client may print, each for a non-JSON content type (DESIGN §15). None today.
ALLOWED_WARNINGS: list[str] = []
PASSWORD = "Lianqi#2026story"


def _serve(database_url: str, tmp: Path) -> LiveService:
    service = LiveService(database_url, workers=1, extra_env={"ATTACHMENT_DIR": str(tmp / "files")})
    return service.prepare("reference").start()


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """make run's SQLite: the server whose document the clients are generated from."""
    tmp = tmp_path_factory.mktemp("clients-live")
    service = _serve(f"sqlite:///{tmp / 'live.db'}", tmp)
    yield service
    service.stop()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def story_server(request, tmp_path_factory):
    """The story runs against both backends: the SQLite server above, and one on a private PostgreSQL
    cluster (the server owns its database, as in production)."""
    if request.param == "sqlite":
        yield request.getfixturevalue("live")
        return
    cluster = private_postgres("the generated-client story")
    service = _serve(cluster.url, tmp_path_factory.mktemp("clients-live-pg"))
    try:
        yield service
    finally:
        service.stop()
        cluster.destroy()


@pytest.fixture(scope="module")
def document_path(live, tmp_path_factory) -> Path:
    """The document as the live server serves it, saved as a client team would download it."""
    with urllib.request.urlopen(f"http://127.0.0.1:{live.port}/api/v1/openapi.json", timeout=10) as response:
        document = json.load(response)
    path = tmp_path_factory.mktemp("document") / "openapi.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def generated(document_path, tmp_path_factory):
    """`openapi-python-client generate`, once per module; the output and the imported package."""
    out = tmp_path_factory.mktemp("python-client")
    config = out / "config.yaml"
    config.write_text(f"project_name_override: lianqi-client\npackage_name_override: {PACKAGE}\npost_hooks: []\n")
    result = subprocess.run(
        [str(BIN / "openapi-python-client"), "generate", "--path", str(document_path), "--meta", "none",
         "--config", str(config), "--output-path", str(out / PACKAGE)],
        cwd=out, capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(out))
    try:
        yield result.stdout + result.stderr, importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(out))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def test_the_python_client_generates_without_warnings(generated):
    output, _package = generated
    warnings = [line for line in output.splitlines() if "warning" in line.lower()]
    assert warnings == ALLOWED_WARNINGS, output


def _api(name: str):
    return importlib.import_module(f"{PACKAGE}.api.{name}")


def _ok(response, status: int = 200):
    """The parsed body of a response with the expected status (the Error model otherwise, shown)."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    return response.parsed


def _session(package, base_url: str, username: str, password: str):
    """Log in through the generated client; an account made by an admin changes its password first."""
    login, models = _api("auth.login"), importlib.import_module(f"{PACKAGE}.models")
    anonymous = package.Client(base_url=base_url)
    token = _ok(login.sync_detailed(client=anonymous, body=models.Login(username=username, password=password)))
    assert isinstance(token, models.Token) and token.token_type == "Bearer"
    client = package.AuthenticatedClient(base_url=base_url, token=token.access_token)
    if token.password_change_required:
        change = _api("account.change_password")
        _ok(change.sync_detailed(
            client=client, body=models.PasswordChange(current_password=password, new_password=PASSWORD)
        ), 204)
        return _session(package, base_url, username, PASSWORD)
    return client


def test_the_main_story_through_the_generated_python_client(generated, story_server):
    _output, package = generated
    models = importlib.import_module(f"{PACKAGE}.models")
    File = importlib.import_module(f"{PACKAGE}.types").File  # noqa: N806 - the generated class

    base = f"http://127.0.0.1:{story_server.port}"
    admin = _session(package, base, "liveadmin", "Admin@2019live")

    # The admin sets the zone up: an enterprise, its linked cadre, its user, a department's staff, a manager.
    categories = _ok(_api("org.list_categories").sync_detailed(client=admin))
    category = next(c for c in categories if c.name == "配套服务")
    enterprise = _ok(_api("enterprises.create_enterprise").sync_detailed(client=admin, body=models.EnterpriseCreate(
        name="株洲天易新材料科技有限公司", credit_code=new_credit_code(), lat=27.7762, lng=113.0718,
        address="湖南省株洲市天元区株洲大道 18 号天易科技城",
    )), 201)
    create_user = _api("auth.create_user")
    accounts = {
        "story_ent": models.UserCreate(username="story_ent", password=PASSWORD + "0", name="刘芳",
                                       role=models.UserCreateRole.ENTERPRISE, enterprise_id=enterprise.id),
        "story_cadre": models.UserCreate(username="story_cadre", password=PASSWORD + "0", name="李建国",
                                         role=models.UserCreateRole.CADRE),
        "story_dept": models.UserCreate(username="story_dept", password=PASSWORD + "0", name="陈晓东",
                                        role=models.UserCreateRole.DEPARTMENT,
                                        department_id=category.default_department_id),
        "story_manager": models.UserCreate(username="story_manager", password=PASSWORD + "0", name="王敏",
                                           role=models.UserCreateRole.MANAGER),
    }
    users = {name: _ok(create_user.sync_detailed(client=admin, body=body), 201) for name, body in accounts.items()}
    _ok(_api("org.create_link").sync_detailed(client=admin, body=models.LinkCreate(
        cadre_id=users["story_cadre"].id, enterprise_id=enterprise.id
    )), 201)
    ent, cadre, dept, manager = (
        _session(package, base, name, PASSWORD + "0")
        for name in ("story_ent", "story_cadre", "story_dept", "story_manager")
    )

    # The enterprise files a problem with a photo.
    photo = _ok(_api("attachments.upload_attachment").sync_detailed(client=ent, body=models.Upload(
        file=File(payload=io.BytesIO(png_bytes()), file_name="路灯损坏现场.png", mime_type="image/png")
    )), 201)
    problems = _api("problems.file_problem")
    filed = _ok(problems.sync_detailed(client=ent, body=models.ProblemCreate(
        title="园区道路照明不足，夜班员工出行不便", description="园区 3 号路路灯损坏一个多月，夜班员工出行不安全。",
        category_id=category.id, attachment_ids=[photo.id],
    )), 201)
    assert isinstance(filed, models.ProblemDetail) and filed.status == models.ProblemDetailStatus.SUBMITTED
    assert [a.id for a in filed.attachments] == [photo.id]

    # The cadre accepts and dispatches it (to the category's department), the department claims and resolves it.
    steps = [
        (cadre, "accept_problem", models.Note(), "accepted"),
        (cadre, "dispatch_problem", models.Dispatch(), "dispatched"),
        (dept, "claim_problem", models.Note(), "in_progress"),
        (dept, "resolve_problem", models.Resolve(resolution="已更换 3 号路 12 盏路灯并恢复夜间照明。"), "resolved"),
    ]
    for client, operation, body, status in steps:
        problem = _ok(_api(f"problems.{operation}").sync_detailed(filed.id, client=client, body=body))
        assert problem.status.value == status, operation
    assert problem.department_id == category.default_department_id

    # The enterprise rates it, which closes it.
    rated = _ok(_api("problems.rate_problem").sync_detailed(
        filed.id, client=ent, body=models.RatingCreate(score=5, comment="路灯修好了，响应很快，谢谢！")
    ), 201)
    assert rated.status == models.ProblemDetailStatus.CLOSED and rated.rating.score == 5
    events = _ok(_api("problems.list_problem_events").sync_detailed(filed.id, client=ent))
    assert [event.action for event in events] == ["submit", "accept", "dispatch", "claim", "resolve", "rate", "close"]

    # The cadre checks in on site.
    visit = _ok(_api("visits.check_in").sync_detailed(client=cadre, body=models.CheckIn(
        enterprise_id=enterprise.id, lat=27.7763, lng=113.0719, accuracy_m=12.0, note="回访路灯修复情况",
    )), 201)
    assert visit.within_geofence and visit.flags == []

    # The manager sees the problem and the figures.
    listed = _ok(_api("problems.list_problems").sync_detailed(client=manager))
    assert filed.id in [item.id for item in listed.items]
    _ok(_api("stats.refresh_stats").sync_detailed(client=manager))
    summary = _ok(_api("stats.stats_summary").sync_detailed(client=manager))
    assert (summary.total, summary.resolved) == (1, 1)


# --- TypeScript: openapi-typescript + openapi-fetch, checked by tsc --------------------------------

TS_DIR = ROOT / "tests" / "ts"


def _node_bin() -> Path:
    from tests.test_api_contract import _node_tools

    return _node_tools()


def _tsc(workdir: Path, program: str) -> subprocess.CompletedProcess:
    (workdir / "story.ts").write_text(program, encoding="utf-8")
    return subprocess.run(
        [str(_node_bin() / "tsc"), "--noEmit", "--strict", "--target", "es2022", "--module", "esnext",
         "--moduleResolution", "bundler", "--lib", "es2022,dom", "--skipLibCheck", str(workdir / "story.ts")],
        cwd=workdir, capture_output=True, text=True, timeout=300, check=False,
    )


@pytest.fixture(scope="module")
def ts_workdir(document_path, tmp_path_factory) -> Path:
    """schema.d.ts generated by openapi-typescript next to a node_modules link, so the imports resolve."""
    workdir = tmp_path_factory.mktemp("ts-client")
    result = subprocess.run(
        # Defaults do not make a field required: a request may leave it out.
        [str(_node_bin() / "openapi-typescript"), str(document_path), "--output", str(workdir / "schema.d.ts"),
         "--default-non-nullable", "false"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (workdir / "node_modules").symlink_to(ROOT / "node_modules", target_is_directory=True)
    return workdir


def test_the_typescript_story_type_checks_against_the_generated_schema(ts_workdir):
    result = _tsc(ts_workdir, (TS_DIR / "story.ts").read_text(encoding="utf-8"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_tsc_refuses_a_misspelt_field(ts_workdir):
    program = (TS_DIR / "story.ts").read_text(encoding="utf-8")
    assert "category_id:" in program
    result = _tsc(ts_workdir, program.replace("category_id:", "categoryId:", 1))
    assert result.returncode != 0 and "categoryId" in result.stdout, result.stdout + result.stderr
