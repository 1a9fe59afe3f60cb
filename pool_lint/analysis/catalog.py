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
# Databases that run inside the process (no server, no network): SQLite, and DuckDB through
# duckdb_engine. A pool of connections to them has nothing to ping, recycle or size.
IN_PROCESS_SCHEMES = SQLITE_SCHEMES + ("duckdb",)
# `make_url(text)`: the URL object whose `drivername` / `get_backend_name()` a guard reads.
MAKE_URL = frozenset(("sqlalchemy.make_url", "sqlalchemy.engine.make_url", "sqlalchemy.engine.url.make_url"))


def pool_kind(qualified: str):
    """'null', 'queue', ... for a qualified pool class name, or None."""
    module, _, short = qualified.rpartition(".")
    if module in POOL_MODULES and short in POOL_CLASSES:
        return POOL_CLASSES[short]
    return None


# -- external calls (SPEC 4): what goes out over the network ------------------------------
# Module-level functions that make a request.
EXTERNAL_FUNCTIONS = frozenset(
    [f"httpx.{m}" for m in ("get", "post", "put", "patch", "delete", "head", "options", "request", "stream")]
    + [f"requests.{m}" for m in ("get", "post", "put", "patch", "delete", "head", "options", "request")]
    + [f"requests.api.{m}" for m in ("get", "post", "put", "patch", "delete", "head", "options", "request")]
    + ["urllib.request.urlopen", "urllib3.request", "smtplib.SMTP.sendmail"]
)
# Whole namespaces whose calls go out over the network (`stripe.Charge.create(...)`).
EXTERNAL_PREFIXES = ("stripe.",)
NOT_EXTERNAL_IN_PREFIX = ("stripe.error.", "stripe.util.")

HTTP_METHODS = frozenset(["get", "post", "put", "patch", "delete", "head", "options", "request", "stream", "send",
                          "fetch", "urlopen", "getresponse"])
# Client constructors -> which of their instances' methods are external (None: any method
# but the ones in LOCAL_METHODS, e.g. SDK clients whose every call is a request).
CLIENTS = {
    "httpx.Client": HTTP_METHODS,
    "httpx.AsyncClient": HTTP_METHODS,
    "requests.Session": HTTP_METHODS,
    "requests.sessions.Session": HTTP_METHODS,
    "aiohttp.ClientSession": HTTP_METHODS,
    "aiohttp.client.ClientSession": HTTP_METHODS,
    "urllib3.PoolManager": HTTP_METHODS,
    "urllib3.poolmanager.PoolManager": HTTP_METHODS,
    "http.client.HTTPConnection": HTTP_METHODS,
    "http.client.HTTPSConnection": HTTP_METHODS,
    "smtplib.SMTP": None,
    "smtplib.SMTP_SSL": None,
    "emails.Message": frozenset(["send"]),
    "emails.html": frozenset(["send"]),
    "emails.message.Message": frozenset(["send"]),  # where emails.Message is defined
    "emails.message.html": frozenset(["send"]),
    "openai.OpenAI": None,
    "openai.AsyncOpenAI": None,
    "anthropic.Anthropic": None,
    "anthropic.AsyncAnthropic": None,
    "boto3.client": None,
    "boto3.resource": None,
}
# Every other public path a package exports a catalogued name from (SPEC 3b, "Catalogue
# paths"): each is matched as the name itself. `emails/__init__.py` re-exports `Message`
# and `html` from `emails.message` (python-emails 0.6).
PUBLIC_PATHS = {
    "emails.Message": ("emails.message.Message",),
    "emails.html": ("emails.message.html",),
}
for _name, _paths in PUBLIC_PATHS.items():
    for _path in _paths:
        CLIENTS.setdefault(_path, CLIENTS[_name])
CLIENT_PREFIXES = {"httpx_oauth.": None}
# Transports that call an app in-process (a test client of the app under test): a client
# built on one makes no external call (SPEC 3, file roles).
IN_PROCESS_TRANSPORTS = frozenset(["httpx.ASGITransport", "httpx.WSGITransport", "httpx._transports.asgi.ASGITransport",
                                   "httpx._transports.wsgi.WSGITransport"])
LOCAL_METHODS = frozenset(["close", "aclose", "with_options", "copy", "__enter__", "__exit__", "__aenter__",
                           "__aexit__"])


def external_import(qualified: str) -> bool:
    """Can a name imported as `qualified` (a module, or a module's member) lead to a
    catalogued external call: is it one, or does one live under it (`httpx` and
    `httpx.AsyncClient` can, `httpx.Response` and `http.HTTPStatus` cannot)?"""
    below = qualified + "."
    if qualified in _CATALOGUED or any(name.startswith(below) for name in _CATALOGUED):
        return True
    for prefix in _PREFIXES:
        if qualified.startswith(prefix):
            return not qualified.startswith(NOT_EXTERNAL_IN_PREFIX)
        if prefix.startswith(below):
            return True
    return False


_CATALOGUED = frozenset(EXTERNAL_FUNCTIONS) | frozenset(CLIENTS)
_PREFIXES = tuple(EXTERNAL_PREFIXES) + tuple(CLIENT_PREFIXES)
# The top-level modules of the catalogue: an import of anything else calls nothing out.
EXTERNAL_MODULES = frozenset(name.split(".", 1)[0] for name in (*_CATALOGUED, *_PREFIXES))
