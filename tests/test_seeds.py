"""The demo seed: accounts and pairings of DESIGN §7, loaded idempotently."""

from __future__ import annotations

from sqlalchemy import func, select

import seeds
from service_app.auth.models import User
from service_app.extensions import db
from service_app.org import credit_code
from service_app.org.models import CadreLink, Category, Department, Enterprise
from tests.helpers import login


def test_demo_seed_is_complete_and_idempotent(client, app_ctx):
    seeds.load("demo")
    counts = {
        "enterprises": db.session.scalar(select(func.count()).select_from(Enterprise)),
        "cadres": db.session.scalar(select(func.count()).select_from(User).where(User.role == "cadre")),
        "enterprise_users": db.session.scalar(select(func.count()).select_from(User).where(User.role == "enterprise")),
        "links": db.session.scalar(select(func.count()).select_from(CadreLink)),
    }
    assert counts == {"enterprises": 500, "cadres": 500, "enterprise_users": 500, "links": 500}
    assert seeds.load("demo") == {
        "calendar_years": 0,
        "parks": 0, "chains": 0, "departments": 0, "categories": 0, "users": 0, "enterprises": 0, "links": 0,
        "problems": 0, "problem_events": 0, "ratings": 0, "visits": 0, "indicators": 0,
    }

    departments = db.session.scalar(select(func.count()).select_from(Department))
    dept_users = db.session.scalars(select(User).where(User.role == "department")).all()
    assert len(dept_users) == 3 * departments and sum(user.is_lead for user in dept_users) == departments
    assert {u.username for u in dept_users} >= {"dept01", "dept01-1", "dept01-2", "dept12-2"}
    assert len({u.phone for u in dept_users if u.username.count("-")}) == 2 * departments  # mobile, unique
    assert (
        db.session.scalar(select(func.count()).select_from(Category).where(Category.name.in_(["配套服务", "物业管理"])))
        == 2
    )

    # cadreNNN is the primary cadre of entNNN's enterprise.
    ent = db.session.scalar(select(User).where(User.username == "ent042"))
    cadre = db.session.scalar(select(User).where(User.username == "cadre042"))
    link = db.session.scalar(select(CadreLink).where(CadreLink.cadre_id == cadre.id))
    assert link.enterprise_id == ent.enterprise_id and link.role == "primary"

    enterprises = db.session.scalars(select(Enterprise)).all()
    assert all(
        credit_code.is_valid(e.credit_code) and e.lat and e.lng and e.park_id and e.chain_id for e in enterprises
    )
    assert login(client, "ent001", "Demo@2019")["user"]["role"] == "enterprise"
    assert login(client, "manager", "Demo@2019")["user"]["role"] == "manager"


def test_reference_only_has_no_accounts(app_ctx):
    seeds.load("reference")
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
