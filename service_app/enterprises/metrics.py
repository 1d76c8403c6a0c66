"""Derived indicators, as pure functions: per-mu figures, year-on-year growth, period labels.

亩均税收 (tax per mu) = tax paid / land area; 亩均产值 (output per mu) = industrial output / land
area, both in 万元 per 亩. Without a positive land area they are undefined (None), never infinite.
Year-on-year growth compares a period with the same period of the previous year: (now - then) / then,
undefined when either side is missing or the previous figure is zero.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from service_app.common.i18n import bilingual
from service_app.enterprises.models import FULL_YEAR

PER_MU_PLACES = Decimal("0.01")
GROWTH_PLACES = Decimal("0.0001")
# Figures that get a year-on-year growth rate.
GROWTH_FIELDS = ("revenue", "tax_paid", "industrial_output", "tax_per_mu", "output_per_mu")


def _decimal(value: Decimal | int | float | None) -> Decimal | None:
    if value is None:
        return None
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return None


def _ratio(amount: Decimal | int | float | None, land_area_mu: Decimal | int | float | None) -> Decimal | None:
    amount, land = _decimal(amount), _decimal(land_area_mu)
    if amount is None or land is None or land <= 0:
        return None
    return amount / land


def per_mu(amount: Decimal | int | float | None, land_area_mu: Decimal | int | float | None) -> Decimal | None:
    """`amount` per mu of land, rounded to 0.01; None without an amount or a positive land area."""
    ratio = _ratio(amount, land_area_mu)
    return None if ratio is None else ratio.quantize(PER_MU_PLACES, rounding=ROUND_HALF_UP)


def growth(current: Decimal | int | float | None, previous: Decimal | int | float | None) -> Decimal | None:
    """(current - previous) / previous as a ratio rounded to 0.0001 (0.125 = +12.5%); None when undefined."""
    current, previous = _decimal(current), _decimal(previous)
    if current is None or previous is None or previous == 0:
        return None
    return ((current - previous) / previous).quantize(GROWTH_PLACES, rounding=ROUND_HALF_UP)


def quarter_or_none(stored: int) -> int | None:
    """The API's quarter: 1-4, or None for a full-year report."""
    return None if stored == FULL_YEAR else stored


def stored_quarter(quarter: int | None) -> int:
    return FULL_YEAR if quarter is None else quarter


def period_label(year: int, quarter: int | None) -> str:
    """"2018年" / "2019年第1季度" (or "2018" / "2019 Q1" in English)."""
    if quarter is None or quarter == FULL_YEAR:
        return bilingual(f"{year}年", f"{year}")
    return bilingual(f"{year}年第{quarter}季度", f"{year} Q{quarter}")


def period_rank(year: int, quarter: int) -> tuple[int, int]:
    """Sort key, latest first when reversed: a full year counts after its fourth quarter."""
    return (year, 5 if quarter == FULL_YEAR else quarter)


def _per_mu_exact(figures: dict) -> dict[str, Decimal | None]:
    return {
        "tax_per_mu": _ratio(figures.get("tax_paid"), figures.get("land_area_mu")),
        "output_per_mu": _ratio(figures.get("industrial_output"), figures.get("land_area_mu")),
    }


def derived(figures: dict, previous: dict | None) -> tuple[dict[str, Decimal | None], dict[str, Decimal | None]]:
    """Per-mu figures of one period, and growth over `previous` (the same period a year before).

    Growth of the per-mu figures uses the unrounded ratios, so rounding never shows as growth.
    """
    exact = _per_mu_exact(figures)
    own = {
        name: value if value is None else value.quantize(PER_MU_PLACES, rounding=ROUND_HALF_UP)
        for name, value in exact.items()
    }
    if previous is None:
        return own, dict.fromkeys(GROWTH_FIELDS)
    now, then = {**figures, **exact}, {**previous, **_per_mu_exact(previous)}
    return own, {name: growth(now.get(name), then.get(name)) for name in GROWTH_FIELDS}
