"""Age and sex as sources write them, and their generalised published form.

HIPAA Safe Harbor (45 CFR 164.514(b)(2)) allows ages up to 89; older ages are
pooled as 90+. Ages are published as a capped number and a ten-year band.
"""

from __future__ import annotations

import math
import re

AGE_CAP = 90

_SEX_WORDS = {
    "m": "M",
    "male": "M",
    "man": "M",
    "f": "F",
    "female": "F",
    "woman": "F",
}

# "age: 81", "<age>: 25", "Age: 45", "sex: female", "<sex>: M", "Gender: F".
_KEY_VALUE = re.compile(r"<?\b(age|sex|gender)>?\s*:\s*([^\s<,;]+)", re.IGNORECASE)
# MIT-BIH style: a comment line starts with age and sex, "69 M 1085 ...".
_AGE_SEX_PREFIX = re.compile(r"^\s*(\d{1,3})\s+([MF])\b")


def parse_age(text: str) -> float | None:
    """Return an age in years from ``text``, or None when it is not one.

    Accepts plain numbers and DICOM age strings (``"042Y"``, ``"006M"``,
    ``"003W"``, ``"010D"``). Values outside 0-150 years are treated as unknown,
    except PTB-XL's 300, which that database uses for ages over 89.
    """
    text = text.strip().upper()
    match = re.fullmatch(r"(\d{1,3}(?:\.\d+)?)([YMWD]?)", text)
    if not match:
        return None
    value = float(match.group(1))
    per_year = {"": 1.0, "Y": 1.0, "M": 12.0, "W": 52.18, "D": 365.25}
    years = value / per_year[match.group(2)]
    if years == 300:
        return float(AGE_CAP)
    if years < 0 or years > 150:
        return None
    return years


def parse_sex(text: str) -> str | None:
    """Return ``"M"`` or ``"F"`` from a source's spelling, or None."""
    return _SEX_WORDS.get(text.strip().lower())


def from_header_comments(comments: list[str]) -> tuple[float | None, str | None]:
    """Find age and sex in WFDB header comment lines.

    Parameters
    ----------
    comments : list of str
        The comment lines, without the leading ``#``.

    Returns
    -------
    age_years : float or None
    sex : ``"M"``, ``"F"`` or None
    """
    age = sex = None
    for line in comments:
        for key, value in _KEY_VALUE.findall(line):
            if key.lower() == "age" and age is None:
                age = parse_age(value)
            elif key.lower() in ("sex", "gender") and sex is None:
                sex = parse_sex(value)
    if age is None and sex is None:
        for line in comments:
            prefix = _AGE_SEX_PREFIX.match(line)
            if prefix:
                return parse_age(prefix.group(1)), parse_sex(prefix.group(2))
    return age, sex


def capped_age(age_years: float | None) -> int | None:
    """Whole years, with every age over 89 reported as 90 (meaning 90+)."""
    if age_years is None or math.isnan(age_years):
        return None
    return min(int(age_years), AGE_CAP)


def age_band(age_years: float | None) -> str | None:
    """Ten-year band such as ``"60-69"``; ``"90+"`` for ages over 89."""
    age = capped_age(age_years)
    if age is None:
        return None
    if age >= AGE_CAP:
        return f"{AGE_CAP}+"
    low = age // 10 * 10
    return f"{low}-{low + 9}"
