"""Which enterprises a cadre is linked to: the link rule other domains build their scopes on.

The whole enterprise scope (every role) is `enterprises/scoping.py`: a department's part of it
depends on problems, which sit above org in the layers.
"""

from __future__ import annotations

from sqlalchemy import Select, select

from service_app.extensions import db
from service_app.org.models import CadreLink


def linked_enterprise_ids(cadre_id: int) -> Select:
    """Enterprise ids actively linked to a cadre."""
    return select(CadreLink.enterprise_id).where(CadreLink.cadre_id == cadre_id, CadreLink.ended_at.is_(None))


def is_linked(cadre_id: int, enterprise_id: int) -> bool:
    return db.session.scalar(
        select(CadreLink.id).where(
            CadreLink.cadre_id == cadre_id,
            CadreLink.enterprise_id == enterprise_id,
            CadreLink.ended_at.is_(None),
        ).limit(1)
    ) is not None
