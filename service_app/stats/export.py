"""The statistics as sheets for the one tabular writer (`common.tabular`: CSV or XLSX, formulas defused).

The sheets are built from the same dictionaries the JSON endpoints return, so they hold the same
figures. Rates stay fractions (0.5757); the XLSX shows them as percentages through a number format.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from service_app.common.tabular import Sheet
from service_app.common.time import SHANGHAI

METRIC_HEADERS = [
    ("total", "问题总数"),
    ("resolved", "已解决"),
    ("resolution_rate", "解决率"),
    ("response_rate", "响应率"),
    ("open", "未办结"),
    ("in_progress", "办理中"),
    ("awaiting_info", "待补充"),
    ("urge_count", "催办次数"),
    ("overdue", "超期"),
    ("supervised", "督办中"),
    ("on_time_rate", "按期办结率"),
    ("satisfaction_rate", "满意率"),
    ("avg_resolution_hours", "平均办结时长（小时）"),
    ("visits", "走访次数"),
    ("coverage", "走访覆盖率"),
]
ROW_HEADERS = [("key", "编号"), ("code", "代码"), ("label", "名称"), ("share", "占比"), *METRIC_HEADERS]
TREND_HEADERS = [
    ("bucket", "月份"),
    *[(k, v) for k, v in METRIC_HEADERS if k != "coverage"],
    ("resolved_in_bucket", "当月办结"),
]
COMMON_CATEGORY_HEADERS = [
    ("label", "问题类别"),
    ("enterprises", "涉及企业数"),
    ("problems", "问题数"),
    ("resolved", "已解决"),
]
COMMON_THEME_HEADERS = [
    ("term", "共性主题"),
    ("enterprises", "涉及企业数"),
    ("problems", "问题数"),
    ("resolved", "已解决"),
]
DIMENSION_TITLES = {
    "category": "按问题类别",
    "department": "按职能部门",
    "park": "按园区",
    "chain": "按产业链",
    "cadre": "按联企干部",
}
PERCENT_KEYS = {"share", "resolution_rate", "response_rate", "on_time_rate", "satisfaction_rate", "coverage"}


def _sheet(title: str, columns: list[tuple[str, str]], rows: list[dict[str, Any]]) -> Sheet:
    return Sheet(
        title=title,
        headers=[label for _key, label in columns],
        rows=[[row.get(key) for key, _label in columns] for row in rows],
        percent_columns=frozenset(index for index, (key, _label) in enumerate(columns) if key in PERCENT_KEYS),
    )


def _local(value: datetime | None) -> str:
    return value.astimezone(SHANGHAI).isoformat(timespec="seconds") if value else ""


def sheets(*, summary: dict, breakdowns: dict[str, dict], trend: dict, common: dict) -> list[Sheet]:
    overview = [{"metric": label, "value": summary[key]} for key, label in METRIC_HEADERS]
    overview.append({"metric": "统计时间", "value": _local(summary["computed_at"])})
    result = [_sheet("统计概览", [("metric", "指标"), ("value", "数值")], overview)]
    result += [_sheet(DIMENSION_TITLES[d], ROW_HEADERS, body["rows"]) for d, body in breakdowns.items()]
    result.append(_sheet("月度趋势", TREND_HEADERS, trend["points"]))
    result.append(_sheet("共性问题（类别）", COMMON_CATEGORY_HEADERS, common["categories"]))
    result.append(_sheet("共性问题（主题）", COMMON_THEME_HEADERS, common["themes"]))
    return result
