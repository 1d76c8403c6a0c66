"""Factories for the enterprise indicator tests, and minimal problem/visit rows the profile counts."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import factory

from service_app.enterprises.models import FULL_YEAR, EnterpriseIndicator
from service_app.extensions import db
from service_app.org.models import Category
from service_app.problems.models import Problem
from service_app.visits.models import Visit
from tests.factories import Base, EnterpriseFactory, UserFactory
from tests.factories_stats import record_dispatch

_problem_codes = itertools.count(1)


class IndicatorFactory(Base):
    class Meta:
        model = EnterpriseIndicator

    enterprise = factory.SubFactory(EnterpriseFactory)
    year = 2018
    quarter = FULL_YEAR
    revenue = Decimal("1000.00")
    tax_paid = Decimal("50.00")
    industrial_output = Decimal("900.00")
    land_area_mu = Decimal("10.00")
    employees = 100
    rd_spend = Decimal("30.00")
    patents = 5
    source = "seed"


def make_problem(enterprise, *, status: str = "submitted", department=None, filed_by=None) -> Problem:
    """A problem row in `status` (the workflow is another domain's; the profile only counts rows)."""
    now = datetime.now(UTC)
    category = db.session.query(Category).order_by(Category.id).first()
    problem = Problem(
        code=f"T{next(_problem_codes):08d}",
        enterprise_id=enterprise.id,
        category_id=category.id,
        title="测试问题",
        description="测试",
        status=status,
        filed_by_id=(filed_by or UserFactory()).id,
        department_id=None if department is None else department.id,
        response_due_at=now + timedelta(hours=24),
        due_at=now + timedelta(hours=72),
    )
    db.session.add(problem)
    db.session.flush()
    if department is not None:
        record_dispatch(problem.id, department.id)
        db.session.flush()
    return problem


def make_visit(link, *, recorded_at: datetime) -> Visit:
    visit = Visit(
        cadre_id=link.cadre_id,
        enterprise_id=link.enterprise_id,
        recorded_at=recorded_at,
        lat=27.841,
        lng=113.079,
        within_geofence=True,
        flags=[],
    )
    db.session.add(visit)
    db.session.flush()
    return visit
