"""SPEC 3c: Flask-SQLAlchemy's `SQLAlchemy(...)` and advanced-alchemy's configs as engine
factories, the app's config as Flask-SQLAlchemy merges it, and `db.session` in the
session flow. Small projects of our own, checked through the Python API (the file's
path places it in its project); the library behaviour each case relies on is shown in
tests/test_flask_facts.py."""
from __future__ import annotations

import textwrap

from pool_lint import lint_source

EXT = '''
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()
'''
TUNED = '{"pool_pre_ping": True, "pool_recycle": 1800, "pool_size": 10, "max_overflow": 0, "pool_timeout": 10}'


def _found(project, rel, select=("POL1",), extend=()):
    path = project.root / rel
    text = path.read_text(encoding="utf-8")
    # A server's project (SPEC 3c: POL105-POL107 need a server runtime; an app made in a
    # factory is no module-level app object the runtime detection reads).
    return sorted((f.row, f.code, f.message) for f in lint_source(text, path=path, select=list(select),
                                                                   extend_select=list(extend),
                                                                   settings={"runtime": "server"}))


def _codes(found):
    return sorted({code for _, code, _ in found})


def _write(project, files):
    for rel, text in files.items():
        project.write(rel, textwrap.dedent(text))


def test_init_app_in_a_factory_with_a_config_class_and_binds(project):
    _write(project, {
        "app/__init__.py": '''
            from flask import Flask
            from app.config import Production
            from app.ext import db

            def create_app(config_class=Production):
                app = Flask(__name__)
                app.config.from_object(config_class)
                db.init_app(app)
                return app
        ''',
        "app/ext.py": EXT,
        "app/config.py": f'''
            import os

            class Base:
                SQLALCHEMY_DATABASE_URI = os.environ["DATABASE_URL"]
                SQLALCHEMY_ENGINE_OPTIONS = {TUNED}
                SQLALCHEMY_BINDS = {{"audit": os.environ.get("AUDIT_URL", "sqlite:///audit.db"),
                                    "reports": {{"url": os.environ["REPORTS_URL"], "pool_pre_ping": True}}}}

            class Production(Base):
                SQLALCHEMY_ENGINE_OPTIONS = {{**Base.SQLALCHEMY_ENGINE_OPTIONS, "pool_recycle": 60}}
        ''',
    })
    found = _found(project, "app/ext.py")
    assert all(row == 4 for row, _, _ in found)
    default = [(code, m) for _, code, m in found if m.endswith("(the default bind)")]
    audit = {code for _, code, m in found if m.endswith("(bind `audit`)")}
    reports = {code for _, code, m in found if m.endswith("(bind `reports`)")}
    assert [code for code, _ in default] == ["POL103"]  # the merged 60 s recycle
    assert audit == {"POL101", "POL102", "POL105", "POL106", "POL107"}  # ENGINE_OPTIONS never reaches a bind
    assert reports == {"POL102", "POL105", "POL106", "POL107"}


def test_a_factory_called_with_another_config_is_unknown(project):
    _write(project, {
        "app/__init__.py": '''
            from flask import Flask
            from app.ext import db

            class Production:
                SQLALCHEMY_DATABASE_URI = "postgresql://db/app"

            def create_app(config_class=Production):
                app = Flask(__name__)
                app.config.from_object(config_class)
                db.init_app(app)
                return app
        ''',
        "app/ext.py": EXT,
        "app/wsgi.py": "from app import create_app\napp = create_app(load_settings())\n",
    })
    assert _found(project, "app/ext.py") == []
    (project.root / "app/wsgi.py").write_text("from app import create_app\napp = create_app()\n")
    (project.root / "tests").mkdir()
    (project.root / "tests/conftest.py").write_text("from app import create_app\napp = create_app(object)\n")
    assert _codes(_found(project, "app/ext.py")) == ["POL101", "POL102", "POL105", "POL106", "POL107"]


def test_unknown_config_and_unbound_db_are_silent(project):
    _write(project, {
        "app/ext.py": EXT,
        "app/a.py": '''
            import os
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            app = Flask(__name__)
            app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://db/app"
            app.config.from_pyfile(os.environ["SETTINGS"])
            db = SQLAlchemy(app)

            other = Flask("other")
            other.config.from_object(CONFIGS[os.environ["APP_ENV"]])
            db2 = SQLAlchemy(other)

            def make(app):
                return SQLAlchemy(app)
        ''',
    })
    assert _found(project, "app/a.py") == []
    assert _found(project, "app/ext.py") == []  # never bound to an app


def test_config_after_binding_is_ignored_and_update_replaces_a_key(project):
    _write(project, {
        "app/a.py": f'''
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            app = Flask(__name__)
            app.config.from_mapping(SQLALCHEMY_DATABASE_URI="postgresql://db/app",
                                    SQLALCHEMY_ENGINE_OPTIONS={TUNED})
            app.config.update({{"SQLALCHEMY_ENGINE_OPTIONS": {{"pool_pre_ping": True}}}})
            db = SQLAlchemy(app, engine_options={{"pool_timeout": 5}})
            app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {TUNED}
        ''',
    })
    assert _codes(_found(project, "app/a.py")) == ["POL102", "POL105", "POL106"]


def test_driver_defaults(project):
    _write(project, {
        "app/mysql.py": '''
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            app = Flask(__name__)
            app.config["SQLALCHEMY_DATABASE_URI"] = "mysql+pymysql://u@db/app"
            app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True, "pool_size": 2, "max_overflow": 0,
                                                       "pool_timeout": 5}
            db = SQLAlchemy(app)
        ''',
        "app/memory.py": '''
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy
            from sqlalchemy.pool import NullPool

            app = Flask(__name__)
            app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
            db = SQLAlchemy(app, engine_options={"poolclass": NullPool, "pool_size": 5})
        ''',
    })
    mysql = _found(project, "app/mysql.py")
    assert _codes(mysql) == ["POL104"] and "7200" in mysql[0][2]
    memory = _found(project, "app/memory.py")
    assert _codes(memory) == ["POL110"]
    assert all(f.fix is None for f in lint_source((project.root / "app/memory.py").read_text(),
                                                  path=project.root / "app/memory.py"))


def test_advanced_alchemy_configs(project):
    _write(project, {
        "app/db.py": '''
            from advanced_alchemy.extensions.litestar import EngineConfig, SQLAlchemyAsyncConfig
            from advanced_alchemy.config import SQLAlchemySyncConfig

            bare = SQLAlchemyAsyncConfig(connection_string=DATABASE_URL)
            tuned = SQLAlchemyAsyncConfig(
                connection_string=DATABASE_URL,
                engine_config=EngineConfig(pool_pre_ping=True, pool_recycle=1800, pool_size=10, max_overflow=0,
                                           pool_timeout=10),
            )
            given = SQLAlchemySyncConfig(engine_instance=ENGINE)
            local = SQLAlchemySyncConfig(connection_string="sqlite+aiosqlite:///app.db")
            computed = SQLAlchemySyncConfig(connection_string=DATABASE_URL, engine_config=make_engine_config())
        ''',
    })
    found = _found(project, "app/db.py")
    assert {row for row, _, _ in found} == {5}
    assert _codes(found) == ["POL101", "POL102", "POL105", "POL106", "POL107"]


SESSION_APP = {
    "app/__init__.py": "",
    "app/ext.py": EXT,
    "app/models.py": '''
        from app.ext import db

        class User(db.Model):
            pass
    ''',
    "app/helpers.py": '''
        import requests

        def count_users():
            from app.ext import db
            from app.models import User
            return db.session.query(User).count()

        def save():
            from app.ext import db
            db.session.commit()

        def ping():
            requests.get("https://status.example.com", timeout=3)
    ''',
}


def _sessions(project, views):
    _write(project, {**SESSION_APP, "app/views.py": views})
    return [(row, code) for row, code, _ in _found(project, "app/views.py", select=("POL2",), extend=("POL202",))]


def test_db_session_flow(project):
    found = _sessions(project, '''
        import requests
        from app.ext import db
        from app.helpers import count_users, ping, save
        from app.models import User

        def before_first_statement():
            requests.get("https://a.example.com", timeout=3)
            return db.get_or_404(User, 1)

        def after_a_statement():
            db.session.execute(SELECT)
            requests.get("https://a.example.com", timeout=3)

        def after_commit():
            db.session.get(User, 1)
            db.session.commit()
            requests.get("https://a.example.com", timeout=3)

        def add_only():
            db.session.add(User())
            requests.get("https://a.example.com", timeout=3)

        def query_iterated():
            for user in User.query.filter_by(active=True):
                ping()

        def helper_holds():
            count_users()
            requests.get("https://a.example.com", timeout=3)

        def helper_releases():
            User.query.all()
            save()
            requests.get("https://a.example.com", timeout=3)

        def scoped_call():
            session = db.session()
            db.session().scalar(SELECT)
            requests.get("https://a.example.com", timeout=3)
            db.session.remove()
            requests.get("https://a.example.com", timeout=3)
    ''')
    assert found == [(13, "POL201"), (18, "POL202"), (26, "POL201"), (30, "POL201"), (35, "POL202"),
                     (40, "POL201"), (42, "POL202")]


def test_db_engine_connect_holds_for_its_block(project):
    found = _sessions(project, '''
        import requests
        from app.ext import db

        def report():
            with db.engine.connect() as conn:
                conn.execute(SELECT)
                requests.get("https://a.example.com", timeout=3)
            requests.get("https://a.example.com", timeout=3)
    ''')
    assert found == [(8, "POL201")]


def test_no_db_session_without_flask_sqlalchemy(project):
    _write(project, {"app/views.py": '''
        import requests
        from app.ext import db

        def view():
            db.session.execute(SELECT)
            requests.get("https://a.example.com", timeout=3)
    ''', "app/ext.py": "db = make_db()\n"})
    assert _found(project, "app/views.py", select=("POL2",)) == []


# -- --fix: missing options added to a literal dict, or to EngineConfig(...) (issue 16, item 4) ----
def _fixed(project, rel, text, select=("POL1",)):
    from pool_lint import fix_source

    path = project.write(rel, textwrap.dedent(text))
    return fix_source(path.read_text(encoding="utf-8"), path=path, select=list(select))


def test_fix_adds_keys_to_the_config_dict_one_per_line(project):
    fixed = _fixed(project, "app/a.py", '''
        from flask import Flask
        from flask_sqlalchemy import SQLAlchemy

        app = Flask(__name__)
        app.config["SQLALCHEMY_DATABASE_URI"] = DATABASE_URL
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "pool_recycle": 1800,  # below the proxy's idle timeout
            "pool_size": 10,
        }
        db = SQLAlchemy(app, engine_options={"echo": False})
    ''')
    assert fixed == textwrap.dedent('''
        from flask import Flask
        from flask_sqlalchemy import SQLAlchemy

        app = Flask(__name__)
        app.config["SQLALCHEMY_DATABASE_URI"] = DATABASE_URL
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "pool_recycle": 1800,  # below the proxy's idle timeout
            "pool_size": 10,
            "pool_pre_ping": True,
            "max_overflow": 0,
            "pool_timeout": 30,
        }
        db = SQLAlchemy(app, engine_options={"echo": False})
    ''')


def test_fix_adds_keys_inline_to_the_constructor_dict_and_to_engine_config(project):
    fixed = _fixed(project, "app/a.py", '''
        from flask import Flask
        from flask_sqlalchemy import SQLAlchemy

        app = Flask(__name__)
        app.config.update(SQLALCHEMY_DATABASE_URI=DATABASE_URL)
        db = SQLAlchemy(app, engine_options={'pool_size': 5, 'max_overflow': 0,})
    ''')
    assert "engine_options={'pool_size': 5, 'max_overflow': 0, 'pool_pre_ping': True, 'pool_recycle': 3600, " \
           "'pool_timeout': 30,})" in fixed
    fixed = _fixed(project, "app/b.py", '''
        from advanced_alchemy.config import EngineConfig, SQLAlchemyAsyncConfig

        config = SQLAlchemyAsyncConfig(connection_string=URL, engine_config=EngineConfig(pool_size=5))
    ''')
    assert "EngineConfig(pool_size=5, pool_pre_ping=True, pool_recycle=3600, max_overflow=0, pool_timeout=30)" in fixed


def test_no_fix_where_the_options_are_not_a_literal_here(project):
    _write(project, {"app/settings.py": f"OPTIONS = {TUNED}\n"})
    for text in ('''
        from flask import Flask
        from flask_sqlalchemy import SQLAlchemy

        app = Flask(__name__)
        app.config["SQLALCHEMY_DATABASE_URI"] = DATABASE_URL
        db = SQLAlchemy(app)
    ''', '''
        from flask import Flask
        from flask_sqlalchemy import SQLAlchemy

        app = Flask(__name__)
        app.config["SQLALCHEMY_DATABASE_URI"] = DATABASE_URL
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = dict(pool_size=5)
        app.config["SQLALCHEMY_POOL_RECYCLE"] = 300
        db = SQLAlchemy(app)
    ''', '''
        from advanced_alchemy.config import EngineConfig, SQLAlchemyAsyncConfig

        engine_config = EngineConfig(pool_size=5)
        config = SQLAlchemyAsyncConfig(connection_string=URL, engine_config=engine_config)
        bare = SQLAlchemyAsyncConfig(connection_string=URL)
    '''):
        assert _fixed(project, "app/a.py", text, select=("POL1",)) == textwrap.dedent(text)
        assert _found(project, "app/a.py")  # the findings stay, without a fix


def test_a_project_on_flask_sqlalchemy_2_is_left_alone(project):
    """2.x honours the SQLALCHEMY_POOL_* keys (DOMAIN.md): no POL114, no 3.x merge."""
    _write(project, {"app/a.py": '''
        from flask import Flask
        from flask_sqlalchemy import SQLAlchemy

        app = Flask(__name__)
        app.config["SQLALCHEMY_DATABASE_URI"] = DATABASE_URL
        app.config["SQLALCHEMY_POOL_RECYCLE"] = 1800
        db = SQLAlchemy(app)
    '''})
    assert _codes(_found(project, "app/a.py")) == ["POL101", "POL102", "POL105", "POL106", "POL107", "POL114"]
    for pin in ('"flask-sqlalchemy==2.5.1"', '"Flask-SQLAlchemy<3"', '"flask_sqlalchemy~=2.4"'):
        project.write("pyproject.toml", f"[project]\nname = 'demo'\ndependencies = [{pin}]\n")
        assert _found(project, "app/a.py") == []
    project.write("pyproject.toml", "[project]\nname = 'demo'\ndependencies = ['flask-sqlalchemy>=2.5']\n")
    project.write("requirements.txt", "Flask-SQLAlchemy>=3.1\n")
    assert _found(project, "app/a.py")
