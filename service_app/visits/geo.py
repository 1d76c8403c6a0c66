"""Distance, geofence and plausibility checks of a visit check-in: pure functions, no Flask, no DB.

Datum: every coordinate here is WGS-84 (what GPS reports). Phones sold in China often hand apps
GCJ-02 coordinates (the map SDKs of AMap, Tencent and Baidu, and MapKit inside China), shifted by
100-700 m from WGS-84. The API expects WGS-84 and enterprise locations are stored in WGS-84 too:
the app must send the raw GPS fix. Mixing the two datums would shift every distance by several
hundred metres and flag honest check-ins `far_from_site`. No conversion is attempted here: GCJ-02
is an obfuscation whose inverse is only approximate.

Distance: haversine on a sphere of the WGS-84 mean radius (R1 = 6,371,008.8 m). Against the
ellipsoidal geodesic (Karney) its error is at most about 0.5 %, i.e. under 3 m at the 500 m
geofence scale — far below a phone's GPS accuracy (typically 5-50 m) — and it needs no dependency.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from math import asin, cos, radians, sin, sqrt

MEAN_EARTH_RADIUS_M = 6_371_008.8

FAR_FROM_SITE = "far_from_site"
POOR_ACCURACY = "poor_accuracy"
MOCK_LOCATION = "mock_location"
IMPOSSIBLE_SPEED = "impossible_speed"


@dataclass(frozen=True)
class Fix:
    """A position at a time (a check-in), with its reported accuracy radius if known."""

    lat: float
    lng: float
    at: datetime
    accuracy_m: float | None = None


@dataclass(frozen=True)
class FlagRules:
    """Thresholds of the flags. Defaults match the settings' defaults."""

    geofence_radius_m: float = 500.0
    poor_accuracy_m: float = 100.0
    # 120 km/h: faster than a car between two sites of the zone can go.
    max_speed_mps: float = 120 / 3.6
    # Two fixes closer than this plus both accuracy radii may be the same spot (GPS noise).
    speed_min_distance_m: float = 100.0
    # Shorter intervals are read as this long, so a near-zero interval cannot turn a short hop
    # into an "impossible" speed, while a jump of many kilometres in seconds is still flagged.
    speed_min_interval_s: float = 60.0


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in metres between two WGS-84 points (haversine)."""
    phi1, phi2 = radians(lat1), radians(lat2)
    half_dphi = (phi2 - phi1) / 2
    half_dlambda = radians(lng2 - lng1) / 2
    h = sin(half_dphi) ** 2 + cos(phi1) * cos(phi2) * sin(half_dlambda) ** 2
    # min(): rounding can push h a hair above 1 for antipodal points.
    return 2 * MEAN_EARTH_RADIUS_M * asin(min(1.0, sqrt(h)))


def within_geofence(distance: float | None, radius_m: float) -> bool:
    """Inside the enterprise's circle (boundary included); unknown distance is not inside."""
    return distance is not None and distance <= radius_m


def implied_speed_mps(previous: Fix, current: Fix, rules: FlagRules) -> float | None:
    """Speed needed to get from `previous` to `current`, or None when it cannot be judged.

    None when the two fixes are within GPS noise of each other: `speed_min_distance_m` plus both
    accuracy radii. The interval is the absolute difference of the two recorded times (offline
    check-ins may arrive out of order), floored at `speed_min_interval_s`.
    """
    gap = distance_m(previous.lat, previous.lng, current.lat, current.lng)
    noise = rules.speed_min_distance_m + (previous.accuracy_m or 0.0) + (current.accuracy_m or 0.0)
    if gap <= noise:
        return None
    seconds = abs((current.at - previous.at).total_seconds())
    return gap / max(seconds, rules.speed_min_interval_s)


def flags(
    *,
    distance: float | None,
    accuracy_m: float | None,
    mock_location: bool,
    current: Fix,
    previous: Fix | None,
    rules: FlagRules,
) -> list[str]:
    """The plausibility flags of a check-in, in a stable order. Flags are recorded, never refused.

    `distance` is to the enterprise's location (None when it has none: not judged far);
    `previous` is the cadre's check-in recorded just before this one, if any.
    """
    result = []
    if distance is not None and not within_geofence(distance, rules.geofence_radius_m):
        result.append(FAR_FROM_SITE)
    if accuracy_m is not None and accuracy_m > rules.poor_accuracy_m:
        result.append(POOR_ACCURACY)
    if mock_location:
        result.append(MOCK_LOCATION)
    if previous is not None:
        speed = implied_speed_mps(previous, current, rules)
        if speed is not None and speed > rules.max_speed_mps:
            result.append(IMPOSSIBLE_SPEED)
    return result
