"""The unified social credit code (统一社会信用代码, GB 32100-2015): every agency's id.

Eighteen characters from the 31 of ``ALPHABET`` (digits and capitals but I, O, Z, S, V):

=========  =====================================================================
position   meaning
=========  =====================================================================
1          registration authority (登记管理部门): ``1`` 机构编制 for government agencies
2          kind of organisation (机构类别): ``1`` 机关, ``2`` 事业单位, ``3`` 群团组织, ...
3-8        administrative division code (登记管理机关行政区划码) of the registering authority
9-17       organisation code (主体标识码, GB 11714)
18         check character: ``31 - (Σ value(cᵢ) × 3^(i-1) mod 31 for i = 1..17) mod 31``, written
           with ``ALPHABET`` (a result of 31 is written ``0``)
=========  =====================================================================

The platform checks the alphabet, the length and the check character, and that the division code is the
district the agency is registered in (``services.office_space.domain.agencies``). A code is never made
up by the platform: the registration authority issues it; ``with_check_character`` serves tests and the demo
city, which need codes that pass.
"""

from __future__ import annotations

from typing import Final

ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS: Final = tuple(pow(3, i, 31) for i in range(17))
"""1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28 (GB 32100-2015, 表 3)."""
LENGTH: Final = 18


def check_character(first17: str) -> str:
    """The 18th character that the first 17 call for."""
    total = sum(ALPHABET.index(char) * weight for char, weight in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def problem(code: str) -> str | None:
    """Why ``code`` is not a unified social credit code (None: it is one)."""
    if len(code) != LENGTH:
        return f"a unified social credit code has {LENGTH} characters, not {len(code)}"
    wrong = sorted({char for char in code if char not in ALPHABET})
    if wrong:
        return f"characters {''.join(wrong)!r} are not in a unified social credit code (no I, O, Z, S, V, lower case)"
    if not code[2:8].isdigit():
        return "characters 3 to 8 are an administrative division code (six digits)"
    expected = check_character(code[:17])
    if code[17] != expected:
        return f"check character {code[17]!r} does not match, {expected!r} expected"
    return None


def division_code(code: str) -> str:
    """The administrative division code a unified social credit code embeds (characters 3 to 8)."""
    return code[2:8]


def with_check_character(first17: str) -> str:
    """``first17`` completed by its check character (tests and the demo city)."""
    return first17 + check_character(first17)
