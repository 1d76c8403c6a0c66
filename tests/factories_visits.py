"""Visit test data: factories and a helper to place points at a known distance."""

from __future__ import annotations

from dataclasses import dataclass
from math import cos, degrees, radians

import factory

from service_app.auth.models import User
from service_app.common.time import utcnow
from service_app.org.models import Enterprise
from service_app.visits.geo import MEAN_EARTH_RADIUS_M
from service_app.visits.models import Visit
from tests.factories import Base, CadreFactory, EnterpriseFactory, LinkFactory


def offset(lat: float, lng: float, *, north_m: float = 0.0, east_m: float = 0.0) -> tuple[float, float]:
    """A point `north_m` north and `east_m` east of (lat, lng), on the sphere the service uses."""
    new_lat = lat + degrees(north_m / MEAN_EARTH_RADIUS_M)
    new_lng = lng + degrees(east_m / (MEAN_EARTH_RADIUS_M * cos(radians(new_lat))))
    return new_lat, new_lng


class VisitFactory(Base):
    """A visit stored as-is (no rules applied): for history, lists and jobs."""

    class Meta:
        model = Visit

    cadre = factory.SubFactory(CadreFactory)
    enterprise = factory.SubFactory(EnterpriseFactory)
    recorded_at = factory.LazyFunction(utcnow)
    received_at = factory.LazyAttribute(lambda v: v.recorded_at)
    lat = factory.LazyAttribute(lambda v: v.enterprise.lat)
    lng = factory.LazyAttribute(lambda v: v.enterprise.lng)
    accuracy_m = 15.0
    distance_m = 0.0
    within_geofence = True
    flags = factory.LazyFunction(list)
    flagged = False


@dataclass
class Pair:
    """A cadre and a linked enterprise, held as objects: the link's relationships are lazy="raise"
    and cannot load again once a commit (e.g. a login) has expired them."""

    cadre: User
    enterprise: Enterprise

    @property
    def cadre_id(self) -> int:
        return self.cadre.id

    @property
    def enterprise_id(self) -> int:
        return self.enterprise.id


def pair(**kwargs) -> Pair:
    """Link a cadre to an enterprise (LinkFactory arguments)."""
    link = LinkFactory(**kwargs)
    return Pair(link.cadre, link.enterprise)
