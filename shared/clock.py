"""The time a service lives in: the wall clock, or a file that tests and demos move forward."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from shared.kafka import utc_now
from shared.runtime import Clock


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
