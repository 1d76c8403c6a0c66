"""One lock per job, so two scheduler replicas never run the same tick twice.

PostgreSQL: `pg_try_advisory_lock(key)` on a connection of its own, held (outside any transaction)
for the whole run and released after it; a crashed holder's lock goes with its connection.
SQLite: a `job_locks` row with an expiry; a row left by a crashed holder is taken over once it
has expired (SCHEDULER_LOCK_TTL_SECONDS), or at once when its holder was a process of this host
that no longer exists (an SQLite database lives on one host, so that is the usual case).
"""

from __future__ import annotations

import hashlib
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import IntegrityError

from service_app.common.time import utcnow
from service_app.extensions import db
from service_app.scheduling.models import JobLock


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for a job name (the same in every process and on every release)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


def runner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@contextmanager
def job_lock(name: str, *, ttl: timedelta) -> Iterator[bool]:
    """Yield True when this process now holds the job's lock, False when another one does."""
    bind = db.engines[None]
    if bind.dialect.name == "postgresql":
        with _advisory_lock(bind.engine, name) as acquired:
            yield acquired
    else:
        with _lock_row(name, ttl) as acquired:
            yield acquired


@contextmanager
def _advisory_lock(engine, name: str) -> Iterator[bool]:
    key = advisory_key(name)
    # AUTOCOMMIT: the session-level lock needs no transaction, and an idle open transaction
    # held for the whole job would pin old row versions (vacuum) for nothing.
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        acquired = bool(connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}))
        try:
            yield acquired
        finally:
            if acquired:
                connection.scalar(text("SELECT pg_advisory_unlock(:key)"), {"key": key})


def _holder_is_dead(holder: str) -> bool:
    """True when `holder` ("host:pid:nonce") names a process of this host that has gone."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by another user
        return False
    return False


def _take_over_from_dead_holder(name: str, holder: str, expires_at) -> bool:
    current = db.session.scalar(select(JobLock.holder).where(JobLock.name == name))
    if current is None or not _holder_is_dead(current):
        return False
    return bool(
        db.session.execute(
            update(JobLock)
            .where(JobLock.name == name, JobLock.holder == current)
            .values(holder=holder, acquired_at=utcnow(), expires_at=expires_at)
            .execution_options(synchronize_session=False)
        ).rowcount
    )


@contextmanager
def _lock_row(name: str, ttl: timedelta) -> Iterator[bool]:
    holder = f"{runner_id()}:{uuid.uuid4().hex[:8]}"
    now = utcnow()
    taken_over = db.session.execute(
        update(JobLock)
        .where(JobLock.name == name, JobLock.expires_at <= now)
        .values(holder=holder, acquired_at=now, expires_at=now + ttl)
        .execution_options(synchronize_session=False)
    ).rowcount
    acquired = bool(taken_over) or _take_over_from_dead_holder(name, holder, now + ttl)
    if not acquired:
        try:
            with db.session.begin_nested():
                db.session.add(JobLock(name=name, holder=holder, acquired_at=now, expires_at=now + ttl))
            acquired = True
        except IntegrityError:
            acquired = False
    db.session.commit()
    try:
        yield acquired
    finally:
        if acquired:
            db.session.rollback()
            db.session.execute(delete(JobLock).where(JobLock.name == name, JobLock.holder == holder))
            db.session.commit()
