"""POL114 legacy-pool-config-key."""
from __future__ import annotations

from ..analysis.flask import LEGACY_KEYS, legacy_keys
from .base import Report, Rule, example, register

# The message of a key Flask-SQLAlchemy 3 ignores (SPEC 3c), and of the one that never existed.
MESSAGE = "`{key}` is ignored by Flask-SQLAlchemy 3: set `{option}` in `SQLALCHEMY_ENGINE_OPTIONS`"
NEVER_EXISTED = "`{key}` was never a Flask-SQLAlchemy setting and is ignored: set `{option}` in `SQLALCHEMY_ENGINE_OPTIONS`"

_FLASK = "from flask_sqlalchemy import SQLAlchemy\n"


@register
class LegacyPoolConfigKey(Rule):
    """## What it does
    Checks for the Flask-SQLAlchemy 2.x pool settings `SQLALCHEMY_POOL_SIZE`,
    `SQLALCHEMY_POOL_TIMEOUT`, `SQLALCHEMY_POOL_RECYCLE` and `SQLALCHEMY_MAX_OVERFLOW`, and
    the never-existing `SQLALCHEMY_POOL_PRE_PING`, set in a project that uses
    Flask-SQLAlchemy: as a config class or module attribute, `app.config["KEY"] = ...`, or a
    keyword or dict key of `app.config.update(...)` / `from_mapping(...)`.

    ## Why is this bad?
    Flask-SQLAlchemy 2.4 deprecated these keys and 3.0 removed them. 3.x ignores them
    without a warning, even under `python -W error`: the engine is built with SQLAlchemy's
    defaults (5 connections, 10 overflow, a 30 s timeout, no recycle), whatever the
    configuration says. A team that upgraded keeps a configuration that looks tuned and is
    not. `SQLALCHEMY_POOL_PRE_PING` was never read by any version. The options belong in
    `SQLALCHEMY_ENGINE_OPTIONS` (or the `engine_options=` of `SQLAlchemy(...)`).

    ## Example
    ```python
    class ProductionConfig:
        SQLALCHEMY_POOL_SIZE = 20
        SQLALCHEMY_POOL_RECYCLE = 1800
    ```

    ## Use instead
    ```python
    class ProductionConfig:
        SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 20, "pool_recycle": 1800}
    ```

    ## Fix
    None: the message names the `SQLALCHEMY_ENGINE_OPTIONS` key to set; moving the value
    there is a change of behaviour (the setting starts to apply) for a person to make.
    A key the project's code reads itself (`settings.SQLALCHEMY_POOL_SIZE`,
    `app.config["SQLALCHEMY_POOL_SIZE"]`) is its own setting, passed on by hand: silent.

    ## Options
    - `check-tests`: also check test code.

    ## References
    - Flask-SQLAlchemy 3.0 changelog: the deprecated `SQLALCHEMY_POOL_*` and
      `SQLALCHEMY_MAX_OVERFLOW` configuration keys are removed.
    - `tests/test_flask_facts.py`: 3.1 builds a default pool with the legacy keys set, and
      no warning is raised.
    """

    code = "POL114"
    name = "legacy-pool-config-key"
    family = "engine"
    severity = "warning"
    fix = "none"
    valid = (
        example(_FLASK + """
            class Config:
                SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 20, "pool_recycle": 1800}
        """, path="app/config.py"),
        example(_FLASK + """
            import os
            POOL_SIZE = int(os.environ.get("SQLALCHEMY_POOL_SIZE", "10"))
            def pool_size(app):
                return app.config.get("SQLALCHEMY_POOL_SIZE")
        """, path="app/config.py"),
        example("""
            class Config:
                SQLALCHEMY_POOL_SIZE = 20
        """, path="app/config.py"),
        example(_FLASK + """
            class Settings:
                SQLALCHEMY_POOL_SIZE = 20

            settings = Settings()
            db = SQLAlchemy(engine_options={"pool_size": settings.SQLALCHEMY_POOL_SIZE})
        """, path="app/config.py"),
    )
    invalid = (
        example(_FLASK + """
            class StagingConfig:
                SQLALCHEMY_POOL_SIZE = 5
        """, path="app/config.py", expect=[(4, 5, "`SQLALCHEMY_POOL_SIZE` is ignored by Flask-SQLAlchemy 3: set `pool_size`")]),
        example("""
            SQLALCHEMY_POOL_RECYCLE = 280
        """, path="app/settings.py", files=(("app/__init__.py", _FLASK),),
            expect=[(1, 1, "`SQLALCHEMY_POOL_RECYCLE` is ignored by Flask-SQLAlchemy 3: set `pool_recycle`")]),
        example(_FLASK + """
            from flask import Flask
            app = Flask(__name__)
            app.config["SQLALCHEMY_POOL_PRE_PING"] = True
            app.config.update(SQLALCHEMY_MAX_OVERFLOW=0)
            app.config.from_mapping({"SQLALCHEMY_POOL_TIMEOUT": 10})
        """, path="app/__init__.py", expect=[
            (5, 1, "`SQLALCHEMY_POOL_PRE_PING` was never a Flask-SQLAlchemy setting"),
            (6, 19, "`SQLALCHEMY_MAX_OVERFLOW` is ignored by Flask-SQLAlchemy 3: set `max_overflow`"),
            (7, 26, "`SQLALCHEMY_POOL_TIMEOUT` is ignored by Flask-SQLAlchemy 3: set `pool_timeout`"),
        ]),
    )

    def check(self, file):
        for node, key in legacy_keys(file):
            template = NEVER_EXISTED if key == "SQLALCHEMY_POOL_PRE_PING" else MESSAGE
            yield Report(node=node, message=template.format(key=key, option=LEGACY_KEYS[key]))
