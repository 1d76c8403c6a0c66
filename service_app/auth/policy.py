"""The password policy (DESIGN §10, §15): one home for what a new password must be.

At least 8 characters with a letter and a digit (other characters welcome), not the username, not
on a short list of passwords every guessing attack tries first; the demo accounts' password is also
refused under APP_ENV=production, where a demo-style default must never protect a real account.
"""

from __future__ import annotations

from flask import current_app

from service_app.common.i18n import bilingual
from service_app.errors import ValidationFailed

MIN_LENGTH = 8
# The password of the demo data set (seeds/demo.py), refused as a new password in production.
DEMO_PASSWORD = "Demo@2019"
# Passwords that pass the length and letter/digit rules but lead every guessing list (lower case;
# compared without regard to case). Chinese lists add pinyin and 520/1314 ("I love you forever").
COMMON_PASSWORDS = frozenset(
    {
        "password1",
        "password12",
        "password123",
        "passw0rd",
        "p@ssw0rd",
        "p@ssword1",
        "pa$$w0rd",
        "abc12345",
        "abcd1234",
        "abc123456",
        "abc@1234",
        "a1234567",
        "a12345678",
        "a123456789",
        "aa123456",
        "aa12345678",
        "123456aa",
        "123456abc",
        "12345678a",
        "123456789a",
        "1234qwer",
        "qwer1234",
        "qwerty123",
        "qwerty12",
        "qwe12345",
        "qweasd123",
        "1qaz2wsx",
        "1q2w3e4r",
        "1q2w3e4r5t",
        "zaq12wsx",
        "asd12345",
        "asdf1234",
        "zxc12345",
        "zxcv1234",
        "qq123456",
        "admin123",
        "admin@123",
        "admin1234",
        "admin888",
        "root1234",
        "test1234",
        "test@123",
        "user1234",
        "welcome1",
        "changeme1",
        "letmein1",
        "iloveyou1",
        "woaini1314",
        "woaini520",
        "5201314a",
        "a5201314",
        "huawei123",
        "abcd@1234",
    }
)

RULES = {
    "too_short": ("密码至少 8 位", "At least 8 characters"),
    "letters_and_digits": ("密码须同时包含字母和数字", "Must contain both a letter and a digit"),
    "same_as_username": ("密码不能与用户名相同", "Must not be the username"),
    "common": ("密码过于常见，容易被猜中，请换一个", "Too common, easily guessed; choose another"),
    "demo_password": ("不能使用演示账号的默认密码", "The demo accounts' default password is not allowed"),
}


def broken_rule(password: str, *, username: str) -> str | None:
    """The first rule `password` breaks, or None."""
    lowered = password.lower()
    if len(password) < MIN_LENGTH:
        return "too_short"
    if not any(c.isalpha() for c in password) or not any(c.isdigit() for c in password):
        return "letters_and_digits"
    if lowered == username.strip().lower():
        return "same_as_username"
    if lowered in COMMON_PASSWORDS:
        return "common"
    if current_app.config["APP_ENV"] == "production" and lowered == DEMO_PASSWORD.lower():
        return "demo_password"
    return None


def check_password(password: str, *, username: str, field: str = "new_password") -> None:
    """422 naming `field` and the rule (`password_rule`) when `password` may not be used."""
    rule = broken_rule(password, username=username)
    if rule is not None:
        raise ValidationFailed(errors={field: [bilingual(*RULES[rule])]}, extra={"password_rule": rule})
