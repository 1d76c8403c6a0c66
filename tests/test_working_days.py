"""The working-day clock (DESIGN.md §11, §15 "Clock"): deadline arithmetic checked against the
`chinesecalendar` package day by day, pauses, extensions, provisional deadlines and their recount,
the calendar endpoints and the new steps' rules beyond the oracle table of test_problems_workflow."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import chinese_calendar
import pytest
import time_machine
from sqlalchemy import delete, func, insert, select

from service_app.common.time import SHANGHAI
from service_app.errors import ValidationFailed
from service_app.extensions import db
from service_app.notifications.models import Notification
from service_app.problems import deadlines, jobs, service, sla
from service_app.problems.models import Problem
from service_app.problems.workflow import InvalidTransition
from service_app.stats import compute
from service_app.workdays.clock import Calendar, halved
from service_app.workdays.models import CalendarDay, CalendarRevision
from service_app.workdays.service import calendar_for
from tests.factories import AdminFactory, CategoryFactory
from tests.factories_problems import act, file, make_world, problem_in
from tests.helpers import assert_error, auth_headers


def shanghai(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def end_of(day: date) -> datetime:
    return datetime.combine(day, time(17, 30), SHANGHAI).astimezone(UTC)


def _by_the_package(filed: date, days: int) -> tuple[date, bool]:
    """The N-th working day after `filed` as chinesecalendar says; weekdays only (provisional) past its years."""
    day, counted, provisional = filed, 0, False
    while counted < days:
        day += timedelta(days=1)
        try:
            counted += chinese_calendar.is_workday(day)
        except NotImplementedError:  # a year the package does not cover
            provisional = True
            counted += day.weekday() < 5
    return day, provisional


def test_deadlines_match_chinesecalendar_for_every_day_of_2019_to_2026(app_ctx):
    calendar = calendar_for(2019, years_ahead=8)
    mismatches = []
    day = date(2019, 1, 1)
    while day <= date(2026, 12, 31):
        for days in (1, 5):
            for hour in (0, 10, 23):  # the hour of filing never matters: day D never counts
                due = calendar.due_after(shanghai(day.year, day.month, day.day, hour), days)
                expected_day, provisional = _by_the_package(day, days)
                if (due.at, due.provisional) != (end_of(expected_day), provisional):
                    mismatches.append((day, days, hour, due, expected_day))
        day += timedelta(days=1)
    assert mismatches == []


@pytest.mark.parametrize(
    ("filed", "days", "due"),
    [
        (date(2019, 9, 27), 1, date(2019, 9, 29)),  # a Sunday that was a make-up working day
        (date(2019, 9, 29), 1, date(2019, 9, 30)),
        (date(2019, 9, 30), 1, date(2019, 10, 8)),  # National Day: 1–7 October
        (date(2019, 9, 30), 5, date(2019, 10, 12)),  # 8, 9, 10, 11 and Saturday 12 (make-up)
        (date(2019, 10, 11), 1, date(2019, 10, 12)),
        (date(2019, 2, 1), 1, date(2019, 2, 2)),  # Saturday 2 February 2019: make-up day before 春节
        (date(2019, 2, 3), 1, date(2019, 2, 11)),  # 春节 4–10 February
        (date(2026, 2, 13), 1, date(2026, 2, 14)),  # 2026: Saturday 14 February worked, 春节 15–23
        (date(2026, 2, 14), 1, date(2026, 2, 24)),
    ],
)
def test_national_day_2019_and_the_spring_festival(app_ctx, filed, days, due):
    calendar = calendar_for(filed.year)
    assert calendar.due_after(shanghai(filed.year, filed.month, filed.day, 16), days).at == end_of(due)


def test_urgent_halves_rounding_up_and_at_least_one():
    assert [halved(n, True) for n in (1, 2, 3, 5, 15)] == [1, 1, 2, 3, 8]
    assert [halved(n, False) for n in (1, 2, 3)] == [1, 2, 3]


def test_working_time_and_extensions_on_the_clock():
    calendar = Calendar()  # weekdays only, no year covered: everything provisional
    friday_close = shanghai(2030, 1, 4, 17, 30)
    moved = calendar.add_working_days(friday_close, 1)
    assert (moved.at, moved.provisional) == (shanghai(2030, 1, 7, 17, 30), True)
    assert calendar.add_working_time(friday_close, 3600).at == shanghai(2030, 1, 7, 10)
    assert calendar.add_working_time(shanghai(2030, 1, 4, 16, 30), 3600).at == friday_close
    waited, _ = calendar.working_seconds(shanghai(2030, 1, 4, 16), shanghai(2030, 1, 7, 10))
    assert waited == 2.5 * 3600


# --- pauses (awaiting_info) ------------------------------------------------------------------------


def test_a_pause_across_national_day_moves_the_deadline_by_the_working_time_waited(app_ctx):
    world = make_world()  # the category gives 3 working days
    filed = shanghai(2019, 9, 26, 10)
    problem_id = problem_in(world, "in_progress", now=filed)
    problem = db.session.get(Problem, problem_id)
    assert problem.due_at == shanghai(2019, 9, 30, 17, 30)  # 27, Sunday 29 (make-up), 30
    act(world, problem_id, "request_info", "staff", question="请提供用电户号", now=shanghai(2019, 9, 30, 15, 30))
    holiday = shanghai(2019, 10, 5, 12)
    assert db.session.get(Problem, problem_id).status == "awaiting_info"
    assert not sla.is_overdue(problem, holiday)  # paused: past due_at, yet not overdue
    assert problem_id not in set(db.session.scalars(select(Problem.id).where(sla.overdue_clause(holiday))))
    act(world, problem_id, "supply_info", "owner", answer="户号 0731-123", now=shanghai(2019, 10, 8, 10, 30))
    problem = db.session.get(Problem, problem_id)
    # Waited 2 h on 30 September and 1.5 h on 8 October (1–7 October are holidays): due 8 October 12:30.
    assert (problem.status, problem.due_at, problem.paused_seconds) == (
        "in_progress",
        shanghai(2019, 10, 8, 12, 30),
        12600,
    )
    assert (problem.paused_from, problem.paused_at, problem.deadline_provisional) == (None, None, False)
    events = [(e.action, e.from_status, e.to_status) for e in service.timeline(world.manager, problem_id)][-2:]
    assert events == [("request_info", "in_progress", "awaiting_info"), ("supply_info", "awaiting_info", "in_progress")]


def test_the_enterprise_is_reminded_every_three_working_days_at_most_three_times(app_ctx):
    world = make_world()
    problem_id = problem_in(world, "accepted", now=shanghai(2019, 9, 23, 9))
    act(world, problem_id, "request_info", "cadre", question="请补充营业执照", now=shanghai(2019, 9, 23, 10))
    reminders = lambda: db.session.scalar(  # noqa: E731
        select(func.count(Notification.id)).where(
            Notification.problem_id == problem_id, Notification.kind == "info_reminder"
        )
    )
    # 3 working days after Monday 23 September 10:00 is Thursday 26 at 10:00.
    assert jobs.remind_awaiting_info(now=shanghai(2019, 9, 26, 9, 59)) == 0
    assert jobs.remind_awaiting_info(now=shanghai(2019, 9, 26, 10)) == 1
    assert jobs.remind_awaiting_info(now=shanghai(2019, 9, 27, 12)) == 0  # once per 3 working days
    # Next, 6 working days after: 24, 25, 26, 27, Sunday 29 (a make-up day) and Monday 30 September.
    assert jobs.remind_awaiting_info(now=shanghai(2019, 9, 30, 9, 59)) == 0
    assert jobs.remind_awaiting_info(now=shanghai(2019, 9, 30, 10)) == 1
    # Then 9: 8, 9 and 10 October, after the National Day holidays.
    assert jobs.remind_awaiting_info(now=shanghai(2019, 10, 7, 12)) == 0
    assert jobs.remind_awaiting_info(now=shanghai(2019, 10, 10, 10)) == 1
    assert jobs.remind_awaiting_info(now=shanghai(2020, 3, 1)) == 0  # at most three
    assert reminders() == 3
    # History, such as the 2019 demo read today: reminders that fell due long ago are counted, not sent.
    old = problem_in(world, "accepted", now=shanghai(2019, 9, 2, 9))
    act(world, old, "request_info", "cadre", question="请补充营业执照", now=shanghai(2019, 9, 2, 10))
    assert jobs.remind_awaiting_info(now=shanghai(2026, 12, 1)) == 0
    assert db.session.get(Problem, old).info_reminders == 3


# --- extension requests ---------------------------------------------------------------------------


def test_one_pending_extension_request_approved_even_after_the_deadline(app_ctx):
    world = make_world()
    problem_id = problem_in(world, "in_progress", now=shanghai(2019, 9, 23, 10))
    due = db.session.get(Problem, problem_id).due_at
    assert due == shanghai(2019, 9, 26, 17, 30)
    act(world, problem_id, "request_extension", "staff", days=5, reason="需协调供电公司", now=shanghai(2019, 9, 25, 10))
    with pytest.raises(InvalidTransition) as error:
        act(world, problem_id, "request_extension", "staff", days=2, reason="再申请", now=shanghai(2019, 9, 25, 11))
    assert error.value.http_status == 409 and error.value.message_key == "extension_pending"
    assert set(service.get_problem(world.manager, problem_id).allowed_actions) >= {
        "approve_extension",
        "deny_extension",
    }
    # Approved after the deadline passed: 5 working days added to 26 September 17:30 (27, 29, 30, 8, 9).
    act(world, problem_id, "approve_extension", "manager", now=shanghai(2019, 9, 27, 10))
    problem = db.session.get(Problem, problem_id)
    assert (problem.due_at, problem.extension_days, problem.extension_request_days) == (
        shanghai(2019, 10, 9, 17, 30),
        5,
        None,
    )
    with pytest.raises(InvalidTransition) as error:
        act(world, problem_id, "deny_extension", "manager", reason="无申请")
    assert error.value.message_key == "no_extension_request"
    act(world, problem_id, "request_extension", "staff", days=3, reason="仍需协调", now=shanghai(2019, 10, 8, 10))
    act(world, problem_id, "deny_extension", "manager", reason="时限内可办结", now=shanghai(2019, 10, 8, 11))
    problem = db.session.get(Problem, problem_id)
    assert (problem.due_at, problem.extension_request_days) == (shanghai(2019, 10, 9, 17, 30), None)
    kinds = set(db.session.scalars(select(Notification.kind).where(Notification.problem_id == problem_id)))
    assert {"extension_requested", "extension_approved", "extension_denied"} <= kinds


# --- urging, withdrawal, assignment -----------------------------------------------------------------


def test_urging_once_per_shanghai_date(app_ctx):
    world = make_world()
    problem_id = problem_in(world, "dispatched", now=shanghai(2019, 9, 23, 9))
    act(world, problem_id, "urge", "owner", now=shanghai(2019, 9, 23, 23, 50))
    with pytest.raises(InvalidTransition) as error:
        act(world, problem_id, "urge", "owner", now=shanghai(2019, 9, 23, 23, 59))
    assert error.value.message_key == "already_urged_today"
    assert error.value.extra["next_allowed_at"] == "2019-09-24T00:00:00+08:00"
    act(world, problem_id, "urge", "owner", now=shanghai(2019, 9, 24, 0, 1))  # a new Shanghai date
    act(world, problem_id, "urge", "owner", now=shanghai(2019, 10, 3, 12))  # any day, holidays too
    assert db.session.get(Problem, problem_id).urge_count == 3
    told = set(
        db.session.scalars(
            select(Notification.user_id).where(Notification.problem_id == problem_id, Notification.kind == "urged")
        )
    )
    assert told == {world.cadre.id, world.lead.id}  # unclaimed: the department's lead


def test_withdrawn_problems_count_in_no_statistic(app_ctx):
    world = make_world()
    kept = file(world)
    withdrawn = file(world)
    act(world, withdrawn, "withdraw", "owner", reason="重复提交")
    problem = db.session.get(Problem, withdrawn)
    assert (problem.status, problem.withdrawn_at is not None) == ("withdrawn", True)
    counts = compute.compute_counts(now=problem.withdrawn_at, scope=compute.Scope(category_id=world.category.id))
    assert (counts.total, counts.open, counts.in_progress) == (1, 1, 0)
    assert db.session.get(Problem, kept).status == "submitted"


def test_assign_within_the_department_only(app_ctx):
    world = make_world()
    problem_id = problem_in(world, "in_progress")
    with pytest.raises(ValidationFailed) as error:
        act(world, problem_id, "assign", "lead", user_id=world.other_staff.id)
    assert list(error.value.errors) == ["user_id"]
    act(world, problem_id, "assign", "lead", user_id=world.colleague.id)
    problem = db.session.get(Problem, problem_id)
    assert problem.handler_id == world.colleague.id
    act(world, problem_id, "request_extension", "colleague", days=1, reason="新接手")
    told = set(
        db.session.scalars(
            select(Notification.user_id).where(
                Notification.problem_id == problem_id, Notification.kind.in_(("assigned", "handler_assigned"))
            )
        )
    )
    assert told == {world.owner.id, world.cadre.id, world.colleague.id}


# --- provisional deadlines and the calendar ---------------------------------------------------------


def _drop_year(year: int) -> None:
    db.session.execute(
        delete(CalendarDay).where(CalendarDay.date >= date(year, 1, 1), CalendarDay.date < date(year + 1, 1, 1))
    )


def test_filing_counts_on_the_calendar_as_it_is_now_though_processes_keep_it(app_ctx):
    """Filing keeps the calendar per revision token (workdays.calendar_at); every write to
    calendar_days, however made, gives a new token, so the next filing counts on the new calendar."""
    world = make_world()
    filed = shanghai(2026, 12, 1, 9)

    def due() -> datetime:
        return db.session.get(Problem, file(world, now=filed)).due_at

    def token() -> str:
        return db.session.scalar(select(CalendarRevision.token))

    before, first = due(), token()
    assert due() == before and token() == first  # kept: nothing changed
    db.session.add(CalendarDay(date=date(2026, 12, 2), kind="holiday", name="测试"))
    db.session.flush()
    assert token() != first and due() > before
    _drop_year(2026)
    db.session.execute(insert(CalendarDay), [{"date": date(2026, 12, 2), "kind": "holiday", "name": "测试"}])
    moved, second = due(), token()
    db.session.execute(delete(CalendarDay).where(CalendarDay.date == date(2026, 12, 2)))
    assert token() != second and due() < moved


def test_a_year_loaded_recounts_provisional_deadlines(app_ctx):
    world = make_world()
    _drop_year(2027)  # the package may cover it some day
    late = db.session.get(Problem, file(world, now=shanghai(2026, 12, 31)))
    early = db.session.get(Problem, file(world, now=shanghai(2026, 12, 1)))
    # Weekdays only: 1, 4 and 5 January 2027.
    assert (late.due_at, late.deadline_provisional) == (shanghai(2027, 1, 5, 17, 30), True)
    assert early.deadline_provisional is False
    holidays = [{"date": date(2027, 1, d), "kind": "holiday", "name": "元旦"} for d in (1, 2, 3)]
    deadlines.replace_year(year=2027, days=holidays)
    db.session.refresh(late)
    assert (late.due_at, late.response_due_at, late.deadline_provisional) == (
        shanghai(2027, 1, 6, 17, 30),
        shanghai(2027, 1, 4, 17, 30),
        False,
    )


def test_loading_a_missing_year_from_the_package_recounts_its_deadlines(app_ctx):
    world = make_world()
    _drop_year(2026)
    problem = db.session.get(Problem, file(world, now=shanghai(2026, 9, 30)))
    # Weekdays only: 1, 2 and 5 October, though National Day is a week of holidays.
    assert (problem.due_at, problem.deadline_provisional) == (shanghai(2026, 10, 5, 17, 30), True)
    assert deadlines.load_package() == [2026]
    db.session.refresh(problem)
    due_day, _ = _by_the_package(date(2026, 9, 30), 3)
    assert (problem.due_at, problem.deadline_provisional) == (end_of(due_day), False) and due_day > date(2026, 10, 7)


def test_the_package_loader_is_idempotent_and_keeps_what_admins_entered(app_ctx):
    assert deadlines.load_package() == []  # the migrations loaded every year already
    _drop_year(2019)
    deadlines.replace_year(year=2020, days=[{"date": date(2020, 1, 1), "kind": "holiday", "name": "元旦"}])
    assert deadlines.load_package() == [2019]
    assert len(deadlines.calendar_year(year=2019).days) == len(
        [d for d in chinese_calendar.constants.holidays if d.year == 2019]
    ) + len([d for d in chinese_calendar.constants.workdays if d.year == 2019])
    assert [d.date for d in deadlines.calendar_year(year=2020).days] == [date(2020, 1, 1)]


def test_from_november_admins_hear_that_next_year_is_missing(app_ctx):
    admin = AdminFactory()
    _drop_year(2027)
    assert deadlines.alert_missing_calendar(now=shanghai(2026, 10, 31, 12)) == 0
    assert deadlines.alert_missing_calendar(now=shanghai(2026, 11, 1, 9)) >= 1
    assert deadlines.alert_missing_calendar(now=shanghai(2026, 11, 2, 9)) == 0  # told once, when November began
    told = db.session.scalars(select(Notification.user_id).where(Notification.kind == "calendar_missing"))
    assert admin.id in set(told)
    assert deadlines.alert_missing_calendar(now=shanghai(2025, 11, 1, 9)) == 0  # 2026 is there


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_filed_on_2026_12_31_over_http_is_provisional_until_2027_is_loaded(app, app_ctx, client):
    world = make_world()
    _drop_year(2027)
    admin = AdminFactory()
    db.session.commit()
    with time_machine.travel(shanghai(2026, 12, 31, 15), tick=True):
        owner = auth_headers(client, world.owner)
        response = client.post(
            "/api/v1/problems",
            json={"title": "年末停电", "description": "厂区停电", "category_id": world.category.id},
            headers=owner,
        )
        assert response.status_code == 201, response.get_json()
        filed = response.get_json()
        assert (filed["deadline_provisional"], _at(filed["due_at"])) == (True, shanghai(2027, 1, 5, 17, 30))
        admin_headers = auth_headers(client, admin)
        assert client.get("/api/v1/calendar/2027", headers=owner).get_json() == {
            "year": 2027,
            "covered": False,
            "days": [],
        }
        days = [
            {"date": "2027-01-01", "kind": "holiday", "name": "元旦"},
            {"date": "2027-01-04", "kind": "holiday", "name": "元旦"},
        ]
        assert client.put("/api/v1/calendar/2027", json={"days": days}, headers=owner).status_code == 403
        response = client.put("/api/v1/calendar/2027", json={"days": days}, headers=admin_headers)
        assert response.status_code == 200 and response.get_json()["covered"] is True
        fixed = client.get(f"/api/v1/problems/{filed['id']}", headers=owner).get_json()
        assert (fixed["deadline_provisional"], _at(fixed["due_at"])) == (False, shanghai(2027, 1, 7, 17, 30))  # 5, 6, 7


def test_put_calendar_names_the_bad_row(app_ctx, client):
    headers = auth_headers(client, AdminFactory())
    good = {"date": "2027-01-01", "kind": "holiday", "name": "元旦"}
    cases = [
        ({"date": "2026-01-01", "kind": "holiday", "name": "元旦"}, "date"),  # outside the year
        ({"date": "2027-01-01", "kind": "workday", "name": "x"}, "date"),  # a duplicate date
        ({"date": "2027-01-02", "kind": "vacation", "name": "x"}, "kind"),  # an unknown kind
    ]
    for bad, field in cases:
        days, row = [good, bad], "1"
        body = assert_error(
            client.put("/api/v1/calendar/2027", json={"days": days}, headers=headers), 422, "validation_failed"
        )
        assert list(body["errors"]["days"]) == [row] and list(body["errors"]["days"][row]) == [field], body
    assert client.get("/api/v1/calendar/2019", headers=headers).get_json()["days"][0] == {
        "date": "2019-01-01",
        "kind": "holiday",
        "name": "元旦",
    }


def test_categories_publish_working_days(app_ctx, client):
    category = CategoryFactory(response_days=1, resolve_days=10)
    db.session.commit()
    rows = client.get("/api/v1/categories", headers=auth_headers(client, AdminFactory())).get_json()
    row = next(r for r in rows if r["id"] == category.id)
    assert (row["response_days"], row["resolve_days"]) == (1, 10) and "sla_hours" not in row


def test_bad_input_over_http(app_ctx, client):
    world = make_world()
    problem_id = problem_in(world, "in_progress")
    owner, staff, lead = (auth_headers(client, user) for user in (world.owner, world.staff, world.lead))
    url = f"/api/v1/problems/{problem_id}"
    assert client.post(f"{url}/urge", json={}, headers=owner).status_code == 200
    body = assert_error(client.post(f"{url}/urge", json={}, headers=owner), 409, "already_urged_today")
    tomorrow = datetime.now(SHANGHAI).date() + timedelta(days=1)
    assert body["next_allowed_at"] == f"{tomorrow.isoformat()}T00:00:00+08:00"
    assert "urge" not in body["allowed_actions"] and body["current_status"] == "in_progress"
    asked = {"days": 3, "reason": "需协调"}
    assert client.post(f"{url}/request_extension", json=asked, headers=staff).status_code == 200
    assert_error(client.post(f"{url}/request_extension", json=asked, headers=staff), 409, "extension_pending")
    body = assert_error(client.post(f"{url}/assign", json={"user_id": world.other_staff.id}, headers=lead), 422)
    assert list(body["errors"]) == ["user_id"]
    assert_error(client.post(f"{url}/request_extension", json={"days": 0, "reason": "x"}, headers=staff), 422)
    assert_error(client.post(f"{url}/withdraw", json={"reason": "误报"}, headers=owner), 409, "invalid_transition")
