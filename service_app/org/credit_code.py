"""Unified social credit code (统一社会信用代码), GB 32100-2015.

18 characters from the alphabet 0-9 A-H J-N P-R T U W-Y (no I, O, Z, S, V):
registration authority (1), entity type (1), administrative division (6 digits),
organisation code (9), check character (1). The check character is
31 - (Σ value(c_i) × W_i mod 31), with W = 3^i mod 31 for i = 0..16, 31 mapping to 0.
"""

from __future__ import annotations

import re

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
VALUES = {char: index for index, char in enumerate(ALPHABET)}
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_SHAPE = re.compile(r"^[0-9A-HJ-NPQRTUW-Y]{2}\d{6}[0-9A-HJ-NPQRTUW-Y]{10}$")


def check_character(first17: str) -> str:
    """The 18th character for a 17-character prefix."""
    total = sum(VALUES[char] * weight for char, weight in zip(first17, WEIGHTS, strict=False))
    return ALPHABET[(31 - total % 31) % 31]


def is_valid(code: str) -> bool:
    """Shape (alphabet, 6-digit division code) and check character."""
    if not isinstance(code, str) or not _SHAPE.match(code):
        return False
    return check_character(code[:17]) == code[17]


def normalise(code: str) -> str:
    return code.strip().upper()


def make(prefix17: str) -> str:
    """Complete a 17-character prefix with its check character (seeds and tests)."""
    return prefix17 + check_character(prefix17)
