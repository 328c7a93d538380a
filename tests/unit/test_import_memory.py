"""A large list imports in bounded memory: rows stream from the file to the publisher one by one,
nothing is kept per row, and the publisher's send queue has a bound (a broker that falls behind
makes the import wait, not grow). The importer's peak RSS on the million-row list is in
`make bench` (tests/bench/leads.py)."""

from __future__ import annotations

import csv
import os
import tracemalloc
from pathlib import Path

import pytest
from confluent_kafka import Producer

from shared.kafka.publisher import PRODUCER_CONFIG, SEND_QUEUE_MESSAGES
from shared.operators.imports import import_leads
from tests.bench.leads import write_list


class Recording:
    """Stands in for the Publisher: what an import hands over, and how far the file was read then."""

    def __init__(self, path: Path):
        self.path = path
        self.published = 0
        self.file_read_at_first_event: int | None = None

    def publish(self, event_type: str, **fields) -> None:
        if self.published == 0:
            self.file_read_at_first_event = _read_position(self.path)
        self.published += 1

    def flush(self) -> None:
        pass


def _read_position(path: Path) -> int:
    """How far this process has read `path` (the position of its open file, from /proc)."""
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == str(path):
                return int(Path(f"/proc/self/fdinfo/{fd}").read_text().split()[1])
        except OSError:
            continue
    raise AssertionError(f"{path} is not open")


def _traced_peak(path: Path) -> tuple[int, int]:
    """The import's peak of Python allocations above what was allocated before it, and the events."""
    publisher = Recording(path)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        import_leads(path, publisher, progress=False)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    return peak, publisher.published


def test_the_first_rows_are_published_before_the_file_is_read_to_its_end(tmp_path):
    path = tmp_path / "list.csv"
    write_list(path, 20_000)
    publisher = Recording(path)
    summary = import_leads(path, publisher, progress=False)
    assert summary.published + summary.rejected == summary.rows == 20_000 == publisher.published
    # The encoding sample (256 KB) and a read buffer: a small part of the 3 MB file.
    assert publisher.file_read_at_first_event < path.stat().st_size / 4


def test_eight_times_the_rows_take_no_more_memory_and_every_row_is_published_or_rejected(tmp_path):
    small, large = tmp_path / "small.csv", tmp_path / "large.csv"
    write_list(small, 2_500)
    write_list(large, 20_000)
    with open(large, encoding="utf-8") as handle:
        rows = list(csv.reader(handle))[1:]
    rows[7][0], rows[7][1] = "0100233489", ""  # a wrong check digit and no name: a reject, with its row
    with open(large, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["tax_code", "company_name", "address", "phones", "emails"], *rows])

    small_peak, _ = _traced_peak(small)
    large_peak, published = _traced_peak(large)
    # Rows kept (as dicts, events or keys) would cost ~1 KB each: 17,500 more rows, ~17 MB more.
    assert large_peak < small_peak + 2 * 1024 * 1024, (small_peak, large_peak)
    assert published == 19_999
    with open(large.with_name("large.csv.rejects.csv"), encoding="utf-8") as handle:
        assert [(r["row"], r["field"]) for r in csv.DictReader(handle)] == [("8", "tax_code")]


def test_a_publisher_whose_broker_is_away_queues_a_bounded_number_of_events():
    # Nothing listens on the discard port: every event stays in the local queue until the bound.
    producer = Producer({"bootstrap.servers": "127.0.0.1:9", **PRODUCER_CONFIG})
    queued = 0
    with pytest.raises(BufferError):
        for _ in range(SEND_QUEUE_MESSAGES + 1):
            producer.produce("lead-imported", value=b"x" * 400, key=b"mst:0100233488")
            queued += 1
    assert queued == SEND_QUEUE_MESSAGES
    producer.purge()
    producer.flush(0)
