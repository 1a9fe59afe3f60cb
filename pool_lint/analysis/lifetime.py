"""Engine lifetime (SPEC 3b): a one-shot engine serves one job in one function and is gone;
every other engine is long-lived.

One-shot: created in a function body, bound to a local name (or used inline), and never
escaping: not returned or yielded, not stored (attribute, subscript, container, `global`
/ `nonlocal`), not bound to another name, not captured by a nested function, not handed
to a session factory whose session escapes. Using it (`connect()`, `begin()`, `dispose()`,
`inspect(engine)`, `create_all(engine)`, `pandas.read_sql(..., engine)`) is not escaping.
Anything this module cannot follow is long-lived: the engine rules then apply as before.
"""
from __future__ import annotations

import ast
from typing import Optional

from . import catalog
from .names import FunctionNode

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_CONTAINERS = (ast.List, ast.Tuple, ast.Set, ast.Dict, ast.Starred)
# The session classes and makers of analysis.sessions (not imported: it is the heavy part).
_SESSION_FACTORIES = frozenset((
    "sqlalchemy.orm.Session", "sqlalchemy.orm.session.Session", "sqlmodel.Session", "sqlmodel.orm.session.Session",
    "sqlalchemy.ext.asyncio.AsyncSession", "sqlalchemy.ext.asyncio.session.AsyncSession",
    "sqlmodel.ext.asyncio.session.AsyncSession", "sqlalchemy.orm.sessionmaker", "sqlalchemy.orm.session.sessionmaker",
    "sqlalchemy.orm.scoped_session", "sqlalchemy.orm.scoping.scoped_session", "sqlalchemy.ext.asyncio.async_sessionmaker",
    "sqlalchemy.ext.asyncio.session.async_sessionmaker", "sqlalchemy.ext.asyncio.async_scoped_session",
    "sqlalchemy.ext.asyncio.scoping.async_scoped_session",
))


def is_one_shot(file, call) -> bool:
    """Is the engine of `call` (an engines.EngineCall of `file`) one-shot? Memoised."""
    memo = file.__dict__.setdefault("_one_shot", {})
    key = id(call.node)
    if key not in memo:
        memo[key] = _one_shot(file, call.node)
    return memo[key]


def is_long_lived(file, call) -> bool:
    return not is_one_shot(file, call)


def _one_shot(file, node: ast.Call) -> bool:
    func = file.function_of(node)
    if func is None:
        return False  # module level (or a class body): lives as long as the process
    parent = file.source.parent(node)
    if isinstance(parent, (ast.Assign, ast.AnnAssign)):
        targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
        if len(targets) != 1 or not isinstance(targets[0], ast.Name):
            return False  # stored in an attribute, a subscript, or unpacked
        name = targets[0].id
        if file.enclosing_functions(node)[0] is not func or not file.names.binds(func, name):
            return False  # a `global` / `nonlocal` name, or bound in a lambda or class
        return _name_stays(file, func, name, targets[0])
    return _value_stays(file, node, func)


def _value_stays(file, node: ast.AST, func) -> bool:
    """Does the value of the expression `node` (inside `func`) stay in `func`?"""
    parent = file.source.parent(node)
    if isinstance(parent, ast.Attribute) and parent.value is node:
        return True  # `engine.connect()`, `create_engine(url).begin()`: a use
    if isinstance(parent, ast.keyword):
        parent = file.source.parent(parent)
        if not isinstance(parent, ast.Call):
            return False
    if isinstance(parent, ast.Call) and node is not parent.func:
        qualified = file.resolve(parent.func)
        if qualified in _SESSION_FACTORIES or qualified in catalog.ENGINE_FACTORIES:
            return _factory_stays(file, parent, func)
        return True  # handed to a function: a use (`inspect(engine)`, `read_sql(q, engine)`)
    if isinstance(parent, (ast.withitem, ast.Expr, ast.Await)):
        return True
    return False  # returned, yielded, stored, in a container, compared...


def _factory_stays(file, call: ast.Call, func) -> bool:
    """A session factory built from the engine: does its result stay in `func`?"""
    parent = file.source.parent(call)
    if isinstance(parent, ast.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0], ast.Name):
        name = parent.targets[0].id
        return file.names.binds(func, name) and _name_stays(file, func, name, parent.targets[0], depth=1)
    if isinstance(parent, ast.withitem):
        return True  # `with Session(engine) as s:` the session lives in the block
    if isinstance(parent, ast.Attribute) and parent.value is call:
        return True
    return False


def _name_stays(file, func, name: str, binding: ast.Name, depth: int = 0) -> bool:
    """Every use of the local `name` in `func` keeps its value in `func`."""
    if len(file.names.function_bindings(func).get(name, ())) != 1:
        return False  # rebound: follow nothing
    for node in ast.walk(func):
        if not isinstance(node, ast.Name) or node.id != name or node is binding:
            continue
        scopes = file.enclosing_functions(node)
        if not scopes or scopes[0] is not func:
            return False  # captured by a nested function, a lambda or a comprehension scope
        if not isinstance(node.ctx, ast.Load):
            return False
        parent = file.source.parent(node)
        if isinstance(parent, ast.Call) and parent.func is node:
            return False  # called: not an engine as far as we can tell
        if depth and isinstance(parent, ast.Call) and node is not parent.func:
            continue  # a local session factory handed to a call: a use
        if not _value_stays(file, node, func):
            return False
    return True


def enclosing_function(file, node: ast.AST) -> Optional[ast.AST]:
    return next((f for f in file.enclosing_functions(node) if isinstance(f, FunctionNode)), None)
