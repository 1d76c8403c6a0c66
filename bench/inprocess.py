"""CPU per request in one process: each `make bench` scenario against its reference, through Flask
test clients, so the figures do not depend on what else the (shared) machine is doing as much as
wrk's throughput does.

    .venv/bin/python -m bench.inprocess --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench

Uses the database `make bench` prepared (demo data). Prints, per scenario, the median over rounds
of the process CPU time and wall time per request (the wall time includes waiting for PostgreSQL),
and the CPU ratio reference / scenario: the share of the reference's throughput the scenario
would reach if Python's CPU were all that counted. Writes are undone after each scenario.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import urllib.error

import sqlalchemy as sa

from bench.run import JWT_SECRET, restore, watermarks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench"),
    )
    parser.add_argument("--requests", type=int, default=200, help="per scenario and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default="", help="measure only the scenarios whose name contains this text")
    parser.add_argument(
        "--floors", action="store_true", help="also measure each write refused at validation (422): its floor"
    )
    args = parser.parse_args()
    os.environ.update(
        APP_ENV="production", DATABASE_URL=args.database_url, JWT_SECRET_KEY=JWT_SECRET, LOG_LEVEL="WARNING",
        ACCESS_LOG="false",
    )
    from bench import reference_app
    from service_app import create_app

    service, reference = create_app().test_client(), reference_app.app.test_client()

    def call(client, method, path, token=None, body=None, status=None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = client.open(path, method=method, json=body, headers=headers)
        if response.status_code != status and not 200 <= response.status_code < 300:
            raise urllib.error.HTTPError(path, response.status_code, response.get_data()[:300], None, None)
        return response.get_json()

    def login(username):
        return call(service, "POST", "/api/v1/auth/login", body={"username": username, "password": "Demo@2019"})[
            "access_token"
        ]

    import bench.run as run

    run.api = lambda method, path, *, token=None, body=None: call(service, method, f"/api/v1{path}", token, body)
    run.login = login
    plan = [scenario for scenario in run.scenarios() if args.only in scenario.name]
    if args.floors:
        plan += run.floors(plan)
    engine = sa.create_engine(args.database_url)
    marks = watermarks(engine)

    def measure(client, method, path, token, body, status=None) -> tuple[float, float]:
        for _ in range(10):
            call(client, method, path, token, body, status)
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(args.requests):
            call(client, method, path, token, body, status)
        return (
            (time.perf_counter() - wall) / args.requests * 1000,
            (time.process_time() - cpu) / args.requests * 1000,
        )

    print("| endpoint | CPU ms | wall ms | reference | ref CPU ms | ref wall ms | CPU ratio |")
    print("|" + "---|" * 7)
    for scenario in plan:
        own, ref = [], []
        for _ in range(args.rounds):
            ref.append(measure(reference, scenario.method, f"/{scenario.reference}", None, scenario.body))
            own.append(
                measure(
                    service, scenario.method, f"/api/v1{scenario.path}", scenario.token, scenario.body, scenario.status
                )
            )
        restore(engine, marks)
        cpu, wall = statistics.median(c for _, c in own), statistics.median(w for w, _ in own)
        ref_cpu, ref_wall = statistics.median(c for _, c in ref), statistics.median(w for w, _ in ref)
        print(
            f"| {scenario.name} | {cpu:.2f} | {wall:.2f} | {scenario.method} /{scenario.reference} | {ref_cpu:.2f} "
            f"| {ref_wall:.2f} | {ref_cpu / cpu:.2f} |"
        )
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
