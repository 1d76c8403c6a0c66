"""factory_boy factories bound to the app's (test-scoped) session."""

from __future__ import annotations

import itertools
from datetime import date

import factory
from factory.alchemy import SQLAlchemyModelFactory

from service_app.auth.models import Role, User
from service_app.extensions import db
from service_app.org import credit_code
from service_app.org.models import CadreLink, Category, Chain, Department, Enterprise, Park

PASSWORD = "Test@2019pass"
_hash_cache: dict[str, str] = {}
_codes = itertools.count(1)


def _password_hash() -> str:
    from service_app.auth.passwords import hash_password

    if PASSWORD not in _hash_cache:
        _hash_cache[PASSWORD] = hash_password(PASSWORD)
    return _hash_cache[PASSWORD]


class Base(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"


class ParkFactory(Base):
    class Meta:
        model = Park

    code = factory.Sequence(lambda n: f"park{n}")
    name = factory.Sequence(lambda n: f"测试园区{n}")


class ChainFactory(Base):
    class Meta:
        model = Chain

    code = factory.Sequence(lambda n: f"chain{n}")
    name = factory.Sequence(lambda n: f"测试产业链{n}")


class DepartmentFactory(Base):
    class Meta:
        model = Department

    code = factory.Sequence(lambda n: f"dept{n}")
    name = factory.Sequence(lambda n: f"测试部门{n}")


class CategoryFactory(Base):
    class Meta:
        model = Category

    code = factory.Sequence(lambda n: f"cat{n}")
    name = factory.Sequence(lambda n: f"测试类别{n}")
    default_department = factory.SubFactory(DepartmentFactory)
    response_days = 1
    resolve_days = 3


def new_credit_code() -> str:
    return credit_code.make(f"91430211MT9X{next(_codes):05d}")


class EnterpriseFactory(Base):
    class Meta:
        model = Enterprise

    name = factory.Sequence(lambda n: f"株洲测试企业{n}有限公司")
    credit_code = factory.LazyFunction(new_credit_code)
    address = "湖南省株洲市天元区测试路1号"
    lat = 27.8410
    lng = 113.0790
    scale = "small"


class UserFactory(Base):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    name = factory.Sequence(lambda n: f"测试用户{n}")
    role = Role.MANAGER.value
    password_hash = factory.LazyFunction(_password_hash)
    is_active = True


class EnterpriseUserFactory(UserFactory):
    role = Role.ENTERPRISE.value
    enterprise = factory.SubFactory(EnterpriseFactory)


class CadreFactory(UserFactory):
    role = Role.CADRE.value


class DepartmentUserFactory(UserFactory):
    role = Role.DEPARTMENT.value
    department = factory.SubFactory(DepartmentFactory)


class AdminFactory(UserFactory):
    role = Role.ADMIN.value


class LinkFactory(Base):
    class Meta:
        model = CadreLink

    cadre = factory.SubFactory(CadreFactory)
    enterprise = factory.SubFactory(EnterpriseFactory)
    role = "primary"
    started_on = date(2019, 3, 1)
