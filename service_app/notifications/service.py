"""Notices to users: written in the caller's transaction (outbox), delivered by a push sender.

`notify` only adds rows; the caller's commit stores them with the change they announce, so a
notice is never sent for a change that was rolled back, nor lost for one that was committed.
"""

from __future__ import annotations

from typing import Any, Iterable, Protocol

from service_app.extensions import db
from service_app.notifications.models import KINDS, Notification


def notify(
    user_ids: Iterable[int],
    *,
    kind: str,
    title: str,
    body: str | None = None,
    problem_id: int | None = None,
    visit_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> list[Notification]:
    """Queue one notice per user (deduplicated, order kept); flushes nothing, commits nothing."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    notices = []
    for user_id in dict.fromkeys(uid for uid in user_ids if uid is not None):
        notice = Notification(user_id=user_id, kind=kind, title=title, body=body, problem_id=problem_id, visit_id=visit_id, data=data)
        db.session.add(notice)
        notices.append(notice)
    return notices


class PushSender(Protocol):
    """Hands notices to a push service (APNs, a vendor gateway, SMS…). Raise to retry later."""

    def send(self, notice: Notification) -> None: ...


class RecordingSender:
    """The default sender: there is no push gateway, so delivery is only recorded."""

    def send(self, notice: Notification) -> None:
        return None
