"""Running one tick of one job: lock, own app context and session, failure isolation, run log.

Used by the scheduler process for every tick and by `flask scheduler run-once`. A job is a plain
function `fn(*, now, **kwargs) -> rows affected` that commits its own work (it is one unit of work).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import Flask

from service_app.common.time import utcnow
from service_app.extensions import db
from service_app.scheduling.locks import job_lock, runner_id
from service_app.scheduling.models import JobRun

log = logging.getLogger("service_app.scheduler")
ERROR_LIMIT = 2000


def resolve(path: str) -> Callable[..., Any]:
    """'package.module:attribute' -> the object."""
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)


@dataclass(frozen=True)
class Job:
    """A registry entry: when the job runs and what it calls.

    `target` is the import path of the job function ('service_app.stats.jobs:refresh_snapshot'),
    resolved at run time, so the registry imports no domain. `kwargs` maps extra keyword arguments
    to import paths of zero-argument factories called at each run (e.g. a push sender).
    """

    name: str
    trigger: Any
    target: str | Callable[..., int]
    kwargs: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    run_at_start: bool = False  # also run when the scheduler starts (interval jobs)

    def function(self) -> Callable[..., int]:
        return resolve(self.target) if isinstance(self.target, str) else self.target

    def call(self, *, now: datetime) -> int | None:
        extra = {name: resolve(factory)() for name, factory in self.kwargs.items()}
        return self.function()(now=now, **extra)


@dataclass(frozen=True)
class RunResult:
    run_id: int
    job: str
    outcome: str
    rows_affected: int | None
    error: str | None


def _record(
    job: Job, *, started_at: datetime, outcome: str, rows: int | None = None, error: str | None = None
) -> RunResult:
    run = JobRun(
        job=job.name,
        started_at=started_at,
        finished_at=utcnow(),
        outcome=outcome,
        rows_affected=rows,
        error=error,
        runner=runner_id(),
    )
    db.session.add(run)
    db.session.commit()
    return RunResult(run_id=run.id, job=job.name, outcome=outcome, rows_affected=rows, error=error)


def _execute(job: Job, now: datetime) -> tuple[str, int | None, str | None]:
    try:
        rows = job.call(now=now)
    except Exception as error:  # noqa: BLE001 - isolate every failure: the scheduler must keep running
        db.session.rollback()
        log.exception("job_failed", extra={"job": job.name})
        return "failed", None, f"{type(error).__name__}: {error}"[:ERROR_LIMIT]
    return "ok", rows if isinstance(rows, int) else None, None


def run_job(app: Flask, job: Job, *, now: datetime | None = None) -> RunResult:
    """Run one tick of `job` in its own app context, unless another process holds its lock."""
    with app.app_context():
        try:
            started_at = utcnow()
            ttl = timedelta(seconds=app.config["SCHEDULER_LOCK_TTL_SECONDS"])
            with job_lock(job.name, ttl=ttl) as acquired:
                if not acquired:
                    log.info("job_skipped", extra={"job": job.name, "reason": "lock held"})
                    return _record(job, started_at=started_at, outcome="skipped")
                outcome, rows, error = _execute(job, now or started_at)
                result = _record(job, started_at=started_at, outcome=outcome, rows=rows, error=error)
            log.info("job_finished", extra={"job": job.name, "outcome": outcome, "rows_affected": rows})
            return result
        finally:
            db.session.remove()
