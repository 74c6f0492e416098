"""One config value against its field: `setting()` declares a field's help, choices and bounds, `coerce` checks
a value against the field's annotation and `check_bounds` against those bounds, each error naming the dotted key."""

from __future__ import annotations

import math
import re
import types
import typing
from dataclasses import field
from typing import Any

from .errors import ConfigError


def setting(default: Any = None, *, help: str = "", choices: tuple | None = None, minimum: float | None = None,
            maximum: float | None = None, above: float | None = None, one_line: bool = False,
            factory: Any = None) -> Any:
    """A config field with its one-line help, allowed choices and bounds (checked on load).

    `above`: the value must be greater than this (a learning rate of 0 trains nothing); `one_line`: a name or a
    path, so no line breaks or other control characters."""
    meta = {"help": help, "choices": choices, "minimum": minimum, "maximum": maximum, "above": above,
            "one_line": one_line}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp)).replace("NoneType", "null")


def coerce(value: Any, tp: Any, key: str) -> Any:
    """Check `value` against the annotation `tp`; ints are accepted for floats, strings like '1e-4' too."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return coerce(value, arg, key)
            except ConfigError as e:
                errors.append(e)
        raise errors[0] if errors else ConfigError("config.bad_value", key=key, value=value)
    if origin is list:
        (item_tp,) = typing.get_args(tp)
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise ConfigError("config.expected_list", key=key, value=value)
        return [coerce(v, item_tp, f"{key}[{i}]") for i, v in enumerate(value)]
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError("config.expected_bool", key=key, value=value)
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            if abs(value) > 2**63 - 1:
                raise ConfigError("config.int_too_big", key=key, value=value)
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError("config.expected_int", key=key, value=value)
    if tp is float:
        number = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                number = float(value)
            except OverflowError:  # an integer of hundreds of digits
                raise ConfigError("config.too_many_digits", key=key, digits=len(str(value))) from None
        elif isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                pass
        if number is not None and not math.isfinite(number):  # YAML reads .nan/.inf, and float() takes "nan"
            raise ConfigError("config.not_finite", key=key, value=value)
        if number is not None:
            return number
        raise ConfigError("config.expected_number", key=key, value=value)
    if tp is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            if "\x00" in str(value):
                raise ConfigError("config.nul_byte", key=key, value=value)
            return str(value)
        raise ConfigError("config.expected_text", key=key, value=value)
    raise ConfigError("config.unsupported_type", key=key, type=_type_name(tp))


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_bounds(value: Any, meta: typing.Mapping, key: str) -> None:
    if meta.get("one_line") and isinstance(value, str) and _CONTROL.search(value):
        raise ConfigError("config.control_character", key=key, value=value)
    above = meta.get("above")
    if above is not None and isinstance(value, (int, float)) and not isinstance(value, bool) and value <= above:
        raise ConfigError("config.not_above", key=key, value=value, lo=f"{above:g}")
    choices = meta.get("choices")
    if choices is not None and value not in choices:
        allowed = ", ".join("null" if c is None else str(c) for c in choices)
        raise ConfigError("config.not_allowed", key=key, value=value, allowed=allowed)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        lo, hi = meta.get("minimum"), meta.get("maximum")
        if lo is not None and value < lo:
            raise ConfigError("config.too_small", key=key, value=value, lo=lo)
        if hi is not None and value > hi:
            raise ConfigError("config.too_large", key=key, value=value, hi=hi)
