"""The demo seed: accounts and pairings of DESIGN §7, loaded idempotently."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import date

from sqlalchemy import func, select

import seeds
from seeds import reference
from service_app.auth.models import User
from service_app.enterprises.models import FULL_YEAR, EnterpriseIndicator
from service_app.extensions import db
from service_app.org import credit_code
from service_app.org.models import CadreLink, Category, Chain, Department, Enterprise, Park
from service_app.problems.models import RESOLVED_STATUSES, Problem, ProblemEvent, Rating
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
    assert {u.username for u in dept_users} >= {"dept01", "dept01-1", "dept01-2", "dept12-2", "dept16"}
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


# A person's name: a Chinese surname and one or two characters (no numbers, no job titles).
PERSON = re.compile(r"^[\u4e00-\u9fa5]{2,3}$")
PLACEHOLDERS = ("联络员", "办事员", "企业", "测试", "用户")


def _period_start(year: int, quarter: int) -> date:
    return date(year, 1 if quarter == FULL_YEAR else 3 * quarter - 2, 1)


def test_demo_data_is_true_to_the_zone(client, app_ctx):
    """The invariants of the demo data that the zone's documents give (README "The demo data")."""
    seeds.load("demo")
    parks = {park.id: park for park in db.session.scalars(select(Park))}
    chains = {chain.id: chain.code for chain in db.session.scalars(select(Chain))}
    enterprises = db.session.scalars(select(Enterprise)).all()
    assert reference.PARK_FACTS["guidao"].district == "shifeng" and reference.PARK_FACTS["guidao"].part == "田心高科园"
    assert {park.part for park in reference.PARKS} == set(reference.ZONE_PARTS)
    # Parks say where they lie, and the API shows it.
    for park in parks.values():
        facts = reference.PARK_FACTS[park.code]
        assert (park.district, park.zone_part) == (reference.DISTRICTS[facts.district].name, facts.part)
        assert reference.inside(reference.DISTRICTS[facts.district].box, park.lat, park.lng), park.name
    headers = {"Authorization": f"Bearer {login(client, 'manager', 'Demo@2019')['access_token']}"}
    listed = {item["code"]: item for item in client.get("/api/v1/parks", headers=headers).json}
    assert {k: listed["guidao"][k] for k in ("name", "district", "zone_part")} == {
        "name": "轨道交通城", "district": "石峰区", "zone_part": "田心高科园"
    }

    # District ↔ credit code ↔ park ↔ address ↔ coordinates; founded before the first figures.
    period = EnterpriseIndicator.year * 10 + EnterpriseIndicator.quarter  # a full year (0) sorts first
    first_period = dict(
        db.session.execute(
            select(EnterpriseIndicator.enterprise_id, func.min(period)).group_by(EnterpriseIndicator.enterprise_id)
        ).all()
    )
    for enterprise in enterprises:
        facts = reference.PARK_FACTS[parks[enterprise.park_id].code]
        district = reference.DISTRICTS[facts.district]
        assert credit_code.is_valid(enterprise.credit_code) and enterprise.credit_code[2:8] == district.division
        prefix = f"湖南省株洲市{district.name}"
        assert enterprise.address.startswith(prefix), enterprise.address
        assert re.fullmatch(r"\d{1,3}号", enterprise.address[len(prefix):].removeprefix(
            next(road for road in facts.roads if enterprise.address[len(prefix):].startswith(road))
        )), enterprise.address
        assert reference.inside(district.box, enterprise.lat, enterprise.lng), (enterprise.name, facts.district)
        assert reference.inside(reference.ZONE_BOX, enterprise.lat, enterprise.lng)
        year, quarter = divmod(first_period[enterprise.id], 10)
        assert enterprise.established_on < _period_start(year, quarter), enterprise.name
        assert PERSON.match(enterprise.contact_name) and PERSON.match(enterprise.legal_representative)
    # The parks' own chains: most enterprises of 轨道交通城 are of rail transit.
    guidao = [e for e in enterprises if parks[e.park_id].code == "guidao"]
    assert sum(chains[e.chain_id] == "rail_aviation" for e in guidao) > len(guidao) / 2

    # Every 2019 quarter grows over the same quarter of 2018, and the profile says so.
    quarters = set(
        db.session.execute(
            select(EnterpriseIndicator.enterprise_id, EnterpriseIndicator.year, EnterpriseIndicator.quarter).where(
                EnterpriseIndicator.quarter != FULL_YEAR
            )
        ).tuples()
    )
    assert all((e.id, y, q) in quarters for e in enterprises for y in (2018, 2019) for q in (1, 2))
    token = login(client, "ent007", "Demo@2019")["access_token"]
    own = db.session.scalar(select(User.enterprise_id).where(User.username == "ent007"))
    latest = client.get(f"/api/v1/enterprises/{own}", headers={"Authorization": f"Bearer {token}"}).get_json()[
        "latest_indicators"
    ]
    assert (latest["year"], latest["quarter"]) == (2019, 2) and latest["yoy"]["revenue"] is not None

    # Every category routed to an existing department that handles it; seeded dispatches follow the routing.
    departments = {d.id: d.code for d in db.session.scalars(select(Department))}
    categories = {c.id: c for c in db.session.scalars(select(Category))}
    assert {d[0] for d in reference.DEPARTMENTS} == set(departments.values())
    for category in categories.values():
        assert departments[category.default_department_id] == reference.HANDLERS[category.code][0]
    assert departments[next(c for c in categories.values() if c.code == "shuidianqi").default_department_id] == "gdgs"
    # Where the seeded problems went: a department that claimed one is where the cadre meant it to go
    # (one dispatched to the wrong department is returned, never claimed there).
    claimed = select(ProblemEvent.problem_id).where(ProblemEvent.action == "claim")
    sent = defaultdict(set)
    handled = select(Problem).where(Problem.id.in_(claimed), Problem.department_id.is_not(None))
    for problem in db.session.scalars(handled):
        category, department = categories[problem.category_id].code, departments[problem.department_id]
        assert department in reference.HANDLERS[category], (problem.title, category, department)
        for theme in ("员工子女入学", "自来水水压偏低", "工业用气压力不足", "生产用电频繁停电"):
            if problem.title.endswith(theme):
                sent[theme].add(department)
    assert sent == {
        "员工子女入学": {"jyj"}, "自来水水压偏低": {"swgs"}, "工业用气压力不足": {"rqgs"}, "生产用电频繁停电": {"gdgs"}
    }

    # The article's figures stay exact.
    by_category = Counter(categories[p.category_id].code for p in db.session.scalars(select(Problem)))
    resolved = db.session.scalar(select(func.count()).where(Problem.status.in_(RESOLVED_STATUSES)))
    assert (by_category.total(), resolved, by_category["peitao"], by_category["wuye"]) == (1301, 749, 247, 221)

    # People have names, and the texts vary.
    for user in db.session.scalars(select(User).where(User.role.in_(["cadre", "department", "enterprise"]))):
        assert PERSON.match(user.name) and not any(word in user.name for word in PLACEHOLDERS), user.name
    assert {u.username for u in db.session.scalars(select(User).where(User.role == "department"))} >= {
        "dept13", "dept16-2"
    }
    descriptions = [p.description for p in db.session.scalars(select(Problem).where(Problem.duplicate_of_id.is_(None)))]
    assert len(set(descriptions)) > 0.95 * len(descriptions)
    resolutions = db.session.scalars(select(ProblemEvent.note).where(ProblemEvent.action == "resolve")).all()
    assert len(set(resolutions)) > 0.5 * len(resolutions)
    comments = [c for c in db.session.scalars(select(Rating.comment)) if c]
    assert len(set(comments)) > 20


def test_reference_seed_moves_an_old_default_department_once(app_ctx):
    """A database seeded when 水电气 went to 城市管理和综合执法局 is moved to the power utility;
    a default an administrator chose is left alone; loading again changes nothing."""
    seeds.load("reference")
    ids = dict(db.session.execute(select(Department.code, Department.id)).all())
    power = db.session.scalar(select(Category).where(Category.code == "shuidianqi"))
    power.default_department_id = ids["cgj"]
    db.session.flush()
    assert reference.load()["categories"] == 1 and power.default_department_id == ids["gdgs"]
    assert reference.load() == {"parks": 0, "chains": 0, "departments": 0, "categories": 0}
    power.default_department_id = ids["jfj"]
    db.session.flush()
    assert reference.load()["categories"] == 0 and power.default_department_id == ids["jfj"]


def test_reference_seed_places_parks_an_older_seed_made(app_ctx):
    """Parks made before parks knew their district get it once; a district an administrator set stays."""
    seeds.load("reference")
    parks = {park.code: park for park in db.session.scalars(select(Park))}
    for park in parks.values():
        park.district = park.zone_part = park.lat = park.lng = None
    parks["liyu"].district = "天元区（栗雨）"
    db.session.flush()
    assert reference.load()["parks"] == len(parks) - 1
    assert (parks["guidao"].district, parks["guidao"].lat) == ("石峰区", reference.PARK_FACTS["guidao"].centre[0])
    assert parks["liyu"].district == "天元区（栗雨）" and parks["liyu"].lat is None
    assert reference.load()["parks"] == 0


def test_an_outdated_demo_database_is_refused_with_advice(app, app_ctx):
    """A database holding an earlier version's demo (other credit codes) is not loaded on top of."""
    from seeds import demo

    seeds.load("reference")
    demo.load()  # the accounts and enterprises (the activity is not needed to tell)
    enterprise = db.session.scalar(select(Enterprise).join(User, User.enterprise_id == Enterprise.id).where(
        User.username == "ent004"
    ))
    enterprise.credit_code = credit_code.make("91430211MA4L00004")  # where an earlier version put it
    db.session.flush()
    result = app.test_cli_runner().invoke(args=["seed", "--data", "demo"])
    assert result.exit_code == 1 and "instance/service_app.db" in result.output, result.output
