"""Statistics at scale (DESIGN.md §8): the statistics jobs against the bare aggregate SQL they run.

    .venv/bin/python bench/stats_scale.py --sizes 10000 100000 1000000 --runs 3

For each size N the script (re)creates a PostgreSQL database (default `bench_stats`), migrates it,
loads the reference data and generates N problems with bench/data.py (`INSERT … SELECT
generate_series`, with enterprises, cadres, links, events, ratings and visits in proportion).
Then, in a fresh process, it runs each job once while recording the SELECT statements it sends, and times, interleaved:
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
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import data  # noqa: E402  (after the path set-up, for `python bench/stats_scale.py`)

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_stats"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
JOBS = {"snapshot": "refresh_snapshot", "trends": "refresh_trends"}


def generate(url: str, problems: int) -> dict:
    # History up to the jobs' `now`, so the last months of the trends hold data.
    return data.generate(url, problems=problems, until=NOW)


def measure(url: str, runs: int) -> dict:
    """In this (fresh) process: record each job's SELECTs, then time job and bare SQL, interleaved."""
    import psycopg
    from sqlalchemy import event

    from service_app.extensions import db
    from service_app.stats import jobs

    app = data.make_app(url)
    results = {}
    with app.app_context():
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for name, function in JOBS.items():
            job = getattr(jobs, function)
            recorded: list[tuple[str, object]] = []

            def record(_conn, _cursor, statement, parameters, _context, executemany, recorded=recorded):
                if not executemany and statement.lstrip().upper().startswith(("SELECT", "WITH")):
                    recorded.append((statement, parameters))

            event.listen(db.engine, "before_cursor_execute", record)
            job(now=NOW)  # warm-up run, recording what it reads
            event.remove(db.engine, "before_cursor_execute", record)
            job_times, bare_times = [], []
            with psycopg.connect(data.libpq_url(url), autocommit=True) as raw:
                for _ in range(runs):
                    started = time.perf_counter()
                    job(now=NOW)
                    job_times.append(time.perf_counter() - started)
                    started = time.perf_counter()
                    for statement, parameters in recorded:
                        raw.execute(statement, parameters).fetchall()
                    bare_times.append(time.perf_counter() - started)
            results[name] = {
                "job_s": statistics.median(job_times),
                "bare_s": statistics.median(bare_times),
                "statements": len(recorded),
            }
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
        output = subprocess.run(
            [sys.executable, __file__, "--measure", "--url", args.url, "--runs", str(args.runs)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        rows.append({"problems": size, **counts, **json.loads(output.strip().splitlines()[-1])})
    print()
    print(
        f"{'problems':>10} | {'job':>8} {'bare SQL':>9} {'ratio':>6} "
        f"| {'trends':>8} {'bare SQL':>9} {'ratio':>6} | {'peak RSS':>9}"
    )
    for row in rows:
        snap, trend = row["snapshot"], row["trends"]
        print(
            f"{row['problems']:>10,} | {snap['job_s']:>7.2f}s {snap['bare_s']:>8.2f}s "
            f"{snap['job_s'] / snap['bare_s']:>5.2f}x | {trend['job_s']:>7.2f}s {trend['bare_s']:>8.2f}s "
            f"{trend['job_s'] / trend['bare_s']:>5.2f}x | {row['peak_rss_mb']:>7.1f}MB"
        )
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "stats_scale.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
