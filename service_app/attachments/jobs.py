"""Scheduled job of the attachments domain: uploads nobody attached are removed after a while.

An upload is stored first and attached to a problem or a visit by id later; one never attached
(an abandoned form, a client that retried with a new upload) would keep its file forever.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from service_app.attachments import storage
from service_app.attachments.models import Attachment
from service_app.extensions import db

log = logging.getLogger(__name__)
BATCH = 500


def purge_unattached(*, now: datetime) -> int:
    """Delete uploads still unattached UNATTACHED_UPLOAD_HOURS (24) after they were stored: the row,
    then its file. Returns how many were deleted; a second run finds nothing left to do.

    Rows are locked `SKIP LOCKED`, so an upload being attached right now (the claim locks it) is
    left alone. Files go only after the rows' deletion is committed: a crash in between leaves
    files without rows (space, logged), never a row without its file.
    """
    cutoff = now - timedelta(hours=current_app.config["UNATTACHED_UPLOAD_HOURS"])
    deleted = 0
    while True:
        rows = list(db.session.scalars(
            select(Attachment)
            .where(Attachment.problem_id.is_(None), Attachment.visit_id.is_(None), Attachment.created_at < cutoff)
            .order_by(Attachment.id).limit(BATCH).with_for_update(skip_locked=True)
        ))
        if not rows:
            return deleted
        files = [(row.storage, row.storage_key) for row in rows]
        for row in rows:
            db.session.delete(row)
        db.session.commit()
        deleted += len(rows)
        for backend, key in files:
            _remove(backend, key)


def _remove(backend: str, key: str) -> None:
    try:
        storage.for_reading(backend).delete(key)
    except Exception:  # noqa: BLE001 - one unremovable file must not stop the purge of the others
        log.exception("attachment_purge_file_failed", extra={"storage": backend, "storage_key": key})
