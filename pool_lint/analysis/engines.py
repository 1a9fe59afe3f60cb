"""Engine factory calls and their resolved pool configuration (SPEC 3).

`find_engine_calls(file)` returns one `EngineCall` per call of a SQLAlchemy or SQLModel
engine factory, recognised through imports (never by bare name), with every pool keyword
resolved as far as it can be statically.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional
from urllib.parse import urlsplit

from . import catalog
from .values import UNKNOWN, Partial, same_shape

MISSING: Any = object()

_LOOPS = (ast.For, ast.AsyncFor, ast.While, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


@dataclass(frozen=True)
class Url:
    """What is statically known of an engine URL."""

    full: Optional[str] = None  # the whole URL, when known
    head: Optional[str] = None  # its known beginning (f-string, concatenation)
    # What a guard around the call proves (SPEC 3b): True SQLite, False not, None nothing.
    sqlite_guard: Optional[bool] = None

    @property
    def known_text(self) -> Optional[str]:
        return self.full if self.full is not None else self.head

    @property
    def scheme(self) -> Optional[str]:
        text = self.known_text
        if text and ":" in text:
            return text.split(":", 1)[0].lower()
        return None

    @property
    def is_sqlite(self) -> bool:
        scheme = self.scheme
        if scheme is None:
            return self.sqlite_guard is True
        return scheme.split("+")[0] in catalog.SQLITE_SCHEMES

    @property
    def in_process(self) -> bool:
        """SQLite, or another database that runs inside the process (DuckDB): no server
        connections to keep alive or to count."""
        scheme = self.scheme
        if scheme is None:
            return self.is_sqlite
        return scheme.split("+")[0] in catalog.IN_PROCESS_SCHEMES

    @property
    def is_pooler(self) -> bool:
        """A PgBouncer or proxy URL: host mentions pgbouncer/proxy, or port 6432."""
        text = self.full
        if text is None and self.head and "@" in self.head:
            text = self.head
        if not text or "://" not in text:
            return False
        try:
            parts = urlsplit(text)
            host = (parts.hostname or "").lower()
            port = parts.port
        except ValueError:
            return False
        return "pgbouncer" in host or "proxy" in host or port == 6432


@dataclass
class Keyword:
    """One pool keyword as the call sets it."""

    name: str
    expr: Optional[ast.AST]  # the value expression; None when present but unknown
    node: Optional[ast.keyword] = None  # the explicit keyword node (None: from a mapping)
    from_config: bool = False  # engine_from_config string coercion applies
    # Where the value is read, when not in the call's module (analysis.flask: a config class)
    evaluator: Any = None
    at: Optional[ast.AST] = None


@dataclass
class EngineCall:
    node: ast.Call
    qualified: str
    factory: str  # create_engine | create_async_engine | engine_from_config
    keywords: Dict[str, Keyword] = field(default_factory=dict)
    open_keywords: bool = False  # an unresolvable ** or config: any keyword may be set
    url: Url = field(default_factory=Url)
    pool_kind: Optional[str] = None  # None: the default queue pool; "unknown": conditional
    pool_instance: bool = False  # an explicit pool= object
    function: Optional[ast.AST] = None  # innermost enclosing function
    in_loop: bool = False  # inside a loop or comprehension of a function body
    evaluator: Any = None
    label: Optional[str] = None  # which engine of a call that builds several (a Flask-SQLAlchemy bind)
    fixable: bool = True  # False: the options are not the call's keywords (no keyword fix)
    # Where a missing option is added, when not to the call's keywords: an `EngineConfig(...)`
    # call or a dict literal of engine options in this file (analysis.flask).
    fix_node: Optional[ast.AST] = None

    def has(self, name: str) -> bool:
        """Is the keyword (possibly) set?"""
        return name in self.keywords or self.open_keywords

    def missing(self, name: str) -> bool:
        return not self.has(name)

    def value(self, name: str) -> Any:
        """The keyword's static value: MISSING, UNKNOWN, or the value."""
        keyword = self.keywords.get(name)
        if keyword is None:
            return UNKNOWN if self.open_keywords else MISSING
        if keyword.expr is None:
            return UNKNOWN
        if keyword.evaluator is not None:
            value = keyword.evaluator.value(keyword.expr, keyword.at)
        else:
            value = self.evaluator.value(keyword.expr, self.node)
        if isinstance(value, Partial):
            return UNKNOWN
        if keyword.from_config and isinstance(value, str) and name in catalog.CONFIG_INT_KEYS:
            try:
                return int(value)
            except ValueError:
                return UNKNOWN
        return value

    def number(self, name: str) -> Optional[float]:
        value = self.value(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
        return None

    @property
    def effective_pool(self) -> str:
        return self.pool_kind or "queue"


def _url(file, expr: Optional[ast.AST], at: ast.AST) -> Url:
    if expr is None:
        return Url()
    evaluator = file.evaluator
    value = evaluator.value(expr, at)
    if value is UNKNOWN and isinstance(expr, ast.Name):
        # A local assigned in several branches: the assignment that reaches the call.
        bound = evaluator.reaching_value(expr.id, at)
        if bound is not None:
            value = evaluator.value(bound, evaluator.statement_of(bound) or at)
    if isinstance(value, str):
        return Url(full=value)
    if isinstance(value, Partial):
        return Url(head=value.head)
    if _dotted(expr):
        return Url(sqlite_guard=_guarded_sqlite(file, expr, at))
    return Url()


def _dotted(expr: ast.AST) -> bool:
    """A name or a dotted name (`url`, `settings.DATABASE_URL`)."""
    while isinstance(expr, ast.Attribute):
        expr = expr.value
    return isinstance(expr, ast.Name)


# -- guards on the URL's scheme (SPEC 3b) -------------------------------------------------------
def _guarded_sqlite(file, subject: ast.AST, at: ast.AST) -> Optional[bool]:
    """What the tests around `at` prove about the URL `subject` (a name or a dotted name)
    holds there: True (SQLite), False (not SQLite) or None. The innermost test that proves
    either wins."""
    name = same_shape(subject)
    for test, holds in file.evaluator.guards(subject, at):
        verdict = _proves(file, test, name, holds)
        if verdict is not None:
            return verdict
    return None


def _proves(file, test: ast.AST, name: str, holds: bool) -> Optional[bool]:
    """When `test` evaluated to `holds`, is the URL in `name` SQLite (True), not (False),
    or is nothing known (None)?"""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return _proves(file, test.operand, name, not holds)
    if isinstance(test, ast.BoolOp):
        # `a and b` true, or `a or b` false: every operand evaluated to `holds`.
        every = isinstance(test.op, ast.And) == holds
        verdicts = [_proves(file, operand, name, holds) for operand in test.values]
        if every:
            return next((v for v in verdicts if v is not None), None)
        return verdicts[0] if verdicts and all(v == verdicts[0] for v in verdicts) else None
    if isinstance(test, ast.Call) and isinstance(test.func, ast.Attribute) and test.func.attr == "startswith" \
            and len(test.args) == 1 and not test.keywords:
        subject = _url_text(file, test.func.value, name)
        if subject is None:
            return None
        prefixes = _literal_strings(file, test.args[0], test)
        return _prefix_verdict(prefixes, holds) if prefixes else None
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        left, op, right = test.left, test.ops[0], test.comparators[0]
        if isinstance(op, (ast.In, ast.NotIn)):
            word = file.evaluator.value(left, test)
            if not isinstance(word, str) or not word.lower().startswith("sqlite") or _url_text(file, right, name) is None:
                return None
            contains = holds == isinstance(op, ast.In)
            if contains:
                return True
            return False if word.lower() == "sqlite" else None
        if isinstance(op, (ast.Eq, ast.NotEq)):
            equal = holds == isinstance(op, ast.Eq)
            for subject, literal in ((left, right), (right, left)):
                kind = _url_part(file, subject, name)
                text = file.evaluator.value(literal, test)
                if kind is None or not isinstance(text, str):
                    continue
                backend = text.lower() if kind == "backend" else text.lower().split("+")[0]
                if equal:
                    return backend in catalog.SQLITE_SCHEMES
                return False if kind == "backend" and backend in catalog.SQLITE_SCHEMES else None
    return None


def _prefix_verdict(prefixes, holds: bool) -> Optional[bool]:
    """`url.startswith(prefixes)` evaluated to `holds`: SQLite, not, or unknown?"""
    lowered = [p.lower() for p in prefixes]
    if holds:
        if all(p.startswith("sqlite") for p in lowered):
            return True
        if all(not p.startswith("sqlite") and not "sqlite".startswith(p) for p in lowered):
            return False  # another scheme ("postgresql+asyncpg")
        return None
    if any("sqlite".startswith(p) for p in lowered):
        return False  # it does not start with "sqlite": not SQLite
    return None


def _literal_strings(file, expr: ast.AST, at: ast.AST):
    if isinstance(expr, ast.Tuple):
        values = [file.evaluator.value(e, at) for e in expr.elts]
    else:
        values = [file.evaluator.value(expr, at)]
    return values if values and all(isinstance(v, str) and v for v in values) else None


def _is_name(expr: ast.AST, name: str) -> bool:
    """Does `expr` read the (dotted) name `name` (`values.same_shape`)?"""
    return isinstance(expr, (ast.Name, ast.Attribute)) and same_shape(expr) == name


def _url_method(expr: ast.AST) -> ast.AST:
    """`url.lower()` / `url.casefold()` / `url.strip()` read as `url` (the scheme's text)."""
    while isinstance(expr, ast.Call) and not expr.args and not expr.keywords and isinstance(expr.func, ast.Attribute) \
            and expr.func.attr in ("lower", "casefold", "strip"):
        expr = expr.func.value
    return expr


def _url_object(file, expr: ast.AST, name: str) -> bool:
    """`name` itself (a URL object, or text) or `make_url(name)`."""
    if _is_name(expr, name):
        return True
    return isinstance(expr, ast.Call) and len(expr.args) == 1 and not expr.keywords \
        and _is_name(expr.args[0], name) and file.resolve(expr.func) in catalog.MAKE_URL


def _url_text(file, expr: ast.AST, name: str) -> Optional[str]:
    """The text whose beginning is the URL's driver name: `name` (the URL as text), or
    `name.drivername` / `make_url(name).drivername`, or `str(name)`, each possibly
    lowered (`.lower()`). None otherwise."""
    expr = _url_method(expr)
    if _is_name(expr, name):
        return "url"
    if isinstance(expr, ast.Attribute) and expr.attr == "drivername" and _url_object(file, expr.value, name):
        return "drivername"
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == "str" \
            and len(expr.args) == 1 and _is_name(expr.args[0], name) \
            and file.names.qualify_name("str", file.enclosing_functions(expr)) is None:
        return "url"
    return None


def _url_part(file, expr: ast.AST, name: str) -> Optional[str]:
    """"backend" for `make_url(name).get_backend_name()` (or on `name` itself, a URL
    object), "drivername" for `....drivername`; None otherwise."""
    if isinstance(expr, ast.Call) and not expr.args and not expr.keywords and isinstance(expr.func, ast.Attribute) \
            and expr.func.attr == "get_backend_name" and _url_object(file, expr.func.value, name):
        return "backend"
    if isinstance(expr, ast.Attribute) and expr.attr == "drivername" and _url_object(file, expr.value, name):
        return "drivername"
    return None


def _pool_kind(file, expr: ast.AST, at: ast.AST, depth: int = 0) -> str:
    """'null', 'queue', ... or 'unknown' for a poolclass expression."""
    if isinstance(expr, ast.IfExp) or depth > 4:
        return "unknown"
    qualified = file.resolve(expr)
    if qualified:
        kind = catalog.pool_kind(qualified)
        if kind:
            return kind
    if isinstance(expr, ast.Name):
        bound = file.evaluator.binding_value(expr.id, at)
        if bound is not None:
            return _pool_kind(file, bound, at, depth + 1)
    return "unknown"


def _loop_inside_function(file, node: ast.AST) -> bool:
    for ancestor in file.source.ancestors(node):
        if isinstance(ancestor, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.Module)):
            return False
        if isinstance(ancestor, _LOOPS):
            # A comprehension's first iterable is evaluated once, outside the loop.
            return True
    return False


def analyse_call(file, node: ast.Call, qualified: str) -> EngineCall:
    evaluator = file.evaluator
    call = EngineCall(node=node, qualified=qualified, factory=catalog.ENGINE_FACTORIES[qualified], evaluator=evaluator)
    enclosing = file.enclosing_functions(node)
    call.function = next((f for f in enclosing if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))), None)
    call.in_loop = call.function is not None and _loop_inside_function(file, node)

    url_expr: Optional[ast.AST] = None
    pool_expr: Optional[ast.AST] = None
    if call.factory == "engine_from_config":
        config_expr = node.args[0] if node.args else None
        prefix_value: Any = "sqlalchemy."
        for kw in node.keywords:
            if kw.arg == "configuration":
                config_expr = kw.value
            elif kw.arg == "prefix":
                prefix_value = evaluator.value(kw.value, node)
        if len(node.args) > 1:
            prefix_value = evaluator.value(node.args[1], node)
        config = evaluator.mapping(config_expr, node) if config_expr is not None else None
        if config is None or not isinstance(prefix_value, str):
            call.open_keywords = True
        else:
            for key, value in config.items():
                if key.startswith(prefix_value):
                    name = key[len(prefix_value):]
                    if name == "url":
                        url_expr = value
                    elif name == "poolclass":
                        call.pool_kind = "unknown"  # a class name in a string: not resolved
                    else:
                        call.keywords[name] = Keyword(name, value, None, from_config=True)
        explicit = [kw for kw in node.keywords if kw.arg not in ("configuration", "prefix")]
    else:
        if node.args:
            url_expr = node.args[0]
        explicit = list(node.keywords)

    for kw in explicit:
        if kw.arg is None:
            mapping = evaluator.mapping(kw.value, node)
            if mapping is None:
                call.open_keywords = True
                continue
            for name, value in mapping.items():
                if name == "poolclass":
                    pool_expr = value if value is not None else ast.Constant(value=None)
                    if value is None:
                        call.pool_kind = "unknown"
                elif name == "url":
                    url_expr = value
                else:
                    call.keywords[name] = Keyword(name, value, None)
            continue
        if kw.arg == "url":
            url_expr = kw.value
        elif kw.arg == "poolclass":
            pool_expr = kw.value
        elif kw.arg == "pool":
            call.pool_instance = True
        else:
            call.keywords[kw.arg] = Keyword(kw.arg, kw.value, kw)

    if pool_expr is not None and call.pool_kind is None:
        call.pool_kind = _pool_kind(file, pool_expr, node)
    elif pool_expr is None and call.pool_kind is None and call.open_keywords:
        call.pool_kind = "unknown"  # an unresolvable ** may set poolclass
    call.url = _url(file, url_expr, node)
    return call


def callee_word(node: ast.Call) -> Optional[str]:
    """The last identifier of a call's callee (`sa.create_engine` -> "create_engine")."""
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return None


def find_engine_calls(file) -> List[EngineCall]:
    text = file.source.text
    if "engine" not in text and "Engine" not in text:
        return []  # every factory name, alias we follow, and re-export says "engine"
    words = {name.rsplit(".", 1)[-1] for name in catalog.ENGINE_FACTORIES}
    # Local aliases of a factory (`from sqlalchemy import create_engine as make_engine`).
    # Local aliases of a factory (`from sqlalchemy import create_engine as make_engine`), and
    # project re-exports of one under a name that says "engine" (resolving every import of
    # the module would parse half the project).
    words |= {local for local, qualified in file.names.imports.items()
              if qualified.rsplit(".", 1)[-1] in words or "engine" in local.lower()}
    calls = []
    for node in file.source.calls:
        if callee_word(node) not in words:
            continue
        qualified = file.resolve(node.func)
        if qualified in catalog.ENGINE_FACTORIES:
            calls.append(analyse_call(file, node, qualified))
    return calls
