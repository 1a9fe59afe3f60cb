"""The Flask-SQLAlchemy and advanced-alchemy facts SPEC 3c and POL114 rest on, shown with
the real libraries (Flask-SQLAlchemy 3.1, advanced-alchemy 1.12; PostgreSQL and MySQL URLs
through their drivers, which build an engine without a server; SQLite files for the
checkout timeline). analysis/flask.py merges options in the order these tests show."""
from __future__ import annotations

import warnings

import pytest

flask = pytest.importorskip("flask")
flask_sqlalchemy = pytest.importorskip("flask_sqlalchemy")
pytest.importorskip("psycopg2")

import sqlalchemy as sa  # noqa: E402
from flask import Flask  # noqa: E402
from flask_sqlalchemy import SQLAlchemy  # noqa: E402
from sqlalchemy import event, select, text  # noqa: E402
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column  # noqa: E402
from sqlalchemy.pool import NullPool, QueuePool, StaticPool  # noqa: E402

PG = "postgresql+psycopg2://app@db.internal/app"
PG_REPORTS = "postgresql+psycopg2://app@reports.internal/reports"


def _app(tmp_path, **config) -> Flask:
    app = Flask("facts", instance_path=str(tmp_path / "instance"))
    app.config.update(config)
    return app


def _pool(db: SQLAlchemy, app: Flask, bind=None):
    with app.app_context():
        return db.engines[bind].pool


def _settings(pool) -> dict:
    return {"class": type(pool).__name__, "size": getattr(pool, "size", lambda: None)(),
            "overflow": getattr(pool, "_max_overflow", None), "timeout": getattr(pool, "_timeout", None),
            "recycle": pool._recycle, "pre_ping": pool._pre_ping}


# -- how options reach the engine (SPEC 3c: options, as Flask-SQLAlchemy merges them) -------
def test_nothing_set_gives_sqlalchemy_defaults(tmp_path):
    app = _app(tmp_path, SQLALCHEMY_DATABASE_URI=PG)
    db = SQLAlchemy(app)
    assert _settings(_pool(db, app)) == {"class": "QueuePool", "size": 5, "overflow": 10, "timeout": 30,
                                         "recycle": -1, "pre_ping": False}


def test_constructor_options_reach_the_engine_directly_and_through_init_app(tmp_path):
    options = {"pool_pre_ping": True, "pool_recycle": 1800, "pool_size": 7}
    app = _app(tmp_path, SQLALCHEMY_DATABASE_URI=PG)
    direct = _settings(_pool(SQLAlchemy(app, engine_options=options), app))
    late = SQLAlchemy(engine_options=options)
    other = _app(tmp_path, SQLALCHEMY_DATABASE_URI=PG)
    late.init_app(other)
    for found in (direct, _settings(_pool(late, other))):
        assert (found["pre_ping"], found["recycle"], found["size"]) == (True, 1800, 7)


def test_config_options_update_the_constructor_options_key_by_key(tmp_path):
    """Config wins per key; a key only the constructor sets stays."""
    app = _app(tmp_path, SQLALCHEMY_DATABASE_URI=PG, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 11})
    found = _settings(_pool(SQLAlchemy(app, engine_options={"pool_size": 3, "pool_recycle": 100}), app))
    assert (found["size"], found["recycle"]) == (11, 100)


def test_from_object_copies_uppercase_class_attributes_inherited_and_merged(tmp_path):
    class Base:
        SQLALCHEMY_DATABASE_URI = PG
        SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "pool_recycle": 1800}
        pool_size_hint = 50  # not UPPERCASE: not copied

    class Production(Base):
        SQLALCHEMY_ENGINE_OPTIONS = {**Base.SQLALCHEMY_ENGINE_OPTIONS, "pool_size": 9}

    app = _app(tmp_path)
    app.config.from_object(Production)
    assert "pool_size_hint" not in app.config
    found = _settings(_pool(SQLAlchemy(app), app))
    assert (found["pre_ping"], found["recycle"], found["size"]) == (True, 1800, 9)


def test_engine_options_never_reach_a_bind(tmp_path):
    """A bind gets the constructor's options and its own entry, never SQLALCHEMY_ENGINE_OPTIONS."""
    app = _app(tmp_path, SQLALCHEMY_DATABASE_URI=PG,
               SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True, "pool_size": 11},
               SQLALCHEMY_BINDS={"reports": {"url": PG_REPORTS, "pool_recycle": 900}, "audit": PG_REPORTS})
    db = SQLAlchemy(app, engine_options={"pool_timeout": 5})
    default, reports, audit = (_settings(_pool(db, app, bind)) for bind in (None, "reports", "audit"))
    assert (default["pre_ping"], default["size"], default["timeout"]) == (True, 11, 5)
    assert (reports["recycle"], reports["timeout"], reports["pre_ping"], reports["size"]) == (900, 5, False, 5)
    assert (audit["timeout"], audit["pre_ping"], audit["recycle"], audit["size"]) == (5, False, -1, 5)


def test_update_replaces_the_whole_engine_options_dict(tmp_path):
    app = _app(tmp_path, SQLALCHEMY_DATABASE_URI=PG, SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True})
    app.config.update(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 4})
    found = _settings(_pool(SQLAlchemy(app), app))
    assert (found["pre_ping"], found["size"]) == (False, 4)


def test_config_written_after_init_app_is_not_seen(tmp_path):
    app = _app(tmp_path, SQLALCHEMY_DATABASE_URI=PG)
    db = SQLAlchemy(app)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True}
    assert _settings(_pool(db, app))["pre_ping"] is False


def test_string_values_are_coerced_as_engine_from_config_does(tmp_path):
    """Ints from strings; `"false"` pre-ping stays a truthy string (pre-ping on)."""
    app = _app(tmp_path, SQLALCHEMY_DATABASE_URI=PG,
               SQLALCHEMY_ENGINE_OPTIONS={"pool_size": "4", "pool_recycle": "600", "pool_pre_ping": "false"})
    found = _settings(_pool(SQLAlchemy(app), app))
    assert (found["size"], found["recycle"]) == (4, 600)
    assert found["pre_ping"] == "false" and found["pre_ping"]


def test_null_pool_with_pool_size_fails_at_start_up(tmp_path):
    app = _app(tmp_path, SQLALCHEMY_DATABASE_URI=PG,
               SQLALCHEMY_ENGINE_OPTIONS={"poolclass": NullPool, "pool_size": 5})
    with pytest.raises(TypeError, match="pool_size"):
        SQLAlchemy(app)


# -- driver defaults ---------------------------------------------------------------------
def test_mysql_gets_a_7200_recycle_even_with_null_pool(tmp_path):
    pytest.importorskip("pymysql")
    url = "mysql+pymysql://crm@crm-db.internal:3306/crm"
    app = _app(tmp_path, SQLALCHEMY_DATABASE_URI=url)
    assert _settings(_pool(SQLAlchemy(app), app))["recycle"] == 7200
    null = _app(tmp_path, SQLALCHEMY_DATABASE_URI=url, SQLALCHEMY_ENGINE_OPTIONS={"poolclass": NullPool})
    pool = _pool(SQLAlchemy(null), null)
    assert (type(pool), pool._recycle) == (NullPool, 7200)
    mine = _app(tmp_path, SQLALCHEMY_DATABASE_URI=url, SQLALCHEMY_ENGINE_OPTIONS={"pool_recycle": 1800})
    assert _settings(_pool(SQLAlchemy(mine), mine))["recycle"] == 1800  # an explicit value wins


def test_postgres_gets_no_driver_default(tmp_path):
    app = _app(tmp_path, SQLALCHEMY_DATABASE_URI=PG)
    assert _settings(_pool(SQLAlchemy(app), app))["recycle"] == -1


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "sqlite+pysqlite://"])
def test_in_memory_sqlite_is_forced_to_static_pool(url, tmp_path):
    app = _app(tmp_path, SQLALCHEMY_DATABASE_URI=url, SQLALCHEMY_ENGINE_OPTIONS={"poolclass": NullPool})
    assert type(_pool(SQLAlchemy(app), app)) is StaticPool  # the explicit NullPool is overwritten
    sized = _app(tmp_path, SQLALCHEMY_DATABASE_URI=url, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 5})
    with pytest.raises(TypeError, match="pool_size"):
        SQLAlchemy(sized)


def test_sqlite_file_keeps_a_queue_pool(tmp_path):
    app = _app(tmp_path, SQLALCHEMY_DATABASE_URI="sqlite:///app.db")
    assert type(_pool(SQLAlchemy(app), app)) is QueuePool


# -- POL114: the 2.x pool keys -------------------------------------------------------------
def test_legacy_pool_keys_are_ignored_without_a_warning(tmp_path):
    class Staging:
        SQLALCHEMY_DATABASE_URI = PG
        SQLALCHEMY_POOL_SIZE = 20
        SQLALCHEMY_POOL_RECYCLE = 299
        SQLALCHEMY_POOL_TIMEOUT = 7
        SQLALCHEMY_MAX_OVERFLOW = 0
        SQLALCHEMY_POOL_PRE_PING = True

    app = _app(tmp_path)
    app.config.from_object(Staging)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # as `python -W error`: nothing is raised
        db = SQLAlchemy(app)
    assert _settings(_pool(db, app)) == {"class": "QueuePool", "size": 5, "overflow": 10, "timeout": 30,
                                         "recycle": -1, "pre_ping": False}
    assert app.config["SQLALCHEMY_POOL_SIZE"] == 20  # kept in the config, read by nobody


# -- db.session: when the request's session holds a connection ---------------------------------
class _Counter:
    def __init__(self, pool):
        self.out = 0
        event.listen(pool, "checkout", lambda *a: self._add(1))
        event.listen(pool, "checkin", lambda *a: self._add(-1))

    def _add(self, n):
        self.out += n


@pytest.fixture
def shop(tmp_path):
    """A Flask app on a SQLite file (a QueuePool), a User model, a counter of checked-out
    connections, and `seen`: the counts views record at their "external call"."""

    class Base(DeclarativeBase):
        pass

    app = _app(tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/shop.db")
    db = SQLAlchemy(app, model_class=Base)

    class User(db.Model):
        id: Mapped[int] = mapped_column(primary_key=True)
        email: Mapped[str]

    with app.app_context():
        db.create_all()
        db.session.add(User(id=1, email="a@example.com"))
        db.session.commit()
        counter = _Counter(db.engine.pool)
    seen = {}
    after_teardown = []

    @app.teardown_appcontext
    def record(_exc):  # registered after Flask-SQLAlchemy's: runs before its session.remove()
        after_teardown.append(counter.out)

    return app, db, User, counter, seen, after_teardown


def _views(app, db, User, counter, seen):
    def external(name):
        seen[name] = counter.out  # what a slow HTTP call here would hold

    @app.get("/query-get")
    def query_get():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Query.get is legacy (LegacyAPIWarning)
            User.query.get(1)
        external("query-get")
        return ""

    @app.get("/execute")
    def execute():
        db.session.execute(select(User).where(User.id == 1)).scalars().first()
        external("execute")
        return ""

    @app.get("/helpers")
    def helpers():
        db.get_or_404(User, 1)
        external("get_or_404")
        db.session.commit()
        User.query.filter_by(id=1).first()
        external("query-first")
        db.session.rollback()
        db.paginate(select(User), page=1, per_page=5)
        external("paginate")
        db.session.remove()
        for _ in User.query.filter(User.id > 0):
            external("iterating")
        return ""

    @app.get("/add-only")
    def add_only():
        db.session.add(User(id=2, email="b@example.com"))
        external("add")
        db.session.rollback()
        return ""

    @app.get("/commit")
    def commit():
        user = db.session.get(User, 1)
        db.session.commit()
        external("after-commit")
        user.email  # expired by commit: reloaded
        external("after-reload")
        return ""

    @app.get("/close")
    def close():
        db.session.scalar(text("select 1"))
        db.session.close()
        external("after-close")
        return ""

    @app.get("/no-commit")
    def no_commit():
        db.session.scalar(text("select 1"))
        return ""


def test_db_session_holds_from_first_statement_to_release(shop):
    app, db, User, counter, seen, after_teardown = shop
    _views(app, db, User, counter, seen)
    client = app.test_client()
    for path in ("/query-get", "/execute", "/helpers", "/add-only", "/commit", "/close"):
        assert client.get(path).status_code == 200
    assert seen == {
        "query-get": 1, "execute": 1, "get_or_404": 1, "query-first": 1, "paginate": 1, "iterating": 1,
        "add": 0,  # add() checks nothing out
        "after-commit": 0, "after-close": 0,  # commit / close give it back
        "after-reload": 1,  # the known limit: an expired attribute reloads
    }
    assert counter.out == 0


def test_db_session_without_release_holds_until_teardown(shop):
    app, db, User, counter, seen, after_teardown = shop
    _views(app, db, User, counter, seen)
    assert app.test_client().get("/no-commit").status_code == 200
    assert after_teardown == [1]  # still out after the view returned and the response was built
    assert counter.out == 0  # Flask-SQLAlchemy's teardown (session.remove()) gave it back


# -- advanced-alchemy ------------------------------------------------------------------------
def test_advanced_alchemy_engine_config_reaches_the_engine():
    config_module = pytest.importorskip("advanced_alchemy.config")
    bare = config_module.SQLAlchemySyncConfig(connection_string=PG)
    assert _settings(bare.get_engine().pool) == {"class": "QueuePool", "size": 5, "overflow": 10, "timeout": 30,
                                                "recycle": -1, "pre_ping": False}
    tuned = config_module.SQLAlchemySyncConfig(
        connection_string=PG,
        engine_config=config_module.EngineConfig(pool_size=10, max_overflow=0, pool_pre_ping=True,
                                                 pool_recycle=1800, pool_timeout=10))
    assert _settings(tuned.get_engine().pool) == {"class": "QueuePool", "size": 10, "overflow": 0, "timeout": 10,
                                                 "recycle": 1800, "pre_ping": True}


def test_advanced_alchemy_async_config_defaults():
    config_module = pytest.importorskip("advanced_alchemy.config")
    pytest.importorskip("asyncpg")
    engine = config_module.SQLAlchemyAsyncConfig(connection_string="postgresql+asyncpg://app@db.internal/app").get_engine()
    pool = engine.sync_engine.pool
    assert (type(pool).__name__, pool.size(), pool._recycle, pool._pre_ping) == ("AsyncAdaptedQueuePool", 5, -1, False)
    with pytest.raises(TypeError):
        config_module.EngineConfig(pool_sise=5)  # a dataclass: a misspelt field fails at once
    assert sa.__version__


def test_db_engine_is_the_default_binds_engine_and_connect_holds_for_its_block(shop):
    app, db, User, counter, seen, after_teardown = shop
    with app.app_context():
        assert db.engine is db.engines[None]
        with db.engine.connect() as conn:
            conn.execute(text("select 1"))
            assert counter.out == 1
        assert counter.out == 0
