"""POL111 engine-per-request."""
from __future__ import annotations

import ast

from .base import example, register
from .engine import EngineRule

ROUTE_DECORATORS = {"get", "post", "put", "patch", "delete", "head", "options", "trace", "route",
                    "api_route", "websocket", "websocket_route"}
CACHE_DECORATORS = {"functools.lru_cache", "functools.cache", "functools.cached_property",
                    "async_lru.alru_cache", "cachetools.cached"}
DEPENDS = {"fastapi.Depends", "fastapi.params.Depends", "fastapi.Security"}

ENGINE_PER_REQUEST = "engine created {where}: every call builds a new pool and opens a new connection; create it once and share it"


def _decorator_target(decorator: ast.AST) -> ast.AST:
    return decorator.func if isinstance(decorator, ast.Call) else decorator


def is_route_handler(func: ast.AST) -> bool:
    for decorator in getattr(func, "decorator_list", []):
        target = _decorator_target(decorator)
        if isinstance(target, ast.Attribute) and target.attr in ROUTE_DECORATORS and isinstance(decorator, ast.Call):
            return True
    return False


def is_cached(file, func: ast.AST) -> bool:
    return any(file.resolve(_decorator_target(d)) in CACHE_DECORATORS for d in getattr(func, "decorator_list", []))


def request_dependencies(file) -> set:
    """Names of this module's functions used as `Depends(...)` dependencies."""
    found = set()
    for call in file.calls():
        if call.args and isinstance(call.args[0], ast.Name) and file.resolve(call.func) in DEPENDS:
            found.add(call.args[0].id)
        for keyword in call.keywords:
            if keyword.arg == "dependency" and isinstance(keyword.value, ast.Name) and file.resolve(call.func) in DEPENDS:
                found.add(keyword.value.id)
    return found


@register
class EnginePerRequest(EngineRule):
    """## What it does
    Checks for engine factory calls inside a route handler, inside a request dependency
    (`Depends(...)`), or inside a loop or comprehension of a function body.

    ## Why is this bad?
    An engine owns a connection pool. Building one per request (or per loop pass) creates
    a new pool each time, opens a brand-new connection through it, and throws both away:
    every request pays the full handshake, connections linger until the engine is garbage
    collected or disposed, and the pool's limits never apply. Create the engine once, at
    module level, in a lifespan or start-up hook, or in a cached factory
    (`functools.lru_cache`/`functools.cache`), and share it.

    ## Example
    ```python
    @router.get("/tenants/{tenant}/orders")
    async def orders(tenant: str):
        engine = create_async_engine(f"postgresql+asyncpg://db/{tenant}")
        ...
    ```

    ## Use instead
    ```python
    @lru_cache
    def tenant_engine(tenant: str) -> AsyncEngine:
        return create_async_engine(f"postgresql+asyncpg://db/{tenant}", pool_pre_ping=True)
    ```

    ## Fix
    None: where the engine should live is a design decision.

    ## Options
    - `check-tests`: also check test code and migrations.

    ## References
    - SQLAlchemy documentation, "Engine Disposal": an engine is meant to be created once
      per process.
    """

    code = "POL111"
    name = "engine-per-request"
    severity = "error"
    fix = "none"
    valid = (
        example("""
            from functools import lru_cache
            from sqlalchemy.ext.asyncio import create_async_engine

            @lru_cache
            def get_engine():
                return create_async_engine(URL, pool_pre_ping=True, pool_recycle=3600,
                                           pool_size=5, max_overflow=0, pool_timeout=10)
        """),
        example("""
            from sqlalchemy.ext.asyncio import create_async_engine

            def make_engine(url):
                return create_async_engine(url, pool_pre_ping=True, pool_recycle=3600,
                                           pool_size=5, max_overflow=0, pool_timeout=10)
        """),
    )
    invalid = (
        example("""
            from fastapi import APIRouter
            from sqlalchemy.ext.asyncio import create_async_engine
            router = APIRouter()

            @router.get("/count")
            async def count():
                engine = create_async_engine(URL, pool_pre_ping=True, pool_recycle=3600,
                                             pool_size=5, max_overflow=0, pool_timeout=10)
        """, expect=[(7, 14, "engine created in route handler `count()`:")]),
        example("""
            from sqlalchemy import create_engine

            def purge(urls):
                for url in urls:
                    engine = create_engine(url, pool_pre_ping=True, pool_recycle=3600,
                                           pool_size=5, max_overflow=0, pool_timeout=10)
        """, expect=[(5, 18, "engine created in a loop:")]),
        example("""
            from fastapi import Depends, FastAPI
            from sqlalchemy import create_engine
            app = FastAPI()

            def get_conn():
                engine = create_engine(URL, pool_pre_ping=True, pool_recycle=3600,
                                       pool_size=5, max_overflow=0, pool_timeout=10)
                with engine.connect() as conn:
                    yield conn

            @app.get("/")
            def index(conn=Depends(get_conn)):
                return 1
        """, expect=[(6, 14, "engine created in request dependency `get_conn()`:")]),
    )

    def check_call(self, file, call):
        function = call.function
        if function is None:
            return
        if any(is_cached(file, f) for f in file.enclosing_functions(call.node)
               if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))):
            return
        if call.in_loop:
            where = "in a loop"
        elif is_route_handler(function):
            where = f"in route handler `{function.name}()`"
        elif function.name in request_dependencies(file):
            where = f"in request dependency `{function.name}()`"
        else:
            return
        yield self.report(
            call,
            ENGINE_PER_REQUEST.format(where=where),
        )
