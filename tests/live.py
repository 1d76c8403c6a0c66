"""Real processes for fault tests: a private PostgreSQL server and the service under gunicorn."""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.prefix) / "bin"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return Path(found[-1]).parent
    which = shutil.which("pg_ctl")
    return Path(which).parent if which else None


class PrivatePostgres:
    """A throwaway PostgreSQL cluster (initdb in a temporary directory) that tests may stop and start."""

    def __init__(self) -> None:
        self.bin = _pg_bin()
        if self.bin is None:
            raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) not found")
        self.dir = Path(tempfile.mkdtemp(prefix="pgfault-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0  # initdb refuses to run as root
        if self.as_postgres:
            shutil.chown(self.dir, "postgres")

    def _run(self, *args: str) -> None:
        command = [str(a) for a in args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> PrivatePostgres:
        self._run(self.bin / "initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        return self.start()

    def start(self) -> PrivatePostgres:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(self.bin / "pg_ctl", "-D", self.data, "-o", options, "-l", self.dir / "log", "-w", "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        self._run(self.bin / "pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


def private_postgres(purpose: str) -> PrivatePostgres:
    """A started private cluster; without PostgreSQL's server binaries, a skip — a failure under
    CI=true, where nothing may be skipped for a missing tool."""
    try:
        return PrivatePostgres().init()
    except (RuntimeError, OSError) as error:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{purpose} needs PostgreSQL server binaries: {error}", pytrace=False)
        pytest.skip(f"no PostgreSQL server binaries: {error}")


class LiveService:
    """The service under gunicorn (production settings) on a free port, against `database_url`."""

    def __init__(self, database_url: str, *, workers: int = 2, extra_env: dict | None = None) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}/api/v1"
        self.env = {
            **os.environ,
            "APP_ENV": "production",
            "JWT_SECRET_KEY": "live-test-secret-0123456789abcdefghijklmnopqrstuvwxyz",
            "DATABASE_URL": database_url,
            "PORT": str(self.port),
            "WEB_CONCURRENCY": str(workers),
            "FLASK_APP": "wsgi",
            "LOG_LEVEL": "WARNING",
            "ACCESS_LOG": "false",
            "RATELIMIT_ENABLED": "false",
            "ADMIN_PASSWORD": "Admin@2019live",
            **(extra_env or {}),
        }
        self.process: subprocess.Popen | None = None

    def flask(self, *args: str) -> None:
        subprocess.run([BIN / "flask", *args], cwd=ROOT, env=self.env, check=True, capture_output=True, timeout=120)

    def prepare(self, seed: str = "reference") -> LiveService:
        self.flask("db", "upgrade")
        self.flask("seed", "--data", seed)
        self.flask("create-admin", "--username", "liveadmin")
        return self

    def start(self) -> LiveService:
        self.process = subprocess.Popen(
            [BIN / "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT, env=self.env,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if self.request("GET", "/health")[0] == 200:
                    return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not start")

    def workers(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True).stdout
        return [int(pid) for pid in out.split()]

    def stop(self) -> str:
        if self.process is None:
            return ""
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            _, stderr = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            _, stderr = self.process.communicate()
        return stderr.decode(errors="replace")

    def request(
        self, method: str, path: str, *, body=None, token: str | None = None, timeout: float = 10
    ) -> tuple[int, dict | None]:
        request = urllib.request.Request(
            self.base + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                return error.code, json.loads(raw)
            except ValueError:
                return error.code, {"raw": raw[:200].decode(errors="replace")}

    def login(self, username: str, password: str) -> str:
        status, body = self.request("POST", "/auth/login", body={"username": username, "password": password})
        assert status == 200, body
        return body["access_token"]
