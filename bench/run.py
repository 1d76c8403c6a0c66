"""`make bench`: the service against a reference app, alternating runs, on one machine.

Starts the service (production settings, PostgreSQL with the demo data) and bench/reference_app.py
under the same gunicorn settings, drives both with wrk on loopback, alternating reference and
service runs so both see the same machine noise, and prints requests/s, median and p99 latency and
the ratio to the reference (medians over the rounds). Also reports the resident memory of each
gunicorn worker under load. Results are written to bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SERVICE_PORT, REFERENCE_PORT = 8101, 8102
JWT_SECRET = "bench-only-secret-0123456789abcdefghijklmnopqrstuvwxyz"


@dataclass
class Scenario:
    name: str
    path: str
    reference: str  # "bare" or "naive"
    method: str = "GET"
    token: str | None = None
    body: dict | None = None
    samples: list[dict] = field(default_factory=list)
    reference_samples: list[dict] = field(default_factory=list)


def _env(database_url: str, workers: int) -> dict[str, str]:
    return {
        **os.environ,
        "APP_ENV": "production",
        "DATABASE_URL": database_url,
        "JWT_SECRET_KEY": JWT_SECRET,
        "WEB_CONCURRENCY": str(workers),
        "LOG_LEVEL": "WARNING",
        "ACCESS_LOG": "false",
        "SEED": "demo",
        "FLASK_APP": "wsgi",
        "PYTHONPATH": str(ROOT),
    }


def prepare_database(database_url: str) -> None:
    url = sa.engine.make_url(database_url)
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()
    env = _env(database_url, 1)
    subprocess.run([BIN / "flask", "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run([BIN / "flask", "seed", "--data", "demo"], cwd=ROOT, env=env, check=True)
    # Fresh statistics, as autovacuum would have them on a live database.
    engine = sa.create_engine(database_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text("ANALYZE"))
    engine.dispose()


def start(app: str, port: int, env: dict[str, str]) -> subprocess.Popen:
    process = subprocess.Popen(
        [BIN / "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", app],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(
                f"http://127.0.0.1:{port}/api/v1/health" if "wsgi" in app else f"http://127.0.0.1:{port}/bare",
                timeout=2,
            )
            return process
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{app} did not start on port {port}")


def api(method: str, path: str, *, token: str | None = None, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{SERVICE_PORT}/api/v1{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def login(username: str) -> str:
    return api("POST", "/auth/login", body={"username": username, "password": "Demo@2019"})["access_token"]


LUA = """
wrk.method = "{method}"
wrk.headers["Content-Type"] = "application/json"
{auth}
{body}
done = function(summary, latency, requests)
  io.write(string.format("BENCH %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


def run_wrk(url: str, *, method: str, token: str | None, body: dict | None, seconds: int, connections: int) -> dict:
    script = LUA.format(
        method=method,
        auth=f'wrk.headers["Authorization"] = "Bearer {token}"' if token else "",
        # Lua 5.1 strings know no \\u escapes: keep the UTF-8 characters themselves.
        body=f"wrk.body = {json.dumps(json.dumps(body, ensure_ascii=False), ensure_ascii=False)}"
        if body is not None
        else "",
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        completed = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", handle.name, url],
            capture_output=True,
            text=True,
        )
        output = completed.stdout + completed.stderr
    finally:
        os.unlink(handle.name)
    match = re.search(r"BENCH (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)", output)
    if match is None:
        raise RuntimeError(f"wrk printed no summary for {method} {url}:\n{output[-2000:]}")
    requests, duration_us, p50, p99, status_errors, socket_errors = map(int, match.groups())
    return {
        "rps": requests / (duration_us / 1e6),
        "p50_ms": p50 / 1000,
        "p99_ms": p99 / 1000,
        "non_2xx": status_errors,
        "socket_errors": socket_errors,
    }


def worker_rss_mb(master: subprocess.Popen) -> list[float]:
    children = subprocess.run(["pgrep", "-P", str(master.pid)], capture_output=True, text=True).stdout.split()
    sizes = []
    for pid in children:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        kb = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
        sizes.append(round(kb / 1024, 1))
    return sizes


def scenarios() -> list[Scenario]:
    ent, cadre, manager = login("ent001"), login("cadre001"), login("manager")
    me = api("GET", "/me", token=ent)
    items: list[Scenario] = [
        Scenario("login", "/auth/login", "bare", "POST", body={"username": "ent002", "password": "Demo@2019"}),
        Scenario("GET /enterprises/{id} (enterprise)", f"/enterprises/{me['enterprise_id']}", "naive", token=ent),
    ]
    optional = [
        ("GET /problems (enterprise)", "/problems?limit=20", "naive", ent),
        ("GET /problems (cadre)", "/problems?limit=20", "naive", cadre),
        ("GET /problems (manager)", "/problems?limit=20", "naive", manager),
        ("GET /stats/summary (manager)", "/stats/summary", "naive", manager),
    ]
    for name, path, reference, token in optional:
        try:
            api("GET", path, token=token)
        except urllib.error.HTTPError:
            print(f"skipping {name}: {path} is not served", file=sys.stderr)
            continue
        items.append(Scenario(name, path, reference, token=token))
    try:
        newest = api("GET", "/problems?limit=1", token=manager)["items"]
        if newest:  # demo accounts: entNNN belongs to enterprise NNN
            owner = login(f"ent{newest[0]['enterprise_id']:03d}")
            items.append(
                Scenario("GET /problems/{id} (enterprise)", f"/problems/{newest[0]['id']}", "naive", token=owner)
            )
        categories = api("GET", "/categories", token=ent)
        # Filed by another enterprise than the one whose list is measured, so that list stays as seeded.
        items.append(
            Scenario(
                "POST /problems (enterprise)",
                "/problems",
                "naive",
                "POST",
                token=login("ent003"),
                body={
                    "title": "厂区门口路灯损坏",
                    "description": "夜间照明不足，存在安全隐患",
                    "category_id": categories[0]["id"],
                },
            )
        )
    except urllib.error.HTTPError:
        print("skipping problem scenarios: /problems is not served", file=sys.stderr)
    try:
        enterprise = api("GET", "/enterprises?limit=1", token=cadre)["items"][0]
        api("GET", "/visits?limit=1", token=cadre)
        items.append(
            Scenario(
                "POST /visits/check-in (cadre)",
                "/visits/check-in",
                "naive",
                "POST",
                token=cadre,
                body={
                    "enterprise_id": enterprise["id"],
                    "lat": enterprise["lat"],
                    "lng": enterprise["lng"],
                    "accuracy_m": 15,
                },
            )
        )
    except urllib.error.HTTPError:
        print("skipping check-in: /visits is not served", file=sys.stderr)
    return items


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench"),
    )
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("BENCH_SECONDS", "5")))
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", "3")))
    parser.add_argument("--connections", type=int, default=int(os.environ.get("BENCH_CONNECTIONS", "8")))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("BENCH_WORKERS", "2")))
    parser.add_argument("--skip-setup", action="store_true", help="reuse the database from the previous run")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is not installed (make bench installs it)", file=sys.stderr)
        return 2
    if not args.skip_setup:
        prepare_database(args.database_url)
    env = _env(args.database_url, args.workers)
    service = start("wsgi:app", SERVICE_PORT, env)
    reference = start("bench.reference_app:app", REFERENCE_PORT, env)
    rss: list[float] = []
    try:
        plan = scenarios()
        for round_number in range(args.rounds):
            for scenario in plan:
                ref_url = f"http://127.0.0.1:{REFERENCE_PORT}/{scenario.reference}"
                scenario.reference_samples.append(
                    run_wrk(
                        ref_url, method="GET", token=None, body=None, seconds=args.seconds, connections=args.connections
                    )
                )
                scenario.samples.append(
                    run_wrk(
                        f"http://127.0.0.1:{SERVICE_PORT}/api/v1{scenario.path}",
                        method=scenario.method,
                        token=scenario.token,
                        body=scenario.body,
                        seconds=args.seconds,
                        connections=args.connections,
                    )
                )
                rss = max(rss, worker_rss_mb(service), key=lambda sizes: max(sizes, default=0))
            print(f"round {round_number + 1}/{args.rounds} done", file=sys.stderr)
    finally:
        for process in (service, reference):
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
    return report(plan, rss, args)


def _median(samples: list[dict], key: str) -> float:
    return statistics.median(sample[key] for sample in samples)


def report(plan: list[Scenario], rss: list[float], args) -> int:
    rows = []
    for scenario in plan:
        rps, ref_rps = _median(scenario.samples, "rps"), _median(scenario.reference_samples, "rps")
        rows.append(
            {
                "endpoint": scenario.name,
                "reference": scenario.reference,
                "rps": round(rps, 1),
                "p50_ms": round(_median(scenario.samples, "p50_ms"), 2),
                "p99_ms": round(_median(scenario.samples, "p99_ms"), 2),
                "reference_rps": round(ref_rps, 1),
                "ratio": round(rps / ref_rps, 3) if ref_rps else None,
                "non_2xx": sum(s["non_2xx"] for s in scenario.samples),
                "socket_errors": sum(s["socket_errors"] for s in scenario.samples),
            }
        )
    header = "| endpoint | req/s | p50 ms | p99 ms | reference | ref req/s | ratio | non-2xx |"
    print(
        f"\n{args.rounds} alternating rounds of {args.seconds} s, wrk -c{args.connections}, "
        f"gunicorn {args.workers} workers (medians)\n"
    )
    print(header)
    print("|" + "---|" * 8)
    for row in rows:
        print(
            f"| {row['endpoint']} | {row['rps']} | {row['p50_ms']} | {row['p99_ms']} | {row['reference']} "
            f"| {row['reference_rps']} | {row['ratio']} | {row['non_2xx']} |"
        )
    print(f"\nresident memory per gunicorn worker under load (MB): {rss}")
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "latest.json").write_text(
        json.dumps({"rows": rows, "worker_rss_mb": rss, "args": vars(args)}, ensure_ascii=False, indent=2)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
