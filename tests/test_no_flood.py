"""No flood on a fresh demo (DESIGN §9): loading the 2019 demo data writes no notice, and starting the
scheduler and running every job — once, and again a day later — tells nobody about 2019 history.
What happens afterwards is told as usual."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

import seeds
from seeds.demo import DEMO_PASSWORD
from service_app.auth.models import User
from service_app.common.time import utcnow
from service_app.extensions import db
from service_app.notifications.models import Notification
from service_app.problems import sla
from service_app.problems.models import Problem
from service_app.scheduler import JOBS, build_scheduler, run_once
from tests.helpers import login


def _notices() -> int:
    return db.session.scalar(select(func.count()).select_from(Notification))


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def headers(client, user: User) -> dict:
    return {"Authorization": f"Bearer {login(client, user.username, DEMO_PASSWORD)['access_token']}"}


def test_a_fresh_demo_tells_nobody_about_2019(app, client, app_ctx):
    seeds.load("demo")
    assert _notices() == 0  # seeding writes no notices
    scheduled = {job.id for job in build_scheduler(app).get_jobs()}
    assert scheduled == {job.name for job in JOBS}
    now = utcnow()
    for at in (now, now + timedelta(days=1)):
        for job in JOBS:
            assert run_once(app, job.name, now=at).outcome == "ok", job.name
    assert _notices() == 0

    # Today's work is told as usual, and the 2019 backlog still shows as each role's to-do.
    owner, cadre, manager = _user("ent001"), _user("cadre001"), _user("manager")
    category_id = client.get("/api/v1/categories", headers=headers(client, owner)).get_json()[0]["id"]
    filed = client.post(
        "/api/v1/problems",
        json={"title": "园区食堂就餐拥挤", "description": "午餐高峰排队超过半小时", "category_id": category_id},
        headers=headers(client, owner),
    )
    assert filed.status_code == 201
    assert db.session.scalars(select(Notification.user_id)).all() == [cadre.id]
    todo = client.get("/api/v1/me/todo", headers=headers(client, manager)).get_json()
    overdue = db.session.scalar(select(func.count()).select_from(Problem).where(sla.overdue_clause(utcnow())))
    assert todo["counts"]["overdue"] == overdue > 0 and todo["unread_notifications"] == 0
    cadre_todo = client.get("/api/v1/me/todo", headers=headers(client, cadre)).get_json()
    assert cadre_todo["counts"]["to_accept"] == 1 and cadre_todo["unread_notifications"] == 1
