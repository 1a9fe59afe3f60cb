"""Flask-SQLAlchemy and advanced-alchemy (SPEC 3c): the engines most applications never
build by hand, and Flask-SQLAlchemy's request-scoped `db.session`.

Engines. A `flask_sqlalchemy.SQLAlchemy(...)` call builds one engine per bind of every
Flask app it is bound to (`SQLAlchemy(app)`, or `<db>.init_app(app)` anywhere in the
project outside test code), with the options merged as Flask-SQLAlchemy 3 merges them
(`SQLAlchemy._make_engine`, `_apply_driver_defaults`; tests/test_flask_facts.py shows each
step with the real library):

- the default engine: the call's `engine_options`, updated key by key by the app's
  `SQLALCHEMY_ENGINE_OPTIONS` (config wins), URL from `SQLALCHEMY_DATABASE_URI`;
- a bind of `SQLALCHEMY_BINDS`: the call's `engine_options` updated by its own entry (a
  URL string: no options); `SQLALCHEMY_ENGINE_OPTIONS` never reaches it;
- MySQL without `pool_recycle`: 7200; in-memory SQLite: `StaticPool`, whatever is asked.

The app's config is read from the statements on the app before the binding, in order,
in the same function or module: `app.config[K] = v`, `update(...)`, `from_mapping(...)`,
`from_object(...)` of a project class (inherited attributes too) or module. Anything
else that writes it (`from_pyfile`, `from_envvar`, a computed key, `app.config` handed to
a function) makes the app's configuration unknown: none of its engines is reported.
Each engine is an `engines.EngineCall` reported at the `SQLAlchemy(` call, its label
naming the bind; no keyword fix applies to it (`fixable` is False).

advanced-alchemy: `SQLAlchemyAsyncConfig` / `SQLAlchemySyncConfig(connection_string=...,
engine_config=EngineConfig(...))` builds one engine with the `EngineConfig` keywords.

Sessions: `db.session` (and `db.session()`, `Model.query` of a `db.Model` subclass) is
one session per app context; `FlaskSessions` tells the session flow (analysis.sessions)
which calls check its connection out and which give it back.
"""
from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, Dict, Iterator, List, Optional, Tuple

from . import catalog
from .engines import EngineCall, Keyword, Url
from .file import FLASK_FREE
from .names import FunctionNode, iter_scope_statements
from .roles import is_test_path
from .tree import dotted as _dotted, walk
from .values import Partial

FLASK_SQLALCHEMY = frozenset(["flask_sqlalchemy.SQLAlchemy", "flask_sqlalchemy.extension.SQLAlchemy"])
FLASK_APPS = frozenset(["flask.Flask", "flask.app.Flask"])
# advanced-alchemy's configs, wherever they are imported from (advanced_alchemy.config,
# its Litestar extension, litestar.plugins.sqlalchemy): by the short name of the class.
ALCHEMY_PACKAGES = ("advanced_alchemy", "litestar")
ALCHEMY_CONFIGS = {"SQLAlchemyAsyncConfig": "create_async_engine", "SQLAlchemySyncConfig": "create_engine"}
ENGINE_CONFIG = "EngineConfig"

# The Flask-SQLAlchemy 2.x pool keys that 3.x ignores without a word (POL114), and the
# engine option each stands for. SQLALCHEMY_POOL_PRE_PING never existed in any version.
LEGACY_KEYS = {
    "SQLALCHEMY_POOL_SIZE": "pool_size",
    "SQLALCHEMY_POOL_TIMEOUT": "pool_timeout",
    "SQLALCHEMY_POOL_RECYCLE": "pool_recycle",
    "SQLALCHEMY_MAX_OVERFLOW": "max_overflow",
    "SQLALCHEMY_POOL_PRE_PING": "pool_pre_ping",
}
MYSQL_RECYCLE = 7200  # _apply_driver_defaults: options.setdefault("pool_recycle", 7200)
IN_MEMORY_DRIVERS = ("sqlite", "sqlite+pysqlite")

# Methods of `app.config` that only read it; every other method may write it.
_CONFIG_READS = frozenset(["get", "keys", "items", "values", "copy", "__contains__", "__getitem__", "get_namespace"])
_CONFIG_WRITES = frozenset(["update", "from_mapping"])
_IMPORTS_FLASK_SQLALCHEMY = re.compile(rb"^[ \t]*(?:from[ \t]+flask_sqlalchemy\b|import[ \t]+flask_sqlalchemy\b)", re.M)


@dataclass(frozen=True)
class Opt:
    """One configuration value: its expression (None: present, unknown), the module it
    is written in, and the node it is read at."""

    expr: Optional[ast.AST]
    module: Any
    at: Optional[ast.AST]

    def value(self) -> Any:
        from .values import UNKNOWN

        if self.expr is None:
            return UNKNOWN
        return self.module.evaluator.value(self.expr, self.at)


Options = Dict[Any, Opt]


# -- the project's files, for the questions no import answers -------------------------------
def _project_files(project) -> List[str]:
    """The project's Python files outside test code: the root's files as the runtime
    detection and the index list them (`runtime.python_files`: hidden, excluded and
    linked folders and nested project roots left out), read once per project."""
    key = ("flask", "files")
    found = project.facts.get(key)
    if found is None:
        from .runtime import python_files

        root = str(project.root)
        found = [path for path in python_files(root)
                 if not is_test_path(PurePath(os.path.relpath(path, root)))]
        project.facts[key] = found
    return found


def _files_saying(project, word: bytes) -> List[str]:
    """The project files (outside test code) whose bytes hold `word`. Every file read is
    a dependency of the file being checked (the cache's: a binding written into one of
    them later is seen)."""
    from pathlib import Path

    project.touched.update(Path(path) for path in _project_files(project))
    key = ("flask", "word", word)
    found = project.facts.get(key)
    if found is None:
        from ..files import read_or_none

        found = []
        for path in _project_files(project):
            data = read_or_none(path)
            if data is not None and word in data:
                found.append(path)
        project.facts[key] = found
    return found


def project_uses_flask_sqlalchemy(project) -> bool:
    """Does a module of the project (outside test code) import flask_sqlalchemy?"""
    key = ("flask", "imported")
    found = project.facts.get(key)
    if found is None:
        from ..files import read_or_none

        found = False
        for path in _files_saying(project, b"flask_sqlalchemy"):
            data = read_or_none(path)
            if data is not None and _IMPORTS_FLASK_SQLALCHEMY.search(data):
                found = True
                break
        project.facts[key] = found
    return found


_REQUIREMENT = re.compile(
    rb"flask[-_]sqlalchemy[\"']?\s*(?:\[[^\]]*\])?\s*(?:=\s*[\"'])?\s*([<>=~^!]{0,3})\s*(\d+)(?:\.(\d+))?", re.I)
_DECLARATIONS = ("pyproject.toml", "setup.cfg", "setup.py", "Pipfile", "requirements.txt", "requirements.in")


def legacy_flask_sqlalchemy(project) -> bool:
    """Does the project declare a Flask-SQLAlchemy below 3 (`==2.5.1`, `<3`, `~=2.5`,
    `^2.5`)? 2.x honours the `SQLALCHEMY_POOL_*` keys and has other defaults: its engines
    are not the ones SPEC 3c describes, and POL114 does not apply (yet)."""
    key = ("flask", "legacy")
    found = project.facts.get(key)
    if found is None:
        from ..files import read_or_none

        found = False
        root = str(project.root)
        names = list(_DECLARATIONS)
        try:
            names += [n for n in os.listdir(root) if n.startswith("requirements") and n.endswith((".txt", ".in"))]
        except OSError:
            pass
        for name in dict.fromkeys(names):
            data = read_or_none(os.path.join(root, name))
            for match in _REQUIREMENT.finditer(data or b""):
                op, major, minor = match.group(1).decode(), int(match.group(2)), match.group(3)
                if (op in ("==", "~=", "^", "<=", "===", "") and major < 3) or \
                        (op == "<" and (major < 3 or (major == 3 and minor in (None, b"0")))):
                    found = True  # an exact pin (poetry's bare "2.5.1" too) or a bound below 3
        project.facts[key] = found
    return found


def _qualified(module, expr: ast.AST) -> Optional[str]:
    """The canonical qualified name of an expression of `module` (local imports seen)."""
    qualified = module.names.qualify(expr, list(module.source.enclosing(expr)))
    if qualified and module.project is not None:
        return module.project.canonical(qualified, module.path)
    return qualified


def is_flask_sqlalchemy(qualified: Optional[str]) -> bool:
    return qualified in FLASK_SQLALCHEMY


def _alchemy_name(qualified: Optional[str]) -> Optional[str]:
    """The short class name of an advanced-alchemy config or EngineConfig, or None."""
    if not qualified or not qualified.startswith(ALCHEMY_PACKAGES):
        return None
    short = qualified.rsplit(".", 1)[-1]
    return short if short in ALCHEMY_CONFIGS or short == ENGINE_CONFIG else None


# -- mappings, classes, modules -----------------------------------------------------------
def _string_key(node) -> Tuple[bool, Any]:
    if isinstance(node, ast.Constant) and (isinstance(node.value, str) or node.value is None):
        return True, node.value
    return False, None


def mapping(module, expr: Optional[ast.AST], at: ast.AST, depth: int = 0) -> Optional[Options]:
    """A statically known dict: its keys -> Opt, `{**Base.X, ...}` merges followed; None
    when it cannot be resolved."""
    if expr is None or depth > 8:
        return None
    if isinstance(expr, ast.Dict):
        out: Options = {}
        for key, value in zip(expr.keys, expr.values):
            if key is None:
                inner = mapping(module, value, at, depth + 1)
                if inner is None:
                    return None
                out.update(inner)
                continue
            ok, name = _string_key(key)
            if not ok:
                return None
            out[name] = Opt(value, module, at)
        return out
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == "dict":
        if expr.args or module.names.qualify_name("dict", list(module.source.enclosing(expr))) is not None:
            return None
        if any(k.arg is None for k in expr.keywords):
            return None
        return {k.arg: Opt(k.value, module, at) for k in expr.keywords}
    if isinstance(expr, ast.Name):
        simple = module.evaluator.mapping(expr, at)
        if simple is not None:
            return {key: Opt(value, module, at) for key, value in simple.items()}
        scope, nodes = module.evaluator.scope_of_name(expr.id, at)
        if len(nodes) == 1 and isinstance(nodes[0], ast.Name) and _only_binding(module, scope, nodes[0]):
            bound = module.evaluator.binding_value(expr.id, at)
            if isinstance(bound, ast.Dict):
                return mapping(module, bound, module.evaluator.statement_of(bound) or at, depth + 1)
        found = _imported_value(module, expr)
        if found is not None:
            other, value, stmt = found
            return mapping(other, value, stmt, depth + 1)
        return None
    if isinstance(expr, ast.Attribute):
        found = _class_attribute(module, expr, depth)
        if found is not None and found.expr is not None:
            return mapping(found.module, found.expr, found.at, depth + 1)
    return None


def _only_binding(module, scope, binding: ast.Name) -> bool:
    """Is the name bound by `binding` used nowhere but as a read (no `.update()`, no
    subscript assignment) in its scope? (The plain evaluator handles the literal-only
    cases with their key assignments; a dict with a `**` merge must be left alone.)"""
    for node in walk(scope):
        if isinstance(node, ast.Name) and node.id == binding.id and node is not binding:
            parent = module.source.parent(node)
            if isinstance(node.ctx, ast.Store) or isinstance(parent, (ast.Attribute, ast.Call)) \
                    or (isinstance(parent, ast.Subscript) and not isinstance(parent.ctx, ast.Load)):
                return False
    return True


def _imported_value(module, expr: ast.Name):
    """(module, value, statement) of a module-level constant imported into `module`."""
    found = module.imported_assignment(expr.id)
    if found is None:
        return None
    other, value = found
    return other, value, other.evaluator.statement_of(value)


def _class_attribute(module, expr: ast.Attribute, depth: int = 0) -> Optional[Opt]:
    """`Cls.ATTR` of a project class (inherited attributes too)."""
    found = resolve_class(module, expr.value)
    if not isinstance(found, tuple):
        return None
    attrs = class_attributes(*found, depth=depth + 1)
    return attrs.get(expr.attr) if attrs is not None else None


def resolve_class(module, expr: ast.AST):
    """(module, ClassDef) of a project class, "object" for `object`, or None."""
    if isinstance(expr, ast.Name) and expr.id == "object" and not module.names.bound("object"):
        return "object"
    if isinstance(expr, ast.Name):
        nodes = module.names.bindings.get(expr.id) or []
        if len(nodes) == 1 and isinstance(nodes[0], ast.ClassDef):
            return module, nodes[0]
    qualified = _qualified(module, expr)
    if not qualified or module.project is None:
        return None
    _, other, node = module.project.resolve(qualified, module.path, want=(ast.ClassDef,))
    if other is not None and isinstance(node, ast.ClassDef):
        return other, node
    return None


def class_attributes(module, cls: ast.ClassDef, depth: int = 0) -> Optional[Options]:
    """The UPPERCASE attributes of a project class, its bases' first (as `from_object`
    reads them through `dir()`), or None when a base is not a project class."""
    if depth > 8:
        return None
    key = ("flask", "class", id(cls))
    project = module.project
    if project is not None and key in project.facts:
        return project.facts[key]
    out: Options = {}
    for base in reversed(cls.bases):
        found = resolve_class(module, base)
        if found is None:
            out = None
            break
        if found == "object":
            continue
        inherited = class_attributes(*found, depth=depth + 1)
        if inherited is None:
            out = None
            break
        out.update(inherited)
    if out is not None:
        out.update(_uppercase_bindings(module, cls.body))
    if project is not None:
        project.facts[key] = out
    return out


def _uppercase_bindings(module, body: List[ast.stmt]) -> Options:
    """UPPERCASE names a class body or a module binds: a plain assignment at its top level
    gives its value; any other binding (in a branch, an import, a loop) is present, unknown."""
    out: Options = {}
    for stmt in body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            if stmt.targets[0].id.isupper():
                out[stmt.targets[0].id] = Opt(stmt.value, module, stmt)
            continue
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
            if stmt.target.id.isupper():
                out[stmt.target.id] = Opt(stmt.value, module, stmt)
            continue
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if stmt.name.isupper():
                out[stmt.name] = Opt(None, module, stmt)
            continue
        for inner in iter_scope_statements([stmt]):
            for node in walk(inner) if not isinstance(inner, (*FunctionNode, ast.ClassDef)) else ():
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id.isupper():
                    out[node.id] = Opt(None, module, stmt)
            if isinstance(inner, (ast.Import, ast.ImportFrom)):
                for alias in inner.names:
                    local = alias.asname or alias.name.split(".")[0]
                    if local.isupper():
                        out[local] = Opt(None, module, stmt)
    return out


# -- the app's config -----------------------------------------------------------------------
@dataclass
class AppConfig:
    keys: Options
    known: bool = True  # False: something wrote it that cannot be read statically


def _object_config(module, expr: ast.AST, scope, at: ast.AST) -> Optional[Options]:
    """What `app.config.from_object(expr)` copies, or None."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str) and module.project is not None:
        _, other, node = module.project.resolve(expr.value, module.path, want=(ast.ClassDef,))
        if other is not None and isinstance(node, ast.ClassDef):
            return class_attributes(other, node)
        found = module.project.find_module(expr.value, module.path)
        return _module_config(found) if found is not None else None
    if isinstance(expr, ast.Name) and isinstance(scope, FunctionNode):
        default = _factory_default(module, scope, expr.id)
        if default is not None:
            return _object_config(module, default, None, at)
        if module.names.binds(scope, expr.id):
            return None
    found = resolve_class(module, expr)
    if isinstance(found, tuple):
        return class_attributes(*found)
    qualified = _qualified(module, expr)
    if qualified and module.project is not None:
        other = module.project.find_module(qualified, module.path)
        if other is not None:
            return _module_config(other)
    return None


def _module_config(module) -> Options:
    module.source.expand_where(lambda text: True)
    return _uppercase_bindings(module, module.names.tree.body)


def _factory_default(module, func, name: str) -> Optional[ast.AST]:
    """The default of the factory parameter `name`, when no call of the factory outside
    test code passes an argument (SPEC 3c); else None."""
    args = func.args
    positional = [*args.posonlyargs, *args.args]
    defaults = dict(zip([a.arg for a in positional[len(positional) - len(args.defaults):]], args.defaults))
    defaults.update({a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None})
    if name not in defaults or module.names.function_bindings(func).get(name, [None])[0] is None:
        return None
    bindings = module.names.function_bindings(func).get(name, [])
    if len(bindings) != 1 or not isinstance(bindings[0], ast.arg):
        return None  # reassigned in the body
    if _factory_called_with_arguments(module, func):
        return None
    return defaults[name]


def _factory_called_with_arguments(module, func) -> bool:
    if module.project is None or not module.name:
        return True
    target = f"{module.name}.{func.name}"
    project = module.project
    for path in _files_saying(project, func.name.encode()):
        other = project.load(path)
        if other is None:
            return True  # cannot read it: it may pass one
        other.source.expand_where(lambda text: func.name in text)
        project.touched.add(other.path)
        for node in walk(other.names.tree):
            if isinstance(node, ast.Call) and (node.args or node.keywords):
                word = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
                if word == func.name and _qualified(other, node.func) in (target, None):
                    return True
    return False


def _is_config(module, node: ast.AST, app: str) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "config" and isinstance(node.value, ast.Name) \
        and node.value.id == app


def app_config(module, scope, app: str, binding: ast.stmt) -> AppConfig:
    """The config an app holds when the statement `binding` runs (SPEC 3c): the
    statements on `app.config` before it, in order, at the top level of its scope."""
    config = AppConfig({})
    body = scope.body
    for stmt in body:
        if stmt is binding or (binding.lineno >= stmt.lineno and binding.end_lineno <= stmt.end_lineno):
            break
        for node in walk(stmt):
            if not (isinstance(node, ast.Name) and node.id == app):
                continue
            parent = module.source.parent(node)
            if not _is_config(module, parent, app):
                continue
            user = module.source.parent(parent)
            top = module.source.parent(user)
            if isinstance(user, ast.Subscript) and user.value is parent:
                if isinstance(user.ctx, ast.Load):
                    continue
                ok, key = _string_key(user.slice)
                if not ok or key is None:
                    config.known = False
                elif isinstance(user.ctx, ast.Store) and isinstance(stmt, ast.Assign) and stmt.targets == [user]:
                    config.keys[key] = Opt(stmt.value, module, stmt)
                else:
                    config.keys[key] = Opt(None, module, stmt)
                continue
            if isinstance(user, ast.Attribute) and user.value is parent and isinstance(top, ast.Call) \
                    and top.func is user:
                method = user.attr
                if method in _CONFIG_READS:
                    continue
                direct = isinstance(stmt, ast.Expr) and stmt.value is top
                if method in _CONFIG_WRITES and direct:
                    if not _apply_update(module, top, stmt, config):
                        config.known = False
                    continue
                if method == "from_object" and direct and len(top.args) == 1 and not top.keywords:
                    found = _object_config(module, top.args[0], scope, stmt)
                    if found is None:
                        config.known = False
                    else:
                        config.keys.update(found)
                    continue
            config.known = False  # from_pyfile & co, a write under a condition, app.config handed on
    return config


def _apply_update(module, call: ast.Call, stmt, config: AppConfig) -> bool:
    for arg in call.args:
        found = mapping(module, arg, stmt)
        if found is None or len(call.args) > 1:
            return False
        config.keys.update(found)
    for keyword in call.keywords:
        if keyword.arg is None:
            found = mapping(module, keyword.value, stmt)
            if found is None:
                return False
            config.keys.update(found)
        else:
            config.keys[keyword.arg] = Opt(keyword.value, module, stmt)
    return True


# -- engines ----------------------------------------------------------------------------------
def _bindings(file, call: ast.Call) -> Iterator[Tuple[Any, Any, str, ast.stmt]]:
    """(module, scope, app name, binding statement) for each app the `SQLAlchemy(...)`
    call is bound to statically."""
    module = file.module
    app = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "app"), None)
    if app is not None:
        if isinstance(app, ast.Name):
            stmt = module.evaluator.statement_of(call)
            yield module, _scope_of(module, stmt), app.id, stmt
        return
    parent = file.source.parent(call)
    if not (isinstance(parent, ast.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0], ast.Name)):
        return
    name = parent.targets[0].id
    if file.function_of(call) is not None:
        targets = {None}  # a local db: init_app in the same function only
        candidates = [module]
    else:
        if not module.name:
            targets, candidates = {name}, [module]
        else:
            targets = {f"{module.name}.{name}"}
            candidates = [module]
            project = module.project
            for path in _files_saying(project, b"init_app"):
                other = project.load(path)
                if other is not None and other is not module and other.path != module.path:
                    candidates.append(other)
    for other in candidates:
        other.source.expand_where(lambda text: "init_app" in text)
        for node in walk(other.names.tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "init_app" and len(node.args) == 1 and not node.keywords):
                continue
            receiver = node.func.value
            if None in targets:
                if not (isinstance(receiver, ast.Name) and receiver.id == name
                        and file.function_of(node) is file.function_of(call)):
                    continue
            elif not module.name:
                if not (isinstance(receiver, ast.Name) and receiver.id == name and file.function_of(node) is None):
                    continue
            elif _qualified(other, receiver) not in targets:
                continue
            if not isinstance(node.args[0], ast.Name):
                continue
            if other is not module and other.path is not None:
                module.project.touched.add(other.path)
            stmt = other.evaluator.statement_of(node)
            yield other, _scope_of(other, stmt), node.args[0].id, stmt


def _scope_of(module, stmt: ast.stmt):
    func = next((f for f in module.source.enclosing(stmt) if isinstance(f, (*FunctionNode, ast.ClassDef))), None)
    return func if func is not None else module.names.tree


def _is_flask_app(module, scope, app: str, stmt: ast.stmt) -> bool:
    value = module.evaluator.binding_value(app, stmt)
    if not isinstance(value, ast.Call):
        return False
    return _qualified(module, value.func) in FLASK_APPS


def _url_of(opt: Optional[Opt]) -> Url:
    if opt is None:
        return Url()
    value = opt.value()
    if isinstance(value, str):
        return Url(full=value)
    if isinstance(value, Partial):
        return Url(head=value.head)
    return Url()


def _in_memory_sqlite(url: Url) -> bool:
    """`sqlite://`, `sqlite:///:memory:` (drivers sqlite, sqlite+pysqlite): Flask-SQLAlchemy
    forces StaticPool on these."""
    text = url.full
    if text is None or "://" not in text:
        return False
    driver, _, rest = text.partition("://")
    if driver.lower() not in IN_MEMORY_DRIVERS:
        return False
    _, _, database = rest.split("?", 1)[0].partition("/")
    return database in ("", ":memory:")


def _looks_like_url(opt: Opt) -> bool:
    """A bind entry that is certainly a URL string: its value is a string (or one with a
    known head), or it is read from the environment."""
    value = opt.value()
    if isinstance(value, (str, Partial)):
        return True
    expr = opt.expr
    if isinstance(expr, ast.Subscript):
        expr = expr.value
    target = expr.func if isinstance(expr, ast.Call) else expr
    return _qualified(opt.module, target) in ("os.environ.get", "os.getenv", "os.environ")


def _fix_target(file, opt: Optional[Opt]) -> Optional[ast.AST]:
    """The literal (a dict, or an `EngineConfig(...)` call) written in this file where a
    missing option can be added, or None: no fix (SPEC 3c, item 4 of issue 16)."""
    if opt is None or opt.module is not file.module:
        return None
    if isinstance(opt.expr, ast.Dict) or (isinstance(opt.expr, ast.Call) and opt.at is None):
        return opt.expr
    return None


def _engine(file, call: ast.Call, qualified: str, options: Options, url: Optional[Opt], label: Optional[str],
            factory: str = "flask_sqlalchemy", driver_defaults: bool = True, target: Optional[Opt] = None
            ) -> EngineCall:
    engine = EngineCall(node=call, qualified=qualified, factory=factory, evaluator=file.evaluator)
    engine.label = label
    engine.fix_node = _fix_target(file, target)
    engine.fixable = engine.fix_node is not None
    engine.url = _url_of(url)
    options = dict(options)
    if driver_defaults and engine.url.scheme and engine.url.scheme.startswith("mysql") \
            and "pool_recycle" not in options:
        options["pool_recycle"] = Opt(ast.Constant(value=MYSQL_RECYCLE), file.module, call)
        engine.label = f"{label}: Flask-SQLAlchemy's `pool_recycle` for MySQL is {MYSQL_RECYCLE}"
    for name, opt in options.items():
        if not isinstance(name, str):
            continue
        if name == "poolclass":
            found = _qualified(opt.module, opt.expr) if opt.expr is not None else None
            engine.pool_kind = (catalog.pool_kind(found) if found else None) or "unknown"
        elif name == "pool":
            engine.pool_instance = True
        elif name != "url":
            engine.keywords[name] = Keyword(name, opt.expr, None, from_config=factory == "flask_sqlalchemy",
                                            evaluator=opt.module.evaluator, at=opt.at)
    if driver_defaults and _in_memory_sqlite(engine.url):
        engine.pool_kind = "static"
    return engine


def flask_engines(file, call: ast.Call, qualified: str) -> List[EngineCall]:
    """The engines one `SQLAlchemy(...)` call builds, one per bind of every app it is
    bound to statically (SPEC 3c)."""
    module = file.module
    if module.project is not None and legacy_flask_sqlalchemy(module.project):
        return []  # 2.x merges its options otherwise (the legacy keys, its own defaults)
    ctor: Options = {}
    ctor_target = None
    for keyword in call.keywords:
        if keyword.arg == "engine_options":
            found = mapping(module, keyword.value, call)
            if found is None:
                return []  # every option of every engine: present, unknown
            ctor = found
            ctor_target = Opt(keyword.value, module, call) if isinstance(keyword.value, ast.Dict) else None
        elif keyword.arg is None:
            return []
    engines: List[EngineCall] = []
    seen = set()
    for other, scope, app, stmt in _bindings(file, call):
        if (id(other), id(stmt)) in seen or not _is_flask_app(other, scope, app, stmt):
            continue
        seen.add((id(other), id(stmt)))
        config = app_config(other, scope, app, stmt)
        if not config.known:
            continue
        keys = config.keys
        binds: Optional[Options] = {}
        if "SQLALCHEMY_BINDS" in keys:
            binds = mapping(keys["SQLALCHEMY_BINDS"].module, keys["SQLALCHEMY_BINDS"].expr,
                            keys["SQLALCHEMY_BINDS"].at)
        default_options: Optional[Options] = dict(ctor)
        uri = keys.get("SQLALCHEMY_DATABASE_URI")
        target = keys.get("SQLALCHEMY_ENGINE_OPTIONS", ctor_target)
        if binds is not None and None in binds:
            target = None
            entry = mapping(binds[None].module, binds[None].expr, binds[None].at)
            if entry is None:
                default_options = None
            else:
                default_options.update(entry)
                uri = uri or entry.get("url")
        if "SQLALCHEMY_ENGINE_OPTIONS" in keys and default_options is not None:
            opt = keys["SQLALCHEMY_ENGINE_OPTIONS"]
            found = mapping(opt.module, opt.expr, opt.at)
            default_options = None if found is None else {**default_options, **found}
        if default_options is not None and uri is not None:
            engines.append(_engine(file, call, qualified, default_options, uri, "the default bind", target=target))
        for key, entry in (binds or {}).items():
            if key is None or entry.expr is None:
                continue
            found = mapping(entry.module, entry.expr, entry.at) if isinstance(entry.expr, (ast.Dict, ast.Call, ast.Name)) else None
            if found is not None:
                engines.append(_engine(file, call, qualified, {**ctor, **found}, found.get("url"), f"bind `{key}`",
                                       target=entry))
            elif _looks_like_url(entry):
                engines.append(_engine(file, call, qualified, dict(ctor), entry, f"bind `{key}`"))
    return engines


def alchemy_engine(file, call: ast.Call, qualified: str) -> Optional[EngineCall]:
    """The engine of an advanced-alchemy `SQLAlchemy{Async,Sync}Config(...)`, or None
    when it cannot be known (an `engine_instance`, an unresolvable `engine_config`)."""
    if call.args:
        return None
    module = file.module
    options: Options = {}
    url = target = None
    for keyword in call.keywords:
        if keyword.arg is None or keyword.arg == "engine_instance":
            return None
        if keyword.arg == "connection_string":
            url = Opt(keyword.value, module, call)
        elif keyword.arg == "engine_config":
            found = _engine_config(file, keyword.value, call)
            if found is None:
                return None
            options = found
            if isinstance(keyword.value, ast.Call) and not any(k.arg is None for k in keyword.value.keywords):
                target = Opt(keyword.value, module, None)  # `at` None: an EngineConfig call
    short = qualified.rsplit(".", 1)[-1]
    return _engine(file, call, qualified, options, url, None, factory=ALCHEMY_CONFIGS[short], driver_defaults=False,
                   target=target)


def _engine_config(file, expr: ast.AST, at: ast.AST) -> Optional[Options]:
    module = file.module
    if isinstance(expr, ast.Name):
        bound = module.evaluator.binding_value(expr.id, at)
        if bound is None:
            return None
        at, expr = module.evaluator.statement_of(bound) or at, bound
    if not (isinstance(expr, ast.Call) and _alchemy_name(_qualified(module, expr.func)) == ENGINE_CONFIG) or expr.args:
        return None
    out: Options = {}
    for keyword in expr.keywords:
        if keyword.arg is None:
            found = mapping(module, keyword.value, at)
            if found is None:
                return None
            out.update(found)
        else:
            out[keyword.arg] = Opt(keyword.value, module, at)
    return out


def find_flask_engines(file) -> List[EngineCall]:
    """Every engine the file's `SQLAlchemy(...)` and advanced-alchemy config calls build."""
    text = file.source.text
    if "flask_sqlalchemy" not in text and "SQLAlchemy" not in text and "alchemy" not in text:
        return []
    words = {"SQLAlchemy", *ALCHEMY_CONFIGS}
    words |= {local for local, qualified in file.names.imports.items()
              if qualified.rsplit(".", 1)[-1] in words}
    out: List[EngineCall] = []
    for node in file.source.calls:
        func = node.func
        word = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if word not in words:
            continue
        qualified = file.resolve(func)
        if is_flask_sqlalchemy(qualified):
            out.extend(flask_engines(file, node, qualified))
        elif _alchemy_name(qualified) in ALCHEMY_CONFIGS:
            engine = alchemy_engine(file, node, qualified)
            if engine is not None:
                out.append(engine)
    return out


# -- POL114: the legacy pool keys -----------------------------------------------------------
def legacy_keys(file) -> List[Tuple[ast.AST, str]]:
    """(node, key) for each Flask-SQLAlchemy 2.x pool key the file sets (SPEC 3c, POL114):
    a module or class attribute, `<x>.config["K"] = ...`, a keyword or a literal dict key
    of `<x>.config.update(...)` / `from_mapping(...)`. Only in a project that imports
    flask_sqlalchemy."""
    text = file.source.text
    if not any(key in text for key in LEGACY_KEYS):
        return []
    found: List[Tuple[ast.AST, str]] = []
    tree = file.names.tree
    file.source.expand_where(lambda t: any(key in t for key in LEGACY_KEYS))
    for node in walk(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            scope = next(iter(file.source.enclosing(node)), None)
            if scope is not None and not isinstance(scope, ast.ClassDef):
                continue
            for target in targets:
                if isinstance(target, ast.Name) and target.id in LEGACY_KEYS:
                    found.append((target, target.id))
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store) \
                and isinstance(node.value, ast.Attribute) and node.value.attr == "config":
            ok, key = _string_key(node.slice)
            if ok and key in LEGACY_KEYS:
                found.append((node, key))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in _CONFIG_WRITES and isinstance(node.func.value, ast.Attribute) \
                and node.func.value.attr == "config":
            for keyword in node.keywords:
                if keyword.arg in LEGACY_KEYS:
                    found.append((keyword, keyword.arg))
            for arg in node.args:
                if isinstance(arg, ast.Dict):
                    for key in arg.keys:
                        ok, name = _string_key(key) if key is not None else (False, None)
                        if ok and name in LEGACY_KEYS:
                            found.append((key, name))
    if not found or not project_uses_flask_sqlalchemy(file.project) and not _imports_it(file):
        return []
    if legacy_flask_sqlalchemy(file.project):
        return []
    found = [item for item in found if not _key_read(file, item[1])]
    found.sort(key=lambda item: (item[0].lineno, item[0].col_offset))
    return found


def _key_read(file, key: str) -> bool:
    """Does the project's code read the key itself (`settings.SQLALCHEMY_POOL_SIZE`,
    `app.config["SQLALCHEMY_POOL_SIZE"]`, `app.config.get(...)`)? Then it is a setting
    of the project's own (passed to an engine by hand, say), not one Flask-SQLAlchemy
    ignores. An environment variable of the same name is not the key."""
    project = file.project
    memo = ("flask", "read", key)
    if memo in project.facts:
        return project.facts[memo]
    modules = [file.module]
    for path in _files_saying(project, key.encode()):
        other = project.load(path)
        if other is not None and other.path != file.module.path:
            modules.append(other)
    found = False
    for module in modules:
        module.source.expand_where(lambda text: key in text)
        for node in walk(module.names.tree):
            if isinstance(node, ast.Attribute) and node.attr == key and isinstance(node.ctx, ast.Load):
                found = True
            elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) \
                    and isinstance(node.value, ast.Attribute) and node.value.attr == "config":
                found = _string_key(node.slice) == (True, key)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" \
                    and isinstance(node.func.value, ast.Attribute) and node.func.value.attr == "config" and node.args:
                found = _string_key(node.args[0]) == (True, key)
            if found:
                break
        if found:
            break
    project.facts[memo] = found
    return found


def _imports_it(file) -> bool:
    return any(q.split(".", 1)[0] == "flask_sqlalchemy" for q in file.names.imports.values())


# -- db.session: the app context's session (SPEC 3c, Sessions) ---------------------------------
FLASK_SESSION = "db.session"  # the session flow's name for the app context's session
SESSION_STATEMENTS = frozenset(["execute", "scalar", "scalars", "get", "get_one", "flush", "refresh", "merge",
                                "connection", "bulk_save_objects", "bulk_insert_mappings", "bulk_update_mappings"])
SESSION_RELEASES = frozenset(["commit", "rollback", "close", "remove"])
QUERY_TERMINALS = frozenset(["get", "first", "all", "one", "one_or_none", "count", "scalar", "first_or_404",
                             "get_or_404", "paginate"])
DB_STATEMENTS = frozenset(["get_or_404", "first_or_404", "one_or_404", "paginate"])


def is_db(module, expr: ast.AST) -> bool:
    """Is `expr` (in `module`) a Flask-SQLAlchemy `SQLAlchemy` instance: a name bound once,
    at module level, to a `SQLAlchemy(...)` call, here or in the project module it is
    imported from?"""
    if not isinstance(expr, (ast.Name, ast.Attribute)):
        return False
    project = module.project
    if isinstance(expr, ast.Name):
        func = next((f for f in module.source.enclosing(expr) if isinstance(f, FunctionNode)), None)
        if func is not None and module.names.local_variable(func, expr.id):
            return False  # a local variable
    qualified = _qualified(module, expr)
    if qualified is None:
        return False
    key = ("flask", "db", qualified)
    if project is not None and key in project.facts:
        return project.facts[key]
    found = False
    owner, node = None, None
    if project is not None:
        _, owner, node = project.resolve(qualified, module.path, want=(ast.Name,))
    if owner is None and isinstance(expr, ast.Name) and "." not in qualified:
        owner, node = module, ast.Name(id=expr.id)  # a module with no path (standard input)
    if owner is not None and isinstance(node, ast.Name):
        value = owner.names.single_assignment(node.id)
        found = isinstance(value, ast.Call) and is_flask_sqlalchemy(_qualified(owner, value.func))
    if project is not None:
        project.facts[key] = found
    return found


def is_model(module, expr: ast.AST, depth: int = 0) -> bool:
    """Is `expr` a project class deriving from `db.Model`?"""
    if depth > 6 or not isinstance(expr, (ast.Name, ast.Attribute)):
        return False
    found = resolve_class(module, expr)
    if not isinstance(found, tuple):
        return False
    owner, cls = found
    key = ("flask", "model", id(cls))
    project = owner.project
    if project is not None and key in project.facts:
        return project.facts[key]
    if project is not None:
        project.facts[key] = False
    result = any((isinstance(base, ast.Attribute) and base.attr == "Model" and is_db(owner, base.value))
                 or is_model(owner, base, depth + 1) for base in cls.bases)
    if project is not None:
        project.facts[key] = result
    return result


class FlaskSessions:
    """What the session flow asks about `db.session` in one module (a `file.FileView`)."""

    def __init__(self, file):
        self.file = file
        self.module = file.module
        self._memo: Dict[Any, bool] = {}

    def _free(self) -> bool:
        """Does the plan of the file being checked say that no module its analysis can
        load names flask_sqlalchemy (plan.Plan.flask, made by stages.flask_free)? Then
        no name is a Flask-SQLAlchemy instance, in that file or in another module its
        analysis reaches (whose view asks on its behalf: file.FLASK_FREE), and none is
        resolved to say so."""
        return bool(self.file.project.facts.get(FLASK_FREE))

    @property
    def active(self) -> bool:
        """Does the module, application code (not tests or migrations: SPEC 3c), bind at
        module level a Flask-SQLAlchemy instance (imported or made here)? Only then are
        its functions run with the app context's session."""
        free = self._free()
        found = self._memo.get(("active", free))
        if found is None:
            from .roles import role

            text = self.module.source.text
            found = False
            if not free and ("SQLAlchemy" in text or "import" in text) \
                    and role(self.file.relative_path, self.module.names) == "app":
                for name in self.module.names.bindings.keys():
                    if is_db(self.module, ast.Name(id=name, ctx=ast.Load())):
                        found = True
                        break
            self._memo[("active", free)] = found
        return found

    def _db(self, expr: ast.AST) -> bool:
        key = ("db", _dotted(expr), id(next(iter(self.module.source.enclosing(expr)), None)))
        if key[1] is None or self._free():
            return False
        if key not in self._memo:
            self._memo[key] = is_db(self.module, expr)
        return self._memo[key]

    def _session(self, expr: ast.AST) -> bool:
        """`db.session` or `db.session()`."""
        if isinstance(expr, ast.Call) and not expr.args and not expr.keywords:
            expr = expr.func
        return isinstance(expr, ast.Attribute) and expr.attr == "session" and self._db(expr.value)

    def query_chain(self, expr: ast.AST) -> bool:
        """A query of the app context's session: `Model.query...` or
        `db.session.query(...)...` (not yet run)."""
        while isinstance(expr, (ast.Call, ast.Attribute)):
            if isinstance(expr, ast.Call):
                expr = expr.func
                continue
            if expr.attr == "query":
                base = expr.value
                if self._session(base):
                    return True
                key = ("model", _dotted(base))
                if key[1] is not None:
                    if key not in self._memo:
                        self._memo[key] = is_model(self.module, base)
                    if self._memo[key]:
                        return True
            expr = expr.value
        return False

    def effect(self, call: ast.Call) -> Optional[str]:
        """'hold' for a call that checks the app context's session's connection out,
        'release' for one that gives it back, None for anything else."""
        func = call.func
        if not isinstance(func, ast.Attribute):
            return None
        method = func.attr
        if method in SESSION_STATEMENTS or method in SESSION_RELEASES:
            if self._session(func.value):
                return "hold" if method in SESSION_STATEMENTS else "release"
        if method in DB_STATEMENTS and self._db(func.value):
            return "hold"
        if method in QUERY_TERMINALS and self.query_chain(func.value):
            return "hold"
        return None

    def is_engine(self, expr: ast.AST) -> bool:
        """`db.engine`: the default engine (`with db.engine.connect()` holds a connection
        for its block, as any engine's does)."""
        return isinstance(expr, ast.Attribute) and expr.attr == "engine" and self._db(expr.value)

    def iterates(self, expr: ast.AST) -> bool:
        """`for row in Model.query...`: iterating a query runs it."""
        return self.query_chain(expr)
