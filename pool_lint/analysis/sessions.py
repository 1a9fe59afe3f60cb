"""Where a session or connection is held, and what happens meanwhile (SPEC 4, Sessions).

A forward analysis over each function's statements tracks, for every session or
connection in scope, the set of states it may be in:

- "none": certainly holds no pooled connection (before its first statement, after
  `commit()` / `rollback()` / `close()`);
- "held": holds one (after a statement; an `engine.connect()` block all along);
- "unknown": a parameter annotated `Session` / `AsyncSession` before the function's own
  first statement (the caller's state).

Branches join (a union of states), a loop body runs at least twice, nested functions are
not run where they are defined. A call that passes the session to a project function
applies that function's effect. The facts behind the transitions are in
tests/test_sqlalchemy_facts.py (pool checkout/checkin events with the real library).
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Dict, FrozenSet, Iterator, List, Optional, Set, Tuple

from .catalog import ENGINE_FACTORIES
from .external import ExternalCalls
from .file import FileView
from .flask import FLASK_SESSION, FlaskSessions
from .names import FunctionNode
from .tree import children, walk

SESSION_CLASSES = {
    "sqlalchemy.orm.Session": False, "sqlalchemy.orm.session.Session": False, "sqlmodel.Session": False,
    "sqlmodel.orm.session.Session": False,
    "sqlalchemy.ext.asyncio.AsyncSession": True, "sqlalchemy.ext.asyncio.session.AsyncSession": True,
    "sqlmodel.ext.asyncio.session.AsyncSession": True,
}
SESSION_MAKERS = {
    "sqlalchemy.orm.sessionmaker": False, "sqlalchemy.orm.session.sessionmaker": False,
    "sqlalchemy.orm.scoped_session": False, "sqlalchemy.orm.scoping.scoped_session": False,
    "sqlalchemy.ext.asyncio.async_sessionmaker": True, "sqlalchemy.ext.asyncio.session.async_sessionmaker": True,
    "sqlalchemy.ext.asyncio.async_scoped_session": True, "sqlalchemy.ext.asyncio.scoping.async_scoped_session": True,
}
ASYNC_FACTORY_CALLS = {"sqlalchemy.ext.asyncio.async_sessionmaker", "sqlalchemy.ext.asyncio.session.async_sessionmaker",
                       "sqlalchemy.ext.asyncio.AsyncSession", "sqlalchemy.ext.asyncio.session.AsyncSession",
                       "sqlmodel.ext.asyncio.session.AsyncSession"}
# Session methods that run a statement (check a connection out) and that give it back.
STATEMENT_METHODS = frozenset(["execute", "exec", "scalar", "scalars", "get", "get_one", "flush", "refresh",
                               "stream", "stream_scalars", "run_sync", "connection", "merge", "query",
                               "bulk_save_objects", "bulk_insert_mappings", "bulk_update_mappings"])
RELEASE_METHODS = frozenset(["commit", "rollback", "close"])
DEPENDS = {"fastapi.Depends", "fastapi.params.Depends", "fastapi.param_functions.Depends"}
ANNOTATED = {"typing.Annotated", "typing_extensions.Annotated"}
GATHER = {"asyncio.gather"}
CREATE_TASK = {"asyncio.create_task", "asyncio.ensure_future"}

NONE, HELD, UNKNOWN = "none", "held", "unknown"
State = Dict[str, FrozenSet[str]]


def join(*states: Optional[State]) -> Optional[State]:
    live = [s for s in states if s is not None]
    if not live:
        return None
    out: Dict[str, Set[str]] = {}
    for state in live:
        for var, values in state.items():
            out.setdefault(var, set()).update(values)
    return {var: frozenset(values) for var, values in out.items()}


@dataclass
class ExternalFinding:
    call: ast.Call
    code: str  # POL201 | POL202
    session: str
    description: str


@dataclass
class Observed:
    """The states the sessions were in at one external call, over every visit."""

    call: ast.Call
    described: str
    session: str
    held_by: Optional[str] = None
    states: Set[str] = field(default_factory=set)


@dataclass
class FlowResult:
    externals: List[ExternalFinding] = field(default_factory=list)
    yielded: Dict[str, Set[str]] = field(default_factory=dict)  # var -> states at a `yield var`
    final: Optional[State] = None  # states at the end / at returns
    released: Set[str] = field(default_factory=set)  # vars given back somewhere
    sessions: Set[str] = field(default_factory=set)


class SessionAnalysis:
    """Session questions about one file, answered through the project index."""

    def __init__(self, file):
        self.file = file
        self.externals = ExternalCalls(file)
        self._flows: Dict[int, FlowResult] = {}
        self._calls: Dict[tuple, Optional[str]] = {}
        self._annotations: Dict[tuple, bool] = {}
        self._defaults: Dict[ast.AST, dict] = {}  # function -> {parameter: default expression}
        self.flask = FlaskSessions(file)  # Flask-SQLAlchemy's db.session (SPEC 3c)

    # -- what makes a session -----------------------------------------------------------------
    def _binding_call(self, expr: ast.AST):
        """(module, maker call) when `expr` names a module-level `X = sessionmaker(...)`."""
        file = self.file
        if isinstance(expr, ast.Name) and not _is_local(file, expr, expr.id):
            value = file.names.single_assignment(expr.id)
            if isinstance(value, ast.Call):
                return file.module, value
        qualified = file.qualify(expr)
        if qualified:
            _, module, node = file.project.resolve(qualified, file.path, want=(ast.Name,))
            if module is not None and isinstance(node, ast.Name):
                value = module.names.single_assignment(node.id)
                if isinstance(value, ast.Call):
                    return module, value
        return None

    def _bound_callee(self, expr: ast.AST) -> Optional[str]:
        """For a name bound to `X = factory(...)`, the qualified name of `factory`."""
        found = self._binding_call(expr)
        return found[0].resolve(found[1].func) if found is not None else None

    def maker_of(self, expr: ast.AST) -> Optional[bool]:
        """Is `expr` a session factory (sessionmaker & co)? Its async-ness, or None."""
        return SESSION_MAKERS.get(self._bound_callee(expr))

    def session_call(self, expr: ast.AST) -> Optional[str]:
        """'session' when the expression creates a session, 'begin' for `factory.begin()`.
        Memoised by the callee's dotted name when its first name is not a local."""
        if not isinstance(expr, ast.Call):
            return None
        key = _dotted(expr.func)
        if key is None or (key[0] in self.file.source.local_names and _is_local(self.file, expr, key[0])):
            return self._session_call(expr)
        if key not in self._calls:
            self._calls[key] = self._session_call(expr)
        return self._calls[key]

    def _session_call(self, expr: ast.Call) -> Optional[str]:
        qualified = self.file.resolve(expr.func)
        if qualified in SESSION_CLASSES:
            return "session"
        if isinstance(expr.func, ast.Attribute) and expr.func.attr == "begin" and self.maker_of(expr.func.value) is not None:
            return "begin"
        if self.maker_of(expr.func) is not None:
            return "session"
        return None

    def is_engine(self, expr: ast.AST) -> bool:
        return self._bound_callee(expr) in ENGINE_FACTORIES or self.flask.is_engine(expr)

    def connection_block(self, expr: ast.AST) -> bool:
        """`engine.connect()` / `engine.begin()` on a known engine."""
        return (isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute)
                and expr.func.attr in ("connect", "begin") and self.is_engine(expr.func.value))

    # -- parameters -------------------------------------------------------------------------------
    def parameter_state(self, func, arg: ast.arg) -> Optional[FrozenSet[str]]:
        """The state a session parameter starts in, or None when it is no session."""
        if arg.annotation is None and not (func.args.defaults or func.args.kw_defaults):
            return None
        dependency = self._dependency_of(arg, func)
        if dependency is not None:
            module, dep = dependency
            state = dependency_state(self.file.project, module, dep)
            if state is not None:
                return state
        if self._annotated_session(arg.annotation):
            return frozenset([UNKNOWN])
        return None

    def _annotated_session(self, annotation) -> bool:
        if annotation is None:
            return False
        key = _dotted(annotation)
        if key is not None:
            if key not in self._annotations:
                self._annotations[key] = self.file.resolve(annotation) in SESSION_CLASSES
            return self._annotations[key]
        if isinstance(annotation, ast.Subscript):
            inner = annotation.slice
            parts = inner.elts if isinstance(inner, ast.Tuple) else [inner]
            return any(self._annotated_session(p) for p in parts[:1])
        if isinstance(annotation, ast.BinOp):  # Session | None
            return self._annotated_session(annotation.left) or self._annotated_session(annotation.right)
        return self.file.resolve(annotation) in SESSION_CLASSES

    def _depends_target(self, expr, module=None):
        """The dependency expression of `Depends(dep)`."""
        if not isinstance(expr, ast.Call) or not (expr.args or expr.keywords):
            return None
        if (module or self.file.module).resolve(expr.func) not in DEPENDS:
            return None
        if expr.args:
            return expr.args[0]
        return next((k.value for k in expr.keywords if k.arg == "dependency"), None)

    def _dependency_of(self, arg: ast.arg, func):
        """(module, dependency FunctionDef) injected into a parameter, if any."""
        defaults = self._defaults.get(func)
        if defaults is None:
            args = func.args
            positional = [*args.posonlyargs, *args.args]
            defaults = dict(zip(positional[len(positional) - len(args.defaults):], args.defaults))
            defaults.update({a: d for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None})
            self._defaults[func] = defaults
        module = self.file.module
        target = self._depends_target(defaults.get(arg))
        if target is None:
            target, module = self._annotated_dependency(arg.annotation, self.file.module)
        if target is None:
            return None
        return self._function(target, module)

    def _annotated_dependency(self, annotation, module, depth: int = 0):
        """`Annotated[T, Depends(dep)]`, also through a type alias defined elsewhere."""
        if annotation is None or depth > 3:
            return None, module
        if isinstance(annotation, ast.Subscript):
            if module.resolve(annotation.value) in ANNOTATED and isinstance(annotation.slice, ast.Tuple):
                for extra in annotation.slice.elts[1:]:
                    target = self._depends_target(extra, module)
                    if target is not None:
                        return target, module
            return None, module
        if isinstance(annotation, (ast.Name, ast.Attribute)):
            if isinstance(annotation, ast.Name):
                value = module.names.single_assignment(annotation.id)
                if value is not None:
                    return self._annotated_dependency(value, module, depth + 1)
            qualified = module.names.qualify(annotation)
            if qualified and module.project is not None:
                _, other, node = module.project.resolve(qualified, module.path, want=(ast.Name,))
                if other is not None and isinstance(node, ast.Name):
                    value = other.names.single_assignment(node.id)
                    if value is not None:
                        return self._annotated_dependency(value, other, depth + 1)
        return None, module

    def _function(self, expr, module):
        """(module, FunctionDef) a dependency expression names."""
        if isinstance(expr, ast.Name):
            nodes = module.names.bound(expr.id)
            if len(nodes) == 1 and isinstance(nodes[0], FunctionNode):
                nodes = module.names.bindings.get(expr.id)  # the function parsed in full
                return (module, nodes[0]) if nodes else None
        qualified = module.names.qualify(expr)
        if qualified and module.project is not None:
            _, other, node = module.project.resolve(qualified, module.path, want=FunctionNode)
            if other is not None and isinstance(node, FunctionNode):
                return other, node
        return None

    # -- flows -------------------------------------------------------------------------------
    def flow(self, func) -> FlowResult:
        key = id(func)
        if key not in self._flows:
            self._flows[key] = Flow(self, func).run()
        return self._flows[key]


def _dotted(expr) -> Optional[tuple]:
    parts = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name):
        return None
    parts.append(expr.id)
    return tuple(reversed(parts))


def _is_local(file, node, name: str) -> bool:
    """Is `name` bound in the function around `node` (a parameter, an assignment...)?"""
    func = file.function_of(node)
    return func is not None and file.names.binds(func, name)


def module_analysis(module, project) -> SessionAnalysis:
    """The session analysis of another module of the project (made once)."""
    key = ("sessions", id(module))
    found = project.facts.get(key)
    if found is None:
        found = project.facts[key] = SessionAnalysis(FileView.for_module(module, project))
    return found


def dependency_state(project, module, func) -> Optional[FrozenSet[str]]:
    """The state of the session a dependency yields (or returns), or None when it hands
    out no session. Memoised per project."""
    key = ("dependency", id(func))
    if key in project.facts:
        return project.facts[key]
    project.facts[key] = None
    analysis = module_analysis(module, project)
    result = analysis.flow(func)
    state = None
    for var in result.sessions:
        if var in result.yielded:
            state = frozenset(result.yielded[var])
    if state is None:
        for node in walk(func):
            if isinstance(node, ast.Return) and analysis.session_call(node.value) == "session":
                state = frozenset([NONE])
    project.facts[key] = state
    return state


def function_effect(project, module, func, param: str) -> str:
    """What a project function does to a session passed as `param`: 'hold', 'release'
    or 'none'."""
    key = ("effect", id(func), param)
    if key in project.facts:
        return project.facts[key]
    project.facts[key] = "none"
    analysis = module_analysis(module, project)
    result = Flow(analysis, func, seed={param: frozenset([NONE])}).run()
    final = (result.final or {}).get(param, frozenset())
    effect = "hold" if HELD in final else "release" if param in result.released else "none"
    project.facts[key] = effect
    return effect


class Flow:
    """The forward analysis of one function body."""

    def __init__(self, analysis: SessionAnalysis, func, seed: Optional[State] = None):
        self.analysis = analysis
        self.file = analysis.file
        self.func = func
        self.seed = seed
        self.result = FlowResult()
        self.observed: Dict[int, Observed] = {}
        self.returns: List[State] = []
        # External calls are looked up only where POL201/POL202 can be reported: in the
        # checked file's own unseeded flows that the screen leaves to them.
        self.calls_out = seed is None and self.file.plan.may_fire("external", func.lineno)

    def run(self) -> FlowResult:
        state: State = {}
        if self.seed is not None:
            state.update(self.seed)
        else:
            args = self.func.args
            for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs):
                initial = self.analysis.parameter_state(self.func, arg)
                if initial is not None:
                    state[arg.arg] = initial
            if self.analysis.flask.active:  # the app context's session: the caller's state
                state[FLASK_SESSION] = frozenset([UNKNOWN])
        self.result.sessions.update(state)
        end = self.block(self.func.body, state)
        self.result.final = join(end, *self.returns)
        self.verdicts()
        self.result.externals.sort(key=lambda f: (f.call.lineno, f.call.col_offset))
        return self.result

    # -- statements ----------------------------------------------------------------------------
    def block(self, body, state: Optional[State]) -> Optional[State]:
        for stmt in body:
            if state is None:
                return None
            state = self.statement(stmt, state)
        return state

    def statement(self, stmt, state: State) -> Optional[State]:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return state
        if isinstance(stmt, (ast.If, ast.While)):
            self.expr(stmt.test, state)
        if isinstance(stmt, ast.If):
            return join(self.block(stmt.body, dict(state)), self.block(stmt.orelse, dict(state)))
        if isinstance(stmt, (ast.For, ast.AsyncFor, ast.While)):
            if not isinstance(stmt, ast.While):
                self.expr(stmt.iter, state)
                if FLASK_SESSION in state and self.analysis.flask.iterates(stmt.iter):
                    state[FLASK_SESSION] = frozenset([HELD])  # iterating a query runs it
            first = self.block(stmt.body, dict(state))
            second = self.block(stmt.body, join(state, first) or dict(state))
            after = join(state, first, second)
            return join(self.block(stmt.orelse, dict(after)), after) if stmt.orelse else after
        if isinstance(stmt, (ast.With, ast.AsyncWith)):
            return self.with_statement(stmt, state)
        if isinstance(stmt, (ast.Try, getattr(ast, "TryStar", ast.Try))):
            body = self.block(stmt.body, dict(state))
            entry = join(state, body) or dict(state)
            handlers = [self.block(h.body, dict(entry)) for h in stmt.handlers]
            orelse = self.block(stmt.orelse, dict(body)) if body is not None and stmt.orelse else body
            out = join(orelse, *handlers)
            if stmt.finalbody:
                final = self.block(stmt.finalbody, dict(join(out, entry) or entry))
                return final if out is not None else None
            return out
        if hasattr(ast, "Match") and isinstance(stmt, ast.Match):
            self.expr(stmt.subject, state)
            return join(*[self.block(case.body, dict(state)) for case in stmt.cases], state)
        if isinstance(stmt, (ast.Return, ast.Raise)):
            if state:  # with no session in scope an expression teaches nothing
                for child in children(stmt):
                    self.expr(child, state)
            if isinstance(stmt, ast.Return):
                self.returns.append(dict(state))
            return None
        if state:
            for child in children(stmt):
                if isinstance(child, ast.expr):
                    self.expr(child, state)
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None:
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            if len(targets) == 1 and isinstance(targets[0], ast.Name):
                if self.analysis.session_call(stmt.value) == "session":
                    state[targets[0].id] = frozenset([NONE])
                    self.result.sessions.add(targets[0].id)
                elif targets[0].id in state:
                    del state[targets[0].id]  # rebound to something else
        return state

    def with_statement(self, stmt, state: State) -> Optional[State]:
        opened: List[Tuple[str, str]] = []  # (var, kind)
        for item in stmt.items:
            ctx = item.context_expr
            var = item.optional_vars.id if isinstance(item.optional_vars, ast.Name) else None
            kind = self.analysis.session_call(ctx)
            if kind is not None:
                for arg in children(ctx):
                    self.expr(arg, state)
                if var:
                    state[var] = frozenset([NONE])
                    self.result.sessions.add(var)
                    opened.append((var, "scope"))
                continue
            if isinstance(ctx, ast.Call) and isinstance(ctx.func, ast.Attribute) and ctx.func.attr == "begin" \
                    and isinstance(ctx.func.value, ast.Name) and ctx.func.value.id in state:
                opened.append((ctx.func.value.id, "transaction"))  # a session's begin(): lazy
                continue
            if self.analysis.connection_block(ctx):
                for arg in children(ctx):
                    self.expr(arg, state)
                name = var or f"<{ast.unparse(ctx.func)}>"
                state[name] = frozenset([HELD])
                self.result.sessions.add(name)
                opened.append((name, "scope"))
                continue
            self.expr(ctx, state)
        out = self.block(stmt.body, state)
        if out is None:
            return None
        for var, kind in opened:
            if kind == "scope":
                out.pop(var, None)
            else:
                out[var] = frozenset([NONE])
                self.result.released.add(var)
        return out

    # -- expressions -------------------------------------------------------------------------
    def expr(self, node, state: State) -> None:
        """Visit an expression in evaluation order (arguments before their call). With no
        session in scope there is nothing to learn from an expression."""
        if node is None or not state or isinstance(node, ast.Lambda):
            return
        if isinstance(node, ast.Call):
            self.expr(node.func, state)
            for arg in node.args:
                self.expr(arg, state)
            for keyword in node.keywords:
                self.expr(keyword.value, state)
            self.call(node, state)
            return
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            self.expr(node.value, state)
            if isinstance(node.value, ast.Name) and node.value.id in state:
                self.result.yielded.setdefault(node.value.id, set()).update(state[node.value.id])
            return
        for child in children(node):
            self.expr(child, state)

    def call(self, node: ast.Call, state: State) -> None:
        func = node.func
        if FLASK_SESSION in state:
            effect = self.analysis.flask.effect(node)
            if effect is not None:
                state[FLASK_SESSION] = frozenset([HELD if effect == "hold" else NONE])
                if effect == "release":
                    self.result.released.add(FLASK_SESSION)
                return
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in state:
            var, method = func.value.id, func.attr
            if method in STATEMENT_METHODS:
                state[var] = frozenset([HELD])
            elif method in RELEASE_METHODS:
                state[var] = frozenset([NONE])
                self.result.released.add(var)
            return
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Call) and isinstance(func.value.func, ast.Attribute) \
                and isinstance(func.value.func.value, ast.Name) and func.value.func.value.id in state:
            return  # session.execute(...).scalars(): local work on a result
        if state and self.calls_out:
            described = self.analysis.externals.describe(node)
            if described:
                self.external(node, described, state)
        self.passes_session(node, state)
        if FLASK_SESSION in state:
            self.flask_helper(node, state)

    def flask_helper(self, node: ast.Call, state: State) -> None:
        """A project function that uses the app context's session applies its effect
        without being handed it (SPEC 3c)."""
        target = self.analysis._function(node.func, self.file.module)
        if target is None:
            return
        module, func = target
        effect = function_effect(self.file.project, module, func, FLASK_SESSION)
        if effect == "hold":
            state[FLASK_SESSION] = frozenset([HELD])
        elif effect == "release":
            state[FLASK_SESSION] = frozenset([NONE])

    def external(self, node: ast.Call, described: str, state: State) -> None:
        """Record what the sessions may be doing at this call; a loop body is visited more
        than once, so the verdict waits until the whole function has been walked."""
        seen = self.observed.get(id(node))
        if seen is None:
            seen = self.observed[id(node)] = Observed(node, described, next(iter(state)))
        held = [var for var, values in state.items() if HELD in values]
        if held and seen.held_by is None:
            seen.held_by = held[0]
        seen.states.update(v for values in state.values() for v in values)

    def verdicts(self) -> None:
        for seen in self.observed.values():
            if seen.held_by is not None:
                self.result.externals.append(ExternalFinding(seen.call, "POL201", seen.held_by, seen.described))
            elif seen.states == {NONE}:
                self.result.externals.append(ExternalFinding(seen.call, "POL202", seen.session, seen.described))

    def passes_session(self, node: ast.Call, state: State) -> None:
        passed = [(i, a.id) for i, a in enumerate(node.args) if isinstance(a, ast.Name) and a.id in state]
        passed += [(k.arg, k.value.id) for k in node.keywords if isinstance(k.value, ast.Name) and k.value.id in state]
        if not passed:
            return
        target = self.analysis._function(node.func, self.file.module)
        if target is None:
            return
        module, func = target
        params = [a.arg for a in (*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs)]
        if params and params[0] in ("self", "cls"):
            params = params[1:]
        for where, var in passed:
            param = params[where] if isinstance(where, int) and where < len(params) else where
            if not isinstance(param, str) or param not in params:
                continue
            effect = function_effect(self.file.project, module, func, param)
            if effect == "hold":
                state[var] = frozenset([HELD])
            elif effect == "release":
                state[var] = frozenset([NONE])


def async_factory_calls(file, calls) -> Iterator[ast.Call]:
    """The calls among `calls` of an async session maker or class (`async_sessionmaker`,
    `AsyncSession`). A module whose text never says "ession" makes none: one look at the
    text spares resolving every call."""
    if "ession" not in file.source.text:
        return
    for call in calls:
        if file.resolve(call.func) in ASYNC_FACTORY_CALLS:
            yield call


def starts_tasks(file) -> bool:
    """May the module run awaitables concurrently: does its text name `gather` or
    `create_task`? (Where it does not, nothing is asked of its functions.)"""
    text = file.source.text
    return "gather" in text or "create_task" in text


def session_names(analysis: SessionAnalysis, func) -> Set[str]:
    return analysis.flow(func).sessions
