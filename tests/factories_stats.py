"""Factories for the statistics tests: problems, events, ratings and visits with explicit times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import factory

from service_app.problems.models import Problem, ProblemEvent, Rating
from service_app.visits.models import Visit
from tests.factories import Base, CategoryFactory, EnterpriseFactory, EnterpriseUserFactory

T0 = datetime(2019, 6, 1, 2, 0, tzinfo=UTC)


class ProblemFactory(Base):
    class Meta:
        model = Problem

    code = factory.Sequence(lambda n: f"T-{n:08d}")
    enterprise = factory.SubFactory(EnterpriseFactory)
    category = factory.SubFactory(CategoryFactory)
    title = "测试问题"
    description = "测试问题描述"
    urgent = False
    status = "submitted"
    filed_by = factory.SubFactory(EnterpriseUserFactory, enterprise=factory.SelfAttribute("..enterprise"))
    created_at = T0
    updated_at = factory.SelfAttribute("created_at")
    response_due_at = factory.LazyAttribute(lambda o: o.created_at + timedelta(hours=24))
    due_at = factory.LazyAttribute(lambda o: o.created_at + timedelta(hours=72))


class EventFactory(Base):
    """Pass problem_id (events have no relationship to their problem)."""

    class Meta:
        model = ProblemEvent

    action = "comment"
    created_at = T0


def record_dispatch(problem_id: int, department_id: int) -> ProblemEvent:
    """The timeline row a dispatch writes (department scopes read it)."""
    return EventFactory(
        problem_id=problem_id,
        action="dispatch",
        from_status="accepted",
        to_status="dispatched",
        department_id=department_id,
    )


class RatingFactory(Base):
    class Meta:
        model = Rating

    resolution_no = 0
    score = 5
    created_at = T0


def rate(problem: Problem, score: int, *, resolution_no: int = 0, at: datetime = T0) -> Rating:
    return RatingFactory(
        problem_id=problem.id,
        enterprise_id=problem.enterprise_id,
        rated_by_id=problem.filed_by_id,
        score=score,
        resolution_no=resolution_no,
        created_at=at,
    )


class VisitFactory(Base):
    class Meta:
        model = Visit

    cadre_id = None
    enterprise_id = None
    recorded_at = T0
    lat = 27.8410
    lng = 113.0790
    flags = factory.LazyFunction(list)
