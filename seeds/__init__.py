"""Seed data: the zone's reference data, and the deterministic demo data set (DESIGN.md §7).

Loading is idempotent: rows are matched by their natural keys (codes, usernames, credit codes) and
only missing ones are inserted, so loading twice changes nothing.
"""

from __future__ import annotations


def load(kind: str) -> dict[str, int]:
    """Load `reference`, or `demo` (reference + demo accounts, enterprises, links and 2019 activity);
    'none' loads nothing."""
    from seeds import activity, demo, indicators, reference
    from service_app.problems import deadlines

    if kind == "none":
        return {}
    # The working-day calendar first: the demo's deadlines are counted on it.
    counts = {"calendar_years": len(deadlines.load_package()), **reference.load()}
    if kind == "demo":
        counts.update(demo.load())
        counts.update(activity.load())
        counts.update(indicators.load())
    elif kind != "reference":
        raise ValueError(f"unknown seed set {kind!r}: use demo, reference or none")
    return counts
