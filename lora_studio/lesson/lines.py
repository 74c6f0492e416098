"""The lesson's short lines (lora_studio/text/lesson.py, keys "lesson.<key>"): `line(key, lang, **values)` fills one
in; and the number formats the lesson's texts use."""

from __future__ import annotations

import unicodedata

from ..text import render

LANGUAGES = ("en", "ja")


def line(key: str, lang: str = "en", **values: object) -> str:
    """One line in `lang` ('en' or 'ja') with `values` filled in."""
    if lang not in LANGUAGES:
        raise KeyError(f"no texts in language '{lang}'; choose one of: {', '.join(LANGUAGES)}")
    return render(f"lesson.{key}", lang, **values)


def fmt_lr(rate: float) -> str:
    """A learning rate the way the tutorial writes it: 1e-4, 2.5e-5."""
    if rate == 0:
        return "0"
    mantissa, exponent = f"{rate:.2e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def fmt_pct(fraction: float, lang: str = "en") -> str:
    value = f"{fraction * 100:.1f}".removesuffix(".0")
    return f"{value} %" if lang == "en" else f"{value}%"


def fmt_times(ratio: float) -> str:
    return f"{ratio:.3g}"


def display_width(text: str) -> int:
    """Terminal columns: Japanese characters take two, so the summary's columns line up in both languages."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, width: int, right: bool = False) -> str:
    space = " " * max(0, width - display_width(text))
    return space + text if right else text + space
