"""Statistics at scale (DESIGN.md §8): the statistics jobs against the bare aggregate SQL they run.

    .venv/bin/python bench/stats_scale.py --sizes 10000 100000 1000000 --runs 3

For each size N the script (re)creates a PostgreSQL database (default `bench_stats`), migrates it,
loads the reference data and generates N problems with `INSERT … SELECT generate_series` (with
enterprises, cadres, links, events, ratings and visits in proportion). Then, in a fresh process,
it runs each job once while recording the SELECT statements it sends, and times, interleaved:
  - the job: `stats.jobs.refresh_snapshot` / `refresh_trends` (queries, Python assembly, upserts, commit);
  - the bare SQL: the same recorded statements replayed on a raw psycopg connection (fetchall),
    with no ORM, no Python assembly and no snapshot writing.
It prints the medians and their ratio (target: job within 3x of the bare SQL), and the process's
peak RSS, which should not grow with N (the aggregation happens in the database).
Results are also written to bench/results/stats_scale.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_stats"
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
JOBS = {"snapshot": "refresh_snapshot", "trends": "refresh_trends"}


def _libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _recreate_database(url: str) -> None:
    import psycopg

    base, name = _libpq_url(url).rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def _app(url: str):
    from service_app import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "LOG_JSON": False, "LOG_LEVEL": "WARNING"})


def _themes_sql() -> str:
    from seeds.activity import THEMES

    phrases = [phrase for phrases in THEMES.values() for phrase in phrases]
    return "ARRAY[" + ",".join(f"'{p}'" for p in phrases) + "]"


GENERATE = """
SELECT setseed(0.2019);
INSERT INTO enterprises (name, credit_code, lat, lng, park_id, chain_id, scale, created_at, updated_at)
SELECT 'bench enterprise ' || i, 'B' || lpad(i::text, 17, '0'), 27.80 + random() * 0.08, 113.03 + random() * 0.12,
       (SELECT array_agg(id ORDER BY id) FROM parks)[1 + i % 6], (SELECT array_agg(id ORDER BY id) FROM chains)[1 + (i / 6) % 6],
       'small', now(), now()
FROM generate_series(1, {enterprises}) i;
INSERT INTO users (username, name, role, password_hash, enterprise_id, is_active, created_at, updated_at)
SELECT 'bent' || e.id, 'bench ent ' || e.id, 'enterprise', 'x', e.id, true, now(), now() FROM enterprises e;
INSERT INTO users (username, name, role, password_hash, is_active, created_at, updated_at)
SELECT 'bcadre' || e.id, 'bench cadre ' || e.id, 'cadre', 'x', true, now(), now() FROM enterprises e;
INSERT INTO users (username, name, role, password_hash, department_id, is_active, created_at, updated_at)
SELECT 'bdept' || d.id, 'bench dept ' || d.id, 'department', 'x', d.id, true, now(), now() FROM departments d;
INSERT INTO cadre_links (cadre_id, enterprise_id, role, started_on, created_at)
SELECT c.id, e.id, 'primary', DATE '2019-01-01', now() FROM enterprises e JOIN users c ON c.username = 'bcadre' || e.id;

CREATE TEMP TABLE ents AS
SELECT row_number() OVER (ORDER BY e.id) AS k, e.id AS enterprise_id, u.id AS user_id, l.cadre_id
FROM enterprises e JOIN users u ON u.enterprise_id = e.id JOIN cadre_links l ON l.enterprise_id = e.id;
CREATE TEMP TABLE cats AS
SELECT row_number() OVER (ORDER BY c.id) AS k, c.id AS category_id, c.default_department_id, c.sla_hours,
       (SELECT u.id FROM users u WHERE u.department_id = c.default_department_id LIMIT 1) AS staff_id
FROM categories c;

INSERT INTO problems (code, enterprise_id, category_id, title, description, urgent, status, filed_by_id, cadre_id,
                      department_id, handler_id, supervised, reopen_count, created_at, updated_at, response_due_at,
                      first_response_at, due_at, resolved_at, closed_at, version)
SELECT 'B-' || g.i, e.enterprise_id, c.category_id, ({themes})[1 + floor(g.rt * {theme_count})::int], 'bench', g.ru < 0.08,
       s.status, e.user_id, e.cadre_id,
       CASE WHEN s.status IN ('dispatched', 'in_progress') OR (s.status IN ('resolved', 'closed') AND g.rd < 0.8) THEN c.default_department_id END,
       CASE WHEN s.status IN ('in_progress', 'resolved', 'closed') AND g.rd < 0.8 THEN c.staff_id WHEN s.status <> 'submitted' THEN e.cadre_id END,
       false, 0, g.created, g.created, g.created + interval '24 hours',
       CASE WHEN s.status <> 'submitted' THEN g.created + g.rr * interval '40 hours' END,
       g.created + c.sla_hours * interval '1 hour',
       CASE WHEN s.status IN ('resolved', 'closed') THEN g.created + g.rx * c.sla_hours * interval '1.6 hours' + interval '2 hours' END,
       CASE WHEN s.status = 'closed' THEN g.created + c.sla_hours * interval '2 hours' END,
       1
FROM (
    SELECT i, 1 + floor(random() * {enterprises})::int AS ek, 1 + floor(random() * 9)::int AS ck, random() AS rs, random() AS rr,
           random() AS rx, random() AS rd, random() AS rt, random() AS ru,
           timestamptz '2019-03-01 00:00+08' + random() * interval '2400 days' AS created
    FROM generate_series(1, {problems}) i
) g
JOIN ents e ON e.k = g.ek
JOIN cats c ON c.k = g.ck
CROSS JOIN LATERAL (SELECT CASE WHEN g.rs < 0.52 THEN 'closed' WHEN g.rs < 0.58 THEN 'resolved' WHEN g.rs < 0.63 THEN 'rejected'
                                WHEN g.rs < 0.68 THEN 'submitted' WHEN g.rs < 0.76 THEN 'accepted' WHEN g.rs < 0.86 THEN 'dispatched'
                                ELSE 'in_progress' END AS status) s;

INSERT INTO problem_events (problem_id, actor_id, action, from_status, to_status, internal, created_at)
SELECT id, filed_by_id, 'submit', NULL, 'submitted', false, created_at FROM problems;
INSERT INTO problem_events (problem_id, actor_id, action, from_status, to_status, department_id, internal, created_at)
SELECT id, cadre_id, 'dispatch', 'accepted', 'dispatched', department_id, false, created_at + interval '3 hours'
FROM problems WHERE department_id IS NOT NULL;
-- One in twenty was first sent to the wrong department and returned.
INSERT INTO problem_events (problem_id, actor_id, action, from_status, to_status, department_id, internal, created_at)
SELECT id, cadre_id, 'dispatch', 'accepted', 'dispatched', (SELECT min(id) FROM departments) + (department_id % 12), false, created_at + interval '1 hour'
FROM problems WHERE department_id IS NOT NULL AND id % 20 = 0;
INSERT INTO ratings (problem_id, enterprise_id, rated_by_id, resolution_no, score, created_at)
SELECT id, enterprise_id, filed_by_id, 0, (ARRAY[1, 2, 3, 4, 4, 5, 5, 5, 5, 5])[1 + floor(random() * 10)::int], resolved_at + interval '1 day'
FROM problems WHERE status IN ('resolved', 'closed') AND random() < 0.7;
INSERT INTO ratings (problem_id, enterprise_id, rated_by_id, resolution_no, score, created_at)
SELECT problem_id, enterprise_id, rated_by_id, 1, 4, created_at + interval '3 days' FROM ratings WHERE score <= 2 AND problem_id % 2 = 0;
INSERT INTO visits (client_id, cadre_id, enterprise_id, recorded_at, received_at, lat, lng, accuracy_m, distance_m, within_geofence,
                    flags, flagged, mock_location, auto_closed, updated_at)
SELECT 'b-' || l.id || '-' || n, l.cadre_id, l.enterprise_id, ts, ts, 27.84, 113.08, 10, 50, true, '[]'::json, false, false, false, ts
FROM cadre_links l CROSS JOIN generate_series(1, 6) n
CROSS JOIN LATERAL (SELECT timestamptz '2019-03-01 09:00+08' + random() * interval '2480 days' AS ts) t;
"""


def generate(url: str, problems: int) -> dict:
    import psycopg

    _recreate_database(url)
    app = _app(url)
    with app.app_context():
        from flask_migrate import upgrade

        import seeds.reference
        from service_app.extensions import db

        upgrade()
        seeds.reference.load()
        db.engine.dispose()
    from seeds.activity import THEMES

    enterprises = max(500, problems // 200)
    sql = GENERATE.format(enterprises=enterprises, problems=problems, themes=_themes_sql(), theme_count=sum(len(v) for v in THEMES.values()))
    started = time.perf_counter()
    with psycopg.connect(_libpq_url(url), autocommit=True) as connection:
        connection.execute(sql)
        connection.execute("VACUUM ANALYZE")
        counts = {table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in ("problems", "problem_events", "ratings", "visits", "enterprises")}
    counts["generate_s"] = round(time.perf_counter() - started, 1)
    return counts


def measure(url: str, runs: int) -> dict:
    """In this (fresh) process: record each job's SELECTs, then time job and bare SQL, interleaved."""
    import psycopg
    from sqlalchemy import event

    from service_app.extensions import db
    from service_app.stats import jobs

    app = _app(url)
    results = {}
    with app.app_context():
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for name, function in JOBS.items():
            job = getattr(jobs, function)
            recorded: list[tuple[str, object]] = []

            def record(_conn, _cursor, statement, parameters, _context, executemany):
                if not executemany and statement.lstrip().upper().startswith(("SELECT", "WITH")):
                    recorded.append((statement, parameters))

            event.listen(db.engine, "before_cursor_execute", record)
            job(now=NOW)  # warm-up run, recording what it reads
            event.remove(db.engine, "before_cursor_execute", record)
            job_times, bare_times = [], []
            with psycopg.connect(_libpq_url(url), autocommit=True) as raw:
                for _ in range(runs):
                    started = time.perf_counter()
                    job(now=NOW)
                    job_times.append(time.perf_counter() - started)
                    started = time.perf_counter()
                    for statement, parameters in recorded:
                        raw.execute(statement, parameters).fetchall()
                    bare_times.append(time.perf_counter() - started)
            results[name] = {"job_s": statistics.median(job_times), "bare_s": statistics.median(bare_times), "statements": len(recorded)}
        db.session.remove()
    results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    results["rss_before_jobs_mb"] = round(rss_before / 1024, 1)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.url, args.runs)))
        return
    rows = []
    for size in args.sizes:
        counts = generate(args.url, size)
        print(f"N={size:>9,}: generated {counts}", flush=True)
        # A fresh process per size, so its peak RSS is the jobs' own.
        output = subprocess.run([sys.executable, __file__, "--measure", "--url", args.url, "--runs", str(args.runs)], check=True, capture_output=True, text=True).stdout
        rows.append({"problems": size, **counts, **json.loads(output.strip().splitlines()[-1])})
    print()
    print(f"{'problems':>10} | {'job':>8} {'bare SQL':>9} {'ratio':>6} | {'trends':>8} {'bare SQL':>9} {'ratio':>6} | {'peak RSS':>9}")
    for row in rows:
        snap, trend = row["snapshot"], row["trends"]
        print(
            f"{row['problems']:>10,} | {snap['job_s']:>7.2f}s {snap['bare_s']:>8.2f}s {snap['job_s'] / snap['bare_s']:>5.2f}x"
            f" | {trend['job_s']:>7.2f}s {trend['bare_s']:>8.2f}s {trend['job_s'] / trend['bare_s']:>5.2f}x | {row['peak_rss_mb']:>7.1f}MB"
        )
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "stats_scale.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
