"""Reference data of the zone: parks, industry chains, departments and problem categories.

The facts come from the zone's own documents (`/work/shared/reference/`, see README "The demo
data"): the city's industrial plan 2017-2021 names the high-tech zone's parts (田心高科园, 河西示范园,
董家塅高科园); 石峰区's park plan 2021-2025 puts 轨道交通城 at 田心 and names the roads there; the 2019
article names 天易科技城, 新马工业园, 动力谷自主创新园 and 汽博园.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from service_app.extensions import db
from service_app.org.models import Category, Chain, Department, Park


@dataclass(frozen=True)
class District:
    name: str
    division: str  # GB/T 2260 code: the registration-authority digits 3-8 of a credit code
    # A rough box around the district's built-up area (south, west, north, east), for the map.
    box: tuple[float, float, float, float]


DISTRICTS = {
    "tianyuan": District("天元区", "430211", (27.74, 112.98, 27.92, 113.115)),
    "shifeng": District("石峰区", "430204", (27.86, 113.08, 27.97, 113.22)),
    "lusong": District("芦淞区", "430203", (27.73, 113.12, 27.83, 113.25)),
}
# The high-tech zone's three parts, per the city's industrial plan 2017-2021.
ZONE_PARTS = ("河西示范园", "田心高科园", "董家塅高科园")
# Everything the demo places on the map lies in here (the three districts' boxes together).
ZONE_BOX = (27.73, 112.98, 27.97, 113.25)


@dataclass(frozen=True)
class ParkFacts:
    code: str
    name: str
    name_en: str
    district: str  # key of DISTRICTS
    part: str  # one of ZONE_PARTS
    centre: tuple[float, float]  # (lat, lng): where the demo places the park's enterprises
    roads: tuple[str, ...]  # roads the demo's addresses use
    chains: tuple[str, ...]  # the chains the park is known for (most of its demo enterprises)


# Roads of 天元区 and of 芦淞区's 董家塅 are taken from the city map (the documents name none);
# those of 田心 are the ones 石峰区's plan names as existing (the ends of the roads it builds).
PARKS = [
    ParkFacts(
        "tianyi", "天易科技城", "Tianyi Science and Technology City", "tianyuan", "河西示范园",
        (27.7760, 113.0720), ("株洲大道", "长江南路", "黄河南路"), ("new_materials", "auto_nev", "electronics"),
    ),
    ParkFacts(
        "xinma", "新马工业园", "Xinma Industrial Park", "tianyuan", "河西示范园",
        (27.8790, 113.0460), ("珠江北路", "黄河北路", "长江北路"), ("new_materials", "new_energy", "auto_nev"),
    ),
    ParkFacts(
        "dongligu", "动力谷自主创新园", "Power Valley Innovation Park", "tianyuan", "河西示范园",
        (27.8410, 113.0790), ("珠江南路", "泰山路", "黄河南路"), ("electronics", "modern_services", "new_energy"),
    ),
    ParkFacts(
        "guidao", "轨道交通城", "Rail Transit City", "shifeng", "田心高科园",
        (27.8830, 113.1620), ("田心路", "中车大道", "时代大道", "重桥路", "响田路", "北站路", "联诚路"),
        ("rail_aviation", "electronics", "new_materials"),
    ),
    ParkFacts(
        "qibo", "汽车博览园", "Automobile Expo Park", "tianyuan", "河西示范园",
        (27.8220, 113.0380), ("株洲大道", "泰山路", "长江南路"), ("auto_nev", "modern_services"),
    ),
    ParkFacts(
        "liyu", "栗雨工业园", "Liyu Industrial Park", "tianyuan", "河西示范园",
        (27.8560, 113.0660), ("黄河南路", "长江北路", "珠江南路"), ("auto_nev", "electronics", "new_energy"),
    ),
    ParkFacts(
        "dongjiaduan", "董家塅高科园", "Dongjiaduan High-Tech Park", "lusong", "董家塅高科园",
        (27.7800, 113.1560), ("航空路",), ("rail_aviation", "new_materials"),
    ),
]
PARK_FACTS = {park.code: park for park in PARKS}

CHAINS = [
    ("rail_aviation", "轨道交通及通用航空", "Rail transit and general aviation"),
    ("auto_nev", "汽车及新能源汽车", "Automobiles and new-energy vehicles"),
    ("electronics", "电子信息", "Electronic information"),
    ("new_materials", "新材料", "New materials"),
    ("new_energy", "新能源", "New energy"),
    ("modern_services", "现代服务业", "Modern services"),
]

# Numbered in this order (dept01, dept02, …): new departments go at the end, never in between (DESIGN §15).
DEPARTMENTS = [
    ("jfj", "经济发展局", "Economic Development Bureau", "0731-28680001"),
    ("czj", "财政局", "Finance Bureau", "0731-28680002"),
    ("zrzyj", "自然资源和规划分局", "Natural Resources and Planning Branch", "0731-28680003"),
    ("zjj", "住房和城乡建设局", "Housing and Urban-Rural Development Bureau", "0731-28680004"),
    ("rsj", "人力资源和社会保障局", "Human Resources and Social Security Bureau", "0731-28680005"),
    ("spj", "行政审批服务局", "Administrative Approval Service Bureau", "0731-28680006"),
    ("kgj", "科技和工业信息化局", "Science, Technology and Industry Bureau", "0731-28680007"),
    ("scjgj", "市场监督管理局", "Market Regulation Bureau", "0731-28680008"),
    ("yqfw", "园区服务中心", "Park Service Centre", "0731-28680009"),
    ("wyb", "物业管理办公室", "Property Management Office", "0731-28680010"),
    ("cgj", "城市管理和综合执法局", "Urban Management Bureau", "0731-28680011"),
    ("jrb", "金融工作办公室", "Financial Affairs Office", "0731-28680012"),
    # The utilities are undertaking units, not bureaus, but they handle power, water and gas.
    ("gdgs", "供电公司", "Power Supply Company", "0731-28680013"),
    ("swgs", "水务公司", "Water Company", "0731-28680014"),
    ("rqgs", "燃气公司", "Gas Company", "0731-28680015"),
    ("jyj", "教育局", "Education Bureau", "0731-28680016"),
]

# code, name, English name, default department code, working days to resolve (to respond: one)
CATEGORIES = [
    ("peitao", "配套服务", "Park supporting services", "yqfw", 5),
    ("wuye", "物业管理", "Property management", "wyb", 3),
    ("yongdi", "用地", "Land use", "zrzyj", 15),
    ("rongzi", "融资", "Financing", "jrb", 10),
    ("yonggong", "用工", "Labour and recruitment", "rsj", 7),
    ("shenpi", "审批", "Administrative approval", "spj", 5),
    ("shuidianqi", "水电气", "Water, power and gas", "gdgs", 3),
    ("zhengce", "政策", "Policy", "jfj", 7),
    ("qita", "其他", "Other", "jfj", 7),
]
# The departments that handle each category's problems: the default first, then those a cadre may
# dispatch some of them to (water and gas problems to their utility, school places to the education
# bureau, a policy's money to the finance bureau, …).
HANDLERS = {
    "peitao": ("yqfw", "jyj", "zjj", "cgj"),
    "wuye": ("wyb", "zjj"),
    "yongdi": ("zrzyj",),
    "rongzi": ("jrb", "czj"),
    "yonggong": ("rsj", "jyj"),
    "shenpi": ("spj", "zrzyj", "zjj", "scjgj"),
    "shuidianqi": ("gdgs", "swgs", "rqgs"),
    "zhengce": ("jfj", "kgj", "czj", "rsj"),
    "qita": ("jfj", "cgj", "kgj"),
}
# Default departments an earlier version of these seeds gave: a database that still has them is
# moved to today's default (and one an administrator changed is left alone).
REROUTED = {"shuidianqi": "cgj"}


def _missing(model, key: str, codes: list[str]) -> set[str]:
    existing = set(db.session.scalars(select(getattr(model, key)).where(getattr(model, key).in_(codes))))
    return set(codes) - existing


def load() -> dict[str, int]:
    counts = {"parks": 0, "chains": 0, "departments": 0, "categories": 0}
    missing = _missing(Park, "code", [p.code for p in PARKS])
    for park in PARKS:
        if park.code in missing:
            db.session.add(Park(code=park.code, name=park.name, name_en=park.name_en, **_park_location(park)))
            counts["parks"] += 1
    # Parks an older seed made, before parks knew where they lie (what an administrator set stays).
    for row in db.session.scalars(select(Park).where(Park.code.in_(list(PARK_FACTS)), Park.district.is_(None))):
        for key, value in _park_location(PARK_FACTS[row.code]).items():
            setattr(row, key, value)
        counts["parks"] += 1
    missing = _missing(Chain, "code", [c[0] for c in CHAINS])
    for code, name, name_en in CHAINS:
        if code in missing:
            db.session.add(Chain(code=code, name=name, name_en=name_en))
            counts["chains"] += 1
    missing = _missing(Department, "code", [d[0] for d in DEPARTMENTS])
    for code, name, name_en, phone in DEPARTMENTS:
        if code in missing:
            db.session.add(Department(code=code, name=name, name_en=name_en, phone=phone))
            counts["departments"] += 1
    db.session.flush()
    departments = dict(db.session.execute(select(Department.code, Department.id)).all())
    missing = _missing(Category, "code", [c[0] for c in CATEGORIES])
    for order, (code, name, name_en, department, resolve_days) in enumerate(CATEGORIES):
        if code in missing:
            db.session.add(
                Category(
                    code=code,
                    name=name,
                    name_en=name_en,
                    default_department_id=departments[department],
                    response_days=1,
                    resolve_days=resolve_days,
                    sort_order=order,
                )
            )
            counts["categories"] += 1
    defaults = {code: department for code, _n, _e, department, _d in CATEGORIES}
    for category in db.session.scalars(select(Category).where(Category.code.in_(list(REROUTED)))):
        if category.default_department_id == departments[REROUTED[category.code]]:
            category.default_department_id = departments[defaults[category.code]]
            counts["categories"] += 1
    db.session.commit()
    return counts


def _park_location(park: ParkFacts) -> dict[str, object]:
    lat, lng = park.centre
    return {"district": DISTRICTS[park.district].name, "zone_part": park.part, "lat": lat, "lng": lng}


def park_centres() -> dict[str, tuple[float, float]]:
    return {park.code: park.centre for park in PARKS}


def inside(box: tuple[float, float, float, float], lat: float, lng: float) -> bool:
    south, west, north, east = box
    return south <= lat <= north and west <= lng <= east
