"""User-facing text: Chinese by default, English with `Accept-Language: en`.

Messages are keyed by a stable code; each entry is (zh, en). Marshmallow's field messages are
translated by pattern so that 422 answers read naturally in either language.
"""

from __future__ import annotations

import re

from flask import has_request_context, request

from service_app.common.error_codes import CATALOGUE

# Error messages come from the error-code catalogue; other user-facing texts may be added here.
MESSAGES: dict[str, tuple[str, str]] = {code: (entry.zh, entry.en) for code, entry in CATALOGUE.items()}

# Marshmallow / webargs default messages -> Chinese.
_FIELD_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^Missing data for required field\.$"), "必填字段"),
    (re.compile(r"^Field may not be null\.$"), "不能为空"),
    (re.compile(r"^Unknown field\.$"), "不允许的字段"),
    (re.compile(r"^Not a valid integer\.$"), "不是有效的整数"),
    (re.compile(r"^Not a valid number\.$"), "不是有效的数字"),
    (re.compile(r"^Not a valid string\.$"), "不是有效的字符串"),
    (re.compile(r"^Not a valid boolean\.$"), "不是有效的布尔值"),
    (re.compile(r"^Not a valid datetime\.$"), "不是有效的日期时间"),
    (re.compile(r"^Not a valid date\.$"), "不是有效的日期"),
    (re.compile(r"^Not a valid list\.$"), "不是有效的列表"),
    (re.compile(r"^Not a valid mapping type\.$"), "不是有效的对象"),
    (re.compile(r"^Not a valid email address\.$"), "不是有效的邮箱地址"),
    (re.compile(r"^Not a valid UUID\.$"), "不是有效的 UUID"),
    (re.compile(r"^Invalid input type\.$"), "输入类型无效"),
    (re.compile(r"^Invalid value\.$"), "取值无效"),
    (re.compile(r"^Shorter than minimum length (\d+)\.$"), r"长度不能少于 \1"),
    (re.compile(r"^Longer than maximum length (\d+)\.$"), r"长度不能超过 \1"),
    (re.compile(r"^Length must be between (\d+) and (\d+)\.$"), r"长度须在 \1 到 \2 之间"),
    (re.compile(r"^Length must be (\d+)\.$"), r"长度须为 \1"),
    (re.compile(r"^Must be greater than or equal to (\S+) and less than or equal to (\S+)\.$"), r"须在 \1 到 \2 之间"),
    (re.compile(r"^Must be greater than or equal to (\S+)\.$"), r"不能小于 \1"),
    (re.compile(r"^Must be less than or equal to (\S+)\.$"), r"不能大于 \1"),
    (re.compile(r"^Must be greater than (\S+)\.$"), r"须大于 \1"),
    (re.compile(r"^Must be less than (\S+)\.$"), r"须小于 \1"),
    (re.compile(r"^Must be one of: (.*)\.$"), r"须为以下之一：\1"),
    (re.compile(r"^String does not match expected pattern\.$"), "格式不正确"),
    (re.compile(r"^Number too large\.$"), "数值过大"),
    (re.compile(r"^Special numeric values \(nan or infinity\) are not permitted\.$"), "不允许 NaN 或无穷大"),
    (re.compile(r"^Invalid JSON body\.$"), "请求体不是有效的 JSON"),
]


def language() -> str:
    """'en' when the caller prefers English, else 'zh'."""
    if not has_request_context():
        return "zh"
    best = request.accept_languages.best_match(["zh", "zh-CN", "en"], default="zh")
    return "en" if best and best.lower().startswith("en") else "zh"


def text(key: str, zh: str | None = None, en: str | None = None) -> str:
    """The message for `key` in the caller's language; `zh`/`en` override the catalogue."""
    default_zh, default_en = MESSAGES.get(key, (zh or key, en or key))
    if language() == "en":
        return en or default_en
    return zh or default_zh


def translate_field_message(message: str) -> str:
    """Translate one marshmallow message to Chinese unless the caller wants English."""
    if language() == "en":
        return message
    for pattern, replacement in _FIELD_PATTERNS:
        if pattern.match(message):
            return pattern.sub(replacement, message)
    return message


def translate_errors(errors):
    """Recursively translate a marshmallow error structure (dicts, lists, strings)."""
    if isinstance(errors, dict):
        return {key: translate_errors(value) for key, value in errors.items()}
    if isinstance(errors, list):
        return [translate_errors(item) for item in errors]
    if isinstance(errors, str):
        return translate_field_message(errors)
    return errors


def bilingual(zh: str, en: str) -> str:
    """Pick one of two texts for the caller's language (for validators' messages)."""
    return en if language() == "en" else zh
