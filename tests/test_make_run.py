"""`make run` migrates, seeds and serves: health, Swagger UI and a demo login, then stops on Ctrl-C."""

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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, data: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"} if data else {})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status, response.read()


def test_make_run_serves_and_stops(tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}",
        "PORT": str(port),
        "SEED": "demo",
        "WEB_CONCURRENCY": "1",
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
