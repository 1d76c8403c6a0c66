"""The production image, built and run for real against a fresh PostgreSQL database.

`../shared/tools/container-engine.sh` (beside the repository) installs and starts the container engine
and the local `python:3.11-slim` base when missing. The image is built once (`docker build --network host`)
and run with host networking the way compose.yaml runs it: one `migrate` container, then the API and the
scheduler. Under CI=true an engine that cannot start fails the test; elsewhere it is skipped with the reason.
Runs once per `make test`, not per database backend. The compose file's facts are checked without an engine.
"""

from __future__ import annotations

import json
import os
import re
import runpy
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from alembic.script import ScriptDirectory

from tests.conftest import _pg_reachable, _pg_url
from tests.live import free_port

ROOT = Path(__file__).resolve().parent.parent
# In CI `shared/` lies beside the clone; a git worktree sits one level deeper: the nearest ancestor's wins.
ENGINE = next(
    (parent / "shared/tools/container-engine.sh" for parent in ROOT.parents
     if (parent / "shared/tools/container-engine.sh").is_file()),
    ROOT.parent / "shared/tools/container-engine.sh",
)
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
# `docker stop` waits this long after SIGTERM before it kills: compose.yaml's stop_grace_period.
GRACE_SECONDS = int(COMPOSE["services"]["app"]["stop_grace_period"].removesuffix("s"))
RUN_ID = f"{os.getpid()}-{uuid.uuid4().hex[:6]}"
UPGRADE_LINE = re.compile(r"Running upgrade (\w*) -> (\w+)")
# gunicorn's own "[ERROR]"/"[WARNING]" lines, our JSON logs' levels, and anything that printed a traceback.
ERROR_LINE = re.compile(r'\[(ERROR|WARNING|CRITICAL)\]|"level": "(ERROR|WARNING|CRITICAL)"|Traceback|Errno')


def _unavailable(reason: str):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"under CI=true the image test must run, but {reason}", pytrace=False)
    pytest.skip(reason)


def docker(*args: str, timeout: float = 120) -> str:
    """`docker …`'s output; a failure is an assertion error that shows what docker said."""
    done = subprocess.run(["docker", *args], check=False, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"docker {' '.join(args[:3])} … exited {done.returncode}:\n{done.stderr[-3000:]}"
    return done.stdout + done.stderr


def _pip_build_args() -> list[str]:
    """How pip reaches the package index on this machine (its config and PIP_* variables), as build arguments.

    Only http(s) indexes are passed: local file:// indexes do not exist inside the build.
    """
    command = [sys.executable, "-m", "pip", "config", "list"]
    listed = subprocess.run(command, check=False, capture_output=True, text=True).stdout
    names = {
        "index-url": "PIP_INDEX_URL", "extra-index-url": "PIP_EXTRA_INDEX_URL", "trusted-host": "PIP_TRUSTED_HOST",
        "default-timeout": "PIP_DEFAULT_TIMEOUT", "timeout": "PIP_DEFAULT_TIMEOUT",
    }
    found: dict[str, str] = {}
    # `pip config list` shows the files' values first and the PIP_* variables (":env:") last; later ones win.
    for scope, key, value in re.findall(r"^([\w:]+)\.([\w-]+)='(.*)'$", listed, re.MULTILINE):
        if key in names and scope in {"global", "user", "site", ":env:"}:
            found[names[key]] = value
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"):
        urls = [url for url in found.get(name, "").split() if url.startswith(("http://", "https://"))]
        found[name] = " ".join(urls)
    return [arg for name, value in found.items() if value for arg in ("--build-arg", f"{name}={value}")]


@pytest.fixture(scope="module")
def image() -> Iterator[str]:
    if not ENGINE.is_file():
        _unavailable(f"the container engine script {ENGINE} is missing")
    started = subprocess.run(["bash", str(ENGINE)], check=False, capture_output=True, text=True, timeout=1800)
    if started.returncode != 0:
        _unavailable(f"the container engine did not start: {(started.stdout + started.stderr)[-1500:]}")
    tag = f"lianqi-image-test:{RUN_ID}"
    build = subprocess.run(
        ["docker", "build", "--network", "host", "-t", tag, *_pip_build_args(), str(ROOT)],
        check=False, capture_output=True, text=True, timeout=1200,
    )
    assert build.returncode == 0, (build.stdout + build.stderr)[-5000:]
    yield tag
    # The tag goes; its layers stay as the next build's cache.
    docker("rmi", "--no-prune", tag)


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    """A fresh database on the test PostgreSQL server (never the suite's own), dropped afterwards."""
    admin_url = sa.engine.make_url(_pg_url())
    reason = _pg_reachable(admin_url.render_as_string(hide_password=False))
    if reason is not None:
        _unavailable(f"PostgreSQL at {admin_url} is unreachable: {reason}")
    name = f"{admin_url.database}_image"
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield admin_url.set(database=name).render_as_string(hide_password=False)
    with engine.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(scope="module")
def environment(database_url) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "JWT_SECRET_KEY": secrets.token_urlsafe(48),
        "HOST": "127.0.0.1",
        "PORT": str(free_port()),
        "WEB_CONCURRENCY": "1",
    }


def _env_args(environment: dict[str, str]) -> list[str]:
    return [arg for name, value in environment.items() for arg in ("-e", f"{name}={value}")]


def _run_once(image: str, environment: dict[str, str], *command: str) -> str:
    return docker("run", "--rm", "--network", "host", *_env_args(environment), image, *command, timeout=300)


@pytest.fixture(scope="module")
def migrations(image, environment) -> list[str]:
    """compose.yaml's `migrate` service: its command, run twice (a restarted deployment runs it again)."""
    command = COMPOSE["services"]["migrate"]["command"]
    return [_run_once(image, environment, *command) for _ in range(2)]


def _start(image: str, environment: dict[str, str], role: str, *command: str, mount: str | None = None) -> str:
    name = f"lianqi-test-{role}-{RUN_ID}"
    mounts = ["--mount", mount] if mount else []
    docker("run", "-d", "--name", name, "--network", "host", *mounts, *_env_args(environment), image, *command)
    return name


def _call(url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _logs(name: str) -> str:
    return docker("logs", name)


def assert_no_error_lines(name: str) -> None:
    errors = [line for line in _logs(name).splitlines() if ERROR_LINE.search(line)]
    assert errors == [], "\n".join(errors)


def assert_stops_gracefully(name: str) -> None:
    """SIGTERM, then SIGKILL after the grace period: exit code 0 means SIGTERM alone stopped it."""
    docker("stop", "--time", str(GRACE_SECONDS), name, timeout=GRACE_SECONDS + 30)
    state = json.loads(docker("inspect", "-f", "{{json .State}}", name))
    assert (state["Status"], state["ExitCode"], state["OOMKilled"]) == ("exited", 0, False), _logs(name)[-3000:]


@pytest.fixture(scope="module")
def server(image, environment, migrations) -> Iterator[tuple[str, str]]:
    """The image's own command (gunicorn) on a free port, once the database is migrated."""
    volume = f"lianqi-test-attachments-{RUN_ID}"
    name = _start(image, environment, "app", mount=f"type=volume,src={volume},dst=/app/instance/attachments")
    base = f"http://127.0.0.1:{environment['PORT']}/api/v1"
    deadline = time.monotonic() + 90
    while True:
        try:
            if _call(f"{base}/health")[0] == 200:
                break
        except OSError:
            pass
        state = json.loads(docker("inspect", "-f", "{{json .State}}", name))
        assert state["Running"], _logs(name)[-3000:]
        assert time.monotonic() < deadline, f"the app did not serve within 90 s:\n{_logs(name)[-3000:]}"
        time.sleep(0.5)
    yield name, base
    docker("rm", "-f", name)
    docker("volume", "rm", volume)


def test_compose_runs_one_migrator():
    """`migrate` is the only service that upgrades the schema, and the app and scheduler wait for it."""
    services = COMPOSE["services"]
    migrate, app, scheduler = services["migrate"], services["app"], services["scheduler"]
    assert migrate["command"] == ["flask", "db", "upgrade"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"
    upgrading = [name for name, service in services.items() if "upgrade" in " ".join(service.get("command", []))]
    assert upgrading == ["migrate"]
    for service in (app, scheduler):
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert (service["image"], service["build"]) == (migrate["image"], migrate["build"])
        assert service["stop_grace_period"] == f"{GRACE_SECONDS}s"
    assert "command" not in app  # the image's own command: gunicorn, no migration
    assert scheduler["command"] == ["flask", "scheduler", "run"]
    # Longer than gunicorn's graceful timeout, so requests in flight finish before a SIGKILL.
    assert GRACE_SECONDS > runpy.run_path(str(ROOT / "gunicorn.conf.py"))["graceful_timeout"]


def test_migrate_applies_every_revision_once(migrations, database_url):
    first, second = migrations
    script = ScriptDirectory(str(ROOT / "migrations"))
    heads = script.get_heads()
    applied = [target for _source, target in UPGRADE_LINE.findall(first)]
    assert sorted(applied) == sorted(revision.revision for revision in script.walk_revisions()), first
    assert UPGRADE_LINE.findall(second) == [], second
    assert [line for line in (first + second).splitlines() if ERROR_LINE.search(line)] == []
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        assert set(connection.scalars(sa.text("SELECT version_num FROM alembic_version"))) == set(heads)
    engine.dispose()


def test_serves_ready_as_a_non_root_user(server):
    name, base = server
    assert _call(f"{base}/health/ready") == (200, {"status": "ok"})
    status = docker("exec", name, "cat", "/proc/1/status").splitlines()
    uids = next(line for line in status if line.startswith("Uid:")).split()[1:]
    assert set(uids) == {"10001"}  # real, effective, saved and filesystem uid of PID 1 (gunicorn)
    assert docker("exec", name, "id", "-un").strip() == "app"
    assert "gunicorn" in docker("exec", name, "cat", "/proc/1/cmdline")


def test_serves_the_dashboard_files(server):
    """Package files that are not Python (templates, scripts, vendored ECharts) are in the image."""
    _name, base = server
    root = base.removesuffix("/api/v1")
    assert [_status(f"{root}{path}") for path in ("/dashboard", "/dashboard/static/js/main.js")] == [200, 200]


def test_uploads_go_to_a_fresh_volume_the_service_may_write(server):
    """compose.yaml mounts a named volume on instance/attachments: a new one takes the image's owner there."""
    name, _base = server
    target = COMPOSE["x-app"]["volumes"][0].split(":")[1]
    probe = f"{target}/probe"
    docker("exec", name, "python", "-c", f"open({probe!r}, 'w').write('ok')")
    assert docker("exec", name, "stat", "-c", "%U %a", target).split() == ["app", "755"]


def test_create_admin_then_login(server):
    """`flask create-admin` in the running container makes the first account, which logs in through the API."""
    name, base = server
    password = f"Adm1n-{secrets.token_urlsafe(12)}"
    output = docker("exec", "-e", f"ADMIN_PASSWORD={password}", name, "flask", "create-admin", "--username", "ops")
    assert "admin ops created" in output
    status, body = _call(
        f"{base}/auth/login", data=json.dumps({"username": "ops", "password": password}).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert status == 200, body
    assert body["user"]["username"] == "ops" and body["access_token"]


def test_scheduler_runs_a_job_and_stops_on_sigterm(image, environment, database_url, migrations):
    name = _start(image, environment, "scheduler", *COMPOSE["services"]["scheduler"]["command"])
    engine = sa.create_engine(database_url)
    runs = sa.text("SELECT outcome, runner FROM job_runs WHERE job = 'stats.snapshot'")
    try:
        deadline = time.monotonic() + 90
        while True:  # stats.snapshot runs at the scheduler's start
            with engine.connect() as connection:
                recorded = connection.execute(runs).all()
            if recorded:
                break
            assert time.monotonic() < deadline, f"no stats.snapshot run within 90 s:\n{_logs(name)[-3000:]}"
            time.sleep(1)
        # One run, ok, by PID 1 of the container (the runner is host:pid): the scheduler command itself.
        assert [(outcome, runner.rsplit(":", 1)[1]) for outcome, runner in recorded] == [("ok", "1")], recorded
        assert_stops_gracefully(name)
        logs = _logs(name)
        assert "scheduler_started" in logs and "scheduler_stopped" in logs, logs[-3000:]
        assert UPGRADE_LINE.search(logs) is None
        assert_no_error_lines(name)
    finally:
        engine.dispose()
        docker("rm", "-f", name)


def test_own_healthcheck_turns_healthy(server):
    name, _base = server
    deadline = time.monotonic() + 90
    while (health := json.loads(docker("inspect", "-f", "{{json .State.Health}}", name)))["Status"] == "starting":
        assert time.monotonic() < deadline, health
        time.sleep(1)
    assert health["Status"] == "healthy", health


def test_app_stops_on_sigterm_with_clean_logs(server):
    """Last: it stops the shared container. Its logs have no error line (gunicorn's control socket included)."""
    name, _base = server
    assert_stops_gracefully(name)
    logs = _logs(name)
    assert "Booting worker" in logs and UPGRADE_LINE.search(logs) is None, logs[-3000:]
    assert_no_error_lines(name)
