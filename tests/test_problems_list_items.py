"""List items are written from Core rows (schemas.list_items), not dumped by marshmallow: for every
role and every state, each item of GET /problems equals what ProblemSchema dumps for the problem
with its relations loaded; the detail's names, read the same way, agree too."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from service_app.common.time import utcnow
from service_app.extensions import db
from service_app.problems import schemas, service
from service_app.problems.models import Problem
from tests.factories_problems import PATHS, act, file, make_world, problem_in

ROLES = ("owner", "cadre", "staff", "lead", "other_staff", "manager", "outsider")


def test_every_list_item_equals_the_schema_dump_for_every_role_and_state(client, app_ctx, headers):
    world = make_world()
    now = utcnow()
    with time_machine.travel(now, tick=False):
        ids = [problem_in(world, state) for state in PATHS]
        ids.append(file(world, now=now - timedelta(days=30)))  # overdue
        ids.append(problem_in(world, "in_progress", urgent=True))
        service.perform(world.manager, ids[-1], "supervise")
        act(world, ids[-1], "urge", "owner")
        reassigned = problem_in(world, "dispatched")
        service.perform(world.manager, reassigned, "dispatch", department_id=world.other_department.id)
        ids += [reassigned, file(world, by=world.cadre)]
        ids.append(service.file_problem(None, enterprise_id=world.enterprise.id, title="井盖缺失", description="东门",
                                        category_id=world.category.id, source="open311:hotline").problem.id)
        db.session.commit()
        db.session.expire_all()
        problems = db.session.scalars(
            select(Problem)
            .where(Problem.id.in_(ids))
            .options(*(selectinload(getattr(Problem, name)) for name in ("enterprise", "category", "department",
                                                                       "cadre", "handler", "filed_by")))
        ).all()
        expected = {problem.id: schemas.ProblemSchema().dump(problem) for problem in problems}
        assert {row["overdue"] for row in expected.values()} == {True, False}
        assert any(row["supervised"] for row in expected.values())
        seen = set()
        for who in ROLES:
            for query in ({"limit": 100}, {"limit": 3}):
                items, cursor = [], None
                while True:
                    response = client.get(
                        "/api/v1/problems",
                        query_string={**query, **({"cursor": cursor} if cursor else {})},
                        headers=headers(getattr(world, who)),
                    )
                    assert response.status_code == 200, response.get_json()
                    items += response.get_json()["items"]
                    cursor = response.get_json()["next_cursor"]
                    if cursor is None:
                        break
                assert [item["id"] for item in items] == sorted((item["id"] for item in items), reverse=True)
                for item in items:
                    assert item == expected[item["id"]], (who, item["status"])
                    assert list(item) == list(expected[item["id"]])  # same keys, same order
                seen |= {item["id"] for item in items}
        assert seen == set(ids)
        # The detail reads its names in its own statement too: they agree with the loaded relations.
        filer = {problem.id: problem.filed_by.name if problem.filed_by else None for problem in problems}
        for pid in ids:
            detail = client.get(f"/api/v1/problems/{pid}", headers=headers(world.manager)).get_json()
            assert {key: detail[key] for key in expected[pid]} == expected[pid]
            assert detail["filed_by_name"] == filer[pid]
