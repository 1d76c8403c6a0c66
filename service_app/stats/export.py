"""The statistics as a file: CSV (UTF-8 with BOM, so Excel reads the Chinese) or XLSX.

The file is built from the same dictionaries the JSON endpoints return, so it holds the same figures.
Rates stay fractions (0.5757); the XLSX shows them as percentages through a number format.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openpyxl import Workbook

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
    ("on_time_rate", "按期办结率"),
    ("satisfaction_rate", "满意率"),
    ("avg_resolution_hours", "平均办结时长（小时）"),
    ("visits", "走访次数"),
    ("coverage", "走访覆盖率"),
]
ROW_HEADERS = [("key", "编号"), ("code", "代码"), ("label", "名称"), ("share", "占比"), *METRIC_HEADERS]
TREND_HEADERS = [("bucket", "月份"), *[(k, v) for k, v in METRIC_HEADERS if k != "coverage"], ("resolved_in_bucket", "当月办结")]
COMMON_CATEGORY_HEADERS = [("label", "问题类别"), ("enterprises", "涉及企业数"), ("problems", "问题数"), ("resolved", "已解决")]
COMMON_THEME_HEADERS = [("term", "共性主题"), ("enterprises", "涉及企业数"), ("problems", "问题数"), ("resolved", "已解决")]
DIMENSION_TITLES = {"category": "按问题类别", "department": "按职能部门", "park": "按园区", "chain": "按产业链", "cadre": "按联企干部"}
PERCENT_KEYS = {"share", "resolution_rate", "response_rate", "on_time_rate", "satisfaction_rate", "coverage"}


@dataclass(frozen=True)
class Section:
    title: str
    columns: list[tuple[str, str]]
    rows: list[dict[str, Any]]


def _local(value: datetime | None) -> str:
    return value.astimezone(SHANGHAI).isoformat(timespec="seconds") if value else ""


def sections(*, summary: dict, breakdowns: dict[str, dict], trend: dict, common: dict) -> list[Section]:
    overview = [{"metric": label, "value": summary[key]} for key, label in METRIC_HEADERS]
    overview.append({"metric": "统计时间", "value": _local(summary["computed_at"])})
    result = [Section("统计概览", [("metric", "指标"), ("value", "数值")], overview)]
    result += [Section(DIMENSION_TITLES[d], ROW_HEADERS, body["rows"]) for d, body in breakdowns.items()]
    result.append(Section("月度趋势", TREND_HEADERS, trend["points"]))
    result.append(Section("共性问题（类别）", COMMON_CATEGORY_HEADERS, common["categories"]))
    result.append(Section("共性问题（主题）", COMMON_THEME_HEADERS, common["themes"]))
    return result


def _cell(value: Any) -> Any:
    return "" if value is None else value


def to_csv(parts: list[Section]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for index, section in enumerate(parts):
        if index:
            writer.writerow([])
        writer.writerow([section.title])
        writer.writerow([label for _key, label in section.columns])
        for row in section.rows:
            writer.writerow([_cell(row.get(key)) for key, _label in section.columns])
    return buffer.getvalue().encode("utf-8-sig")


def to_xlsx(parts: list[Section]) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for section in parts:
        sheet = workbook.create_sheet(section.title[:31])
        sheet.append([label for _key, label in section.columns])
        for row in section.rows:
            sheet.append([_cell(row.get(key)) for key, _label in section.columns])
        for column, (key, _label) in enumerate(section.columns, start=1):
            if key in PERCENT_KEYS:
                for (cell,) in sheet.iter_rows(min_row=2, min_col=column, max_col=column):
                    cell.number_format = "0.00%"
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
