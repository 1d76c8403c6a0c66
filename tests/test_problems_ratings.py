"""Ratings (评价): who may rate, what a score does, one rating per resolution."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from service_app.attachments.models import Attachment
from service_app.errors import Conflict, Forbidden, NotFound
from service_app.extensions import db
from service_app.notifications.models import Notification
from service_app.problems import service
from service_app.problems.models import Problem, Rating
from service_app.problems.workflow import InvalidTransition
from tests.factories import EnterpriseUserFactory
from tests.factories_problems import file, make_world, problem_in


def _ratings(problem_id: int) -> list[tuple[int, int]]:
    return [
        tuple(r)
        for r in db.session.execute(
            select(Rating.resolution_no, Rating.score).where(Rating.problem_id == problem_id).order_by(Rating.id)
        )
    ]


def _kinds(problem_id: int, kind: str) -> list[int]:
    return list(
        db.session.scalars(
            select(Notification.user_id)
            .where(Notification.problem_id == problem_id, Notification.kind == kind)
            .order_by(Notification.id)
        )
    )


def test_a_good_score_closes_the_problem(app_ctx):
    world = make_world()
    problem_id = problem_in(world, "resolved")
    colleague = EnterpriseUserFactory(enterprise=world.enterprise)  # any user of the filing enterprise may rate
    view = service.rate(colleague, problem_id, score=3, comment="基本满意")
    assert (view.status, view.closed_reason, view.rating.score, view.rating.comment, view.allowed_actions) == (
        "closed",
        "rated",
        3,
        "基本满意",
        ["comment"],
    )
    problem = db.session.get(Problem, problem_id)
    assert problem.closed_at is not None and _ratings(problem_id) == [(0, 3)]
    assert _kinds(problem_id, "rated") == [world.staff.id, world.cadre.id]
    events = service.timeline(world.owner, problem_id)
    assert [(e.action, e.from_status, e.to_status, e.reason_code) for e in events[-2:]] == [
        ("rate", "resolved", "resolved", "score_3"),
        ("close", "resolved", "closed", "rated"),
    ]
    assert events[-2].note == "基本满意"


def test_a_poor_score_reopens_it_with_the_last_handler(app_ctx):
    world = make_world()
    problem_id = problem_in(world, "resolved")
    view = service.rate(world.owner, problem_id, score=2, comment="灯又坏了")
    assert (view.status, view.reopen_count, view.handler_id, view.department_id, view.resolution, view.resolved_at) == (
        "in_progress",
        1,
        world.staff.id,
        world.department.id,
        None,
        None,
    )
    assert _kinds(problem_id, "reopened") == [world.staff.id, world.cadre.id, world.manager.id]  # managers too
    assert _kinds(problem_id, "rated") == []  # a dissatisfied rating is told by its reopen
    with pytest.raises(InvalidTransition):
        service.rate(world.owner, problem_id, score=5)
    service.perform(world.staff, problem_id, "resolve", resolution="更换整条线路")
    view = service.rate(world.owner, problem_id, score=5)
    assert (view.status, view.rating.score, view.rating.resolution_no) == ("closed", 5, 1)
    assert _ratings(problem_id) == [(0, 2), (1, 5)]


def test_a_problem_the_cadre_solved_goes_back_to_the_cadre(app_ctx):
    world = make_world()
    problem_id = problem_in(world, "accepted")
    service.perform(world.cadre, problem_id, "resolve", resolution="走访时当场协调")
    view = service.rate(world.owner, problem_id, score=1)
    assert (view.status, view.handler_id, view.department_id) == ("in_progress", world.cadre.id, None)
    actions = ["request_info", "resolve", "request_extension", "comment"]
    assert service.get_problem(world.cadre, problem_id).allowed_actions == actions
    service.perform(world.cadre, problem_id, "resolve", resolution="再次协调解决")
    assert db.session.get(Problem, problem_id).status == "resolved"


def test_only_the_filing_enterprise_rates_and_only_resolved_problems(app_ctx):
    world = make_world()
    resolved, submitted = problem_in(world, "resolved"), file(world)
    with pytest.raises(NotFound):
        service.rate(world.outsider, resolved, score=5)
    with pytest.raises(Forbidden):
        service.rate(world.cadre, resolved, score=5)
    with pytest.raises(InvalidTransition) as error:
        service.rate(world.owner, submitted, score=5)
    assert error.value.extra == {"current_status": "submitted", "allowed_actions": ["withdraw", "urge", "comment"]}
    assert _ratings(resolved) == _ratings(submitted) == []


def test_one_rating_per_resolution(app_ctx):
    world = make_world()
    problem_id = problem_in(world, "resolved")
    # A rating of this resolution that got in another way (e.g. imported): the check refuses a second.
    db.session.add(
        Rating(
            problem_id=problem_id,
            enterprise_id=world.enterprise.id,
            rated_by_id=world.owner.id,
            resolution_no=0,
            score=4,
        )
    )
    db.session.commit()
    with pytest.raises(Conflict) as error:
        service.rate(world.owner, problem_id, score=5)
    assert error.value.message_key == "already_rated" and error.value.http_status == 409
    db.session.rollback()
    assert db.session.get(Problem, problem_id).status == "resolved"
    # And the database refuses it too, whatever the code does.
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.add(
            Rating(
                problem_id=problem_id,
                enterprise_id=world.enterprise.id,
                rated_by_id=world.owner.id,
                resolution_no=0,
                score=1,
            )
        )
    assert _ratings(problem_id) == [(0, 4)]


def test_the_rating_shows_in_the_problem(client, app_ctx):
    from tests.helpers import auth_headers

    world = make_world()
    problem_id = problem_in(world, "resolved")
    headers = auth_headers(client, world.owner)
    rated = client.post(
        f"/api/v1/problems/{problem_id}/rating", json={"score": 5, "comment": "非常满意"}, headers=headers
    )
    assert rated.status_code == 201 and rated.headers["ETag"] == f'"{problem_id}-7"'
    shown = client.get(f"/api/v1/problems/{problem_id}", headers=headers).get_json()
    assert {k: shown["rating"][k] for k in ("score", "comment", "resolution_no")} == {
        "score": 5,
        "comment": "非常满意",
        "resolution_no": 0,
    }
    assert shown["status"] == "closed"


def test_the_problem_shows_its_latest_rating_in_its_own_statement(client, app, app_ctx):
    from tests.conftest import count_queries
    from tests.helpers import auth_headers

    world = make_world()
    problem_id = problem_in(world, "resolved")
    for resolution_no, score in ((1, 2), (0, 5)):
        db.session.add(
            Rating(problem_id=problem_id, enterprise_id=world.enterprise.id, rated_by_id=world.owner.id,
                   resolution_no=resolution_no, score=score)
        )
    db.session.commit()
    headers = auth_headers(client, world.owner)
    # Three attachments, added newest id first: the detail reads them as rows of its own statement.
    for i in (3, 1, 2):
        db.session.add(
            Attachment(owner_id=world.owner.id, problem_id=problem_id, storage="local", storage_key=f"k{i}",
                       filename=f"p{i}.jpg", content_type="image/jpeg", size=i, sha256=f"{i:064d}")
        )
    db.session.commit()
    with count_queries(app) as statements:
        shown = client.get(f"/api/v1/problems/{problem_id}", headers=headers).get_json()
    assert (shown["rating"]["resolution_no"], shown["rating"]["score"]) == (1, 2)
    # Each attachment once, in id order, whichever ratings the problem has.
    attached = db.session.scalars(
        select(Attachment.id).where(Attachment.problem_id == problem_id).order_by(Attachment.id)
    )
    assert [a["id"] for a in shown["attachments"]] == list(attached) and len(shown["attachments"]) == 3
    assert [a["filename"] for a in shown["attachments"]] == ["p3.jpg", "p1.jpg", "p2.jpg"]
    # The session check, and the problem with its names, latest rating and attachments.
    assert len(statements) == 2, statements
    # A cadre's linked enterprises are read by that statement too (scoping.cadre_scope), not before
    # it; what the cadre may do reads whether it is linked (workflow.allowed_actions).
    cadre = auth_headers(client, world.cadre)
    with count_queries(app) as statements:
        assert client.get(f"/api/v1/problems/{problem_id}", headers=cadre).status_code == 200
    assert len(statements) == 3, statements
    assert not any(s.startswith("SELECT cadre_links.enterprise_id") for s in statements), statements
    # The statement is shared by every enterprise: another one's caller is still refused.
    assert client.get(f"/api/v1/problems/{problem_id}", headers=auth_headers(client, world.outsider)).status_code == 404
