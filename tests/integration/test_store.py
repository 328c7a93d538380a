"""The store's batch reads (StoreSession.prefetch) and writes (StoreSession.stage), on SQLite and on PostgreSQL."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from sqlalchemy import event, func, select

from shared import store
from shared.privacy import suppression
from shared.privacy.subjects import Subject
from shared.store import session_factory
from shared.store.models import BlockedRequest, Contact, Deadline, OutreachLead

pytestmark = pytest.mark.integration


@contextlib.contextmanager
def counting_queries(session):
    queries = []
    engine = session.get_bind()

    def listener(_connection, _cursor, sql, *_rest):
        if sql.lstrip().startswith("SELECT"):
            queries.append(sql)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield queries
    finally:
        event.remove(engine, "before_cursor_execute", listener)


@pytest.fixture
def sessions(database_url):
    sessions = session_factory(database_url, for_writes=True)
    with sessions.begin() as session:
        session.add_all([OutreachLead(lead_id="L1", province_code="01"), OutreachLead(lead_id="L2", province_code="79")])
    return sessions


def test_prefetched_rows_and_missing_keys_are_answered_without_a_query(sessions):
    with sessions.begin() as session:
        session.prefetch(OutreachLead, ["L1", "L2", "L3"])
        with counting_queries(session) as queries:
            found = [session.get(OutreachLead, key) for key in ("L1", "L2", "L3")]
        assert [lead.province_code if lead else None for lead in found] == ["01", "79", None]
        assert queries == []


def test_a_prefetch_larger_than_a_statement_takes_is_read_in_slices(sessions, monkeypatch):
    monkeypatch.setattr(store, "_PREFETCH_SLICE", 2)
    with sessions.begin() as session:
        with counting_queries(session) as queries:
            session.prefetch(OutreachLead, ["L1", "L2", "L3"])
        assert len(queries) == 2
        with counting_queries(session) as queries:
            assert [session.get(OutreachLead, key) is not None for key in ("L1", "L2", "L3")] == [True, True, False]
        assert queries == []


def test_each_batch_prefetches_its_own_keys_with_the_one_statement_built_for_them(sessions):
    """The prefetch's statement is built once and its keys bound at each execution: a batch must not
    see the rows of the batch before."""
    found = []
    for keys in (["L1"], ["L2", "L3"], ["L3"]):
        with sessions.begin() as session:
            session.prefetch(OutreachLead, keys)
            with counting_queries(session) as queries:
                found.append(sorted(lead.lead_id for lead in (session.get(OutreachLead, k) for k in keys) if lead))
            assert queries == []
    assert found == [["L1"], ["L2"], []]  # L3 is in no store


def test_a_row_added_after_the_prefetch_is_found_before_and_after_its_flush(sessions):
    with sessions.begin() as session:
        session.prefetch(OutreachLead, ["L3"])
        added = OutreachLead(lead_id="L3", province_code="48")
        session.add(added)
        assert session.get(OutreachLead, "L3") is added
        session.flush()
        del added  # the identity map alone holds clean rows weakly: the batch keeps it
        with counting_queries(session) as queries:
            assert session.get(OutreachLead, "L3").province_code == "48"
        assert queries == []
    with sessions() as session:
        assert session.get(OutreachLead, "L3").province_code == "48"


def test_a_row_added_in_a_rolled_back_savepoint_is_missing_again(sessions):
    with sessions.begin() as session:
        session.prefetch(OutreachLead, ["L3"])
        with contextlib.suppress(RuntimeError), session.begin_nested():
            session.add(OutreachLead(lead_id="L3", province_code="48"))
            session.flush()
            raise RuntimeError("the handler failed")
        assert session.get(OutreachLead, "L3") is None


def test_a_session_that_prefetched_nothing_reads_as_usual(sessions):
    with sessions.begin() as session:
        with counting_queries(session) as queries:
            assert session.get(OutreachLead, "L3") is None
            assert session.get(Contact, ("L1", "+84901234567")) is None
        assert len(queries) == 2


# --- staged rows (StoreSession.stage): a batch's new rows, written a statement per table -----------

def test_staged_rows_are_found_before_their_flush_and_stored_as_the_orm_stores_its_objects(sessions):
    at = dt.datetime(2026, 3, 10, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))
    with sessions.begin() as session:
        session.prefetch(Deadline, ["staged"])
        staged = session.stage(Deadline, deadline_id="staged", kind="reply_wait", subject_id="L1", due_at=at,
                               payload={"correlation_id": "c", "phones": ["+84912345678"]})
        session.stage(BlockedRequest, lead_id="L1", channel="sms", reason="no_consent", decided_at=at)
        session.stage(BlockedRequest, lead_id="L2", channel="call", reason="hours", decided_at=at)
        session.add(Deadline(deadline_id="added", kind="reply_wait", subject_id="L1", due_at=at,
                             payload={"correlation_id": "c", "phones": ["+84912345678"]}))
        with counting_queries(session) as queries:
            assert session.get(Deadline, "staged") is staged
        assert queries == []
        staged.due_at = at + dt.timedelta(hours=1)  # changed before the flush: stored as changed
        # A query sees them (autoflush), numbered rows get their numbers.
        assert sorted(session.scalars(select(BlockedRequest.blocked_id))) == [1, 2]
        with pytest.raises(RuntimeError):
            staged.due_at = at  # written already: a change now would be lost
    with sessions() as session:
        stored, added = session.get(Deadline, "staged"), session.get(Deadline, "added")
        assert (stored.due_at, stored.payload, stored.fired_at, stored.published) == (
            at + dt.timedelta(hours=1), added.payload, None, False)
        assert stored.due_at.utcoffset() == added.due_at.utcoffset() == dt.timedelta(0)
        assert [(r.lead_id, r.reason, r.decided_at) for r in session.scalars(
            select(BlockedRequest).order_by(BlockedRequest.blocked_id))] == [("L1", "no_consent", at), ("L2", "hours", at)]


def test_a_row_staged_in_a_savepoint_is_rolled_back_with_it(sessions):
    with sessions.begin() as session:
        with contextlib.suppress(RuntimeError), session.begin_nested():
            session.stage(OutreachLead, lead_id="L3", province_code="48")
            raise RuntimeError("the handler failed")
        session.stage(OutreachLead, lead_id="L4", province_code="01")
    with sessions() as session:
        assert session.get(OutreachLead, "L3") is None
        assert session.get(OutreachLead, "L4").province_code == "01"


def test_more_staged_rows_than_one_statement_takes_are_all_stored_in_order_with_their_own_instants(sessions):
    # 9,000 rows of 4 columns: more than SQLite's 32,766 parameters a statement. The same instant in
    # two zones, and instants that differ by a second, each stored as itself (converted once a batch).
    at = dt.datetime(2026, 3, 10, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))
    instants = [at, at.astimezone(dt.timezone.utc), at + dt.timedelta(seconds=1)]
    with sessions.begin() as session:
        for i in range(9_000):
            session.stage(BlockedRequest, lead_id=f"L{i}", channel="sms", reason="no_consent",
                          decided_at=instants[i % 3])
    with sessions() as session:
        stored = list(session.execute(select(BlockedRequest.blocked_id, BlockedRequest.lead_id,
                                             BlockedRequest.decided_at).order_by(BlockedRequest.blocked_id)))
    assert [(number, lead, decided) for number, lead, decided in stored] == [
        (i + 1, f"L{i}", instants[i % 3]) for i in range(9_000)]
    assert {decided.utcoffset() for _, _, decided in stored} == {dt.timedelta(0)}


def test_a_tables_inserts_take_a_few_statement_texts_whatever_the_batch_sizes(sessions, database_url):
    # sqlite3 keeps a prepared statement per text (the last 128): one text per row count held ~55 MB.
    texts = set()
    with sessions() as session:
        engine = session.get_bind()

    def listener(_connection, _cursor, sql, *_rest):
        if sql.startswith("INSERT INTO blocked_requests"):
            texts.add(sql)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        for size in range(1, 700, 7):
            with sessions.begin() as session:
                for i in range(size):
                    session.stage(BlockedRequest, lead_id=f"L{size}-{i}", channel="sms", reason="no_consent",
                                  decided_at=dt.datetime(2026, 3, 10, 3, tzinfo=dt.timezone.utc))
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(BlockedRequest)) == sum(range(1, 700, 7))
    assert len(texts) <= (9 if database_url.startswith("sqlite") else 1)


def test_suppression_finds_the_erased_among_a_batchs_identifiers_on_each_database(sessions):
    """The suppression check of every batch (its statement built once, the hashes bound at execution)."""
    at = dt.datetime(2026, 11, 24, tzinfo=dt.timezone.utc)
    with sessions.begin() as session:
        suppression.suppress(session, "key", Subject(phones={"+84912345678"}, lead_ids={"mst:0101234567"}), "R1", at)
    for names, erased in (({"+84912345678", "+84987654321"}, {"+84912345678"}), ({"mst:0101234567"}, {"mst:0101234567"}),
                          ({"+84987654321"}, set()), (set(), set())):
        with sessions() as session:
            assert suppression.suppressed(session, "key", names) == erased
        with sessions() as session:  # under another key, the same hashes name nobody
            assert suppression.suppressed(session, "another key", names) == set()


def test_each_sqlite_connection_keeps_a_page_cache_for_a_growing_stores_indexes(tmp_path):
    # The default 2 MB held too little of a large store's indexes: a segmenter's inserts slowed as it grew.
    sessions = session_factory(f"sqlite:///{tmp_path / 'store.db'}")
    with sessions() as first, sessions() as second:  # two connections of the pool
        for session in (first, second):
            assert session.connection().exec_driver_sql("PRAGMA cache_size").scalar() == -store.SQLITE_CACHE_KIB
    assert store.SQLITE_CACHE_KIB * 1024 >= 16 * 2**20


def test_sqlite_copies_its_write_ahead_log_back_every_several_batches_and_keeps_it_bounded(tmp_path):
    # A batch of leads writes ~900 pages to the log: at SQLite's default (1,000) nearly every commit copied its
    # pages back into the database file and synced it.
    path = tmp_path / "store.db"
    sessions = session_factory(f"sqlite:///{path}")
    log, page = tmp_path / "store.db-wal", 4096
    with sessions() as session:
        session.connection().exec_driver_sql("CREATE TABLE pages (content BLOB)")
        session.commit()

    def commit_pages(count: int) -> None:  # a row a page
        with sessions() as session:
            session.connection().exec_driver_sql("INSERT INTO pages VALUES " + ",".join(["(zeroblob(3500))"] * count))
            session.commit()

    for _ in range(4):
        commit_pages(900)
    assert log.stat().st_size > 3_600 * page  # four batches' pages still in the log, none copied back yet
    for _ in range(store.SQLITE_CHECKPOINT_PAGES // 900 + 4):
        commit_pages(900)
    assert log.stat().st_size < (store.SQLITE_CHECKPOINT_PAGES + 2 * 900) * page  # copied back, the log written again
    with sessions() as session:
        assert session.connection().exec_driver_sql("SELECT count(*) FROM pages").scalar() == 900 * (
            store.SQLITE_CHECKPOINT_PAGES // 900 + 8)
