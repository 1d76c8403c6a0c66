"""The one check that ids a request refers to name existing rows (a 422 naming each bad field).

A field is checked through the column it is stored in (`User.enterprise_id`) or the key it names
(`Park.id`): a foreign key is followed to the table it points at, so a lower layer can check a
reference to a higher one (auth's users point at org's enterprises) without importing it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, select

from service_app.common.i18n import bilingual
from service_app.errors import ValidationFailed
from service_app.extensions import db

# What a missing row is called in the 422, by table; other tables get the generic word.
NOUNS = {
    "enterprises": ("企业", "enterprise"),
    "departments": ("部门", "department"),
    "parks": ("园区", "park"),
    "chains": ("产业链", "industry chain"),
    "categories": ("问题类别", "category"),
    "users": ("用户", "user"),
}


def check_references(**references: tuple[Any, int | None]) -> None:
    """Each keyword is a field name with (its column, the id given); ids that name no row are a 422.

    None means "not given" and is not checked.
    """
    errors = {}
    for field, (column, value) in references.items():
        if value is None:
            continue
        target = _referenced_key(column)
        if db.session.scalar(select(target).where(target == value)) is None:
            zh, en = NOUNS.get(target.table.name, ("对象", "object"))
            errors[field] = [bilingual(f"{zh}不存在", f"No such {en}")]
    if errors:
        raise ValidationFailed(errors=errors)


def _referenced_key(column: Any) -> Column:
    """The key column a mapped or table column refers to: its foreign key's target, or itself."""
    column = column.property.columns[0] if hasattr(column, "property") else column
    foreign_keys = list(column.foreign_keys)
    return foreign_keys[0].column if foreign_keys else column
