"""The connection budget of a project (SPEC "Connection budget"): for every database server,
the worst case of every long-lived pool that can reach it,

    sum over engines and process types of (pool_size + max_overflow) x processes x replicas,

against the server's limit. The process types, their counts and environments come from the
deployment (analysis.deployment); an engine counts for a process type when the type's
entry module imports the engine's module, transitively. Anything that cannot be known
statically makes its term unknown, and a server whose sum holds an unknown term has an
unknown worst case: POL112 says nothing about it (precision first).

Computed once per project and deployment in a process (Project.facts), from the project's
modules as the project index loads them.
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Tuple
from urllib.parse import parse_qs, urlsplit

from . import catalog
from .deployment import Deployment, Process
from .values import Partial

DEFAULT_SIZE, DEFAULT_OVERFLOW = 5, 10
DEFAULT_PORTS = {"postgresql": 5432, "postgres": 5432, "mysql": 3306, "mariadb": 3306}
ENV_GETTERS = ("os.getenv", "os.environ.get", "os.environ.setdefault", "posix.getenv")
_FACTORY_WORDS = tuple(w.decode() for w in catalog.ENGINE_FACTORY_WORDS)

EngineKey = Tuple[str, int, int]  # (path, line, column) of the factory call


class Pool(NamedTuple):
    """What the budget knows of one engine."""

    key: EngineKey
    name: str  # the name it is bound to, or "?"
    url: str  # scheme + host:port, or env:NAME, never credentials; "?" when unknown
    host: Optional[str]  # static host
    port: Optional[int]
    env: Optional[str]  # the environment variable its URL comes from
    pool_class: str  # "default (QueuePool)", "NullPool", ... or "?"
    pre_ping: object
    recycle: object
    size: object  # int, "?" (unknown), or None (not a queue pool)
    overflow: object  # int, "?", "unbounded", or None
    timeout: object
    cap: Optional[int]  # size + overflow; None when unknown or not counted
    counted: bool  # a queue pool: it has a cap (known or not)
    once: bool  # built once per process (module level)
    node: object = None  # the EngineCall, in the process that found it (not compared)


class Term(NamedTuple):
    process: Process
    pool: Pool
    server: str  # the key of the server it reaches
    total: Optional[int]  # cap x processes x replicas; None when unknown

    def describe(self, first: bool) -> str:
        cap = _cap_text(self.pool)
        per = _show(self.process.per_replica)
        replicas = _show(self.process.replicas)
        total = _show(self.total)
        if first:
            return f"{self.process.name} {per} processes x {replicas} replicas x {cap} = {total}"
        return f"{self.process.name} {per} x {replicas} x {cap} = {total}"


class Server(NamedTuple):
    key: str  # host, or env:NAME
    limit: Optional[int]
    limit_from: str  # "docker-compose.yml", "configuration"
    limit_name: str  # "max_connections" (the server's) or "max-connections" (the setting)
    terms: Tuple[Term, ...]

    @property
    def worst_case(self) -> Optional[int]:
        if any(t.total is None for t in self.terms):
            return None
        return sum(t.total for t in self.terms)

    @property
    def over(self) -> bool:
        worst = self.worst_case
        return worst is not None and self.limit is not None and worst > self.limit


class Budget(NamedTuple):
    unknown: Optional[str]  # why the whole project's budget is unknown, or None
    servers: Dict[str, Server]
    pools: Dict[EngineKey, Pool]
    processes: Dict[EngineKey, Tuple[Tuple[Process, Optional[str]], ...]]  # engine -> (process, server)
    deps: frozenset = frozenset()

    def servers_of(self, key: EngineKey) -> List[Server]:
        """The servers whose sums hold the pool `key` (a counted pool)."""
        found = []
        for _, server in self.processes.get(key, ()):
            if server is not None and server in self.servers and self.servers[server] not in found:
                found.append(self.servers[server])
        return found


# -- engines ---------------------------------------------------------------------------------
def pool_of(ctx, call) -> Pool:
    """The budget's view of an EngineCall of the module of `ctx` (a FileContext)."""
    from .engines import MISSING
    from .lifetime import is_one_shot
    from .values import UNKNOWN

    node = call.node
    key = (str(ctx.path) if ctx.path is not None else ctx.filename, node.lineno, node.col_offset)
    name = _bound_name(ctx, node)
    host, port, env, url = _server_of(ctx, call)
    kind = call.pool_kind
    counted = not call.pool_instance and kind in (None, "queue", "unknown") and not call.url.in_process
    pool_class = {None: "default (QueuePool)", "queue": "QueuePool", "null": "NullPool", "static": "StaticPool",
                  "singleton": "SingletonThreadPool", "assertion": "AssertionPool", "unknown": "?"}.get(kind, "?")
    if call.pool_instance:
        pool_class = "pool="

    def setting(name: str, default):
        value = call.value(name)
        if value is MISSING:
            return default
        if value is UNKNOWN or isinstance(value, Partial):
            return "?"
        return value

    size = overflow = timeout = None
    cap = None
    if kind in (None, "queue", "unknown") and not call.pool_instance:
        size, overflow, timeout = setting("pool_size", DEFAULT_SIZE), setting("max_overflow", DEFAULT_OVERFLOW), \
            setting("pool_timeout", 30)
        if isinstance(overflow, (int, float)) and not isinstance(overflow, bool) and overflow < 0:
            overflow = "unbounded"
        if kind != "unknown" and _int(size) is not None and _int(overflow) is not None:
            cap = _int(size) + _int(overflow)
    pre_ping, recycle = setting("pool_pre_ping", False), setting("pool_recycle", -1)
    once = call.function is None
    if call.function is not None and is_one_shot(ctx, call):
        counted = False
    return Pool(key, name, url, host, port, env, pool_class, pre_ping, recycle, size, overflow, timeout, cap,
                counted, once, call)


def _int(value) -> Optional[int]:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or value < 0:
        return None
    return int(value)


def _bound_name(ctx, node: ast.Call) -> str:
    parent = ctx.source.parent(node)
    if isinstance(parent, (ast.Assign, ast.AnnAssign)):
        target = parent.targets[0] if isinstance(parent, ast.Assign) else parent.target
        if isinstance(target, ast.Name):
            return target.id
        if isinstance(target, ast.Attribute):
            return ast.unparse(target) if hasattr(ast, "unparse") else target.attr
    return "?"


def _server_of(ctx, call):
    """(host, port, env variable, display URL) of an engine's URL: static, or the variable it
    reads (directly, or through a module constant or an imported one)."""
    url = call.url
    text = url.full if url.full is not None else (url.head if url.head and "@" in url.head else None)
    if text and "://" in text:
        host, port, shown = parse_url(text)
        if host:
            return host, port, None, shown
    if url.full is None:
        scheme = url.scheme
        env = _env_variable(ctx, call)
        if env:
            return None, None, env, f"env:{env}"
        return None, None, None, f"{scheme}://?" if scheme else "?"
    return None, None, None, "?"


def parse_url(text: str):
    """(host, port, display) of a database URL: scheme + host:port, never credentials."""
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower() or None
        port = parts.port
    except ValueError:
        return None, None, "?"
    scheme = parts.scheme.lower()
    if port is None and host:
        port = DEFAULT_PORTS.get(scheme.split("+")[0])
    shown = f"{scheme}://{host or ''}" + (f":{port}" if port else "")
    return host, port, shown


def url_query(text: Optional[str]) -> Dict[str, List[str]]:
    if not text or "?" not in text:
        return {}
    try:
        return parse_qs(urlsplit(text).query)
    except ValueError:
        return {}


def _env_variable(ctx, call) -> Optional[str]:
    """The environment variable an engine's URL is read from: `os.environ["X"]`,
    `os.getenv("X"[, default])`, `os.environ.get(...)`, directly or through a name (a
    local or module constant, or one imported from another module of the project)."""
    return _env_of(ctx.project, ctx.module, _url_expr(call), call.node, 0)


def _url_expr(call) -> Optional[ast.AST]:
    node = call.node
    if call.factory == "engine_from_config":
        return None
    for kw in node.keywords:
        if kw.arg == "url":
            return kw.value
    return node.args[0] if node.args else None


def _env_of(project, module, expr, at, depth: int) -> Optional[str]:
    if expr is None or module is None or depth > 4:
        return None
    names, evaluator = module.names, module.evaluator
    if isinstance(expr, ast.Subscript):
        if _qualified(names, expr.value, evaluator, expr) == "os.environ":
            key = expr.slice
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                return key.value
        return None
    if isinstance(expr, ast.Call):
        if _qualified(names, expr.func, evaluator, expr) in ENV_GETTERS and expr.args:
            key = expr.args[0]
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                return key.value
        return None
    if isinstance(expr, ast.Name):
        bound = evaluator.binding_value(expr.id, at)
        if bound is not None:
            return _env_of(project, module, bound, evaluator.statement_of(bound) or at, depth + 1)
        qualified = names.imports.get(expr.id)
        if qualified is None or evaluator.imported(expr.id, at) is None:
            return None
        _, other, node = project.resolve(qualified, module.path, want=(ast.Name,))
        if other is None or not isinstance(node, ast.Name):
            return None
        value = other.names.single_assignment(node.id)
        if value is not None:
            return _env_of(project, other, value, value, depth + 1)
    return None


def _qualified(names, expr, evaluator, at) -> Optional[str]:
    try:
        return names.qualify(expr, evaluator.enclosing_functions(at))
    except Exception:  # pragma: no cover - an odd expression: not an environment read
        return None


def _cap_text(pool: Pool) -> str:
    if pool.cap is None:
        return "?"
    return f"({_show(pool.size)} + {_show(pool.overflow)})"


def _show(value) -> str:
    if value is None:
        return "?"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


# -- the project's budget ----------------------------------------------------------------------
def project_budget(project, deployment: Deployment, settings) -> Budget:
    """The budget of `project` (analysis.project.Project) under `deployment`: memoised per
    process; the project files it consulted are added to `project.touched` on every call."""
    key = ("budget", deployment.fingerprint)
    found = project.facts.get(key)
    if found is None:
        before = project.touched
        project.touched = set()
        try:
            found = _budget(project, deployment, settings)
            found = found._replace(deps=frozenset(project.touched))
        finally:
            project.touched = before | project.touched
        project.facts[key] = found
    project.touched |= found.deps
    return found


def limit_known(deployment: Deployment, settings) -> bool:
    """Can any server of the project have a known limit? (If not, nothing is computed.)"""
    return settings.max_connections is not None or any(db.limit is not None for db in deployment.databases)


def _budget(project, deployment: Deployment, settings) -> Budget:
    processes = [_configured(p, settings) for p in deployment.processes if p.per_replica_from != "not a celery worker"]
    empty = Budget(None, {}, {}, {})
    if not processes:
        return empty._replace(unknown="no process type in the deployment files")
    closures: Dict[str, List] = {}
    for process in processes:
        if process.entry is None:
            return empty._replace(unknown=f"the entry module of {process.name} ({process.source}) is not static")
        entry = _entry_module(project, process)
        if entry is None:
            return empty._replace(unknown=f"the entry module {process.entry} of {process.name} is not in the project")
        closures[process.name + "\0" + process.source] = _closure(project, entry)
    pools: Dict[EngineKey, Pool] = {}
    members: Dict[EngineKey, List[Tuple[Process, Optional[str]]]] = {}
    terms: Dict[str, List[Term]] = {}
    for process in processes:
        for module in closures[process.name + "\0" + process.source]:
            for pool in _pools_of(project, module, settings):
                pools[pool.key] = pool
                server = _server_key(pool, process)
                members.setdefault(pool.key, []).append((process, server))
                if server is None or not pool.counted:
                    continue
                total = None
                if pool.once and pool.cap is not None and process.per_replica is not None \
                        and process.replicas is not None:
                    total = pool.cap * process.per_replica * process.replicas
                terms.setdefault(server, []).append(Term(process, pool, server, total))
    servers: Dict[str, Server] = {}
    for server, found in terms.items():
        limit, limit_from, limit_name = None, "", "max_connections"
        if settings.max_connections is not None:
            limit, limit_from, limit_name = settings.max_connections, "configuration", "max-connections"
        elif not server.startswith("env:"):
            db = deployment.database(server)
            if db is not None:
                limit, limit_from = db.limit, db.source
        servers[server] = Server(server, limit, limit_from, limit_name, tuple(found))
    return Budget(None, servers, pools, {k: tuple(v) for k, v in members.items()})


def _configured(process: Process, settings) -> Process:
    """The process with `workers` / `replicas` from the configuration, which win."""
    changes = {}
    for field, source in (("per_replica", settings.workers), ("replicas", settings.replicas)):
        if source is None:
            continue
        if isinstance(source, int):
            changes[field], changes[field + "_from"] = source, "configuration"
        else:
            table = dict(source)
            if process.name in table:
                changes[field], changes[field + "_from"] = table[process.name], "configuration"
    return process._replace(**changes) if changes else process


def _server_key(pool: Pool, process: Process) -> Optional[str]:
    if pool.host:
        return pool.host
    if pool.env:
        env = process.environment()
        if pool.env not in env:
            return f"env:{pool.env}"
        value = env[pool.env]
        if value is None:
            return None  # set from elsewhere: which server is unknown
        host, _, _ = parse_url(value)
        return host
    return None


def _entry_module(project, process: Process):
    near = None
    if process.entry_base:
        near = Path(project.root, process.entry_base, "Procfile")
    module = project.find_module(process.entry, near)
    if module is None and near is not None:
        module = project.find_module(process.entry)
    return module


def _closure(project, entry) -> List:
    """The project modules a process that imports `entry` loads: its imports, transitively,
    with the packages around each (their `__init__`)."""
    seen: Dict[object, object] = {}
    order: List = []
    stack = [entry]
    while stack:
        module = stack.pop()
        if module is None or module.path in seen:
            continue
        seen[module.path] = module
        order.append(module)
        for dotted in _imported(module):
            parts = dotted.split(".")
            for cut in range(1, len(parts) + 1):
                found = project.find_module(".".join(parts[:cut]), module.path)
                if found is not None and found.path not in seen:
                    stack.append(found)
    order.sort(key=lambda m: str(m.path))
    return order


def _imported(module) -> List[str]:
    """Every dotted name a module imports at module level (not under `if TYPE_CHECKING`),
    and, for `from M import n`, `M.n` as well (it may be a submodule)."""
    from .names import resolve_relative

    out: List[str] = []
    stack = list(module.source.tree.body)
    while stack:
        stmt = stack.pop()
        if isinstance(stmt, ast.Import):
            out += [alias.name for alias in stmt.names]
        elif isinstance(stmt, ast.ImportFrom):
            base = stmt.module or ""
            if stmt.level:
                base = resolve_relative(module.names.module, module.names.is_package, stmt.level, stmt.module)
            if base:
                out.append(base)
            out += [f"{base}.{alias.name}" if base else alias.name for alias in stmt.names if alias.name != "*"]
        elif isinstance(stmt, ast.If):
            test = stmt.test
            if isinstance(test, (ast.Name, ast.Attribute)) and (getattr(test, "id", None) == "TYPE_CHECKING"
                                                                 or getattr(test, "attr", None) == "TYPE_CHECKING"):
                stack += stmt.orelse
            else:
                stack += stmt.body + stmt.orelse
        elif isinstance(stmt, ast.Try) or stmt.__class__.__name__ == "TryStar":
            stack += stmt.body + stmt.orelse + stmt.finalbody
            for handler in stmt.handlers:
                stack += handler.body
        elif isinstance(stmt, (ast.With, ast.ClassDef)):
            stack += stmt.body
    return out


def _pools_of(project, module, settings) -> List[Pool]:
    """The counted and listed pools of one module (not test code or migrations unless
    `check-tests`), memoised per module."""
    key = ("budget-pools", module.path, id(module.source))
    found = project.facts.get(key)
    if found is not None:
        return found
    from .engines import find_engine_calls
    from .file import FileView
    from .roles import role

    module.source.expand_where(lambda text: any(word in text for word in _FACTORY_WORDS))
    ctx = FileView.for_module(module, project)
    found = []
    if settings.check_tests or role(ctx.relative_path, ctx.names) == "app":
        for call in find_engine_calls(ctx):
            found.append(pool_of(ctx, call))
    project.facts[key] = found
    return found
