"""Catalogues of qualified names: plain data, kept apart from the logic that uses it.

Everything here is a fully qualified name as `names.ModuleNames.qualify` produces it.
"""
from __future__ import annotations

# Engine factories (SPEC 3) and their kind.
ENGINE_FACTORIES = {
    "sqlalchemy.create_engine": "create_engine",
    "sqlalchemy.engine.create_engine": "create_engine",
    "sqlalchemy.engine.create.create_engine": "create_engine",
    "sqlmodel.create_engine": "create_engine",
    "sqlalchemy.ext.asyncio.create_async_engine": "create_async_engine",
    "sqlalchemy.ext.asyncio.engine.create_async_engine": "create_async_engine",
    "sqlalchemy.engine_from_config": "engine_from_config",
    "sqlalchemy.engine.engine_from_config": "engine_from_config",
    "sqlalchemy.engine.create.engine_from_config": "engine_from_config",
    "sqlalchemy.ext.asyncio.async_engine_from_config": "engine_from_config",
    "sqlalchemy.ext.asyncio.engine.async_engine_from_config": "engine_from_config",
}

# The bare names that can stand for a factory: the byte screen looks for these.
ENGINE_FACTORY_WORDS = (b"create_engine", b"create_async_engine", b"engine_from_config")

# Pool classes by the short name of their class, wherever they are imported from
# (`sqlalchemy.pool.NullPool`, `sqlalchemy.NullPool`, `sqlalchemy.pool.impl.NullPool`).
POOL_MODULES = ("sqlalchemy.pool", "sqlalchemy.pool.impl", "sqlalchemy")
POOL_CLASSES = {
    "QueuePool": "queue",
    "AsyncAdaptedQueuePool": "queue",
    "FallbackAsyncAdaptedQueuePool": "queue",
    "NullPool": "null",
    "StaticPool": "static",
    "SingletonThreadPool": "singleton",
    "AssertionPool": "assertion",
}

# Keywords each pool class rejects at start-up with TypeError (tests/test_sqlalchemy_facts.py).
REJECTED_KEYWORDS = {
    "null": ("pool_size", "max_overflow", "pool_timeout", "pool_use_lifo"),
    "static": ("pool_size", "max_overflow", "pool_timeout", "pool_use_lifo"),
    "assertion": ("pool_size", "max_overflow", "pool_timeout", "pool_use_lifo"),
    "singleton": ("max_overflow", "pool_timeout", "pool_use_lifo"),
}

# The pool keywords pool-lint reasons about, in the order fixes insert them (SPEC 4).
FIX_ORDER = ("pool_pre_ping", "pool_recycle", "pool_size", "max_overflow", "pool_timeout")

# engine_from_config coerces these from strings to int; pool_pre_ping it does not.
CONFIG_INT_KEYS = ("pool_recycle", "pool_size", "max_overflow", "pool_timeout")

SQLITE_SCHEMES = ("sqlite",)


def pool_kind(qualified: str):
    """'null', 'queue', ... for a qualified pool class name, or None."""
    module, _, short = qualified.rpartition(".")
    if module in POOL_MODULES and short in POOL_CLASSES:
        return POOL_CLASSES[short]
    return None
