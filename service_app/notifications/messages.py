"""What each kind of notice says, in Chinese and in English.

A notice is stored as its kind and parameters (`Notification.params`) and rendered when it is read,
in the reader's language: one message table, one entry per kind. A template names the parameters it
uses; a parameter a stored notice lacks renders as an empty string rather than failing the list.

Problem notices carry `code` and `title` (the problem's); some add `reason_code`, `score`, `due_at`,
`days` (working days asked for), `reminder` or `internal`. Visit reminders carry `count` and `days`;
the missing-calendar notice `year`.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from service_app.common.i18n import language


@dataclass(frozen=True)
class Message:
    zh_title: str
    zh_body: str
    en_title: str
    en_body: str


_PROBLEM_ZH = "{title}（{code}）"
_PROBLEM_EN = "{title} ({code})"


def _problem(zh: str, en: str, zh_body: str = _PROBLEM_ZH, en_body: str = _PROBLEM_EN) -> Message:
    return Message(zh, zh_body, en, en_body)


MESSAGES: dict[str, Message] = {
    "submitted": _problem("新问题待受理", "A new problem waits for you to accept it"),
    "withdrawn": _problem("企业已撤回问题", "The enterprise withdrew the problem"),
    "accepted": _problem("您反映的问题已受理", "Your problem has been accepted"),
    "rejected": _problem("您反映的问题不予受理", "Your problem was not accepted"),
    "dispatched": _problem("新派单待签收", "A problem was dispatched to your department"),
    "forwarded": _problem("您反映的问题已转交职能部门办理", "Your problem was passed to a department"),
    "claimed": _problem("问题已由职能部门签收", "A department has taken on the problem"),
    "assigned": _problem("问题已交由您办理", "A problem was assigned to you"),
    "returned": _problem("问题被退回", "A problem was returned to you"),
    "resolved": _problem("问题已办结，请评价", "The problem was resolved; please rate the result"),
    "resolved_info": _problem("问题已办结", "The problem was resolved"),
    "rated": _problem("企业已评价：{score} 分", "The enterprise rated the result: {score}/5"),
    "reopened": _problem("企业不满意，问题重新办理", "The enterprise was dissatisfied; the problem is reopened"),
    "supervised": _problem("问题被督办", "The problem is under supervision"),
    "extended": _problem(
        "办理时限已延长",
        "The deadline was extended",
        "{title}（{code}）新时限：{due_at}",
        "{title} ({code}), now due {due_at}",
    ),
    "commented": _problem("问题有新的留言", "New comment on a problem"),
    "info_requested": _problem("请补充问题材料", "Please supply more information"),
    "info_supplied": _problem("企业已补充材料", "The enterprise supplied the information"),
    "info_reminder": _problem("请尽快补充问题材料", "Reminder: please supply the information asked for"),
    "extension_requested": _problem(
        "延期申请待审批",
        "An extension waits for your decision",
        "{title}（{code}）申请延期 {days} 个工作日",
        "{title} ({code}): {days} more working days asked for",
    ),
    "extension_approved": _problem(
        "延期申请已批准，办理时限已延长",
        "The extension was approved; the deadline moves",
        "{title}（{code}）新时限：{due_at}",
        "{title} ({code}), now due {due_at}",
    ),
    "extension_denied": _problem("延期申请未获批准", "The extension was denied"),
    "urged": _problem("企业催办", "The enterprise is urging the problem"),
    "handler_assigned": _problem("问题已指派办理人", "A handler was assigned to the problem"),
    "due_soon": _problem("问题即将到期", "A problem is due soon"),
    "overdue": _problem("问题已超期", "A problem is overdue"),
    "calendar_missing": Message(
        "{year} 年节假日安排尚未录入",
        "{year} 年的办理时限暂按周一至周五计算，请通过 PUT /api/v1/calendar/{year} 录入国务院节假日安排。",
        "The {year} holiday calendar is missing",
        "Deadlines in {year} count Monday to Friday only until its calendar is entered (PUT /api/v1/calendar/{year}).",
    ),
    "visit_reminder": Message(
        "走访提醒",
        "您有 {count} 家结对企业超过 {days} 天未走访，请安排走访。",
        "Visit reminder",
        "{count} of your linked enterprises have not been visited for {days} days.",
    ),
}
KINDS: tuple[str, ...] = tuple(MESSAGES)


class _Lenient(dict):
    def __missing__(self, key: str) -> str:
        return ""


def _fill(template: str, params: Mapping[str, Any]) -> str:
    return string.Formatter().vformat(template, (), _Lenient(params))


def render(kind: str, params: Mapping[str, Any] | None, *, lang: str | None = None) -> tuple[str, str]:
    """(title, body) of a notice in `lang` ('zh' or 'en'; default: the caller's language)."""
    message = MESSAGES[kind]
    params = params or {}
    if (lang or language()) == "en":
        return _fill(message.en_title, params), _fill(message.en_body, params)
    return _fill(message.zh_title, params), _fill(message.zh_body, params)
