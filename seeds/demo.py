"""The deterministic demo data set: accounts, 500 enterprises and their 500 linked cadres.

All demo accounts share the password `Demo@2019`. The argon2id hash is computed once and reused:
hashing 1,000+ passwords one by one would make loading take minutes, and these are demo accounts.
"""

from __future__ import annotations

import random
from datetime import date

from sqlalchemy import select

from seeds.reference import CHAINS, DEPARTMENTS, DISTRICTS, PARKS, ParkFacts
from service_app.auth.models import Role, User
from service_app.auth.passwords import hash_password
from service_app.extensions import db
from service_app.org import credit_code
from service_app.org.models import CadreLink, Chain, Department, Enterprise, Park

DEMO_PASSWORD = "Demo@2019"
ENTERPRISE_COUNT = 500
LINK_START = date(2019, 3, 1)

SURNAMES = (
    "王李张刘陈杨黄赵周吴徐孙朱马胡郭林何高罗郑梁谢宋唐许邓冯韩曹曾彭萧蔡潘田董袁于余叶蒋杜苏魏程吕丁"
    "沈任姚卢傅钟姜崔谭廖范汪陆金石戴贾韦夏邱方侯邹熊孟秦白江阎薛尹段雷黎史龙陶贺顾毛郝龚邵万钱严赖覃"
    "洪武莫孔汤向常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮"
    "柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉"
    "缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑"
    "郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建文斌宇浩凯健俊帆帅旭宁龙林欢阳晨瑞"
    "博昊雪琳颖倩婷慧佳欣怡嘉琪雯晶燕波峰海东亮飞鑫宏志伦鸿福祥荣"
)
BRANDS = "华瑞中联创新天宏鑫盛泰达恒隆兴远航科信诚智汇博越腾飞安德康顺利昌嘉福永正益丰凯祥云星辰光明凌峰湘江株"
INDUSTRIES = {
    "rail_aviation": ["轨道交通装备", "机车配件", "牵引电气", "齿轮传动", "铁路器材", "轨道车辆检修"],
    "auto_nev": ["汽车零部件", "新能源汽车", "动力电池", "电机", "汽车电子", "变速器"],
    "electronics": ["电子科技", "微电子", "光电科技", "智能装备", "软件技术", "半导体"],
    "new_materials": ["新材料", "硬质合金", "高分子材料", "陶瓷材料", "靶材科技", "复合材料"],
    "new_energy": ["新能源科技", "氢能科技", "光伏科技", "储能技术", "电力设备", "节能环保"],
    "modern_services": ["物流", "供应链管理", "信息咨询", "检测认证", "科技服务", "电子商务"],
}
# The aviation half of the chain, in 董家塅 (the city plan's general-aviation city).
AVIATION = ["通用航空", "航空发动机零部件", "航空精密制造", "无人机"]
# Founded at the latest in 2017: every demo enterprise reports quarterly figures from 2018 Q1 on.
FOUNDED = (1995, 2017)
TITLES = ["科员", "副主任科员", "主任科员", "副科长", "科长", "副局长"]
SCALE_WEIGHTS = (("large", 4), ("medium", 16), ("small", 45), ("micro", 35))


def person_name(rng: random.Random) -> str:
    given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
    return rng.choice(SURNAMES) + given


def enterprise_park(number: int) -> ParkFacts:
    """The park of demo enterprise `number` (they are spread over the parks in turn)."""
    return PARKS[(number - 1) % len(PARKS)]


def enterprise_credit_code(number: int) -> str:
    """`91 430211 MA4L…`: enterprise (9), company (1), the district's division code, then the number;
    the division is that of the district the enterprise's park lies in."""
    division = DISTRICTS[enterprise_park(number).district].division
    return credit_code.make(f"91{division}MA4L{number:05d}")


def _founded(rng: random.Random) -> date:
    return date(rng.randint(*FOUNDED), rng.randint(1, 12), rng.randint(1, 28))


class OutdatedDemo(Exception):
    """The database holds the demo data set of an earlier version, which loading cannot bring up to date."""


def _check_not_outdated() -> None:
    """The demo accounts' enterprises must be the ones this version numbers them with: an earlier
    version gave them other credit codes, and adding this version's next to them would make two."""
    rows = db.session.execute(
        select(User.username, Enterprise.credit_code)
        .join(Enterprise, Enterprise.id == User.enterprise_id)
        .where(User.username.in_([f"ent{number:03d}" for number in range(1, ENTERPRISE_COUNT + 1)]))
    ).all()
    if any(code != enterprise_credit_code(int(username[3:])) for username, code in rows):
        raise OutdatedDemo(
            "this database holds the demo data of an earlier version (other credit codes): "
            "recreate it (for `make run`'s default, delete instance/service_app.db) and load again"
        )


def load() -> dict[str, int]:
    _check_not_outdated()
    rng = random.Random(2019)
    password_hash = hash_password(DEMO_PASSWORD)
    existing_users = set(db.session.scalars(select(User.username)))
    counts = {"users": 0, "enterprises": 0, "links": 0}

    def add_user(**fields) -> None:
        if fields["username"] not in existing_users:
            db.session.add(User(password_hash=password_hash, **fields))
            counts["users"] += 1

    # Every demo account has its own mobile number (users.phone is unique; SMS codes go to it).
    add_user(username="admin", name="系统管理员", role=Role.ADMIN.value, title="管理员", phone="13707310001")
    add_user(username="manager", name="高新区督查室", role=Role.MANAGER.value, title="督查室主任", phone="13707310002")

    departments = dict(db.session.execute(select(Department.code, Department.id)).all())
    for number, (code, _name, _en, _landline) in enumerate(DEPARTMENTS, start=1):
        people = random.Random(f"department-{code}")  # its own stream: adding a department changes no other
        add_user(
            username=f"dept{number:02d}",
            name=person_name(people),
            role=Role.DEPARTMENT.value,
            department_id=departments[code],
            phone=f"137073120{number:02d}",
            title="联络员",
            is_lead=True,  # the department's lead; deptNN-1 and deptNN-2 are its staff
        )
        for staff in (1, 2):
            add_user(
                username=f"dept{number:02d}-{staff}",
                name=person_name(people),
                role=Role.DEPARTMENT.value,
                department_id=departments[code],
                phone=f"1370{number:02d}{staff}0000",
                title="办事员",
            )

    parks = dict(db.session.execute(select(Park.code, Park.id)).all())
    contacts: dict[int, str] = {}  # number -> the enterprise's contact person, who uses its account
    chains = dict(db.session.execute(select(Chain.code, Chain.id)).all())
    existing_codes = set(db.session.scalars(select(Enterprise.credit_code)))
    used_names: set[str] = set(db.session.scalars(select(Enterprise.name)))
    chain_codes = [c[0] for c in CHAINS]
    scales, weights = zip(*SCALE_WEIGHTS, strict=True)
    for number in range(1, ENTERPRISE_COUNT + 1):
        park = enterprise_park(number)
        # Most of a park's enterprises are of the chains it is known for, above all its first.
        roll = rng.random()
        chain = (
            park.chains[0]
            if roll < 0.65
            else rng.choice(park.chains[1:])
            if roll < 0.88
            else chain_codes[rng.randrange(len(chain_codes))]
        )
        industries = AVIATION if chain == "rail_aviation" and park.code == "dongjiaduan" else INDUSTRIES[chain]
        industry = rng.choice(industries)
        name = f"株洲{rng.choice(BRANDS)}{rng.choice(BRANDS)}{industry}有限公司"
        while name in used_names:
            name = f"株洲{rng.choice(BRANDS)}{rng.choice(BRANDS)}{industry}有限公司"
        lat0, lng0 = park.centre
        # Scatter within about 1.5 km of the park centre.
        lat = round(lat0 + rng.uniform(-0.0135, 0.0135), 6)
        lng = round(lng0 + rng.uniform(-0.015, 0.015), 6)
        code = enterprise_credit_code(number)
        scale = rng.choices(scales, weights)[0]
        contact = person_name(rng)
        fields = dict(
            name=name,
            credit_code=code,
            address=f"湖南省株洲市{DISTRICTS[park.district].name}{rng.choice(park.roads)}{rng.randint(1, 899)}号",
            lat=lat,
            lng=lng,
            park_id=parks[park.code],
            chain_id=chains[chain],
            scale=scale,
            industry=industry,
            legal_representative=person_name(rng),
            contact_name=contact,
            contact_phone=f"139{number:04d}{rng.randint(1000, 9999)}",
            established_on=_founded(rng),
        )
        contacts[number] = contact
        if code not in existing_codes:
            db.session.add(Enterprise(**fields))
            used_names.add(name)
            counts["enterprises"] += 1
    db.session.flush()

    enterprise_ids = dict(db.session.execute(select(Enterprise.credit_code, Enterprise.id)).all())
    for number in range(1, ENTERPRISE_COUNT + 1):
        add_user(
            username=f"ent{number:03d}",
            name=contacts[number],
            role=Role.ENTERPRISE.value,
            enterprise_id=enterprise_ids[enterprise_credit_code(number)],
            phone=f"1360731{number:04d}",
        )
        add_user(
            username=f"cadre{number:03d}",
            name=person_name(rng),
            role=Role.CADRE.value,
            title=rng.choice(TITLES),
            phone=f"138{number:04d}{rng.randint(1000, 9999)}",
        )
    db.session.flush()

    cadre_ids = dict(db.session.execute(select(User.username, User.id).where(User.role == Role.CADRE.value)).all())
    linked = set(db.session.execute(select(CadreLink.cadre_id, CadreLink.enterprise_id)).all())
    for number in range(1, ENTERPRISE_COUNT + 1):
        pair = (cadre_ids[f"cadre{number:03d}"], enterprise_ids[enterprise_credit_code(number)])
        if pair not in linked:
            db.session.add(CadreLink(cadre_id=pair[0], enterprise_id=pair[1], role="primary", started_on=LINK_START))
            counts["links"] += 1
    db.session.commit()
    return counts
