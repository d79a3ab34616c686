"""What makes a received record loadable: the checks feeds.md implies, declared per
entity as data (``RecordSpec``) and applied by one function (``problem``).

A record that fails is not loaded and not dropped: the loader keeps it aside in
``etl.rejects`` with the field and the reason returned here. The checks are only those
the warehouse relies on (a key to identify the record, dates and amounts that cast,
codes it can decode); everything else stays as the source sent it, for staging to
rename and cast.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

_AMOUNT = re.compile(r"-?\d{1,12}(\.\d{1,2})?")
_DATE = re.compile(r"\d{4}[-/]\d{2}[-/]\d{2}")


@dataclass(frozen=True)
class RecordSpec:
    """The checks for one entity. Fields not named here are not checked.

    ``key`` fields must be present and non-empty; the others may be null/empty unless
    listed in ``required``, and when present must parse as their kind.
    """

    key: tuple[str, ...]
    required: tuple[str, ...] = ()
    timestamps: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()
    amounts: tuple[str, ...] = ()
    integers: tuple[str, ...] = ()
    codes: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def record_key(self, record: Mapping[str, Any]) -> str:
        return "|".join(str(record.get(name)) for name in self.key)


def _empty(value: Any) -> bool:
    return value is None or value == ""


def parse_date(value: str) -> dt.date:
    """``YYYY-MM-DD`` or ``YYYY/MM/DD`` (insurers use both in one file)."""
    if not _DATE.fullmatch(value):
        raise ValueError(value)
    return dt.date(int(value[:4]), int(value[5:7]), int(value[8:10]))


def parse_timestamp(value: str) -> dt.datetime:
    """ISO-8601 with an offset; a timestamp without one is ambiguous and refused."""
    stamp = dt.datetime.fromisoformat(value)
    if stamp.tzinfo is None:
        raise ValueError(value)
    return stamp


def _bad_value(kind: str, value: Any) -> bool:
    try:
        if kind == "timestamp":
            parse_timestamp(value)
        elif kind == "date":
            parse_date(value)
        elif kind == "amount":
            return not (isinstance(value, (str, int, float)) and not isinstance(value, bool)
                        and _AMOUNT.fullmatch(str(value)))
        elif kind == "integer":
            return not (isinstance(value, int) and not isinstance(value, bool)) and not (
                isinstance(value, str) and value.lstrip("-").isdigit())
        return False
    except (TypeError, ValueError):
        return True


def problem(spec: RecordSpec, record: Mapping[str, Any]) -> tuple[str, str] | None:
    """The first reason ``record`` cannot be loaded, as (field, reason), or None."""
    for name in spec.key:
        if _empty(record.get(name)):
            return name, "missing key"
    for name in spec.required:
        if _empty(record.get(name)):
            return name, "missing required field"
    for kind, names in (("timestamp", spec.timestamps), ("date", spec.dates),
                        ("amount", spec.amounts), ("integer", spec.integers)):
        for name in names:
            value = record.get(name)
            if not _empty(value) and _bad_value(kind, value):
                return name, f"unparseable {kind}: {value!r}"
    for name, allowed in spec.codes.items():
        value = record.get(name)
        if not _empty(value) and value not in allowed:
            return name, f"unknown code: {value!r}"
    return None
