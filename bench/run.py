"""`make bench`: the service against a reference app, alternating runs, on one machine.

Starts the service (production settings, PostgreSQL with the demo data) and bench/reference_app.py
under the same gunicorn settings, drives both with wrk on loopback, alternating reference and
service runs so both see the same machine noise, and prints a markdown table of requests/s, median
and p99 latency, the ratio to the reference (medians over the rounds) and the DESIGN §14 target it
must reach. Also reports the resident memory of each gunicorn worker under load and the machine's
load average. Results are written to bench/results/latest.json.

Writes (POST /problems, POST /visits/check-in, the reference's naive INSERT) add rows; after every
round the rows added since the seed are deleted and the touched tables vacuumed, so later rounds
(and the read scenarios, e.g. the to-do counts of unread notices) see the database as seeded. No
limit had to be raised: filing and check-in carry no rate limit (only login and SMS codes do, and
the bench logs each account in once, before measuring).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# Free ports, chosen when the bench starts (`main`): a fixed port taken by another program (or another
# bench) would be answered by it, and the figures would be someone else's.
SERVICE_PORT, REFERENCE_PORT = 0, 0
JWT_SECRET = "bench-only-secret-0123456789abcdefghijklmnopqrstuvwxyz"


@dataclass
class Scenario:
    name: str
    path: str
    reference: str  # "bare" or "naive"
    method: str = "GET"
    target: float | None = None  # DESIGN §14: the least ratio to the reference
    token: str | None = None
    body: dict | None = None
    status: int | None = None  # a floor's expected answer (422); None: every answer 2xx
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


def free_ports(count: int) -> list[int]:
    """`count` distinct ports free on loopback (all held open together while chosen)."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def start(app: str, port: int, env: dict[str, str]) -> subprocess.Popen:
    process = subprocess.Popen(
        [BIN / "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", app],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{app} exited with {process.returncode} before answering on port {port}")
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


def best_of(draws: int, url: str, **options) -> dict:
    """The run with the most requests/s of `draws` wrk runs of `url` (its latencies with it): the
    better draw of how wrk's connections fell on the gunicorn workers. Every error of every run is
    kept, so a failing draw still shows in the non-2xx column."""
    runs = [run_wrk(url, **options) for _ in range(max(1, draws))]
    best = dict(max(runs, key=lambda run: run["rps"]))
    best["non_2xx"] = sum(run["non_2xx"] for run in runs)
    best["socket_errors"] = sum(run["socket_errors"] for run in runs)
    return best


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


LIST, DETAIL, READ, WRITE = 0.8, 0.8, 0.9, 0.5  # DESIGN §14


def scenarios() -> list[Scenario]:
    """Every DESIGN §14 scenario, each against its reference: reads against the naive page, writes
    against the naive INSERT + commit (the same `/naive` path, POSTed)."""
    ent, cadre, manager, department = login("ent001"), login("cadre001"), login("manager"), login("dept01")
    items = [
        Scenario("GET /problems (enterprise)", "/problems?limit=20", "naive", token=ent, target=LIST),
        Scenario("GET /problems (cadre)", "/problems?limit=20", "naive", token=cadre, target=LIST),
        Scenario("GET /problems (manager)", "/problems?limit=20", "naive", token=manager, target=LIST),
        Scenario("GET /problems (department)", "/problems?limit=20", "naive", token=department, target=LIST),
    ]
    newest = api("GET", "/problems?limit=1", token=manager)["items"][0]
    # Demo accounts: entNNN belongs to enterprise NNN.
    owner = login(f"ent{newest['enterprise_id']:03d}")
    items += [
        Scenario("GET /problems/{id} (enterprise)", f"/problems/{newest['id']}", "naive", token=owner, target=DETAIL),
        Scenario("GET /stats/summary (manager)", "/stats/summary", "naive", token=manager, target=READ),
        Scenario("GET /me/todo (cadre)", "/me/todo", "naive", token=cadre, target=READ),
    ]
    categories = api("GET", "/categories", token=ent)
    # Filed by another enterprise than the ones whose lists are measured.
    items.append(
        Scenario(
            "POST /problems (enterprise)", "/problems", "naive", "POST", token=login("ent003"), target=WRITE,
            body={
                "title": "厂区门口路灯损坏",
                "description": "夜间照明不足，存在安全隐患",
                "category_id": categories[0]["id"],
            },
        )
    )
    enterprise = api("GET", "/enterprises?limit=1", token=cadre)["items"][0]
    items.append(
        Scenario(
            "POST /visits/check-in (cadre)", "/visits/check-in", "naive", "POST", token=cadre, target=WRITE,
            body={
                "enterprise_id": enterprise["id"],
                "lat": enterprise["lat"],
                "lng": enterprise["lng"],
                "accuracy_m": 15,
            },
        )
    )
    for scenario in items:  # every scenario answers 2xx before it is measured
        api(scenario.method, scenario.path, token=scenario.token, body=scenario.body)
    return items


def floors(items: list[Scenario]) -> list[Scenario]:
    """What an authenticated write costs before it does anything (`--floors`): each write scenario's
    endpoint and token with an empty body, which the service refuses at validation (422) — routing,
    the token, the session check, BEGIN and ROLLBACK, body parsing and the error document, and no
    write. No write of the service can cost less, so the ratio of a floor bounds the ratio a write can
    reach. Measured against the same naive INSERT (which still writes), without a target."""
    found = []
    for scenario in items:
        if scenario.method != "POST":
            continue
        floor = Scenario(
            f"{scenario.name} refused (422)", scenario.path, scenario.reference, "POST", token=scenario.token,
            body={}, status=422,
        )
        try:
            api(floor.method, floor.path, token=floor.token, body=floor.body)
        except urllib.error.HTTPError as error:
            if error.code != floor.status:
                raise
        else:
            raise RuntimeError(f"{floor.name}: the empty body was accepted")
        found.append(floor)
    return found


# Tables the write scenarios add rows to, children first; `bench_writes` is the reference's own.
WRITTEN_TABLES = ("notifications", "problem_events", "problems", "visits", "idempotency_keys", "bench_writes")


def watermarks(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table: connection.execute(sa.text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar_one()
            for table in WRITTEN_TABLES
        }


def restore(engine: sa.Engine, marks: dict[str, int]) -> None:
    """Delete what the writes added since `marks`, and vacuum, so the next round starts as seeded."""
    with engine.begin() as connection:
        for table in WRITTEN_TABLES:
            connection.execute(sa.text(f"DELETE FROM {table} WHERE id > :mark"), {"mark": marks[table]})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text(f"VACUUM ANALYZE {', '.join(WRITTEN_TABLES)}"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench"),
    )
    # Which gunicorn worker serves a keep-alive connection is settled when wrk connects: often one
    # worker takes all 8 and serves them on one core at about half the rate, for either app (seen: the
    # same endpoint at ~350 or ~600–830 req/s from one 2-s run to the next). Each round therefore
    # keeps the better of `--draws` runs of each app, the same for the service and the reference.
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("BENCH_SECONDS", "2")))
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", "5")))
    parser.add_argument("--draws", type=int, default=int(os.environ.get("BENCH_DRAWS", "2")))
    parser.add_argument("--connections", type=int, default=int(os.environ.get("BENCH_CONNECTIONS", "8")))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("BENCH_WORKERS", "2")))
    parser.add_argument("--skip-setup", action="store_true", help="reuse the database from the previous run")
    parser.add_argument("--only", default="", help="measure only the scenarios whose name contains this text")
    parser.add_argument(
        "--floors", action="store_true", help="also measure each write refused at validation (422): its floor"
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is not installed (make bench installs it)", file=sys.stderr)
        return 2
    if not args.skip_setup:
        prepare_database(args.database_url)
    env = _env(args.database_url, args.workers)
    global SERVICE_PORT, REFERENCE_PORT
    SERVICE_PORT, REFERENCE_PORT = free_ports(2)
    service = start("wsgi:app", SERVICE_PORT, env)
    reference = start("bench.reference_app:app", REFERENCE_PORT, env)
    engine = sa.create_engine(args.database_url)
    rss: list[float] = []
    load = [os.getloadavg()[0]]
    try:
        plan = [scenario for scenario in scenarios() if args.only in scenario.name]
        if args.floors:
            plan += floors(plan)
        marks = watermarks(engine)
        for round_number in range(args.rounds):
            for scenario in plan:
                ref_url = f"http://127.0.0.1:{REFERENCE_PORT}/{scenario.reference}"
                scenario.reference_samples.append(
                    best_of(
                        args.draws,
                        ref_url,
                        method=scenario.method,
                        token=None,
                        body=scenario.body,
                        seconds=args.seconds,
                        connections=args.connections,
                    )
                )
                scenario.samples.append(
                    best_of(
                        args.draws,
                        f"http://127.0.0.1:{SERVICE_PORT}/api/v1{scenario.path}",
                        method=scenario.method,
                        token=scenario.token,
                        body=scenario.body,
                        seconds=args.seconds,
                        connections=args.connections,
                    )
                )
                rss = max(rss, worker_rss_mb(service), key=lambda sizes: max(sizes, default=0))
            restore(engine, marks)
            load.append(os.getloadavg()[0])
            print(f"round {round_number + 1}/{args.rounds} done", file=sys.stderr)
    finally:
        for process in (service, reference):
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        engine.dispose()
    return report(plan, rss, load, args)


def _median(samples: list[dict], key: str) -> float:
    return statistics.median(sample[key] for sample in samples)


RSS_TARGET_MB = 120  # DESIGN §14


def report(plan: list[Scenario], rss: list[float], load: list[float], args) -> int:
    rows = []
    for scenario in plan:
        rps, ref_rps = _median(scenario.samples, "rps"), _median(scenario.reference_samples, "rps")
        ratio = round(rps / ref_rps, 3) if ref_rps else None
        rows.append(
            {
                "endpoint": scenario.name,
                "reference": f"{'POST' if scenario.method == 'POST' else 'GET'} /{scenario.reference}",
                "rps": round(rps, 1),
                "p50_ms": round(_median(scenario.samples, "p50_ms"), 2),
                "p99_ms": round(_median(scenario.samples, "p99_ms"), 2),
                "reference_rps": round(ref_rps, 1),
                "reference_p50_ms": round(_median(scenario.reference_samples, "p50_ms"), 2),
                "ratio": ratio,
                "target": scenario.target,
                "met": None if scenario.target is None or ratio is None else ratio >= scenario.target,
                # wrk counts answers of 400 and above: a floor's are all its expected 422s.
                "non_2xx": sum(s["non_2xx"] for s in scenario.samples) if scenario.status is None else None,
                "socket_errors": sum(s["socket_errors"] for s in scenario.samples),
            }
        )
    print(
        f"\n`make bench`: {args.rounds} alternating rounds, each the better of {args.draws} wrk runs of "
        f"{args.seconds} s per app, wrk -c{args.connections}, "
        f"gunicorn {args.workers} workers (medians); load average (1 min) {min(load):.1f}–{max(load):.1f} "
        f"on {os.cpu_count()} cores\n"
    )
    print(
        "| endpoint | req/s | p50 ms | p99 ms | reference | ref req/s | ref p50 ms | ratio | target | met? | non-2xx |"
    )
    print("|" + "---|" * 11)
    for row in rows:
        met = {True: "yes", False: "**no**", None: "–"}[row["met"]]
        errors = "422 expected" if row["non_2xx"] is None else row["non_2xx"] + row["socket_errors"]
        target = "–" if row["target"] is None else f"≥ {row['target']}"
        print(
            f"| {row['endpoint']} | {row['rps']} | {row['p50_ms']} | {row['p99_ms']} | {row['reference']} "
            f"| {row['reference_rps']} | {row['reference_p50_ms']} | {row['ratio']} "
            f"| {target} | {met} | {errors} |"
        )
    rss_met = bool(rss) and max(rss) < RSS_TARGET_MB
    print(
        f"\nResident memory per gunicorn worker under load: {', '.join(f'{mb} MB' for mb in rss)} "
        f"(target < {RSS_TARGET_MB} MB: {'yes' if rss_met else '**no**'})"
    )
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "latest.json").write_text(
        json.dumps(
            {"rows": rows, "worker_rss_mb": rss, "load_average": load, "args": vars(args)},
            ensure_ascii=False,
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
