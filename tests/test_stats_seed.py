"""The demo activity seed: DESIGN.md §7's figures, consistent timelines, idempotence, `make run`."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import UTC, datetime

from sqlalchemy import func, inspect, select

import seeds
from seeds import activity
from service_app.auth.models import User
from service_app.common.time import SHANGHAI
from service_app.extensions import db
from service_app.org.models import CadreLink, Category
from service_app.problems import sla, workflow
from service_app.problems.models import OPEN_STATUSES, RESOLVED_STATUSES, Problem, ProblemEvent, Rating
from service_app.visits.models import Visit
from service_app.workdays.service import calendar_for
from tests.helpers import login

START = datetime(2019, 3, 1, tzinfo=SHANGHAI)
END = datetime(2019, 9, 1, tzinfo=SHANGHAI)


def _count(model, *conditions) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*conditions))


def test_demo_figures_timelines_and_idempotence(app_ctx):
    first = seeds.load("demo")
    assert first["problems"] == 1301 and first["visits"] > 2000
    assert _count(Problem) == 1301
    assert _count(Problem, Problem.status.in_(RESOLVED_STATUSES)) == 749
    by_category = dict(
        db.session.execute(
            select(Category.name, func.count(Problem.id))
            .join(Problem, Problem.category_id == Category.id)
            .group_by(Category.name)
        ).all()
    )
    assert by_category["配套服务"] == 247 and round(247 / 1301 * 100) == 19
    assert by_category["物业管理"] == 221 and round(221 / 1301 * 100) == 17
    assert max(n for name, n in by_category.items() if name not in ("配套服务", "物业管理")) < 221
    problems = db.session.scalars(select(Problem)).all()
    assert all(START <= p.created_at < END for p in problems)

    events = defaultdict(list)
    for event in db.session.scalars(select(ProblemEvent).order_by(ProblemEvent.problem_id, ProblemEvent.id)):
        events[event.problem_id].append(event)
    # Every action but withdrawal (a withdrawn problem would be one more than the 1301) and assignment.
    assert {e.action for chain in events.values() for e in chain} == set(activity.ACTIONS) - {"withdraw", "assign"}
    days = {c.id: (c.response_days, c.resolve_days) for c in db.session.scalars(select(Category))}
    calendar = calendar_for(2019)
    moved = {"extend", "supply_info", "approve_extension"}
    per_day: dict[str, list[int]] = defaultdict(list)
    for problem in problems:
        chain = events[problem.id]
        # Every state change is an event: the chain starts at submit and ends at the current status.
        assert chain[0].action == "submit" and chain[0].from_status is None
        assert all(a.to_status == b.from_status for a, b in zip(chain, chain[1:], strict=False)), problem.code
        assert chain[-1].to_status == problem.status and all(e.created_at < END for e in chain)
        assert problem.updated_at == chain[-1].created_at
        response_days, resolve_days = days[problem.category_id]
        counted = sla.deadlines(
            calendar=calendar,
            created_at=problem.created_at,
            response_days=response_days,
            resolve_days=resolve_days,
            urgent=problem.urgent,
        )
        assert (problem.response_due_at, problem.deadline_provisional) == (counted.response_due_at, False)
        if not any(e.action in moved for e in chain):
            assert problem.due_at == counted.due_at
        match = re.fullmatch(r"WT-(\d{8})-(\d{4})", problem.code)
        assert match and match.group(1) == problem.created_at.astimezone(SHANGHAI).strftime("%Y%m%d")
        per_day[match.group(1)].append(int(match.group(2)))
        if problem.status in RESOLVED_STATUSES:
            assert problem.resolved_at is not None and problem.resolved_at == max(
                e.created_at for e in chain if e.action == "resolve"
            )
        if problem.status == "rejected":
            assert problem.first_response_at == chain[1].created_at and chain[1].action == "reject"
        dispatches = [e for e in chain if e.action == "dispatch"]
        if problem.status in ("dispatched", "in_progress") and dispatches and chain[-1].action != "return":
            assert problem.department_id == dispatches[-1].department_id
    assert all(sorted(numbers) == list(range(1, len(numbers) + 1)) for numbers in per_day.values())

    statuses = Counter(p.status for p in problems)
    assert statuses["rejected"] > 0 and statuses["submitted"] > 0 and statuses["in_progress"] > 0
    assert _count(Problem, Problem.duplicate_of_id.is_not(None)) > 0
    assert _count(Problem, Problem.reopen_count > 0) > 0 and _count(Problem, Problem.supervised.is_(True)) > 0
    late = sum(1 for p in problems if p.first_response_at and p.first_response_at > p.response_due_at)
    assert 0 < late < 0.2 * 1301
    scores = Counter(db.session.scalars(select(Rating.score)))
    assert sum(n for s, n in scores.items() if s >= 3) > 0.85 * sum(scores.values()) and scores[1] + scores[2] > 0
    visits = db.session.scalars(select(Visit)).all()
    assert 2000 < len(visits) < 5000
    assert sum(v.within_geofence for v in visits) > 0.9 * len(visits) and any(v.flagged for v in visits)
    assert all(v.checked_out_at and v.summary and v.recorded_at.year == 2019 for v in visits)

    snapshot = {model: _count(model) for model in (Problem, ProblemEvent, Rating, Visit)}
    again = seeds.load("demo")
    assert all(n == 0 for n in again.values()), again
    assert {model: _count(model) for model in snapshot} == snapshot


def test_build_is_deterministic(app_ctx):
    seeds.load("reference")
    from seeds import demo

    demo.load()
    actors = activity._actors()
    first, second = activity.build(actors), activity.build(actors)
    assert [(s.title, s.created_at, s.row["status"]) for s in first[0]] == [
        (s.title, s.created_at, s.row["status"]) for s in second[0]
    ]
    assert first[3] == second[3]


def test_flask_seed_then_summary_says_749_of_1301(app, client, app_ctx):
    """What `make run` does: `flask seed` (which computes the snapshot), then the manager asks."""
    result = app.test_cli_runner().invoke(args=["seed", "--data", "demo"])
    assert result.exit_code == 0, result.output
    assert "problems +1301" in result.output and "stats.snapshot: ok" in result.output
    token = login(client, "manager", "Demo@2019")["access_token"]
    summary = client.get("/api/v1/stats/summary", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert (summary["total"], summary["resolved"], summary["resolution_rate"]) == (1301, 749, 0.5757)
    categories = client.get("/api/v1/stats/by/category", headers={"Authorization": f"Bearer {token}"}).get_json()[
        "rows"
    ]
    shares = {row["label"]: row["share"] for row in categories}
    assert round(shares["配套服务"], 2) == 0.19 and round(shares["物业管理"], 2) == 0.17
    # Read in the present, the problems still open in 2019 are long overdue; coverage is measured now.
    assert summary["overdue"] == summary["open"] - summary["awaiting_info"] > 0
    assert summary["awaiting_info"] > 0 and summary["urge_count"] > 0 and summary["in_progress"] < summary["open"]
    # 督办中: the open problems under supervision, the figure of the dashboard's 督办 tile.
    open_supervised = db.session.scalar(
        select(func.count()).select_from(Problem).where(Problem.supervised, Problem.status.in_(OPEN_STATUSES))
    )
    assert summary["supervised"] == open_supervised
    computed_at = summary["computed_at"]
    assert computed_at is not None and datetime.fromisoformat(computed_at) > datetime(2020, 1, 1, tzinfo=UTC)


def test_seeded_timelines_are_legal_transitions_that_replay_to_the_stored_problems(app, app_ctx):
    """The seed's history is the workflow's: each event is allowed by the table to an actor in a role
    and relation that may do it (checked with the real users and links), and applying the events in
    order to a fresh problem gives the stored row, column for column."""
    seeds.load("demo")
    users = {user.id: user for user in db.session.scalars(select(User))}
    active = select(CadreLink.cadre_id, CadreLink.enterprise_id).where(CadreLink.ended_at.is_(None))
    links = set(db.session.execute(active).tuples())
    days = {c.id: (c.response_days, c.resolve_days) for c in db.session.scalars(select(Category))}
    calendar = calendar_for(2019)
    events = defaultdict(list)
    for event in db.session.scalars(select(ProblemEvent).order_by(ProblemEvent.id)):
        events[event.problem_id].append(event)
    columns = [attr.key for attr in inspect(Problem).column_attrs if attr.key not in ("id", "code", "visit_id")]
    problems = db.session.scalars(select(Problem).order_by(Problem.id)).all()
    assert len(problems) == 1301 and sum(map(len, events.values())) > 4 * 1301
    for stored in problems:
        response_days, resolve_days = days[stored.category_id]
        counted = sla.deadlines(
            calendar=calendar,
            created_at=stored.created_at,
            response_days=response_days,
            resolve_days=resolve_days,
            urgent=stored.urgent,
        )
        replay = Problem(
            # What filing gives, not the timeline (`source` is "app" for every seeded problem).
            **{name: getattr(stored, name) for name in ("enterprise_id", "category_id", "title", "description")},
            source=stored.source,
            urgent=stored.urgent,
            filed_by_id=stored.filed_by_id,
            cadre_id=stored.cadre_id,
            created_at=stored.created_at,
            response_due_at=counted.response_due_at,
            due_at=counted.due_at,
            deadline_provisional=counted.provisional,
            supervised=False,
            reopen_count=0,
            **dict.fromkeys(("urge_count", "extension_days", "paused_seconds", "info_reminders"), 0),
        )
        for event in events[stored.id]:
            assert (event.from_status, event.action) in workflow.TRANSITIONS, (stored.code, event.action)
            actor = users.get(event.actor_id)
            parties = workflow.relations(replay, actor, linked=(event.actor_id, stored.enterprise_id) in links)
            closing = event.action == "close"
            params = workflow.Params(
                note=event.note,
                reason_code=None if closing else event.reason_code,
                closed_reason=event.reason_code if closing else None,
                department_id=event.department_id,
                internal=event.internal,
                due_at=stored.due_at if event.action == "extend" else None,
                duplicate_of_id=stored.duplicate_of_id if event.action == "reject" else None,
            )
            if event.action in ("supply_info", "approve_extension"):  # counted on the calendar by their endpoint
                body = {"answer": event.note} if event.action == "supply_info" else {"note": event.note}
                params = workflow.ACTIONS[event.action].prepare(actor, replay, event.created_at, **body)
            elif event.action == "request_extension":
                asked = int(event.reason_code.removeprefix("days_"))
                params = workflow.Params(note=event.note, reason_code=event.reason_code, days=asked)
            # Raises (403/409) when the table does not allow it to this actor in this state.
            row = workflow.apply(
                replay, event.action, actor=actor, now=event.created_at, params=params, parties=parties
            )
            assert row == {name: getattr(event, name) for name in row}, (stored.code, event.action)
        replayed = {name: getattr(replay, name) for name in columns}
        assert replayed == {name: getattr(stored, name) for name in columns}, stored.code
