"""`GET /problems` at scale (issue 8): pages of 20 per role and filter, against the bare SQL they send.

    .venv/bin/python bench/list_scale.py --sizes 10000 100000 1000000 --runs 15 --runs-large 7

For each size N the script (re)creates a PostgreSQL database (default `bench_scale`) and fills it
with bench/data.py (the generator stats_scale.py uses; history up to now, since the `overdue`
filter compares with the clock). Then, in a fresh process, through the real app (Flask test client,
real login, real JWT) it requests, for a manager (no filter and each filter), the busiest
enterprise, two cadres and two departments:
  - the first page (`?limit=20`), and
  - a deep page: the one reached by following `next_cursor` --hops times (or the last one, if the
    caller has fewer pages; the table says which page it is);
and times, interleaved, each request and the bare SQL of the same page: the statements the request
sent (recorded once), replayed on a raw psycopg connection (fetchall), with no Flask, no ORM and
no serialisation. It also reports the statements per request (must not vary) and the shared
buffers the page query touched (from EXPLAIN (ANALYZE, BUFFERS): a measure of work that machine
noise does not blur). With --explain, the plans of every page query are written to
bench/results/list_scale_explain_<N>.txt, and any sequential scan of a big table or sort of more
rows than a page is flagged.

Prints one table (median milliseconds per N, ratio of the largest N to the smallest) and writes
bench/results/list_scale.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import data  # noqa: E402  (after the path set-up, for `python bench/list_scale.py`)

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_scale"
PASSWORD = "Bench@2019"
PAGE = 20
RESULTS = ROOT / "bench" / "results"
# Tables large enough that a sequential scan of them grows with N.
BIG_TABLES = {"problems", "problem_events", "ratings", "visits"}


def _actors(connection, enterprises: int) -> dict[str, str]:
    """Usernames of the callers, chosen by how the generator shapes the data (bench/data.py)."""

    def one(sql: str, *args: Any) -> Any:
        return connection.execute(sql, args).fetchone()[0]

    busiest = one(
        "SELECT enterprise_id FROM problems GROUP BY enterprise_id ORDER BY count(*) DESC, enterprise_id LIMIT 1"
    )
    main_department = one("SELECT default_department_id FROM categories WHERE code = 'zhengce'")
    wrong_only = one("SELECT id FROM departments WHERE code = 'czj'")
    return {
        "manager": "bmanager",
        "enterprise": one("SELECT username FROM users WHERE enterprise_id = %s", busiest),
        # bcadreN, N = 3k+1, 3k+2, 3k+3: linked to 1, 2 and 3 enterprises; enterprises 4-6 are among the busiest.
        "cadre_busy": "bcadre3",
        "cadre_typical": f"bcadre{3 * (enterprises // 12) + 2}",
        "department_main": one(
            "SELECT username FROM users WHERE department_id = %s ORDER BY id LIMIT 1", main_department
        ),
        "department_small": one("SELECT username FROM users WHERE department_id = %s ORDER BY id LIMIT 1", wrong_only),
    }


def _scenarios(connection, now: datetime) -> list[tuple[str, str, dict]]:
    def ref(sql: str) -> int:
        return connection.execute(sql).fetchone()[0]

    land = ref("SELECT id FROM categories WHERE code = 'yongdi'")
    labour = ref("SELECT id FROM departments WHERE code = 'rsj'")
    since = (now - timedelta(days=7)).isoformat().replace("+00:00", "Z")
    return [
        ("manager", "manager", {}),
        ("manager status=in_progress", "manager", {"status": "in_progress"}),
        ("manager category_id", "manager", {"category_id": land}),
        ("manager overdue=true", "manager", {"overdue": "true"}),
        ("manager supervised=true", "manager", {"supervised": "true"}),
        ("manager updated_since=-7d", "manager", {"updated_since": since}),
        ("manager department_id", "manager", {"department_id": labour}),
        ("enterprise (busiest)", "enterprise", {}),
        ("cadre (3 busy links)", "cadre_busy", {}),
        ("cadre (2 typical links)", "cadre_typical", {}),
        ("department (2 categories)", "department_main", {}),
        ("department (wrong dispatches)", "department_small", {}),
    ]


class Recorder:
    """Records the statements sent on the app's engine while active."""

    def __init__(self, engine) -> None:
        from sqlalchemy import event

        self.statements: list[tuple[str, Any]] = []
        self.active = False
        event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, _conn, _cursor, statement, parameters, _context, _executemany) -> None:
        if self.active:
            self.statements.append((statement, parameters))

    def capture(self, call) -> tuple[Any, list[tuple[str, Any]]]:
        self.statements, self.active = [], True
        try:
            return call(), self.statements
        finally:
            self.active = False


def _page_query(statements: list[tuple[str, Any]]) -> tuple[str, Any]:
    return next((s, p) for s, p in statements if "FROM problems" in s and "LIMIT" in s)


def _plan_findings(plan: dict, limit: int) -> dict:
    """What a plan does that grows with N: sequential scans of big tables, sorts of many rows."""
    findings = {"seq_scans": [], "big_sorts": [], "indexes": set(), "hashed_subplans": 0}

    def walk(node: dict) -> None:
        kind = node["Node Type"]
        if kind == "Seq Scan" and node.get("Relation Name") in BIG_TABLES:
            findings["seq_scans"].append(node["Relation Name"])
        if kind in ("Index Scan", "Index Only Scan", "Bitmap Index Scan"):
            findings["indexes"].add(node["Index Name"])
        if kind == "Sort":
            sorted_rows = node["Plans"][0]["Actual Rows"] * node["Plans"][0].get("Actual Loops", 1)
            if sorted_rows > limit:
                findings["big_sorts"].append(sorted_rows)
        # A scope evaluated as a hashed subplan reads all of its rows before the first page row.
        findings["hashed_subplans"] += sum(
            "hashed SubPlan" in node.get(key, "") for key in ("Filter", "Join Filter", "Index Cond")
        )
        for child in node.get("Plans", []):
            walk(child)

    walk(plan["Plan"])
    findings["indexes"] = sorted(findings["indexes"])
    return findings


def _explain(raw, statement: str, parameters: Any) -> tuple[dict, str]:
    as_json = raw.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters).fetchone()[0][0]
    as_text = "\n".join(row[0] for row in raw.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).fetchall())
    return as_json, as_text


def _buffers(plan: dict) -> int:
    node = plan["Plan"]
    return node.get("Shared Hit Blocks", 0) + node.get("Shared Read Blocks", 0)


def measure(url: str, *, runs: int, hops: int, explain: bool, problems: int) -> dict:
    """In this (fresh) process: log in, walk each scenario's pages, time app and bare SQL."""
    import psycopg
    from sqlalchemy import text

    from service_app.auth.passwords import hash_password
    from service_app.extensions import db

    app = data.make_app(url)
    app.config["RATELIMIT_ENABLED"] = False
    client = app.test_client()
    now = datetime.now(UTC)
    with psycopg.connect(data.libpq_url(url), autocommit=True) as raw:
        enterprises = raw.execute("SELECT count(*) FROM enterprises").fetchone()[0]
        actors = _actors(raw, enterprises)
        scenarios = _scenarios(raw, now)
    with app.app_context():
        db.session.execute(
            text("UPDATE users SET password_hash = :h WHERE username = ANY(:names)"),
            {"h": hash_password(PASSWORD), "names": list(actors.values())},
        )
        db.session.commit()
        engine = db.engine
    recorder = Recorder(engine)
    tokens = {}
    for key, username in actors.items():
        response = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
        assert response.status_code == 200, response.get_json()
        tokens[key] = response.get_json()["access_token"]

    results, plans_text = {}, []
    with psycopg.connect(data.libpq_url(url), autocommit=True) as raw:
        for name, who, params in scenarios:
            headers = {"Authorization": f"Bearer {tokens[who]}"}

            def get(cursor: str | None, params=params, headers=headers):
                query = {**params, "limit": PAGE, **({"cursor": cursor} if cursor else {})}
                response = client.get("/api/v1/problems", query_string=query, headers=headers)
                assert response.status_code == 200, response.get_data(as_text=True)[:300]
                return response.get_json()

            # Walk to the deep page once (this also warms the caches).
            cursors, cursor = [None], None
            for _ in range(hops):
                cursor = get(cursor)["next_cursor"]
                if cursor is None:
                    break
                cursors.append(cursor)
            pages = {"first": cursors[0], "deep": cursors[-1]} if len(cursors) > 1 else {"first": None}
            results[name] = {"who": who, "username": actors[who], "params": params}
            for label, page_cursor in pages.items():
                body, statements = recorder.capture(lambda c=page_cursor: get(c))
                app_times, bare_times = [], []
                for _ in range(runs):
                    started = time.perf_counter()
                    get(page_cursor)
                    app_times.append(time.perf_counter() - started)
                    started = time.perf_counter()
                    for statement, parameters in statements:
                        raw.execute(statement, parameters).fetchall()
                    bare_times.append(time.perf_counter() - started)
                statement, parameters = _page_query(statements)
                plan, plan_text = _explain(raw, statement, parameters)
                results[name][label] = {
                    "page": cursors.index(page_cursor) + 1,
                    "items": len(body["items"]),
                    "app_ms": round(statistics.median(app_times) * 1000, 2),
                    "bare_ms": round(statistics.median(bare_times) * 1000, 2),
                    "statements": len(statements),
                    "buffers": _buffers(plan),
                    "plan_ms": round(plan["Execution Time"], 2),
                    **_plan_findings(plan, PAGE + 1),
                }
                if explain:
                    heading = f"=== {name} — {label} page (page {results[name][label]['page']}) ==="
                    plans_text.append(f"{heading}\n{statement % _quoted(raw, parameters)}\n\n{plan_text}\n")
    if explain:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"list_scale_explain_{problems}.txt").write_text("\n".join(plans_text))
    return results


def _quoted(raw, parameters: Any) -> dict:
    """Parameters as SQL literals, so the plan file shows a runnable statement."""
    from psycopg.sql import Literal

    return {key: Literal(value).as_string(raw) for key, value in (parameters or {}).items()}


def _multiples(entries: list[dict | None]) -> str:
    """App time and buffers of the last entry as multiples of the first comparable one: the same
    page, as full (at 10k some callers have fewer pages; then a later N is the base, marked *)."""
    last = entries[-1]
    base = next(
        (e for e in entries[:-1] if e and last and (e["page"], e["items"]) == (last["page"], last["items"])), None
    )
    if base is None:
        return f"{'—':>6} {'—':>6}"
    mark = "" if base is entries[0] else "*"
    app_ratio, buffer_ratio = last["app_ms"] / base["app_ms"], last["buffers"] / max(base["buffers"], 1)
    return f"{app_ratio:>5.2f}{mark or ' '} {buffer_ratio:>5.2f}{mark or ' '}"


def report(rows: list[dict]) -> None:
    """The table: per N the medians (ms) of the app and the bare SQL and the page query's shared
    buffers; then, per larger N, app time and buffers as multiples of the smallest N (flatness)."""
    sizes = [row["problems"] for row in rows]
    per_size = " | ".join(f"{f'N={size:,}':^24}" for size in sizes)
    ratios = " | ".join(f"{f'{size // 1000:,}k/{sizes[0] // 1000:,}k':^13}" for size in sizes[1:])
    print(f"\n{'scenario':<30} {'page':>5} | {per_size} | {ratios} | stmts")
    print(
        f"{'':<30} {'':>5} | "
        + " | ".join(f"{'app':>7} {'bare':>7} {'buf':>7} " for _ in sizes)
        + "| "
        + " | ".join(f"{'app':>6} {'buf':>6}" for _ in sizes[1:])
        + " |"
    )
    for name in rows[0]["scenarios"]:
        for label in ("first", "deep"):
            entries = [row["scenarios"][name].get(label) for row in rows]
            cells = [
                f"{e['app_ms']:>7.2f} {e['bare_ms']:>7.2f} {e['buffers']:>7} " if e else f"{'—':>7} {'—':>7} {'—':>7} "
                for e in entries
            ]
            multiples = [_multiples(entries[: i + 1]) for i in range(1, len(entries))]
            pages = {e["page"] for e in entries if e}
            page = "first" if label == "first" else ",".join(f"p{p}" for p in sorted(pages)) or "—"
            statements = ",".join(str(n) for n in sorted({e["statements"] for e in entries if e}))
            print(f"{name:<30} {page:>5} | " + "| ".join(cells) + "| " + " | ".join(multiples) + f" | {statements}")
    print("(* multiple of a larger N: the smallest has no such full page; buf = shared buffers of the page query)")
    flagged = [
        (row["problems"], name, label, entry)
        for row in rows
        for name, scenario in row["scenarios"].items()
        for label in ("first", "deep")
        if (entry := scenario.get(label)) and (entry["seq_scans"] or entry["big_sorts"] or entry["hashed_subplans"])
    ]
    print(
        "\nPlans with a sequential scan of a big table, a sort of more than a page or a hashed subplan:"
        + ("" if flagged else " none")
    )
    for size, name, label, entry in flagged:
        print(
            f"  N={size:,} {name} ({label}): seq scans {entry['seq_scans'] or '-'}, "
            f"sorted rows {entry['big_sorts'] or '-'}, hashed subplans {entry['hashed_subplans']}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=15, help="timed repetitions per page")
    parser.add_argument("--runs-large", type=int, default=7, help="repetitions at N >= 1,000,000")
    parser.add_argument("--hops", type=int, default=4, help="next_cursor hops to the deep page")
    parser.add_argument("--explain", action="store_true", help="write every page query's plan to bench/results/")
    parser.add_argument("--keep", action="store_true", help="keep the last database instead of dropping it")
    parser.add_argument("--url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--output", default=str(RESULTS / "list_scale.json"))
    parser.add_argument("--report", metavar="JSON", help="only print the table of an earlier run's results")
    args = parser.parse_args()
    if args.report:
        report(json.loads(Path(args.report).read_text()))
        return
    if args.measure:
        runs = args.runs_large if args.measure >= 1_000_000 else args.runs
        print(json.dumps(measure(args.url, runs=runs, hops=args.hops, explain=args.explain, problems=args.measure)))
        return
    rows = []
    for size in args.sizes:
        counts = data.generate(args.url, problems=size, until=datetime.now(UTC))
        print(f"N={size:>9,}: generated {counts}", flush=True)
        command = [
            sys.executable,
            __file__,
            "--measure",
            str(size),
            "--url",
            args.url,
            "--runs",
            str(args.runs),
            "--runs-large",
            str(args.runs_large),
            "--hops",
            str(args.hops),
        ]
        started = time.perf_counter()
        output = subprocess.run(
            command + (["--explain"] if args.explain else []), check=True, capture_output=True, text=True
        ).stdout
        print(f"N={size:>9,}: measured in {time.perf_counter() - started:.0f}s", flush=True)
        rows.append({"problems": size, **counts, "scenarios": json.loads(output.strip().splitlines()[-1])})
    if not args.keep:
        data.drop_database(args.url)
    report(rows)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
