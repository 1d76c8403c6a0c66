"""`make run` migrates, seeds and serves: health, Swagger UI and a demo login, then stops on Ctrl-C.

It runs with `make run`'s own worker setup (no WEB_CONCURRENCY), under which the login limits must
hold exactly as documented: 5 failed logins per (username, address) a minute, then 429 for that pair
only — the owner still logs in from another address."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTSIDE_WORKER_SETTINGS = ("WEB_CONCURRENCY", "GUNICORN_THREADS", "RATELIMIT_STORAGE_URI")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, data: bytes | None = None, address: str | None = None) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json"} if data else {}
    if address:
        headers["X-Forwarded-For"] = address  # PROXY_COUNT=1: as a reverse proxy would tell the app
    request = urllib.request.Request(url, data=data, headers=headers)
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status, response.read()


def _login_status(base: str, username: str, password: str, address: str) -> int:
    body = json.dumps({"username": username, "password": password}).encode()
    try:
        return _get(f"{base}/auth/login", body, address)[0]
    except urllib.error.HTTPError as error:
        return error.code


def test_make_run_serves_and_stops(tmp_path):
    port = _free_port()
    env = {
        # make run's own worker setup: no worker, thread or rate-limit storage settings from outside.
        **{k: v for k, v in os.environ.items() if k not in OUTSIDE_WORKER_SETTINGS},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}",
        "PORT": str(port),
        "SEED": "demo",
        "PROXY_COUNT": "1",
        "ATTACHMENT_DIR": str(tmp_path / "files"),
    }
    log = open(tmp_path / "make-run.log", "w+b")
    process = subprocess.Popen(
        ["make", "--no-print-directory", "run", f"VENV={Path(sys.prefix)}"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )

    def output() -> str:
        log.flush()
        return (tmp_path / "make-run.log").read_text(errors="replace")[-4000:]

    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                status, body = _get(f"{base}/health")
                break
            except OSError:
                assert process.poll() is None, output()
                assert time.monotonic() < deadline, "make run did not serve /api/v1/health within 90 s"
                time.sleep(0.5)
        assert status == 200 and json.loads(body) == {"status": "ok"}
        try:
            assert _get(f"http://127.0.0.1:{port}/api/docs")[0] == 200
            status, body = _get(
                f"{base}/auth/login", json.dumps({"username": "ent001", "password": "Demo@2019"}).encode()
            )
        except urllib.error.HTTPError as error:
            raise AssertionError(f"{error}: {error.read()[:500]!r}\n{output()}") from None
        assert status == 200 and json.loads(body)["user"]["username"] == "ent001"
        # LOGIN_LIMIT_PER_USERNAME_ADDRESS = 5 per minute: exactly 5 failures, then 429, whichever
        # worker or thread answers (several workers with in-process counters would let more through).
        attacker = [_login_status(base, "ent002", "wrong-guess-1", "203.0.113.9") for _ in range(8)]
        assert attacker == [401] * 5 + [429] * 3, attacker
        assert _login_status(base, "ent002", "Demo@2019", "203.0.113.9") == 429
        assert _login_status(base, "ent002", "Demo@2019", "198.51.100.4") == 200
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
    # Nothing is left listening once make run has returned.
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0
