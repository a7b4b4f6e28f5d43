"""Engine and transaction scopes: WAL SQLite or PostgreSQL; writes take SQLite's write lock at
BEGIN (`transaction()`), reads never take it and cannot write (`read()`)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, Table, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def is_postgres_session(session: Session) -> bool:
    """Whether the session's database is PostgreSQL (a store asks; nobody passes it down)."""
    return session.get_bind().dialect.name == "postgresql"


# An execution option on the engine that read-only sessions are bound to (decision 0185).
READ_ONLY = "textdesk_read_only"
_QUERY_ONLY = "textdesk_query_only"  # what this SQLite connection's PRAGMA query_only is now
WRITE_WAIT_SECONDS = 30.0  # as long as busy_timeout: a writer waits this long for its turn


def is_read_only(session: Session) -> bool:
    """Whether the session came from `Database.read()` (it may read, never write)."""
    return bool(session.info.get(READ_ONLY))


def make_engine(url: str, **kwargs: Any) -> Engine:
    # Statement parameters hold phones and bodies: keep them out of errors and logs.
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        # As many connections as the web server has threads (40): a request never waits for
        # a connection while the database itself is free.
        if make_url(url).database not in (None, "", ":memory:"):  # memory: one static conn
            kwargs.setdefault("pool_size", 10)
            kwargs.setdefault("max_overflow", 40)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               **kwargs)
        _tune_sqlite(engine)
    else:
        engine = create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, **kwargs)
    return engine


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, emit BEGIN, so that it can be BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # Without statistics SQLite's planner may walk every text of a practice to find one
        # thread's; a bounded ANALYZE where it is needed keeps the right indexes chosen.
        cursor.execute("PRAGMA analysis_limit=400")
        cursor.execute("PRAGMA optimize=0x10002")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        read_only = bool(conn.get_execution_options().get(READ_ONLY))
        info = conn.connection.info
        if info.get(_QUERY_ONLY, False) != read_only:
            # A read that tried to write would upgrade its deferred transaction: refused
            # outright instead ("attempt to write a readonly database").
            conn.exec_driver_sql(f"PRAGMA query_only={int(read_only)}")
            info[_QUERY_ONLY] = read_only
        # A read is deferred: in WAL it reads a snapshot and never waits for the writer.
        # Deferred transactions that later write are what produce "database is locked", so
        # every other transaction takes the write lock when it begins.
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def insert_once(session: Session, row: object) -> bool:
    """Insert `row` inside a savepoint; False when a unique key says it is already there.

    The loser of a race on a unique key rolls back only its savepoint, so the caller's
    transaction goes on (and can read the winner's row).
    """
    savepoint = session.begin_nested()
    try:
        session.add(row)
        session.flush()
    except IntegrityError:
        savepoint.rollback()
        return False
    savepoint.commit()
    return True


DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
PUBLIC_URL = "public_url"


def public_url_of(session: Session) -> str:
    """The public address of the deployment this session's database serves."""
    return str(session.info.get(PUBLIC_URL) or DEFAULT_PUBLIC_URL)


class Database:
    """One engine and its session factories: `transaction()` is the unit of work that may
    write; `read()` one that only reads."""

    def __init__(self, url: str, *, public_url: str = DEFAULT_PUBLIC_URL) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # Where this deployment is reached (links in texts): the app and the connector set it
        # from their settings; each session carries it (`public_url_of`).
        self.public_url = public_url
        # The same pool; its transactions are deferred and query-only on SQLite, READ ONLY
        # on PostgreSQL (the driver says so in its BEGIN: no extra round trip).
        readonly = {READ_ONLY: True}
        if self.engine.dialect.name == "postgresql":
            readonly["postgresql_readonly"] = True
        self._readers = sessionmaker(self.engine.execution_options(**readonly),
                                     expire_on_commit=False, info={READ_ONLY: True})
        # SQLite has one writer at a time. Writers of this process queue on a lock, woken the
        # moment the last one commits, instead of sleeping in SQLite's busy handler (which
        # backs off up to 100 ms between tries: the seconds-long tails under load). Other
        # processes still wait in busy_timeout (decision 0185).
        # A plain Lock: FastAPI may end a request's transaction on another thread than the
        # one that began it.
        self._write_turn = threading.Lock() if self.is_sqlite else None
        self._turn_holder: int | None = None  # the thread that took the turn

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.engine)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        turn = self._write_turn
        if turn is not None and self._turn_holder == threading.get_ident():
            turn = None  # a transaction opened inside one of this thread's: it has the turn
        if turn is not None:
            if not turn.acquire(timeout=WRITE_WAIT_SECONDS):
                raise OperationalError("BEGIN IMMEDIATE", None,
                                       Exception("database is locked (waited for the writer)"))
            self._turn_holder = threading.get_ident()
        try:
            session = self._sessions(info={PUBLIC_URL: self.public_url})
            try:
                with session.begin():
                    yield session
            finally:
                session.close()
        finally:
            if turn is not None:
                self._turn_holder = None
                turn.release()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A transaction that reads one consistent snapshot and cannot write.

        On SQLite it never takes the write lock, so in WAL it neither waits for a writer nor
        makes one wait; a write inside it fails at once instead of upgrading the lock.
        """
        session = self._readers(info={PUBLIC_URL: self.public_url})
        try:
            with session.begin():
                yield session
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


def cast_table(model: type[Any]) -> Table:
    """A mapped class's table, typed as the Table it is (for Core bulk statements)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def insert_many(session: Session, table: Table, rows: list[dict[str, Any]], *,
                skip_duplicates: bool = False) -> None:
    """Many rows in one executemany; with `skip_duplicates`, a row a unique key already holds
    is left out (ON CONFLICT DO NOTHING)."""
    if not rows:
        return
    statement: Any = table.insert()
    if skip_duplicates:
        dialect_insert = postgresql.insert if is_postgres_session(session) else sqlite.insert
        statement = dialect_insert(table).on_conflict_do_nothing()
    session.execute(statement, rows)


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Many rows (all with the same keys) of a table with an integer `id`, the ids taken here:
    one COPY on PostgreSQL (ids drawn from the table's sequence), one executemany on SQLite
    (after the largest id: the transaction holds SQLite's write lock, BEGIN IMMEDIATE).
    Values go through each column's own bind processing, as the ORM's do. Returns the ids in
    the order of `rows`. Pending ORM changes are flushed first."""
    if not rows:
        return []
    session.flush()
    count = len(rows)
    if is_postgres_session(session):
        ids = [int(i) for i in session.scalars(
            text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
            {"t": table.name, "n": count})]
    else:
        last = int(session.scalar(text(f"SELECT coalesce(max(id), 0) FROM {table.name}")) or 0)
        ids = list(range(last + 1, last + count + 1))
    dialect = session.get_bind().dialect
    names = list(rows[0])
    processors = [table.c[name].type.bind_processor(dialect) for name in names]
    tuples = [(row_id, *[p(row[n]) if p else row[n] for n, p in zip(names, processors,
                                                                       strict=True)])
              for row_id, row in zip(ids, rows, strict=True)]
    columns = ", ".join(["id", *names])
    raw: Any = session.connection().connection.dbapi_connection
    if is_postgres_session(session):
        with raw.cursor() as cursor, cursor.copy(
                f"COPY {table.name} ({columns}) FROM STDIN") as copy:
            for values in tuples:
                copy.write_row(values)
    else:
        marks = ", ".join("?" for _ in range(len(names) + 1))
        raw.cursor().executemany(f"INSERT INTO {table.name} ({columns}) VALUES ({marks})",
                                 tuples)
    return ids
