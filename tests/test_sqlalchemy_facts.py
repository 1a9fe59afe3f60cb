"""The library facts the rules rest on, shown with the real SQLAlchemy (sqlite and
sqlite+aiosqlite, no server). Each rule's documentation cites this file: when SQLAlchemy
changes a default, these tests say so before the rule texts go stale."""
from __future__ import annotations

import asyncio

import pytest

sa = pytest.importorskip("sqlalchemy")
pytest.importorskip("aiosqlite")

from sqlalchemy import create_engine, engine_from_config, event, text  # noqa: E402
from sqlalchemy.exc import MissingGreenlet  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine  # noqa: E402
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column  # noqa: E402
from sqlalchemy.pool import (  # noqa: E402
    AssertionPool, AsyncAdaptedQueuePool, NullPool, QueuePool, SingletonThreadPool, StaticPool,
)


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "items"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]


def pool_of(engine):
    return engine.sync_engine.pool if hasattr(engine, "sync_engine") else engine.pool


# -- defaults (POL101, POL102, POL105, POL106, POL107) ------------------------------------
@pytest.mark.parametrize("make,url,pool_class", [
    (create_engine, "sqlite:///{tmp}/a.db", QueuePool),
    (create_async_engine, "sqlite+aiosqlite:///{tmp}/a.db", AsyncAdaptedQueuePool),
], ids=["create_engine", "create_async_engine"])
def test_default_pool_settings(make, url, pool_class, tmp_path):
    """POL101/POL102/POL105/POL106/POL107: what a bare engine call gets."""
    pool = pool_of(make(url.format(tmp=tmp_path)))
    assert type(pool) is pool_class
    assert pool.size() == 5  # POL106: the implicit size
    assert pool._max_overflow == 10  # POL105: the implicit overflow
    assert pool._timeout == 30  # POL107: the implicit checkout timeout
    assert pool._recycle == -1  # POL102: never recycled
    assert not pool._pre_ping  # POL101: no pre-ping


def test_in_memory_async_sqlite_gets_static_pool():
    assert type(pool_of(create_async_engine("sqlite+aiosqlite://"))) is StaticPool


# -- POL110: keywords each pool class rejects ---------------------------------------------------
REJECTING = [NullPool, StaticPool, AssertionPool]
KEYWORDS = {"pool_size": 5, "max_overflow": 2, "pool_timeout": 5, "pool_use_lifo": True}


@pytest.mark.parametrize("pool_class", REJECTING + [SingletonThreadPool], ids=lambda c: c.__name__)
@pytest.mark.parametrize("keyword", sorted(KEYWORDS))
def test_rejected_keywords_raise_type_error_at_start_up(pool_class, keyword, tmp_path):
    """POL110: the catalogue in analysis/catalog.py (REJECTED_KEYWORDS) is this table."""
    from pool_lint.analysis.catalog import REJECTED_KEYWORDS

    kind = {NullPool: "null", StaticPool: "static", AssertionPool: "assertion", SingletonThreadPool: "singleton"}
    url = f"sqlite:///{tmp_path}/a.db"
    rejects = keyword in REJECTED_KEYWORDS[kind[pool_class]]
    if rejects:
        with pytest.raises(TypeError, match="Invalid argument"):
            create_engine(url, poolclass=pool_class, **{keyword: KEYWORDS[keyword]})
    else:
        create_engine(url, poolclass=pool_class, **{keyword: KEYWORDS[keyword]}).dispose()


@pytest.mark.parametrize("pool_class", REJECTING + [SingletonThreadPool, QueuePool], ids=lambda c: c.__name__)
def test_pre_ping_and_recycle_are_accepted_by_every_pool_class(pool_class, tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path}/a.db", poolclass=pool_class, pool_pre_ping=True, pool_recycle=600)
    assert engine.pool._recycle == 600 and engine.pool._pre_ping


def test_async_engine_rejects_pool_size_with_null_pool_too(tmp_path):
    with pytest.raises(TypeError, match="Invalid argument"):
        create_async_engine(f"sqlite+aiosqlite:///{tmp_path}/a.db", poolclass=NullPool, pool_size=5)


# -- engine_from_config coercion (POL101, POL103) ---------------------------------------------
def test_engine_from_config_coerces_ints_but_not_pre_ping(tmp_path):
    engine = engine_from_config({
        "db.url": f"sqlite:///{tmp_path}/a.db",
        "db.pool_recycle": "120",
        "db.pool_size": "7",
        "db.max_overflow": "0",
        "db.pool_timeout": "9",
        "db.pool_pre_ping": "false",
    }, prefix="db.")
    pool = engine.pool
    assert (pool._recycle, pool.size(), pool._max_overflow, pool._timeout) == (120, 7, 0, 9)
    assert pool._pre_ping  # the string "false" is truthy: pre-ping is ON


# -- the values --fix inserts produce the intended pool ------------------------------------------
@pytest.mark.parametrize("make,url", [(create_engine, "sqlite:///{tmp}/a.db"),
                                      (create_async_engine, "sqlite+aiosqlite:///{tmp}/a.db")])
def test_fixed_keywords_configure_the_pool(make, url, tmp_path):
    from pool_lint import fix_source

    source = (f"from sqlalchemy import create_engine\nfrom sqlalchemy.ext.asyncio import create_async_engine\n"
              f"engine = {make.__name__}({url.format(tmp=tmp_path)!r}.replace('sqlite', 'sqlite'))\n")
    fixed = fix_source(source, path="app/db.py", settings={"runtime": "server"})
    namespace: dict = {}
    exec(compile(fixed, "app/db.py", "exec"), namespace)
    pool = pool_of(namespace["engine"])
    assert (pool._pre_ping, pool._recycle, pool.size(), pool._max_overflow, pool._timeout) == (True, 3600, 20, 0, 30)


# -- when a session holds a connection (POL201, POL202) -------------------------------------------
class Checkouts:
    """Counts the connections currently checked out of a pool."""

    def __init__(self, engine):
        self.out = 0
        pool = pool_of(engine)
        event.listen(pool, "checkout", lambda *a: self._add(1))
        event.listen(pool, "checkin", lambda *a: self._add(-1))

    def _add(self, n):
        self.out += n


def test_async_session_checkout_timeline(tmp_path):
    async def scenario():
        engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path}/a.db")
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        seen = Checkouts(engine)
        Session = async_sessionmaker(engine, expire_on_commit=False)
        steps = {}
        async with Session() as s:
            steps["enter"] = seen.out
            s.add(Item(name="a"))
            steps["add"] = seen.out
            await s.flush()
            steps["flush pending"] = seen.out
            await s.commit()
            steps["commit"] = seen.out
            await s.flush()
            steps["flush nothing"] = seen.out
            await s.get(Item, 1)
            steps["get"] = seen.out
            await s.rollback()
            steps["rollback"] = seen.out
            await s.execute(text("select 1"))
            steps["execute after rollback"] = seen.out
            await s.close()
            steps["close"] = seen.out
            async with s.begin():
                steps["begin, no statement"] = seen.out
                await s.scalar(text("select 1"))
                steps["scalar in begin"] = seen.out
            steps["end of begin"] = seen.out
            await s.execute(text("select 1"))
        steps["exit without commit"] = seen.out
        async with engine.connect():
            steps["engine.connect()"] = seen.out
        steps["after connect block"] = seen.out
        async with engine.begin():
            steps["engine.begin()"] = seen.out
        await engine.dispose()
        return steps

    assert asyncio.run(scenario()) == {
        "enter": 0, "add": 0, "flush pending": 1, "commit": 0, "flush nothing": 0, "get": 1, "rollback": 0,
        "execute after rollback": 1, "close": 0, "begin, no statement": 0, "scalar in begin": 1,
        "end of begin": 0, "exit without commit": 0, "engine.connect()": 1, "after connect block": 0,
        "engine.begin()": 1,
    }


def test_sync_session_reloads_expired_attribute_after_commit(tmp_path):
    """The known limit of POL201: an attribute read after commit() checks out again."""
    engine = create_engine(f"sqlite:///{tmp_path}/a.db")
    Base.metadata.create_all(engine)
    seen = Checkouts(engine)
    with Session(engine) as s:  # expire_on_commit=True by default
        item = Item(name="a")
        s.add(item)
        s.commit()
        assert seen.out == 0
        assert item.name == "a"
        assert seen.out == 1


# -- POL204: expire_on_commit and MissingGreenlet ---------------------------------------------------
@pytest.mark.parametrize("expire", [None, False])
def test_attribute_after_commit_in_async_session(expire, tmp_path):
    async def scenario():
        engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path}/a.db")
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        kw = {} if expire is None else {"expire_on_commit": expire}
        Session = async_sessionmaker(engine, **kw)
        try:
            async with Session() as s:
                assert s.sync_session.expire_on_commit is (expire is None)
                item = Item(name="a")
                s.add(item)
                await s.commit()
                return item.name
        finally:
            await engine.dispose()

    if expire is None:
        with pytest.raises(sa.exc.SQLAlchemyError) as caught:
            asyncio.run(scenario())
        # Raised as MissingGreenlet, or wrapped in a StatementError around the lazy load.
        assert isinstance(caught.value, MissingGreenlet) or isinstance(caught.value.orig, MissingGreenlet)
    else:
        assert asyncio.run(scenario()) == "a"


# -- POL205: one AsyncSession, two concurrent statements --------------------------------------------
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_one_async_session_cannot_run_two_statements_at_once(tmp_path):
    async def scenario():
        engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path}/a.db")
        try:
            async with AsyncSession(engine) as s:
                await asyncio.gather(s.execute(text("select 1")), s.execute(text("select 2")))
        finally:
            await engine.dispose()

    with pytest.raises(sa.exc.SQLAlchemyError) as caught:
        asyncio.run(scenario())
    assert type(caught.value).__name__ in ("IllegalStateChangeError", "InvalidRequestError")


# -- POL203: what an unclosed session costs (SPEC 3b) -------------------------------------------
def test_unclosed_sync_session_holds_its_connection_until_collected(tmp_path):
    """No path releases it: the connection stays checked out until the session is
    garbage-collected (its reference cycles outlive the function)."""
    import gc

    engine = create_engine(f"sqlite:///{tmp_path}/a.db")
    seen = Checkouts(engine)
    maker = sa.orm.sessionmaker(bind=engine)

    def count():
        db = maker()
        return db.scalar(text("select 1"))

    assert count() == 1
    assert seen.out == 1  # returned from the function, still checked out
    gc.collect()
    assert seen.out == 0


def test_an_exception_before_commit_leaves_the_connection_checked_out(tmp_path):
    """The normal path ends in commit(): only an exception between the first statement
    and that call leaks the connection (until collection)."""
    import gc

    engine = create_engine(f"sqlite:///{tmp_path}/a.db")
    seen = Checkouts(engine)
    maker = sa.orm.sessionmaker(bind=engine)

    def purge(fail):
        db = maker()
        db.execute(text("select 1"))
        if fail:
            raise RuntimeError("between the statement and commit()")
        db.commit()

    purge(False)
    assert seen.out == 0
    with pytest.raises(RuntimeError):
        purge(True)
    assert seen.out == 1
    gc.collect()
    assert seen.out == 0


def test_garbage_collection_cannot_return_an_async_connection(tmp_path):
    """An async session never closed: collection does not check its connection back in;
    SQLAlchemy terminates it with a warning."""
    import gc
    import warnings

    async def scenario():
        engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path}/a.db")
        seen = Checkouts(engine)
        maker = async_sessionmaker(engine, expire_on_commit=False)

        async def leak():
            session = maker()
            await session.execute(text("select 1"))

        await leak()
        held = seen.out
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            gc.collect()
            await asyncio.sleep(0)
        await engine.dispose()
        return held, seen.out, [str(w.message) for w in caught]

    held, after, messages = asyncio.run(scenario())
    assert held == 1 and after == 1  # never checked back in
    assert any("garbage collector is trying to clean up non-checked-in connection" in m for m in messages)


# -- sessions from project code (SPEC 3b) ----------------------------------------------------------
def test_project_session_sources_hand_over_their_state(tmp_path):
    """A function returning a fresh session hands over nothing held; a context manager
    that ran a statement before yielding, or yields inside engine.connect() /
    engine.begin(), hands over a held connection."""
    from contextlib import contextmanager

    engine = create_engine(f"sqlite:///{tmp_path}/a.db")
    seen = Checkouts(engine)
    maker = sa.orm.sessionmaker(bind=engine)

    def get_session():
        return maker()

    @contextmanager
    def warm_session():
        with maker() as session:
            session.execute(text("select 1"))
            yield session

    @contextmanager
    def connection(begin):
        with (engine.begin() if begin else engine.connect()) as conn:
            yield conn

    steps = {}
    with get_session() as s:
        steps["returned"] = seen.out
        s.execute(text("select 1"))
        steps["returned, after a statement"] = seen.out
    steps["after its with"] = seen.out
    with warm_session():
        steps["statement before yield"] = seen.out
    with connection(False):
        steps["yield in connect()"] = seen.out
    with connection(True):
        steps["yield in begin()"] = seen.out
    steps["after"] = seen.out
    assert steps == {"returned": 0, "returned, after a statement": 1, "after its with": 0,
                     "statement before yield": 1, "yield in connect()": 1, "yield in begin()": 1, "after": 0}
