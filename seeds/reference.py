"""Reference data of the zone: parks, industry chains, departments and problem categories."""

from __future__ import annotations

from sqlalchemy import select

from service_app.extensions import db
from service_app.org.models import Category, Chain, Department, Park

# code, name, English name, centre (lat, lng) — the centre places demo enterprises on the map.
PARKS = [
    ("tianyi", "天易科技城", "Tianyi Science and Technology City", (27.7990, 113.0690)),
    ("xinma", "新马工业园", "Xinma Industrial Park", (27.8790, 113.0460)),
    ("dongligu", "动力谷自主创新园", "Power Valley Innovation Park", (27.8410, 113.0790)),
    ("guidao", "轨道交通城", "Rail Transit City", (27.8170, 113.1510)),
    ("qibo", "汽车博览园", "Automobile Expo Park", (27.8220, 113.0380)),
    ("liyu", "栗雨工业园", "Liyu Industrial Park", (27.8560, 113.0660)),
]

CHAINS = [
    ("rail_aviation", "轨道交通及通用航空", "Rail transit and general aviation"),
    ("auto_nev", "汽车及新能源汽车", "Automobiles and new-energy vehicles"),
    ("electronics", "电子信息", "Electronic information"),
    ("new_materials", "新材料", "New materials"),
    ("new_energy", "新能源", "New energy"),
    ("modern_services", "现代服务业", "Modern services"),
]

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
]

# code, name, English name, default department code, working days to resolve (to respond: one)
CATEGORIES = [
    ("peitao", "配套服务", "Park supporting services", "yqfw", 5),
    ("wuye", "物业管理", "Property management", "wyb", 3),
    ("yongdi", "用地", "Land use", "zrzyj", 15),
    ("rongzi", "融资", "Financing", "jrb", 10),
    ("yonggong", "用工", "Labour and recruitment", "rsj", 7),
    ("shenpi", "审批", "Administrative approval", "spj", 5),
    ("shuidianqi", "水电气", "Water, power and gas", "cgj", 3),
    ("zhengce", "政策", "Policy", "jfj", 7),
    ("qita", "其他", "Other", "jfj", 7),
]


def _missing(model, key: str, codes: list[str]) -> set[str]:
    existing = set(db.session.scalars(select(getattr(model, key)).where(getattr(model, key).in_(codes))))
    return set(codes) - existing


def load() -> dict[str, int]:
    counts = {"parks": 0, "chains": 0, "departments": 0, "categories": 0}
    missing = _missing(Park, "code", [p[0] for p in PARKS])
    for code, name, name_en, _centre in PARKS:
        if code in missing:
            db.session.add(Park(code=code, name=name, name_en=name_en))
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
    db.session.commit()
    return counts


def park_centres() -> dict[str, tuple[float, float]]:
    return {code: centre for code, _name, _en, centre in PARKS}
