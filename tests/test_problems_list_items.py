"""List items are written from Core rows (schemas.list_items), not dumped by marshmallow: for every
role and every state, each item of GET /problems equals what ProblemSchema dumps for the problem
with its relations loaded; the detail's names, read the same way, agree too."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from service_app.attachments.models import Attachment
from service_app.common.time import utcnow
from service_app.errors import NotFound
from service_app.extensions import db
from service_app.problems import schemas, service
from service_app.problems.models import Problem
from tests.factories_problems import PATHS, act, file, make_world, problem_in

ROLES = ("owner", "cadre", "staff", "lead", "other_staff", "manager", "outsider")
PATHS_INDEX = {state: i for i, state in enumerate(PATHS)}


def _problems_of_every_kind(world, now) -> list[int]:
    """One problem in every state (first, in PATHS order), an overdue one, an urgent supervised and
    urged one, one a cadre filed and one a partner system filed: their ids."""
    ids = [problem_in(world, state) for state in PATHS]
    ids.append(file(world, now=now - timedelta(days=30)))  # overdue
    ids.append(problem_in(world, "in_progress", urgent=True))
    service.perform(world.manager, ids[-1], "supervise")
    act(world, ids[-1], "urge", "owner")
    ids.append(file(world, by=world.cadre))
    ids.append(service.file_problem(None, enterprise_id=world.enterprise.id, title="井盖缺失", description="东门",
                                    category_id=world.category.id, source="open311:hotline").problem.id)
    return ids


def test_every_list_item_equals_the_schema_dump_for_every_role_and_state(client, app_ctx, headers):
    world = make_world()
    now = utcnow()
    with time_machine.travel(now, tick=False):
        ids = _problems_of_every_kind(world, now)
        reassigned = problem_in(world, "dispatched")
        service.perform(world.manager, reassigned, "dispatch", department_id=world.other_department.id)
        ids.append(reassigned)
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


def test_every_detail_equals_the_schema_dump_for_every_role_and_state(client, app_ctx, headers):
    """GET /problems/{id} is written by schemas.detail_document: for every role and state (a rated
    problem, attachments, an overdue, a supervised and urged one, a partner's), it equals what
    ProblemDetailSchema dumps for the service's view, and 404 stays 404."""
    world = make_world()
    now = utcnow()
    with time_machine.travel(now, tick=False):
        ids = _problems_of_every_kind(world, now)
        ids.append(file(world, by=world.outsider))
        for i, pid in enumerate((ids[0], ids[0], ids[PATHS_INDEX["closed"]])):
            db.session.add(
                Attachment(owner_id=world.owner.id, problem_id=pid, storage="local", storage_key=f"d{i}",
                           filename=f"d{i}.jpg", content_type="image/jpeg", size=10 + i, sha256=f"{i:064d}")
            )
        db.session.commit()
        shown = 0
        for who in ROLES:
            user = getattr(world, who)
            for pid in ids:
                response = client.get(f"/api/v1/problems/{pid}", headers=headers(user))
                db.session.expire_all()
                try:
                    view = service.get_problem(user, pid)
                except NotFound:
                    assert response.status_code == 404, (who, pid)
                    continue
                expected = schemas.ProblemDetailSchema().dump(view)
                assert response.status_code == 200, response.get_json()
                assert response.get_json() == expected, (who, expected["status"])
                assert list(response.get_json()) == list(expected)  # same keys, same order
                assert response.headers["ETag"] == f'"{service.etag(view.problem)}"'
                shown += 1
        documents = [client.get(f"/api/v1/problems/{pid}", headers=headers(world.manager)).get_json() for pid in ids]
        assert {len(d["attachments"]) for d in documents} == {0, 1, 2}
        assert any(d["rating"] for d in documents) and any(d["overdue"] for d in documents)
        assert shown > len(ids)
