"""The store: SQLAlchemy engine and sessions, SQLite by default, PostgreSQL via DATABASE_URL."""

from __future__ import annotations

import functools
import itertools
import json
import operator
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import ARRAY, Date, LargeBinary, Select, any_, bindparam, create_engine, event, func, insert, inspect, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool
from sqlalchemy.util import IdentitySet

from shared.store.models import Base, UtcDateTime

MIGRATIONS = Path(__file__).with_name("migrations")
SQLITE_CACHE_KIB = 16_384  # each SQLite connection's page cache (see make_engine)
SQLITE_CHECKPOINT_PAGES = 10_000  # the write-ahead log's size (4 KiB pages) that a commit checkpoints at


def make_engine(url: str, immediate: bool = False) -> Engine:
    """`immediate`: on SQLite, every transaction takes the write lock up front (for services,
    whose transactions read then write: two of them never deadlock upgrading a read lock)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    in_memory = parsed.database in (None, "", ":memory:")
    if not in_memory:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    # In memory (tests of handlers): one connection, or every session would see its own empty database.
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False},
                           **({"poolclass": StaticPool} if in_memory else {}))

    @event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi_connection, _record):
        # Let SQLAlchemy issue BEGIN itself so that SAVEPOINTs work (pysqlite's own transaction
        # handling breaks them), and let several service processes share one file.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        # SQLite's default page cache, 2 MB, holds little of a growing store's random-key indexes
        # (processed events by id, contacts by value): past ~20,000 leads, most of a segmenter's
        # inserts read index pages from the OS again, and its SQL time a lead rose from 27 to ~70 µs
        # over 92,000 leads. 16 MB (taken as it fills) kept it at 38-52; 32 MB did no better there
        # and put a segmenter at 197 MB of the 200 it may use on a million-row list.
        cursor.execute(f"PRAGMA cache_size={-SQLITE_CACHE_KIB}")
        # A batch of 500 leads writes ~900 pages to the log (its random-key indexes' leaves): at SQLite's
        # default of 1,000 pages, nearly every commit copied them back into the database file and synced
        # it. At 10,000 (a log of ~40 MB), a page written by several batches is copied once: a
        # segmenter's time a lead over 184,000 leads went from 161-181 µs to 141-148 in process.
        cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_CHECKPOINT_PAGES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def migrate(url: str) -> None:
    """Bring the database to the newest schema (Alembic), creating it if needed."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, "head")


def among(session: Session, column: Any, keys: Iterable[Any]) -> Any:
    """`column IN keys` as one bound array (PostgreSQL) or JSON array (SQLite): compiled once, however
    many keys, where an IN list costs SQLAlchemy a bound parameter per key at every execution (more
    than the query itself for a batch's thousand keys), and SQLite takes at most 32,766 of them."""
    dialect = session.get_bind().dialect.name
    return in_keys(dialect, column, value=bound_keys(dialect, keys))


def in_keys(dialect: str, column: Any, name: str | None = None, **value: Any) -> Any:
    """`among`'s condition with the keys' `value`, or, named without one, with a parameter bound at
    execution (`{name: bound_keys(dialect, keys)}`): a statement built once for every batch. For a
    batch of a few keys, building a statement and its cache key cost SQLAlchemy more than running it."""
    if dialect == "sqlite":
        return column.in_(select(func.json_each(bindparam(name, **value)).table_valued("value").c.value))
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(column.type), **value))
    return column.in_(bindparam(name, expanding=True, **value))


def bound_keys(dialect: str, keys: Iterable[Any]) -> Any:
    """The keys as `in_keys`' one bound value: a JSON array on SQLite, a list elsewhere."""
    keys = sorted(keys)
    return json.dumps(keys) if dialect == "sqlite" else keys


def execute_by_keys(session: Session, statement_for: Callable[[str], Select], keys: Iterable[Any],
                    **parameters: Any) -> Any:
    """Executes the statement `statement_for(dialect)` builds once (a functools.cache), whose condition is
    `in_keys(dialect, column, "keys")`, with `keys` (and any other named `parameters`) bound now."""
    dialect = session.get_bind().dialect.name
    return session.execute(statement_for(dialect), {"keys": bound_keys(dialect, keys), **parameters})


@functools.cache
def _prefetch_statement(model: type, dialect: str) -> Select:
    (key_column,) = inspect(model).primary_key
    return select(model).where(in_keys(dialect, key_column, "keys"))


class Row(dict):
    """A new row staged for a batch's bulk insert (`StoreSession.stage`): its columns read and set as
    attributes, like the model's object would be, without the ORM's per-object bookkeeping."""

    __slots__ = ("written",)

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "written":
            object.__setattr__(self, name, value)
            return
        if self.written:
            # Inserted already: a change now would be lost; a handler reads the row again instead.
            raise RuntimeError(f"{name} set on a staged row after it was written")
        self[name] = value


class StoreSession(Session):
    """A session that can read a whole batch's rows up front and write its new rows at once.

    `get()` answers from the identity map for a row loaded before, but a row that does not exist
    costs a query every time it is asked for: most of what a new lead's handler looks up (its
    consent, its call task) does not exist yet. `prefetch` loads the rows of a batch in one query
    per table, keeps them alive for the session (the identity map holds clean rows weakly), and
    remembers the keys it did not find, so that `get()` answers those without SQL until an object
    with that key is added or staged.

    `stage` keeps a new row as a plain `Row` until the next flush (an explicit one, a query's
    autoflush, the commit), which inserts the staged rows a statement per table; `get()` finds a
    staged row by its key meanwhile. Inside a savepoint (a handler that may fail alone) it adds the
    model's object as usual, so that the savepoint's rollback takes the row with it."""

    def prefetch(self, model: type, keys: Iterable[Any]) -> None:
        """Loads the rows of `model` (one primary-key column) whose key is in `keys`."""
        wanted = set(keys)
        if not wanted:
            return
        (key_column,) = inspect(model).primary_key
        ordered = sorted(wanted)
        statement_for = functools.partial(_prefetch_statement, model)
        # In slices: a statement's array of keys stays bounded whatever the batch.
        slices = [ordered[start:start + _PREFETCH_SLICE] for start in range(0, len(ordered), _PREFETCH_SLICE)]
        rows = [row for keys_ in slices for row in execute_by_keys(self, statement_for, keys_).scalars()]
        found = {(model, (getattr(row, key_column.key),)): row for row in rows}
        self.info.setdefault(_FOUND, {}).update(found)
        self.info.setdefault(_ADDED, {})
        self.info.setdefault(_ABSENT, set()).update(
            absent for absent in ((model, (key,)) for key in wanted) if absent not in found)

    def stage(self, model: type, **values: Any) -> Any:
        """A new row of `model` with `values` (the others at their column defaults): a `Row` written
        at the next flush, or, inside a savepoint, the model's object added to the session."""
        if self.in_nested_transaction():
            instance = model(**values)
            self.add(instance)
            return instance
        return self._staged(model, values)

    def _staged(self, model: type, values: dict[str, Any]) -> Row:
        defaults, made, key_of = _template(model)
        row = Row(defaults, **values)
        _set_written(row, False)
        for column, make in made:  # a fresh dict or list for each row
            if column not in values:
                row[column] = make(None)
        info = self.info
        staged = info.get(_ROWS)
        if staged is None:
            staged = info[_ROWS] = {}
        ident = key_of(row)
        if ident is None:  # numbered by the database on insert: found by no get()
            staged[model, (_NUMBERED, id(row))] = row
            return row
        key = (model, ident)
        if key in staged:
            raise ValueError(f"{model.__name__} {ident} staged twice")  # as the insert would fail
        absent = info.get(_ABSENT)
        if absent:
            absent.discard(key)
        staged[key] = row
        return row

    @property
    def new(self) -> IdentitySet:
        """The objects added and the rows staged, not written yet (what a read-only service must not have)."""
        return IdentitySet([*super().new, *self.info.get(_ROWS, {}).values()])

    def insert_added(self) -> None:
        """Inserts the objects added since the last flush with the staged rows, one statement per
        table, without the unit of work's bookkeeping for each (a batch of leads adds thousands):
        they leave the session, written. Rows changed or deleted are left to the next flush as usual."""
        added = list(super().new)
        values = []
        for instance in added:
            state = inspect(instance)
            values.append((state.class_, {attr.key: state.dict[attr.key] for attr in state.mapper.column_attrs
                                          if attr.key in state.dict}))
        for instance in added:
            self.expunge(instance)
        for model, columns in values:
            self._staged(model, columns)
        self.write_staged()

    def write_staged(self) -> None:
        """Inserts the staged rows: one statement per table (and per set of columns given)."""
        staged: dict[tuple, Row] | None = self.info.pop(_ROWS, None)
        if not staged:
            return
        # By the columns given, in the order given: a model's rows (made by `_staged`) mostly list them alike.
        by_shape: dict[tuple[type, tuple[str, ...]], list[Row]] = {}
        for (model, _), row in staged.items():
            _set_written(row, True)
            by_shape.setdefault((model, tuple(row)), []).append(row)
        connection = self.connection()
        for (model, columns), rows in sorted(by_shape.items(), key=lambda item: _TABLE_ORDER[item[0][0].__table__]):
            # Straight to the driver: SQLAlchemy's per-row parameter handling cost more than the insert.
            for sql, parameters in _insert(model.__table__, frozenset(columns), connection.dialect)(rows):
                connection.exec_driver_sql(sql, parameters)

    def flush(self, objects: Any = None) -> None:
        self.write_staged()
        super().flush(objects)

    def get(self, entity: Any, ident: Any, **kwargs: Any) -> Any:
        info = self.info
        if not kwargs and (_ROWS in info or _ABSENT in info):
            key = (entity, ident if isinstance(ident, tuple) else (ident,))
            staged = info.get(_ROWS)
            if staged and key in staged:
                return staged[key]
            if key in info.get(_ABSENT, ()):
                return None
            # Prefetched: the identity map's object, without Session.get's own look-up.
            found = info.get(_FOUND, {}).get(key)
            if found is not None:
                state = inspect(found)
                if state.persistent and not state.expired:
                    return found
            # Added in this batch and not flushed yet: the same object a flush and a query would find.
            added = info.get(_ADDED, {}).get(key)
            if added is not None and inspect(added).pending:
                return added
        return super().get(entity, ident, **kwargs)


_ABSENT, _ADDED, _FOUND, _ROWS = "careflow.absent", "careflow.added", "careflow.found", "careflow.rows"
_set_written = Row.written.__set__  # the slot's own setter: Row.__setattr__ would take it for a column
_PREFETCH_SLICE = 10_000
_SQLITE_PARAMETERS = 32_766  # the most SQLite takes in a statement
# The most rows a multi-row INSERT takes. sqlite3 keeps the last 128 statement texts prepared, one for
# each row count it saw: statements of any count up to 32,766 parameters held ~55 MB in a segmenter.
_SQLITE_ROWS = 256
_NUMBERED = object()
# Parents before children, should a foreign key ever join two tables a batch writes.
_TABLE_ORDER = {table: position for position, table in enumerate(Base.metadata.sorted_tables)}


@event.listens_for(StoreSession, "before_commit")
def _write_staged(session: StoreSession) -> None:
    # The commit flushes only a session with pending ORM changes: staged rows alone would be left out.
    session.write_staged()


@event.listens_for(StoreSession, "transient_to_pending")
def _no_longer_absent(session: Session, instance: Any) -> None:
    if _ABSENT in session.info:
        key = (type(instance), tuple(inspect(instance).mapper.primary_key_from_instance(instance)))
        session.info[_ABSENT].discard(key)
        # Held, so that a later get() in the batch finds it in the identity map once flushed.
        session.info[_ADDED][key] = instance


@functools.cache
def _template(model: type) -> tuple[dict[str, Any], list[tuple[str, Any]], Callable[[Row], tuple | None]]:
    """A new row of `model`: its columns at their constant defaults (an autoincrement key left to
    the database), the columns whose default is made per row (dict, list), and its key's getter."""
    defaults: dict[str, Any] = {}
    made: list[tuple[str, Any]] = []
    for column in model.__table__.columns:
        if column.default is not None and column.default.is_callable:
            made.append((column.key, column.default.arg))
        elif column.default is not None:
            defaults[column.key] = column.default.arg
        elif not (column.primary_key and column.autoincrement is True):
            defaults[column.key] = None
    columns = model.__table__.primary_key.columns
    keys = [column.key for column in columns]
    get = operator.itemgetter(*keys)
    key_of = get if len(keys) > 1 else lambda row: (get(row),)
    numbered = [column.key for column in columns if column.autoincrement is True]
    if numbered:  # None until the database numbers it
        return defaults, made, lambda row: key_of(row) if numbered[0] in row else None
    return defaults, made, key_of


def _row_counts(rows: int, most: int) -> list[int]:
    """`rows` as the row counts of its statements: `most` each, the rest in powers of two, so that a
    table's inserts have a few statement texts (a few prepared statements), whatever the batch."""
    counts = [most] * (rows // most)
    rest = rows % most
    while rest:
        counts.append(1 << (rest.bit_length() - 1))
        rest -= counts[-1]
    return counts


@functools.cache
def _insert(table: Any, columns: frozenset[str], dialect: Any) -> Callable[[list[Row]], list[tuple[str, Any]]]:
    """What inserts rows of `table`'s `columns`: the driver's statements and their parameters, the
    INSERT compiled once, each value through its column type's bind processing (UTC, JSON, dates on
    SQLite). On SQLite, many rows a statement (`VALUES (…), (…)`: a third of executemany's cost a row);
    elsewhere one executemany (psycopg pipelines it)."""
    compiled = insert(table).compile(dialect=dialect, column_keys=sorted(columns))
    names = list(compiled.positiontup) if compiled.positional else sorted(columns)
    width = len(names)
    processors = []
    for position, name in enumerate(names):
        column_type = table.c[name].type
        if dialect.name == "sqlite" and isinstance(column_type, LargeBinary):
            continue  # sqlite3 binds bytes as a BLOB itself: SQLAlchemy's processor wraps each in a memoryview
        process = column_type._cached_bind_processor(dialect)
        if process is not None:
            # Equal values convert alike (a UTC instant whatever its zone, a date): converted once.
            processors.append((position, process, isinstance(column_type, (UtcDateTime, Date))))
    values_of = operator.itemgetter(*names) if width > 1 else (lambda row: (row[names[0]],))
    head, values = compiled.string.rsplit(" VALUES ", 1)
    per_statement = min(_SQLITE_ROWS, _SQLITE_PARAMETERS // width)

    def statements(rows: list[Row]) -> list[tuple[str, Any]]:
        # Every row's values one after the other, in one pass; then each processed column, a stride of them.
        flat = list(itertools.chain.from_iterable(map(values_of, rows)))
        for position, process, once in processors:
            column = flat[position::width]
            if once:  # a batch's rows mostly carry the same few instants (its clock's now)
                converted = {value: process(value) for value in set(column)}
                flat[position::width] = [converted[value] for value in column]
            else:
                flat[position::width] = list(map(process, column))
        if dialect.name == "sqlite":
            out, start = [], 0
            for count in _row_counts(len(rows), per_statement):
                end = start + count * width
                out.append((f"{head} VALUES {','.join([values] * count)}", tuple(flat[start:end])))
                start = end
            return out
        parameters = list(zip(*[iter(flat)] * width))  # a tuple a row
        if compiled.positional:
            return [(compiled.string, parameters)]
        return [(compiled.string, [dict(zip(names, row)) for row in parameters])]

    return statements


def session_factory(url: str, for_writes: bool = False) -> sessionmaker[StoreSession]:
    return sessionmaker(make_engine(url, immediate=for_writes), class_=StoreSession, expire_on_commit=False)
