"""Attachments: claiming uploaded files for the problem or visit they document."""

from __future__ import annotations

from typing import Sequence

from sqlalchemy import select

from service_app.attachments.models import Attachment
from service_app.common.i18n import bilingual
from service_app.errors import ValidationFailed
from service_app.extensions import db


def claim(*, owner_id: int, attachment_ids: Sequence[int], problem_id: int | None = None, visit_id: int | None = None, field: str = "attachment_ids") -> list[Attachment]:
    """Attach the caller's own, still unattached uploads; anything else is a 422 on `field`.

    Flushes only: the caller's commit stores the link with the object it documents.
    """
    if (problem_id is None) == (visit_id is None):
        raise ValueError("claim exactly one of problem_id / visit_id")
    wanted = list(dict.fromkeys(attachment_ids))
    if not wanted:
        return []
    rows = db.session.scalars(
        select(Attachment).where(Attachment.id.in_(wanted)).with_for_update()
    ).all()
    usable = {a.id: a for a in rows if a.owner_id == owner_id and a.problem_id is None and a.visit_id is None}
    bad = [i for i in wanted if i not in usable]
    if bad:
        raise ValidationFailed(errors={field: [bilingual(f"附件不存在或不可用：{bad}", f"Unknown or unavailable attachments: {bad}")]})
    for attachment in usable.values():
        attachment.problem_id, attachment.visit_id = problem_id, visit_id
    db.session.flush()
    return [usable[i] for i in wanted]
