"""Distance, geofence and flags: pure functions, checked against known coordinate pairs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service_app.visits import geo
from tests.factories_visits import offset

T0 = datetime(2019, 6, 3, 9, 0, tzinfo=UTC)
SITE = (27.8410, 113.0790)
RULES = geo.FlagRules()


def test_tiananmen_to_the_bund_is_about_1067_km():
    # Published great-circle distance Beijing Tiananmen – Shanghai Bund: about 1067 km.
    distance = geo.distance_m(39.9087, 116.3975, 31.2397, 121.4906)
    assert distance == pytest.approx(1_067_000, rel=0.005)


def test_known_short_distances():
    north = offset(*SITE, north_m=500)
    assert geo.distance_m(*SITE, *north) == pytest.approx(500, abs=0.01)
    east = offset(*SITE, east_m=500)
    assert geo.distance_m(*SITE, *east) == pytest.approx(500, rel=1e-4)
    # One degree of latitude on the mean sphere: R * pi / 180.
    assert geo.distance_m(0, 0, 1, 0) == pytest.approx(111_195.08, abs=0.01)


def test_identical_points_antimeridian_and_antipodes():
    assert geo.distance_m(*SITE, *SITE) == 0
    # 0.002° of longitude across the antimeridian at the equator is 222 m, not 40,000 km.
    assert geo.distance_m(0, 179.999, 0, -179.999) == pytest.approx(222.39, abs=0.01)
    assert geo.distance_m(0, 0, 0, 180) == pytest.approx(geo.MEAN_EARTH_RADIUS_M * 3.141592653589793, rel=1e-12)
    assert geo.distance_m(90, 0, 90, 123) == pytest.approx(0, abs=1e-6)


def test_within_geofence_includes_the_boundary():
    assert geo.within_geofence(499.9, 500) and geo.within_geofence(500, 500)
    assert not geo.within_geofence(500.1, 500)
    assert not geo.within_geofence(None, 500)


def _flags(*, lat_lng=SITE, distance=0.0, accuracy_m=10.0, mock=False, previous=None, at=T0, rules=RULES):
    current = geo.Fix(*lat_lng, at, accuracy_m)
    return geo.flags(
        distance=distance, accuracy_m=accuracy_m, mock_location=mock, current=current, previous=previous, rules=rules
    )


def test_each_flag_on_its_own():
    assert _flags() == []
    assert _flags(distance=501) == ["far_from_site"]
    assert _flags(distance=None) == []
    assert _flags(accuracy_m=100) == [] and _flags(accuracy_m=100.5) == ["poor_accuracy"]
    assert _flags(mock=True) == ["mock_location"]
    far_before = geo.Fix(*offset(*SITE, north_m=50_000), T0 - timedelta(minutes=10), 10.0)
    assert _flags(previous=far_before) == ["impossible_speed"]
    assert _flags(distance=10_000, accuracy_m=500, mock=True, previous=far_before) == [
        "far_from_site",
        "poor_accuracy",
        "mock_location",
        "impossible_speed",
    ]


def test_thresholds_are_configurable():
    strict = geo.FlagRules(geofence_radius_m=100, poor_accuracy_m=20, max_speed_mps=10)
    assert _flags(distance=150, accuracy_m=30, rules=strict) == ["far_from_site", "poor_accuracy"]
    # 30 km in an hour is 8.3 m/s: fine under 10 m/s, impossible under 5 m/s.
    hour_before = geo.Fix(*offset(*SITE, east_m=30_000), T0 - timedelta(hours=1), 10.0)
    assert _flags(previous=hour_before, rules=strict) == []
    assert _flags(previous=hour_before, rules=geo.FlagRules(max_speed_mps=5)) == ["impossible_speed"]


def test_speed_at_the_default_threshold_of_120_km_h():
    # 20 km in 10 minutes is exactly 120 km/h: not above the threshold. 21 km is.
    assert _flags(previous=geo.Fix(*offset(*SITE, north_m=20_000), T0 - timedelta(minutes=10), 0.0)) == []
    assert _flags(previous=geo.Fix(*offset(*SITE, north_m=21_000), T0 - timedelta(minutes=10), 0.0)) == [
        "impossible_speed"
    ]


def test_speed_ignores_gps_noise_and_floors_tiny_intervals():
    # 80 m apart one second later: within noise (100 m + accuracies), not a speed at all.
    jitter = geo.Fix(*offset(*SITE, north_m=80), T0 - timedelta(seconds=1), 10.0)
    assert geo.implied_speed_mps(jitter, geo.Fix(*SITE, T0, 10.0), RULES) is None
    # 1 km in the same second: read as 1 km per 60 s (16.7 m/s), a short drive, not flagged.
    hop = geo.Fix(*offset(*SITE, north_m=1_000), T0, 10.0)
    assert geo.implied_speed_mps(hop, geo.Fix(*SITE, T0, 10.0), RULES) == pytest.approx(1_000 / 60, rel=1e-6)
    assert _flags(previous=hop) == []
    # 10 km in 5 seconds is still impossible even with the floor (167 m/s).
    jump = geo.Fix(*offset(*SITE, north_m=10_000), T0 - timedelta(seconds=5), 10.0)
    assert _flags(previous=jump) == ["impossible_speed"]
    # Poor accuracy widens the noise band: 900 m apart with two 500 m fixes is no evidence.
    blurred = geo.Fix(*offset(*SITE, north_m=900), T0, 500.0)
    assert geo.implied_speed_mps(blurred, geo.Fix(*SITE, T0, 500.0), RULES) is None


def test_speed_uses_the_absolute_interval():
    later = geo.Fix(*offset(*SITE, north_m=50_000), T0 + timedelta(minutes=10), 10.0)
    assert _flags(previous=later) == ["impossible_speed"]
