"""Time: the wall clock in UTC, Avro's millisecond precision, and a file clock that tests and demos
move forward without sleeping."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def to_millis(moment: dt.datetime) -> dt.datetime:
    """Avro timestamp-millis keeps milliseconds: truncate so an event equals its decoded self."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def file_clock(path: str) -> Clock:
    def now() -> dt.datetime:
        moment = dt.datetime.fromisoformat(Path(path).read_text().strip())
        if moment.tzinfo is None:
            raise ValueError(f"{path}: the clock needs a time with its offset, got {moment.isoformat()}")
        return moment
    return now


def set_file_clock(path: str | Path, moment: dt.datetime) -> None:
    target = Path(path)
    staging = target.with_suffix(".tmp")
    staging.write_text(moment.isoformat())
    staging.replace(target)  # atomic: a reader never sees half a timestamp


def clock_for(clock_file: str | None) -> Clock:
    return file_clock(clock_file) if clock_file else utc_now
