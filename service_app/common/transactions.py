"""Write statements and the end of a unit of work: Core INSERTs past the session (`insert_row`,
`insert_object`), dependent writes as one statement on PostgreSQL (`chain`), rows attached as loaded
(`attach_row`), commits.

A service ends its unit of work with `commit`, `commit_and_keep` or `commit_or_conflict`. Inside
`one_commit` (an `Idempotency-Key` request: the key, the creation and the recorded answer are one
transaction) these only flush, and `one_commit` sends the one COMMIT at its end; outside it they
commit at once, exactly as `Session.commit` does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    Column,
    CursorResult,
    Executable,
    Insert,
    Select,
    Table,
    TextClause,
    bindparam,
    func,
    insert,
    inspect,
    literal_column,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql.visitors import replacement_traverse

from service_app.errors import AppError
from service_app.extensions import db

_ONE_COMMIT = "one_commit"


class Unit:
    """The unit of work `one_commit` commits: whether a commit was asked for in it, and what to undo
    outside the database (a stored file) if it does not commit."""

    __slots__ = ("requested", "undo")

    def __init__(self) -> None:
        self.requested = False
        self.undo: list[Callable[[], object]] = []


@contextmanager
def one_commit() -> Iterator[Unit]:
    """The block's commits (`commit`, `commit_and_keep`, `commit_or_conflict`) only flush, with the
    expiry a commit would bring, so what the block reads afterwards is what it would read after a
    COMMIT; at the end of the block one COMMIT stores its work and whatever the caller added to the
    transaction after the service's commit, if a commit was asked for (`Unit.requested`, the caller
    may set it too). An exception, in the block or from that COMMIT, rolls everything back and runs
    the undo steps. A `Session.commit` called directly in the block (a path that passed this module
    by) is found at the block's end: a RuntimeError, and what came after it is rolled back (what it
    committed stays), so a test of that path shows the block was no longer one transaction."""
    session = db.session()
    unit = Unit()
    transaction = session.get_transaction()
    session.info[_ONE_COMMIT] = unit
    try:
        yield unit
        del session.info[_ONE_COMMIT]
        if transaction is not None and session.get_transaction() is not transaction:
            raise RuntimeError("a unit of work inside one_commit ended by itself; commit with common.transactions")
        if unit.requested:
            session.commit()
    except BaseException:
        session.info.pop(_ONE_COMMIT, None)
        session.rollback()
        _undo(unit.undo)
        raise


def _undo(steps: list[Callable[[], object]]) -> None:
    for step in reversed(steps):
        step()


def _deferred() -> Unit | None:
    """The `one_commit` unit the session is in, if any."""
    return db.session().info.get(_ONE_COMMIT)


def commit(*, undo: Callable[[], object] | None = None) -> None:
    """`Session.commit()`; inside `one_commit` a flush and the expiry instead (its end commits).
    `undo` reverts what the unit of work did outside the database (a stored file): it runs after
    the rollback when the commit fails, here or at the end of `one_commit`."""
    session = db.session()
    unit = _deferred()
    try:
        if unit is None:
            session.commit()
        else:
            session.flush()
            session.expire_all()
    except BaseException:
        if undo is not None:
            session.rollback()
            undo()
        raise
    if unit is not None:
        unit.requested = True
        if undo is not None:
            unit.undo.append(undo)


def commit_or_conflict(conflict: AppError) -> None:
    """Commit; when a constraint stops it (a concurrent writer took the same unique value between our
    check and our commit), roll back and raise `conflict` instead of answering 500."""
    try:
        commit()
    except IntegrityError:
        db.session.rollback()
        raise conflict from None


def commit_and_keep() -> None:
    """Commit without expiring what the session holds, for a write that answers from the objects it
    has just written (every column of theirs is set in Python or returned by the INSERT): reading
    them back after the commit would only send the same values again, and expiring the caller's
    user row would re-read it too. The session ends with the request, so nothing stale outlives it.
    Inside `one_commit`: a flush (its end commits)."""
    session = db.session()
    unit = _deferred()
    if unit is not None:
        session.flush()
        unit.requested = True
        return
    expire, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire


def execute(statement: Executable, parameters: Mapping[str, Any] | None = None) -> CursorResult:
    """Run `statement` on the session's connection, in its transaction, past the session's own
    `execute` (its events, autoflush and result wrapping: a tenth of a millisecond of CPU a statement).
    For statements that load no ORM object and need nothing pending flushed first: the write paths'
    Core INSERTs and UPDATEs and their column reads."""
    return db.session.connection().execute(statement, parameters)


def insert_row(table: Table, values: Mapping[str, Any], *, unique: tuple[str, ...] = ()) -> dict[str, Any] | None:
    """INSERT one row of `table` and return every column of it as written, its id included: the
    columns not in `values` get their Python-side defaults, as a flush would give them, without the
    unit of work (for a write that answers from what it wrote). With `unique` (the columns of a
    unique constraint), a row that would repeat one already there is not inserted: None.

    One statement per table and `unique`, with every column bound (SQLAlchemy caches it; its
    `ON CONFLICT` construct is compiled anew at every execution)."""
    row = _row(table, values)
    found = execute(_insert_statement(table, unique), row).first()
    if found is None:
        return None
    row["id"] = found[0]
    return row


def insert_object(instance: Any, *, unique: tuple[str, ...] = ()) -> bool:
    """`insert_row` for a new ORM object: it gets its id and the defaults of the columns it left
    unset, and stays outside the session (a write that answers with it changes it no more; a
    rollback leaves nothing behind). False: `unique` found the row there already, nothing inserted."""
    row = insert_row(type(instance).__table__, _values(instance), unique=unique)
    if row is None:
        return False
    _keep(instance, row)
    return True


Step = tuple[Executable, Mapping[str, Any]]  # a write statement and its parameters


def chain(steps: Sequence[Step], *, head: Any | None = None, feeds: str | None = None) -> list[int]:
    """Run dependent writes in the caller's transaction and return how many rows each step wrote:
    `head`, a new ORM object, is inserted first (as `insert_object` does: it gets its id and its
    defaults) and its id is the bound parameter `feeds` of every step; then `steps` in order, INSERTs
    written as `INSERT … SELECT` so that a parameter can become a value read from another statement
    (a statement and its parameters: `insert_step`, `notifications.service.notice_rows`).

    On PostgreSQL it is one statement, `WITH s0 AS (INSERT … RETURNING id), s1 AS (INSERT … SELECT
    …, (SELECT s0.id FROM s0) … RETURNING 1), … SELECT s0.id, (SELECT count(*) FROM s1), … FROM s0`:
    each step is the statement its own caller runs, its bound parameters renamed (`p0`, `p1`…) and
    `feeds` replaced by the head's returned id. Elsewhere (SQLite) one statement per step, the id
    passed as a parameter. The final SELECT reads the steps in order, which runs them in order (ids
    are given as they are step by step); its counts cost a few rows of RETURNING. The sub-statements
    share one snapshot, so no step may read what another writes (only the head's id passes, by
    RETURNING); constraints are checked at the end of the statement, and a step refused undoes the
    whole. Each shape is built once (`_chained`): nothing is compiled per call."""
    if (head is None and len(steps) < 2) or not _one_statement():
        if head is not None:
            insert_object(head)
        fed = {feeds: head.id} if head is not None else {}
        return [execute(statement, {**parameters, **fed}).rowcount for statement, parameters in steps]
    table = type(head).__table__ if head is not None else None
    row = _row(table, _values(head)) if head is not None else {}
    # The head's NULLs are left out of its INSERT (NULL is what they get without it): one shape per
    # set of columns written, and a statement short enough for psycopg to cache its parsing (at most
    # 50 parameters and 4096 bytes; above that it parses the text again at every execution).
    written = tuple(key for key, value in row.items() if value is not None or table.c[key].server_default is not None)
    statement, names = _chained(table, written, tuple(step[0] for step in steps), feeds)
    given = (row, *(step[1] for step in steps))
    parameters = {short: given[index][name] for (index, name), short in names.items() if name in given[index]}
    if head is None:
        return list(execute(statement, parameters).one())
    row["id"], *counts = execute(statement, parameters).one()
    _keep(head, row)
    return counts


def insert_step(table: Table, values: Mapping[str, Any]) -> Step:
    """One row of `table` as a step of `chain` (or for `execute`): `INSERT … SELECT` of every column
    but the id, each bound (the columns not in `values` get their Python-side defaults, as
    `insert_row` gives them), one statement per table."""
    return _insert_select(table), _row(table, values)


@cache
def _insert_select(table: Table) -> Insert:
    columns = _columns(table)
    selected = select(*(bindparam(column.key, type_=column.type) for column in columns))
    return insert(table).from_select([column.key for column in columns], selected, include_defaults=False)


def _one_statement() -> bool:
    """Whether `chain` sends its steps as one statement here: PostgreSQL's data-modifying `WITH`
    (tests switch it off to compare both paths on PostgreSQL)."""
    return db.session.connection().dialect.name == "postgresql"


@lru_cache(maxsize=256)
def _chained(
    table: Table | None, written: tuple[str, ...], statements: tuple[Executable, ...], feeds: str | None
) -> tuple[Select, dict[tuple[int, str], str]]:
    """`chain`'s one statement for a head row of `table` (or none) with the columns `written`, and
    these steps; and the names of its bound parameters: (step, name in the step's own statement) ->
    `p{n}`, step 0 being the head (short names keep the text short)."""
    names: dict[tuple[int, str], str] = {}

    def short(index: int, key: str) -> str:
        return names.setdefault((index, key), f"p{len(names)}")

    counts = []
    head = None
    if table is not None:
        values = {key: bindparam(short(0, key), type_=table.c[key].type) for key in written}
        head = insert(table).values(values).returning(table.c.id).cte("s0")
        fed = select(head.c.id).scalar_subquery()  # `(SELECT s0.id FROM s0)`: no join for the steps to name
    for index, statement in enumerate(statements, start=1):

        def renamed(element: Any, index: int = index) -> Any:
            if not isinstance(element, BindParameter) or element.unique:
                return None  # a literal's anonymous parameter keeps its value and gets a unique name
            if head is not None and element.key == feeds:
                return fed  # the one new row's id
            return bindparam(short(index, element.key), type_=element.type)

        step = replacement_traverse(statement, {}, renamed).returning(literal_column("1")).cte(f"s{index}")
        counts.append(select(func.count()).select_from(step).scalar_subquery())
    return (select(head.c.id, *counts) if head is not None else select(*counts)), names


def _row(table: Table, values: Mapping[str, Any]) -> dict[str, Any]:
    """Every column of `table` but its id, from `values` or the column's Python-side default."""
    return {column.key: values[column.key] if column.key in values else _default(column) for column in _columns(table)}


def _values(instance: Any) -> dict[str, Any]:
    """The columns of a new ORM object that are set, by column."""
    state = instance.__dict__
    return {column: state[key] for key, column in _attributes(type(instance)) if key in state}


def _keep(instance: Any, row: Mapping[str, Any]) -> None:
    """Give a new ORM object what its INSERT wrote and it did not set: its id and its defaults."""
    state = instance.__dict__
    for key, column in _attributes(type(instance)):
        if key not in state:
            set_committed_value(instance, key, row[column])


def attach_row(model: type, values: Sequence[Any], *, key: Any) -> Any:
    """The persistent `model` instance of primary key `key` in the session, built from `values`
    (the row's columns in `model.__table__`'s order, as a Core SELECT of the table returns them)
    as an ORM load would give it, without the ORM's loading machinery: committed values, no history,
    in the identity map, so `db.session.get(model, key)` returns it without a statement and a change
    to it is flushed as an UPDATE. An instance the session already holds is returned instead, its
    unloaded (expired) column attributes filled from `values`, as the ORM's load does.

    The values go straight into the instance's dict, then `make_transient_to_detached` commits
    them "as though the instance were freshly loaded" (its documented purpose) and `Session.add`
    attaches it: one `set_committed_value` per column costs more than the ORM's load. No `load`
    event is emitted (no listener here needs one); `tests/test_auth.py` checks that the instance
    behaves as a loaded one with the pinned SQLAlchemy."""
    session = db.session()
    keys = _keys_in_table_order(model)
    present = session.identity_map.get(identity_key(model, key))
    if present is not None:
        unloaded = inspect(present).unloaded
        for attribute, value in zip(keys, values, strict=True):
            if attribute in unloaded:
                set_committed_value(present, attribute, value)
        return present
    instance = model()
    inspect(instance).dict.update(zip(keys, values, strict=True))
    make_transient_to_detached(instance)
    session.add(instance)
    return instance


@cache
def _keys_in_table_order(model: type) -> tuple[str, ...]:
    """The attribute of each column of `model.__table__`, in the table's order (every column must
    be mapped by one attribute, else a SELECT of the table does not hold the instance)."""
    by_column = {column: attribute for attribute, column in _attributes(model)}
    columns = [column.key for column in model.__table__.c]
    if sorted(by_column) != sorted(columns):
        raise ValueError(f"{model.__name__}: its attributes do not map its table's columns one to one")
    return tuple(by_column[column] for column in columns)


@cache
def _attributes(model: type) -> tuple[tuple[str, str], ...]:
    """(attribute, column) of each mapped column of `model`."""
    return tuple((attr.key, attr.columns[0].key) for attr in inspect(model).column_attrs)


@cache
def _columns(table: Table) -> tuple[Column, ...]:
    columns = tuple(column for column in table.c if column.key != "id")
    for column in columns:
        if column.server_default is not None and column.default is None:
            raise ValueError(f"{table.name}.{column.key}: a server default has no value here")
        if column.default is not None and column.default.is_clause_element:
            raise ValueError(f"{table.name}.{column.key}: a SQL default has no value here")
    return columns


def _default(column: Column) -> Any:
    default = column.default
    if default is None:
        return None
    return default.arg(None) if default.is_callable else default.arg


@cache
def _insert_statement(table: Table, unique: tuple[str, ...]) -> TextClause:
    """`INSERT … VALUES (every column) [ON CONFLICT (unique) DO NOTHING] RETURNING id`, the same on
    SQLite and PostgreSQL, as text (cached by SQLAlchemy) with each parameter typed by its column."""
    columns = _columns(table)
    conflict = f" ON CONFLICT ({', '.join(unique)}) DO NOTHING" if unique else ""
    return (
        text(
            f"INSERT INTO {table.name} ({', '.join(column.name for column in columns)}) "
            f"VALUES ({', '.join(f':{column.key}' for column in columns)}){conflict} RETURNING id"
        )
        .bindparams(*(bindparam(column.key, type_=column.type) for column in columns))
        .columns(table.c.id)
    )
