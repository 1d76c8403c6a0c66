"""Demo activity: 1301 problems filed in 2019 with their timelines and ratings, and the cadres' visits.

Deterministic (one `random.Random` with a fixed seed), bulk-inserted (executemany, not ORM objects
one by one) and idempotent: problems are matched by their code, visits by (cadre, client_id), and
only what is missing is inserted, with its events and ratings.

The data set describes the zone as of its cut-off, 2019-09-01 00:00 Asia/Shanghai: every event
happened before it. Its counts are fixed (DESIGN.md §7): 1301 problems filed 2019-03-01..08-31,
exactly 749 resolved (status resolved or closed), 配套服务 247 (19%) and 物业管理 221 (17%). Figures
that depend on "now" are not frozen at the cut-off: read in 2026, the problems still open in 2019
are overdue, and coverage over the last 30 days is 0 — the statistics say so honestly.

Timelines follow the workflow of DESIGN.md §4: submit → accept (most within the 24 h response
deadline, some late) → dispatch to the category's default department (or resolve directly by the
cadre) → claim → resolve → rate (≥3 closes; ≤2 reopens) or, unrated for 7 days, closed by the
system. Some problems are returned by a department they were wrongly sent to and dispatched again,
some rejected (mostly duplicates), some overdue and supervised, a few extended, some still open.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace

from flask import current_app
from sqlalchemy import func, insert, inspect, select, update

from seeds import texts
from seeds.demo import ENTERPRISE_COUNT, enterprise_credit_code
from seeds.reference import DEPARTMENTS
from service_app.auth.models import Role, User
from service_app.common.time import SHANGHAI
from service_app.extensions import db
from service_app.org.models import CadreLink, Category, Department, Enterprise, Park
from service_app.problems import sla, workflow
from service_app.problems.codes import ProblemCodeCounter, format_code
from service_app.problems.jobs import UNRATED_NOTE
from service_app.problems.models import Problem, ProblemEvent, Rating
from service_app.problems.workflow import Params
from service_app.visits import geo
from service_app.visits.models import Visit
from service_app.workdays.clock import Calendar
from service_app.workdays.service import calendar_for

# Every action a problem's timeline may hold: the workflow's own records, so the seed cannot drift from them.
ACTIONS = tuple(workflow.ACTIONS)
# The columns of a problem row the timeline writes (the id comes from the database, the code from `_codes`).
ROW_COLUMNS = tuple(attr.key for attr in inspect(Problem).column_attrs if attr.key not in ("id", "code"))

SEED = 20190301
FIRST_DAY = date(2019, 3, 1)
LAST_DAY = date(2019, 8, 31)
CUTOFF = datetime(2019, 9, 1, tzinfo=SHANGHAI).astimezone(UTC)
PROBLEM_COUNT = 1301
RESOLVED_COUNT = 749
CATEGORY_COUNTS = {
    "peitao": 247,
    "wuye": 221,
    "shuidianqi": 150,
    "yonggong": 130,
    "shenpi": 125,
    "rongzi": 120,
    "zhengce": 108,
    "qita": 105,
    "yongdi": 95,
}
DUPLICATES = 44
OUT_OF_SCOPE = 17
VISITS_PER_LINK = (3, 9)

# Per category: recurring themes (the title's core); what is said about each is in `seeds.texts`.
THEMES = {category: list(themes) for category, themes in texts.THEMES.items()}
# Most titles are the theme itself; some name where, as people do.
PLACES = ["", "", "", "", "", "", "", "厂区", "二期", "A栋", "北门"]
COMMENTS = [
    "已电话联系企业了解详细情况。",
    "已转告相关负责同志，正在跟进。",
    "需企业补充现场照片。",
    "已预约下周现场查看。",
]
REJECT_REASONS = [
    "属企业内部经营管理事项，不属于受理范围。",
    "涉及民事纠纷，建议通过司法途径解决。",
    "已有明确政策规定，已向企业解释说明。",
]
RETURN_NOTES = ["该事项不属于本部门职责，请重新派单。", "经核实，该问题应由其他部门办理。"]
SUPERVISE_NOTES = ["问题已超期，请加快办理并反馈进度。", "督办：请于三个工作日内办结。"]
EXTEND_NOTES = ["需协调多个部门，申请延期。", "涉及上级审批，办理周期较长，同意延期。"]
INFO_QUESTIONS = ["请补充现场照片及具体位置。", "请提供相关合同或缴费凭证。", "请补充联系人及联系电话。"]
INFO_ANSWERS = ["已补充现场照片，位置在三号厂房东侧。", "相关凭证已上传，请查收。", "联系人：办公室主任，电话已补充。"]
VISIT_SUMMARIES = [
    "了解企业生产经营情况，企业运行正常，无新增诉求。",
    "走访企业负责人，宣讲惠企政策，收集用工需求。",
    "跟进企业前期反映问题的办理情况，企业表示认可。",
    "了解企业扩产计划，协调用地和审批事项。",
    "检查安全生产情况，提醒做好防暑降温工作。",
]
@dataclass
class Actors:
    manager: int
    ent_user: dict[int, int]  # enterprise id -> its user
    cadre: dict[int, int]  # enterprise id -> its primary linked cadre
    dept_user: dict[int, int]  # department id -> its staff user
    categories: dict[str, tuple[int, int, int, int]]  # code -> (id, default department, response and resolve days)
    enterprises: list[tuple[int, float, float]]  # (id, lat, lng), in order
    about: dict[int, tuple[str, str]]  # enterprise id -> (its park's name, its contact person)
    departments: dict[str, int]  # department code -> id
    people: dict[int, User]  # user id -> the acting user, in memory (id, role, enterprise or department)
    calendar: Calendar  # the working-day calendar of 2019 the deadlines are counted on


@dataclass
class Story:
    """One problem being written: its row and its events, built in time order."""

    index: int
    created_at: datetime
    enterprise_id: int
    category: str
    title: str
    description: str
    urgent: bool
    theme: str
    department: int  # where the cadre dispatches it: the theme's department, else the category's
    words: random.Random  # its own stream for the texts, so rewording one changes nothing else
    problem: SimpleNamespace | None = None  # the row being written (`_draft`): `workflow.apply` changes it
    row: dict = field(default_factory=dict)  # its columns, once written
    events: list[dict] = field(default_factory=list)
    ratings: list[dict] = field(default_factory=list)
    clock: datetime | None = None


def _actors() -> Actors:
    departments = dict(db.session.execute(select(Department.code, Department.id)).all())
    dept_users = dict(
        db.session.execute(select(User.username, User.id).where(User.role == Role.DEPARTMENT.value)).all()
    )
    dept_user = {departments[code]: dept_users[f"dept{n:02d}"] for n, (code, *_rest) in enumerate(DEPARTMENTS, start=1)}
    categories = {
        code: (category_id, department_id, response_days, resolve_days)
        for code, category_id, department_id, response_days, resolve_days in db.session.execute(
            select(Category.code, Category.id, Category.default_department_id).add_columns(
                Category.response_days, Category.resolve_days
            )
        )
    }
    # The demo enterprises, in their numbering order (entNNN, cadreNNN).
    numbers = {enterprise_credit_code(number): number for number in range(1, ENTERPRISE_COUNT + 1)}
    rows = db.session.execute(
        select(Enterprise.credit_code, Enterprise.id, Enterprise.lat, Enterprise.lng)
        .add_columns(Park.name, Enterprise.contact_name)
        .outerjoin(Park, Park.id == Enterprise.park_id)
        .where(Enterprise.credit_code.in_(list(numbers)))
    ).all()
    rows = sorted(rows, key=lambda row: numbers[row.credit_code])
    enterprises = [(row.id, row.lat, row.lng) for row in rows]
    about = {row.id: (row.name or "园区", row.contact_name or "") for row in rows}
    ent_user = dict(
        db.session.execute(
            select(User.enterprise_id, User.id).where(User.role == Role.ENTERPRISE.value, User.username.like("ent%"))
        ).all()
    )
    cadre = dict(
        db.session.execute(
            select(CadreLink.enterprise_id, CadreLink.cadre_id).where(
                CadreLink.role == "primary", CadreLink.ended_at.is_(None)
            )
        ).all()
    )
    manager = db.session.scalar(select(User.id).where(User.username == "manager"))
    people = {
        manager: User(id=manager, role=Role.MANAGER.value),
        **{uid: User(id=uid, role=Role.ENTERPRISE.value, enterprise_id=eid) for eid, uid in ent_user.items()},
        **{uid: User(id=uid, role=Role.CADRE.value) for uid in cadre.values()},
        **{uid: User(id=uid, role=Role.DEPARTMENT.value, department_id=did) for did, uid in dept_user.items()},
    }
    return Actors(
        manager=manager,
        ent_user=ent_user,
        cadre=cadre,
        dept_user=dept_user,
        categories=categories,
        enterprises=enterprises,
        about=about,
        departments=departments,
        people=people,
        calendar=calendar_for(FIRST_DAY.year),
    )


def _local(day: date, hour: int, minute: int, second: int) -> datetime:
    return datetime.combine(day, time(hour, minute, second), SHANGHAI).astimezone(UTC)


def _creation_times(rng: random.Random) -> list[datetime]:
    """Weekdays busier than weekends, the campaign gaining pace over the months; mostly office hours."""
    days = [FIRST_DAY + timedelta(days=n) for n in range((LAST_DAY - FIRST_DAY).days + 1)]
    weights = [(1.0 if d.weekday() < 5 else 0.3) * (0.75 + 0.5 * n / len(days)) for n, d in enumerate(days)]
    moments = []
    for day in rng.choices(days, weights, k=PROBLEM_COUNT):
        roll = rng.random()
        hour = rng.randint(8, 17) if roll < 0.85 else rng.randint(18, 23) if roll < 0.97 else rng.randint(0, 7)
        moments.append(_local(day, hour, rng.randint(0, 59), rng.randint(0, 59)))
    return sorted(moments)


def _title(rng: random.Random, theme: str) -> str:
    return f"{rng.choice(PLACES)}{theme}"


def _stories(rng: random.Random, actors: Actors) -> list[Story]:
    categories = [code for code, count in CATEGORY_COUNTS.items() for _ in range(count)]
    rng.shuffle(categories)
    # Some enterprises have many problems, most a few.
    enterprise_ids = [e[0] for e in actors.enterprises]
    weights = [1.0 / (rank + 8) ** 0.7 for rank in range(len(enterprise_ids))]
    shuffled = enterprise_ids[:]
    rng.shuffle(shuffled)
    stories = []
    for index, (created_at, category) in enumerate(zip(_creation_times(rng), categories, strict=False)):
        theme = rng.choice(THEMES[category])
        enterprise_id = rng.choices(shuffled, weights)[0]
        words = random.Random(SEED * 10_000 + index)
        description = texts.description(
            words,
            category=category,
            theme=theme,
            park=actors.about[enterprise_id][0],
            month=created_at.astimezone(SHANGHAI).month,
        )
        routed = texts.theme_department(category, theme)
        department = actors.departments[routed] if routed else actors.categories[category][1]
        stories.append(
            Story(
                index,
                created_at,
                enterprise_id,
                category,
                _title(rng, theme),
                description,
                rng.random() < 0.08,
                theme,
                department,
                words,
            )
        )
    return stories


def _mark_duplicates(rng: random.Random, stories: list[Story]) -> dict[int, int]:
    """Turn some problems into duplicates of an earlier one: same enterprise, category and title."""
    duplicates: dict[int, int] = {}
    originals: set[int] = set()
    candidates = [s for s in stories[100:] if s.created_at < CUTOFF - timedelta(days=3)]
    for story in rng.sample(candidates, DUPLICATES * 2):
        earlier = [
            s
            for s in stories[max(0, story.index - 120) : story.index]
            if s.category == story.category and s.index not in duplicates
        ]
        if not earlier or story.index in originals or len(duplicates) == DUPLICATES:
            continue
        original = rng.choice(earlier)
        story.enterprise_id, story.title, story.description, story.theme, story.department = (
            original.enterprise_id,
            original.title,
            original.description,
            original.theme,
            original.department,
        )
        duplicates[story.index] = original.index
        originals.add(original.index)
    assert len(duplicates) == DUPLICATES
    return duplicates


def _hours(rng: random.Random, low: float, high: float) -> timedelta:
    return timedelta(hours=rng.uniform(low, high))


def _response_delay(rng: random.Random) -> timedelta:
    """Most first responses within the 24 h deadline; one in nine late."""
    return _hours(rng, 0.3, 20) if rng.random() < 0.89 else _hours(rng, 25, 70)


@dataclass
class Plan:
    """How a problem's story goes: decided up front so the totals come out exact."""

    fate: str  # rejected | resolved | open
    direct: bool = False  # resolved by the cadre without dispatch
    returned: bool = False
    reopened: bool = False
    extended: bool = False
    stage: str = "in_progress"  # how far an open problem got


def _deadlines(actors: Actors, story: Story) -> sla.Deadlines:
    """The deadlines the workflow gives it, counted on the 2019 calendar (`sla.deadlines`: urgent halves them)."""
    _id, _department, response_days, resolve_days = actors.categories[story.category]
    return sla.deadlines(
        calendar=actors.calendar,
        created_at=story.created_at,
        response_days=response_days,
        resolve_days=resolve_days,
        urgent=story.urgent,
    )


def _sla(actors: Actors, story: Story) -> timedelta:
    """The time the workflow allows to resolve it."""
    return _deadlines(actors, story).due_at - story.created_at


def _plans(rng: random.Random, stories: list[Story], duplicates: dict[int, int], actors: Actors) -> dict[int, Plan]:
    plans: dict[int, Plan] = {index: Plan("rejected") for index in duplicates}
    rest = [s for s in stories if s.index not in plans]
    for story in rng.sample([s for s in rest if s.created_at < CUTOFF - timedelta(days=5)], OUT_OF_SCOPE):
        plans[story.index] = Plan("rejected")
    rest = [s for s in rest if s.index not in plans]
    # Resolution needs time: only problems filed a while before the cut-off can be resolved, the older
    # the likelier (weighted sampling without replacement: key = u ** (1 / weight)).
    able = [s for s in rest if s.created_at + _sla(actors, s) * 0.9 < CUTOFF]
    age = {s.index: (CUTOFF - s.created_at).total_seconds() / 86400 for s in able}
    fast = {
        "peitao": 1.6,
        "wuye": 1.6,
        "shuidianqi": 1.3,
        "yonggong": 0.9,
        "shenpi": 0.9,
        "qita": 0.9,
        "zhengce": 0.8,
        "rongzi": 0.6,
        "yongdi": 0.5,
    }
    keyed = sorted(able, key=lambda s: rng.random() ** (1 / (fast[s.category] * min(age[s.index], 60))), reverse=True)
    for story in keyed[:RESOLVED_COUNT]:
        plans[story.index] = Plan("resolved", direct=rng.random() < 0.22)
    for story in rest:
        if story.index not in plans:
            plans[story.index] = Plan(
                "open", stage=rng.choices(["submitted", "accepted", "dispatched", "in_progress"], [4, 14, 22, 60])[0]
            )
    for plan in plans.values():
        plan.returned = not plan.direct and plan.fate != "rejected" and rng.random() < 0.08
        plan.reopened = plan.fate != "rejected" and rng.random() < (0.05 if plan.fate == "resolved" else 0.04)
        plan.extended = plan.fate == "open" and rng.random() < 0.04
    return plans


def _before_cutoff(moment: datetime) -> bool:
    return moment < CUTOFF - timedelta(minutes=1)


def _draft(**columns) -> SimpleNamespace:
    """A problem row in memory: every column of Problem, None unless given. `workflow.apply` reads
    and sets columns only, so it changes this as it changes a Problem, without the ORM's bookkeeping
    (which made building the data set about twice as slow)."""
    return SimpleNamespace(**{**dict.fromkeys(ROW_COLUMNS), **columns})


class Writer:
    """Plays one problem's plan forward in time, stopping where the cut-off falls.

    Every step goes through `workflow.apply`, the rules the service applies: it refuses a step the
    table does not allow (state, actor, guard) and makes the step's changes to the problem, so the
    seed never restates what an action does.
    """

    def __init__(self, rng: random.Random, actors: Actors) -> None:
        self.rng = rng
        self.actors = actors
        self.plan = Plan("open")
        self.unrated_close_days = current_app.config["UNRATED_CLOSE_DAYS"]
        self.department_names = dict(db.session.execute(select(Department.id, Department.name)).all())
        # The handling steps of DESIGN §11 draw from their own stream, so the rest of the data set
        # (and its fixed figures) is what it was before they existed.
        self.more = random.Random(SEED + 11)

    def _act(self, story: Story, action: str, actor_id: int | None, at: datetime, params: Params = Params()) -> None:
        """One step of the timeline, checked and applied by the workflow."""
        assert at < CUTOFF and (story.clock is None or at >= story.clock)
        actor = self.actors.people[actor_id] if actor_id is not None else None
        # The demo's only active links are the primary ones: no lookup per step.
        parties = workflow.relations(story.problem, actor, linked=actor_id == self.actors.cadre[story.enterprise_id])
        story.events.append(workflow.apply(story.problem, action, actor=actor, now=at, params=params, parties=parties))
        story.clock = at

    def _at(self, story: Story, delay: timedelta) -> datetime:
        """The next step's time; a problem that is to be resolved hurries so it fits before the cut-off."""
        moment = story.clock + delay
        if self.plan.fate == "resolved" and not _before_cutoff(moment + timedelta(hours=2)):
            moment = story.clock + (CUTOFF - story.clock) * self.rng.uniform(0.05, 0.2)
        return moment

    def play(self, story: Story, plan: Plan, original_code: str | None) -> None:
        a, rng = self.actors, self.rng
        self.plan = plan
        cadre = a.cadre[story.enterprise_id]
        ent_user = a.ent_user[story.enterprise_id]
        category_id, _default_department, _response_days, _resolve_days = a.categories[story.category]
        counted = _deadlines(a, story)
        story.problem = _draft(
            enterprise_id=story.enterprise_id,
            category_id=category_id,
            title=story.title,
            description=story.description,
            urgent=story.urgent,
            filed_by_id=ent_user,
            cadre_id=cadre,
            created_at=story.created_at,
            response_due_at=counted.response_due_at,
            due_at=counted.due_at,
            deadline_provisional=counted.provisional,
            supervised=False,
            reopen_count=0,
            **dict.fromkeys(("urge_count", "extension_days", "paused_seconds", "info_reminders"), 0),
        )
        self._act(story, "submit", ent_user, story.created_at)
        respond_at = self._at(story, _response_delay(rng))
        if plan.fate == "open" and plan.stage == "submitted" or not _before_cutoff(respond_at):
            return self._finish(story)
        if plan.fate == "rejected":
            reason = f"与 {original_code} 重复" if original_code else rng.choice(REJECT_REASONS)
            # duplicate_of_id is linked once the rows have ids (`_insert_problems`).
            self._act(story, "reject", cadre, respond_at, Params(note=reason))
            return self._finish(story)
        self._act(story, "accept", cadre, respond_at)
        if rng.random() < 0.3:
            self._comment(story, cadre, self._at(story, _hours(rng, 0.5, 6)))
        if plan.fate == "open" and plan.stage == "accepted":
            return self._stall(story, plan)
        if plan.direct:
            return self._resolve_directly(story, plan, cadre)
        return self._dispatch_path(story, plan, cadre, story.department)

    def _comment(self, story: Story, actor: int, at: datetime) -> None:
        if _before_cutoff(at):
            params = Params(note=self.rng.choice(COMMENTS), internal=self.rng.random() < 0.5)
            self._act(story, "comment", actor, at, params)

    def _dispatch(self, story: Story, cadre: int, department: int, at: datetime) -> bool:
        if not _before_cutoff(at):
            return False
        self._act(story, "dispatch", cadre, at, Params(department_id=department))
        return True

    def _dispatch_path(self, story: Story, plan: Plan, cadre: int, department: int) -> None:
        rng, a = self.rng, self.actors
        if plan.returned:
            wrong = rng.choice([d for d in a.dept_user if d != department])
            if not self._dispatch(story, cadre, wrong, self._at(story, _hours(rng, 0.5, 12))):
                return self._finish(story)
            back_at = self._at(story, _hours(rng, 2, 30))
            if not _before_cutoff(back_at):
                return self._finish(story)
            returned = Params(note=rng.choice(RETURN_NOTES), reason_code="wrong_department")
            self._act(story, "return", a.dept_user[wrong], back_at, returned)
        if not self._dispatch(story, cadre, department, self._at(story, _hours(rng, 0.5, 16))):
            return self._finish(story)
        if plan.fate == "open" and plan.stage == "dispatched":
            return self._stall(story, plan)
        staff = a.dept_user[department]
        claim_at = self._at(story, _hours(rng, 0.5, 26))
        if not _before_cutoff(claim_at):
            return self._finish(story)
        self._act(story, "claim", staff, claim_at)
        if rng.random() < 0.25:
            self._comment(story, staff, self._at(story, _hours(rng, 1, 48)))
        self._work(story, plan, staff, direct=False)

    def _resolve_directly(self, story: Story, plan: Plan, cadre: int) -> None:
        self._work(story, plan, cadre, direct=True)

    def _resolution_time(self, story: Story) -> datetime:
        """Mostly within the SLA, measured from filing; about one in six late."""
        sla = _sla(self.actors, story)
        share = self.rng.uniform(0.25, 0.95) if self.rng.random() < 0.84 else self.rng.uniform(1.05, 1.9)
        natural = max(story.created_at + sla * share, story.clock + _hours(self.rng, 0.5, 3))
        return self._at(story, natural - story.clock)

    def _work(self, story: Story, plan: Plan, handler: int, *, direct: bool) -> None:
        """Resolve (possibly twice, around a low rating), or stall while still open."""
        rng = self.rng
        resolve_at = self._resolution_time(story)
        rate_at = resolve_at + _hours(rng, 4, 72)
        again_at = rate_at + _hours(rng, 24, 96)
        # A reopen cycle is played only when it fits before the cut-off, so the plan's fate holds.
        reopen = plan.reopened and _before_cutoff(again_at if plan.fate == "resolved" else rate_at)
        if plan.fate == "open" and not reopen or not _before_cutoff(resolve_at):
            return self._stall(story, plan)
        self._resolve(story, handler, resolve_at, direct)
        if reopen:
            self._rate(story, rate_at, rng.choice([1, 2, 2]))  # rate, then reopen
            if plan.fate == "open":
                return self._stall(story, plan)
            self._resolve(story, handler, again_at, direct)
        self._after_resolution(story)

    def _resolve(self, story: Story, handler: int, at: datetime, direct: bool) -> None:
        contact = self.actors.about[story.enterprise_id][1]
        note = texts.resolution(story.words, category=story.category, theme=story.theme, contact=contact, direct=direct)
        self._act(story, "resolve", handler, at, Params(note=note))

    def _rate(self, story: Story, at: datetime, score: int) -> None:
        """A rating row, then what the service makes of it: `rate`, then `close` or `reopen`."""
        problem = story.problem
        who = "联企干部" if problem.department_id is None else self.department_names[problem.department_id]
        days = (at - story.created_at).days
        comment = texts.rating_comment(story.words, score=score, days=days, who=who)
        story.ratings.append(
            {
                "enterprise_id": story.enterprise_id,
                "rated_by_id": problem.filed_by_id,
                "resolution_no": problem.reopen_count,
                "score": score,
                "comment": comment,
                "created_at": at,
            }
        )
        for action, params in workflow.rating_steps(score, comment):
            self._act(story, action, problem.filed_by_id, at, params)

    def _after_resolution(self, story: Story) -> None:
        """Rated (mostly well) within a few days, or closed by the system after 7 days unrated."""
        rng = self.rng
        resolved_at = story.clock
        if rng.random() < 0.78:
            rate_at = resolved_at + _hours(rng, 2, 24 * 5)
            if _before_cutoff(rate_at):
                self._rate(story, rate_at, rng.choices([5, 4, 3], [48, 36, 16])[0])
                return self._finish(story)
        close_at = resolved_at + timedelta(days=self.unrated_close_days, minutes=rng.randint(5, 60))
        if _before_cutoff(close_at):  # what the close_unrated job does
            self._act(story, "close", None, close_at, Params(note=UNRATED_NOTE, closed_reason="unrated"))
        self._finish(story)

    def _prepared(self, story: Story, action: str, actor_id: int, at: datetime, **body) -> Params:
        """The action's own `prepare` (the checks and the calendar arithmetic of its endpoint)."""
        return workflow.ACTIONS[action].prepare(self.actors.people[actor_id], story.problem, at, **body)

    def _handling_steps(self, story: Story) -> None:
        """Some open problems wait for information, some handlers ask for more time, some enterprises urge."""
        more, a, problem = self.more, self.actors, story.problem
        asker = problem.handler_id or problem.cadre_id
        if problem.status in ("accepted", "dispatched", "in_progress") and more.random() < 0.15:
            asked_at = story.clock + _hours(more, 1, 30)
            if not _before_cutoff(asked_at):
                return
            self._act(story, "request_info", asker, asked_at, Params(note=more.choice(INFO_QUESTIONS)))
            answered_at = asked_at + _hours(more, 20, 120)
            if more.random() < 0.75 and _before_cutoff(answered_at):
                enterprise = problem.filed_by_id
                answer = self._prepared(story, "supply_info", enterprise, answered_at, answer=more.choice(INFO_ANSWERS))
                self._act(story, "supply_info", enterprise, answered_at, answer)
        if problem.handler_id is not None and problem.status in ("accepted", "in_progress") and more.random() < 0.1:
            asked_at = story.clock + _hours(more, 2, 48)
            body = {"days": more.randint(3, 10), "reason": more.choice(EXTEND_NOTES)}
            request = self._prepared(story, "request_extension", problem.handler_id, asked_at, **body)
            answered_at = asked_at + _hours(more, 2, 30)
            if not _before_cutoff(answered_at):
                return
            self._act(story, "request_extension", problem.handler_id, asked_at, request)
            if more.random() < 0.7:
                approval = self._prepared(story, "approve_extension", a.manager, answered_at)
                self._act(story, "approve_extension", a.manager, answered_at, approval)
            else:
                self._act(story, "deny_extension", a.manager, answered_at, Params(note="请按原时限办结"))
        if problem.status != "awaiting_info" and more.random() < 0.35:
            moment = max(story.clock, problem.due_at)
            for _ in range(more.randint(1, 3)):
                moment += timedelta(days=1) + _hours(more, 0, 20)
                if _before_cutoff(moment):
                    self._act(story, "urge", problem.filed_by_id, moment)

    def _stall(self, story: Story, plan: Plan) -> None:
        """An open problem: past its deadline the manager supervises it; a few were extended first."""
        rng, a = self.rng, self.actors
        self._handling_steps(story)
        if plan.extended:
            extend_at = story.problem.due_at - _hours(rng, 2, 20)
            if _before_cutoff(extend_at) and extend_at > story.clock:
                extended = Params(note=rng.choice(EXTEND_NOTES), due_at=story.problem.due_at + _sla(a, story) / 2)
                self._act(story, "extend", a.manager, extend_at, extended)
        supervise_at = max(story.clock, story.problem.due_at) + _hours(rng, 4, 72)
        if rng.random() < 0.6 and _before_cutoff(supervise_at):
            self._act(story, "supervise", a.manager, supervise_at, Params(note=rng.choice(SUPERVISE_NOTES)))
        self._finish(story)

    def _finish(self, story: Story) -> None:
        story.row = {name: getattr(story.problem, name) for name in ROW_COLUMNS}


def _codes(stories: list[Story]) -> dict[int, str]:
    """WT-YYYYMMDD-NNNN: the local date of filing and the problem's number that day."""
    per_day: dict[date, int] = {}
    codes = {}
    for story in stories:
        day = story.created_at.astimezone(SHANGHAI).date()
        per_day[day] = per_day.get(day, 0) + 1
        codes[story.index] = format_code(day, per_day[day])
    return codes


def _insert_problems(stories: list[Story], codes: dict[int, str], duplicates: dict[int, int]) -> int:
    existing = set(db.session.scalars(select(Problem.code).where(Problem.code.in_(list(codes.values())))))
    new = [s for s in stories if codes[s.index] not in existing]
    if not new:
        return 0
    db.session.execute(insert(Problem), [{**s.row, "code": codes[s.index]} for s in new])
    ids = dict(db.session.execute(select(Problem.code, Problem.id).where(Problem.code.in_(list(codes.values())))).all())
    events = [{**e, "problem_id": ids[codes[s.index]]} for s in new for e in s.events]
    db.session.execute(insert(ProblemEvent), events)
    ratings = [{**r, "problem_id": ids[codes[s.index]]} for s in new for r in s.ratings]
    if ratings:
        db.session.execute(insert(Rating), ratings)
    inserted = {codes[s.index] for s in new}
    links = [
        {"id": ids[codes[i]], "duplicate_of_id": ids[codes[o]]} for i, o in duplicates.items() if codes[i] in inserted
    ]
    if links:
        db.session.execute(update(Problem), links)
    return len(new)


def _offset(lat: float, lng: float, metres: float, bearing: float) -> tuple[float, float]:
    dlat = metres * math.cos(bearing) / 111320
    dlng = metres * math.sin(bearing) / (111320 * math.cos(math.radians(lat)))
    return round(lat + dlat, 6), round(lng + dlng, 6)


def _visits(rng: random.Random, actors: Actors) -> list[dict]:
    """Each cadre visits its enterprise several times, on different weekdays, mostly on site."""
    config = current_app.config
    rules = geo.FlagRules(
        geofence_radius_m=config["GEOFENCE_RADIUS_M"], poor_accuracy_m=config["VISIT_POOR_ACCURACY_M"]
    )
    workdays = [
        d for d in (FIRST_DAY + timedelta(days=n) for n in range((LAST_DAY - FIRST_DAY).days + 1)) if d.weekday() < 5
    ]
    rows = []
    for number, (enterprise_id, lat, lng) in enumerate(actors.enterprises, start=1):
        cadre = actors.cadre[enterprise_id]
        for visit_no, day in enumerate(sorted(rng.sample(workdays, rng.randint(*VISITS_PER_LINK))), start=1):
            roll = rng.random()
            metres = (
                rng.uniform(5, 150) if roll < 0.8 else rng.uniform(150, 450) if roll < 0.965 else rng.uniform(650, 3000)
            )
            at_lat, at_lng = _offset(lat, lng, metres, rng.uniform(0, 2 * math.pi))
            accuracy = round(rng.uniform(150, 400) if rng.random() < 0.025 else rng.uniform(4, 40), 1)
            mock = rng.random() < 0.004
            distance = round(geo.distance_m(lat, lng, at_lat, at_lng), 1)
            recorded_at = _local(day, rng.randint(9, 16), rng.randint(0, 59), rng.randint(0, 59))
            fix = geo.Fix(at_lat, at_lng, recorded_at, accuracy)
            flags = geo.flags(
                distance=distance, accuracy_m=accuracy, mock_location=mock, current=fix, previous=None, rules=rules
            )
            minutes = rng.randint(20, 150)
            out_lat, out_lng = _offset(at_lat, at_lng, rng.uniform(0, 60), rng.uniform(0, 2 * math.pi))
            rows.append(
                {
                    "client_id": f"demo-{number:03d}-{visit_no:02d}",
                    "cadre_id": cadre,
                    "enterprise_id": enterprise_id,
                    "recorded_at": recorded_at,
                    "received_at": recorded_at + timedelta(seconds=rng.randint(1, 20)),
                    "lat": at_lat,
                    "lng": at_lng,
                    "accuracy_m": accuracy,
                    "distance_m": distance,
                    "within_geofence": geo.within_geofence(distance, rules.geofence_radius_m),
                    "flags": flags,
                    "flagged": bool(flags),
                    "mock_location": mock,
                    "note": None,
                    "checked_out_at": recorded_at + timedelta(minutes=minutes),
                    "check_out_lat": out_lat,
                    "check_out_lng": out_lng,
                    "summary": rng.choice(VISIT_SUMMARIES),
                    "duration_s": minutes * 60,
                    "auto_closed": False,
                    "updated_at": recorded_at + timedelta(minutes=minutes),
                }
            )
    return rows


def _insert_visits(rows: list[dict]) -> int:
    existing = set(
        db.session.execute(select(Visit.cadre_id, Visit.client_id).where(Visit.client_id.like("demo-%"))).tuples()
    )
    new = [row for row in rows if (row["cadre_id"], row["client_id"]) not in existing]
    if new:
        db.session.execute(insert(Visit), new)
    return len(new)


def build(actors: Actors) -> tuple[list[Story], dict[int, str], dict[int, int], list[dict]]:
    """The whole data set in memory (a few thousand rows), the same on every call."""
    rng = random.Random(SEED)
    stories = _stories(rng, actors)
    duplicates = _mark_duplicates(rng, stories)
    plans = _plans(rng, stories, duplicates, actors)
    codes = _codes(stories)
    writer = Writer(rng, actors)
    for story in stories:
        original = duplicates.get(story.index)
        writer.play(story, plans[story.index], codes[original] if original is not None else None)
    return stories, codes, duplicates, _visits(rng, actors)


def load() -> dict[str, int]:
    """Insert the demo problems (with events and ratings) and visits that are not there yet."""
    actors = _actors()
    stories, codes, duplicates, visits = build(actors)
    before_events = db.session.scalar(select(func.count()).select_from(ProblemEvent))
    before_ratings = db.session.scalar(select(func.count()).select_from(Rating))
    problems = _insert_problems(stories, codes, duplicates)
    counts = {
        "problems": problems,
        "problem_events": db.session.scalar(select(func.count()).select_from(ProblemEvent)) - before_events,
        "ratings": db.session.scalar(select(func.count()).select_from(Rating)) - before_ratings,
        "visits": _insert_visits(visits),
    }
    _advance_code_counters(codes.values())
    db.session.commit()
    return counts


def _advance_code_counters(codes) -> None:
    """Move each seeded day's code counter past the seeded codes, so a problem filed later on one
    of those days (e.g. with an explicit `now` in tests, or an import) cannot reuse a code."""
    highest: dict[date, int] = {}
    for code in codes:
        _prefix, day, number = code.split("-")
        key = date(int(day[:4]), int(day[4:6]), int(day[6:]))
        highest[key] = max(highest.get(key, 0), int(number))
    existing = {
        row.day: row
        for row in db.session.scalars(select(ProblemCodeCounter).where(ProblemCodeCounter.day.in_(highest)))
    }
    for day, number in highest.items():
        if day in existing:
            existing[day].last_number = max(existing[day].last_number, number)
        else:
            db.session.add(ProblemCodeCounter(day=day, last_number=number))
