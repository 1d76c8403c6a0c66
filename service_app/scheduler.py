"""The scheduler process: the job registry, APScheduler, and the `flask scheduler` commands.

    flask scheduler run              # the process (compose's `scheduler` service, `make run`)
    flask scheduler run-once NAME    # one tick now, for operators and tests
    flask scheduler list             # the registry

It runs as its own process, never inside gunicorn workers. Every tick goes through
`scheduling.runner.run_job`: it takes the job's lock (a PostgreSQL advisory lock, a lock row on
SQLite) and skips the tick when another replica holds it, runs in its own app context and session,
logs and records failures without stopping the scheduler, and writes a `job_runs` row.
"""

from __future__ import annotations

import logging
import signal
from datetime import datetime

import click
from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask, current_app
from flask.cli import AppGroup

from service_app.common.time import SHANGHAI
from service_app.scheduling.runner import Job, RunResult, run_job

log = logging.getLogger("service_app.scheduler")


def every(**interval: int) -> IntervalTrigger:
    return IntervalTrigger(timezone=SHANGHAI, **interval)


def daily(at: str) -> CronTrigger:
    """Every day at HH:MM, Asia/Shanghai."""
    hour, minute = (int(part) for part in at.split(":"))
    return CronTrigger(hour=hour, minute=minute, timezone=SHANGHAI)


# The registry: every scheduled job, in one place. A job is `fn(*, now, **kwargs) -> rows affected`.
JOBS: tuple[Job, ...] = (
    Job(
        "stats.snapshot",
        every(minutes=5),
        "service_app.stats.jobs:refresh_snapshot",
        description="统计快照：概览、分项与共性问题",
        run_at_start=True,
    ),
    Job(
        "stats.trends",
        daily("00:10"),
        "service_app.stats.jobs:refresh_trends",
        description="统计趋势：日、周、月",
    ),
    Job(
        "purge",
        daily("03:30"),
        "service_app.scheduling.jobs:purge",
        description="清理过期会话、幂等键与旧的任务记录",
    ),
    Job(
        "problems.flag_overdue",
        every(minutes=10),
        "service_app.problems.jobs:flag_overdue",
        description="超期问题督办并通知领导",
    ),
    Job(
        "problems.notify_due_soon",
        every(minutes=10),
        "service_app.problems.jobs:notify_due_soon",
        description="提醒办理人问题即将到期",
    ),
    Job(
        "problems.remind_awaiting_info",
        every(hours=1),
        "service_app.problems.jobs:remind_awaiting_info",
        description="提醒企业补充材料（每3个工作日，至多3次）",
    ),
    Job(
        "calendar.alert_missing",
        daily("09:05"),
        "service_app.problems.deadlines:alert_missing_calendar",
        description="11月起提醒管理员录入下一年节假日安排",
    ),
    Job(
        "problems.close_unrated",
        every(hours=1),
        "service_app.problems.jobs:close_unrated",
        description="办结后7天未评价自动关闭",
    ),
    Job(
        "visits.close_stale",
        every(minutes=30),
        "service_app.visits.jobs:close_stale_visits",
        description="关闭超时未签退的走访",
    ),
    Job(
        "visits.remind_unvisited",
        daily("09:00"),
        "service_app.visits.jobs:remind_unvisited",
        description="提醒30天未走访结对企业的干部",
    ),
    Job(
        "notifications.deliver",
        every(minutes=1),
        "service_app.notifications.jobs:deliver",
        kwargs={"senders": "service_app.notifications.senders:current_senders"},
        description="推送待发通知",
    ),
    Job(
        "attachments.purge_unattached", every(hours=1), "service_app.attachments.jobs:purge_unattached",
        description="删除24小时内未被引用的上传文件",
    ),
)


def get_job(name: str) -> Job:
    for job in JOBS:
        if job.name == name:
            return job
    raise KeyError(name)


def run_once(app: Flask, name: str, *, now: datetime | None = None) -> RunResult:
    return run_job(app, get_job(name), now=now)


def _tick(app: Flask, job: Job) -> None:
    """What APScheduler calls: never lets an exception escape (the run log has the details)."""
    # Stop signals must reach the main thread, which sleeps on a lock until the next tick: one the
    # kernel hands to this job thread instead is seen there only when that sleep ends (Ctrl-C during
    # the start-up snapshot took up to a minute to stop the scheduler).
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        run_job(app, job)
    except Exception:  # noqa: BLE001 - e.g. the database is down: log, and try again next tick
        log.exception("job_tick_failed", extra={"job": job.name})


def build_scheduler(app: Flask) -> BlockingScheduler:
    scheduler = BlockingScheduler(
        timezone=SHANGHAI,
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": app.config["SCHEDULER_MISFIRE_GRACE_SECONDS"],
        },
    )
    for job in JOBS:
        # The snapshot also runs at start, so a fresh replica does not serve stale figures for 5
        # minutes; the other jobs wait for their first interval rather than all starting at once.
        first = {"next_run_time": datetime.now(SHANGHAI)} if job.run_at_start else {}
        scheduler.add_job(
            _tick, trigger=job.trigger, args=(app, job), id=job.name, name=job.name, replace_existing=True, **first
        )
    return scheduler


def _serve(app: Flask) -> None:
    scheduler = build_scheduler(app)

    def stop(signum, _frame):
        if scheduler.running:  # a second Ctrl-C while running jobs finish is not an error
            log.info("scheduler_stopping", extra={"signal": signum})
            try:
                scheduler.shutdown(wait=True)
            except SchedulerNotRunningError:  # a second signal came between the check and the shutdown
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("scheduler_started", extra={"jobs": [job.name for job in JOBS]})
    scheduler.start()
    log.info("scheduler_stopped")


def init_app(app: Flask) -> None:
    group = AppGroup("scheduler", help="The job scheduler (its own process; never inside gunicorn).")

    @group.command("run")
    def run_command() -> None:
        """Run the scheduler until SIGTERM or Ctrl-C."""
        _serve(current_app._get_current_object())

    @group.command("run-once")
    @click.argument("name", type=click.Choice([job.name for job in JOBS]))
    @click.option(
        "--now",
        type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z"]),
        default=None,
        help="The job's notion of now, with offset, e.g. 2019-09-01T00:00+08:00 (default: the real time).",
    )
    def run_once_command(name: str, now: datetime | None) -> None:
        """Run one job once (locked and recorded like a scheduled tick)."""
        result = run_once(current_app._get_current_object(), name, now=now)
        click.echo(
            f"{result.job}: {result.outcome}, rows affected {result.rows_affected}"
            + (f", error {result.error}" if result.error else "")
        )
        if result.outcome == "failed":
            raise SystemExit(1)

    @group.command("list")
    def list_command() -> None:
        """The registered jobs and their triggers."""
        for job in JOBS:
            target = job.target if isinstance(job.target, str) else job.target.__qualname__
            click.echo(f"{job.name:28} {str(job.trigger):60} {target}")

    app.cli.add_command(group)
