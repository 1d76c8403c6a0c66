"""User-facing text: Chinese by default, English with `Accept-Language: en`.

Messages are keyed by a stable code; each entry is (zh, en). Marshmallow's field messages are
translated by pattern so that 422 answers read naturally in either language.
"""

from __future__ import annotations

import re

from flask import has_request_context, request

MESSAGES: dict[str, tuple[str, str]] = {
    # HTTP-level
    "bad_request": ("请求格式错误", "Bad request"),
    "invalid_json": ("请求体不是有效的 JSON", "The request body is not valid JSON"),
    "unauthorized": ("未登录或登录已失效", "Authentication required"),
    "token_expired": ("登录已过期，请重新登录", "The token has expired"),
    "token_invalid": ("令牌无效", "The token is invalid"),
    "token_revoked": ("令牌已失效，请重新登录", "The token has been revoked"),
    "user_inactive": ("账号不存在或已停用", "The account does not exist or is disabled"),
    "forbidden": ("无权执行此操作", "You are not allowed to do this"),
    "not_found": ("资源不存在", "Not found"),
    "method_not_allowed": ("不支持该请求方法", "Method not allowed"),
    "conflict": ("操作与当前状态冲突", "The request conflicts with the current state"),
    "precondition_failed": ("数据已被他人修改，请刷新后重试", "The resource has changed; reload and retry"),
    "payload_too_large": ("请求内容过大", "The request body is too large"),
    "unsupported_media_type": ("不支持的内容类型", "Unsupported content type"),
    "validation_failed": ("提交的数据有误", "Some fields are invalid"),
    "too_many_requests": ("请求过于频繁，请稍后再试", "Too many requests; try again later"),
    "internal_error": ("服务器内部错误", "Internal server error"),
    "service_unavailable": ("服务暂不可用", "Service unavailable"),
    # auth
    "bad_credentials": ("用户名或密码错误", "Wrong username or password"),
    "refresh_reused": ("刷新令牌已使用过，请重新登录", "This refresh token was already used; log in again"),
    "username_taken": ("用户名已存在", "This username is taken"),
    "password_change_required": ("请先修改密码", "Change your password first"),
    "bad_sms_code": ("手机号或验证码错误", "Wrong phone number or code"),
    "phone_taken": ("该手机号已被其他账号使用", "Another account has this phone number"),
    # org
    "credit_code_taken": ("统一社会信用代码已存在", "This unified social credit code is already registered"),
    "link_exists": ("该干部已与该企业结对", "This cadre is already linked to this enterprise"),
    "invalid_reference": ("引用的对象不存在", "A referenced object does not exist"),
}

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
