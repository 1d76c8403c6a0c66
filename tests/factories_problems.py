"""Test data for problems: a small world of people around one enterprise, and problems driven
into any state through the real service functions (so every test problem has a true timeline)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from service_app.auth.models import User
from service_app.extensions import db
from service_app.org.models import Category, Department, Enterprise
from service_app.problems import service
from tests.factories import (
    CategoryFactory,
    DepartmentFactory,
    DepartmentUserFactory,
    EnterpriseUserFactory,
    LinkFactory,
    UserFactory,
)


@dataclass
class World:
    enterprise: Enterprise
    owner: User  # a user of the enterprise (files, rates)
    cadre: User  # the enterprise's primary linked cadre
    department: Department  # the category's default department
    staff: User  # claims and then handles it
    lead: User  # the department's lead (assigns)
    colleague: User  # another member of the department
    category: Category
    manager: User
    other_department: Department
    other_staff: User
    outsider: User  # a user of another enterprise
    other_cadre: User  # a cadre linked to that other enterprise only


def make_world() -> World:
    department, other_department = DepartmentFactory(), DepartmentFactory()
    link, other_link = LinkFactory(), LinkFactory()
    world = World(
        enterprise=link.enterprise,
        owner=EnterpriseUserFactory(enterprise=link.enterprise),
        cadre=link.cadre,
        department=department,
        staff=DepartmentUserFactory(department=department),
        lead=DepartmentUserFactory(department=department, is_lead=True),
        colleague=DepartmentUserFactory(department=department),
        category=CategoryFactory(default_department=department, resolve_days=3),
        manager=UserFactory(),
        other_department=other_department,
        other_staff=DepartmentUserFactory(department=other_department),
        outsider=EnterpriseUserFactory(enterprise=other_link.enterprise),
        other_cadre=other_link.cadre,
    )
    db.session.commit()
    return world


def file(world: World, *, by: User | None = None, now: datetime | None = None, **fields) -> int:
    """File a problem for the world's enterprise; returns its id."""
    data = {
        "title": "园区路灯不亮",
        "description": "东门至三号厂房路灯已坏一周",
        "category_id": world.category.id,
        **fields,
    }
    if (by or world.owner).role == "cadre":
        data.setdefault("enterprise_id", world.enterprise.id)
    return service.file_problem(by or world.owner, now=now, **data).problem.id


# The canonical way into each state: (action, who, body).
PATHS: dict[str, list[tuple[str, str, dict]]] = {
    "submitted": [],
    "accepted": [("accept", "cadre", {})],
    "rejected": [("reject", "cadre", {"reason": "不属于服务范围"})],
    "dispatched": [("accept", "cadre", {}), ("dispatch", "cadre", {})],
    "in_progress": [("accept", "cadre", {}), ("dispatch", "cadre", {}), ("claim", "staff", {})],
    "resolved": [
        ("accept", "cadre", {}),
        ("dispatch", "cadre", {}),
        ("claim", "staff", {}),
        ("resolve", "staff", {"resolution": "已更换灯具"}),
    ],
    "closed": [
        ("accept", "cadre", {}),
        ("dispatch", "cadre", {}),
        ("claim", "staff", {}),
        ("resolve", "staff", {"resolution": "已更换灯具"}),
        ("rate", "owner", {"score": 5}),
    ],
    "awaiting_info": [
        ("accept", "cadre", {}), ("dispatch", "cadre", {}), ("claim", "staff", {}),
        ("request_info", "staff", {"question": "请提供照片"}),
    ],
    "withdrawn": [("withdraw", "owner", {"reason": "误报"})],
}


def advance(world: World, problem_id: int, state: str, *, now: datetime | None = None) -> None:
    for action, who, body in PATHS[state]:
        act(world, problem_id, action, who, now=now, **body)


def act(world: World, problem_id: int, action: str, who: str, *, now: datetime | None = None, **body):
    actor = getattr(world, who)
    if action == "rate":
        return service.rate(actor, problem_id, now=now, **body)
    return service.perform(actor, problem_id, action, now=now, **body)


def problem_in(world: World, state: str, *, now: datetime | None = None, **fields) -> int:
    problem_id = file(world, now=now, **fields)
    advance(world, problem_id, state, now=now)
    return problem_id
