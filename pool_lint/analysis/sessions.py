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
applies that function's effect. A project function or method that hands out a session
(SPEC 3b: `with get_session() as s`, `async with db.session_context() as s`, `s = await
open_session()`) is a session source wherever it is used, like a dependency: the session
starts in the state the function leaves it in where it yields or returns it
(`handed_out`). The facts behind the transitions are in tests/test_sqlalchemy_facts.py
(pool checkout/checkin events with the real library).
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
from .tree import children, dotted as _dotted

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
CONTEXT_MANAGERS = {"contextlib.contextmanager", "contextlib.asynccontextmanager"}
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
    returned: Dict[str, Set[str]] = field(default_factory=dict)  # var -> states at a `return var`
    made: Set[str] = field(default_factory=set)  # vars assigned a session made here (`s = SessionLocal()`)
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
        self._sources: Dict[tuple, Optional[Tuple[str, FrozenSet[str]]]] = {}
        self.flask = FlaskSessions(file)  # Flask-SQLAlchemy's db.session (SPEC 3c)

    # -- what makes a session -----------------------------------------------------------------
    def _binding_call(self, expr: ast.AST):
        """(module, maker call) when `expr` names a module-level `X = sessionmaker(...)`."""
        file = self.file
        if isinstance(expr, ast.Name):
            func = file.function_of(expr)
            if func is not None and file.names.local_variable(func, expr.id):
                # `maker = sessionmaker(bind=engine)` in the function
                value = file.evaluator.binding_value(expr.id, expr)
                return (file.module, value) if isinstance(value, ast.Call) else None
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
                self._annotations[key] = session_type(self.file.module, annotation)
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

    # -- sessions the project's own functions hand out (SPEC 3b) ---------------------------
    def project_source(self, expr: ast.AST) -> Optional[Tuple[str, FrozenSet[str]]]:
        """For a call of a project function or method that hands out a session: (how, the
        state the session is in when handed over), `how` being "context" for a
        `@contextmanager` / `@asynccontextmanager` generator that yields one (`with f() as
        s`), "return" for a function that returns one (`s = f()`, `with f() as s`), "await"
        for a coroutine function that returns one (`s = await f()`). None otherwise, and
        for a callee that cannot be resolved. Memoised by the callee's dotted name when
        its first name is a module-level one."""
        if not isinstance(expr, ast.Call):
            return None
        key = _dotted(expr.func)
        memo = key is not None and key[0] not in ("self", "cls") and not (
            key[0] in self.file.source.local_names and _is_local(self.file, expr, key[0]))
        if memo and key in self._sources:
            return self._sources[key]
        target = self.callee(expr)
        found = handed_out(self.file.project, *target) if target is not None else None
        if memo:
            self._sources[key] = found
        return found

    def handed(self, value: ast.AST) -> Optional[FrozenSet[str]]:
        """The state of the session an assigned value hands over: `f()` for a function
        that returns one, `await f()` for a coroutine function that does; else None."""
        awaited = isinstance(value, ast.Await)
        found = self.project_source(value.value if awaited else value)
        if found is not None and found[0] == ("await" if awaited else "return"):
            return found[1]
        return None

    @staticmethod
    def may_call_project(call: ast.Call) -> bool:
        """False when `callee(call)` is None whatever the project holds: its callee is
        no dotted name (`select(X).where(...)`, `f()()`, `handlers[k]()`). Syntax alone."""
        return _dotted(call.func) is not None

    def callee(self, call: ast.Call):
        """(module, FunctionDef) of the project function or method a call calls: a
        function by name (imported or not), or a method of `self`, of a parameter
        annotated with a project class, or of an object made from a project class (a local
        or module-level name, or one imported from another module)."""
        if not self.may_call_project(call):
            return None
        func = call.func
        base = func
        while isinstance(base, ast.Attribute):
            base = base.value
        local = isinstance(base, ast.Name) and base.id in self.file.source.local_names \
            and _is_local(self.file, call, base.id)
        if not local and isinstance(func, (ast.Name, ast.Attribute)):
            found = self._function(func, self.file.module)
            if found is not None:
                return found
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            cls = self._class_of_name(func.value.id, call)
            if cls is not None:
                return _method(cls[0], cls[1], func.attr)
        return None

    def _class_of_name(self, name: str, at: ast.AST):
        """(module, ClassDef) of the project class whose instance `name` holds at `at`."""
        file = self.file
        if name in ("self", "cls"):
            enclosing = file.enclosing_functions(at)
            if len(enclosing) > 1 and isinstance(enclosing[1], ast.ClassDef):
                return file.module, enclosing[1]
            return None
        scope, nodes = file.evaluator.scope_of_name(name, at)
        if len(nodes) != 1:
            return None
        node = nodes[0]
        if isinstance(node, ast.arg):
            return _class_from(node.annotation, file.module)
        if isinstance(node, ast.Name):
            value = file.evaluator.binding_value(name, at)
            return _class_from(value.func, file.module) if isinstance(value, ast.Call) else None
        if isinstance(node, (ast.Import, ast.ImportFrom)) and scope is file.names.tree:
            found = file.module.imported_assignment(name)
            if found is None or not isinstance(found[1], ast.Call):
                return None
            return _class_from(found[1].func, found[0])
        return None

    # -- how a session made here is given back (POL203) --------------------------------------
    def released_on_normal_paths(self, func, var: str) -> bool:
        """Does every normal path of `func` (to its end or a `return`) leave the session
        `var` it made given back by `commit()`, `rollback()` or `close()`? (Then only an
        exception between its first statement and that call leaks the connection.)"""
        result = self.flow(func)
        final = (result.final or {}).get(var)
        return var in result.released and final == frozenset([NONE])

    def passed_to(self, call: ast.Call, arg: ast.AST):
        """(callee FunctionDef, parameter, effect) of the project function `call` passes
        the expression `arg` to (positionally or by keyword): its effect on that parameter, "hold",
        "release" or "none" (function_effect). None when the callee is no project
        function or takes no such parameter."""
        target = self.callee(call)
        if target is None:
            return None
        module, func = target
        params = [a.arg for a in (*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs)]
        if params and params[0] in ("self", "cls") and isinstance(call.func, ast.Attribute):
            params = params[1:]
        where = next((k.arg for k in call.keywords if k.value is arg), None)
        if where is None and arg in call.args:
            at = call.args.index(arg)
            if any(isinstance(a, ast.Starred) for a in call.args[:at + 1]):
                return None
            where = params[at] if at < len(params) else None
        if where is None or where not in params:
            return None
        return func, where, function_effect(self.file.project, module, func, where)

    # -- flows -------------------------------------------------------------------------------
    def flow(self, func) -> FlowResult:
        key = id(func)
        if key not in self._flows:
            self._flows[key] = Flow(self, func).run()
        return self._flows[key]


NEW_TYPES = frozenset(["typing.NewType", "typing_extensions.NewType"])


def session_type(module, expr: ast.AST, depth: int = 0) -> bool:
    """Is the annotation `expr` (a name in `module`) a session class: one of SQLAlchemy's,
    or a project's `typing.NewType` of one (`AsyncSession = NewType("AsyncSession",
    _AsyncSession)`: a type checker's distinct name for the same objects)? Calling a
    NewType makes no session, so this is for annotations only."""
    qualified = module.resolve(expr)
    if qualified in SESSION_CLASSES:
        return True
    if depth > 3 or qualified is None or module.project is None:
        return False
    _, owner, node = module.project.resolve(qualified, module.path, want=(ast.Name,))
    if owner is None or not isinstance(node, ast.Name):
        return False
    value = owner.names.single_assignment(node.id)
    return (isinstance(value, ast.Call) and len(value.args) == 2 and not value.keywords
            and owner.resolve(value.func) in NEW_TYPES
            and isinstance(value.args[1], (ast.Name, ast.Attribute))
            and session_type(owner, value.args[1], depth + 1))


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
    state = _yielded_state(analysis.flow(func))
    if state is None:
        state = returned_state(analysis, func)
    project.facts[key] = state
    return state


def handed_out(project, module, func) -> Optional[Tuple[str, FrozenSet[str]]]:
    """How a project function hands out a session, and in which state (see
    SessionAnalysis.project_source), or None. Memoised per project."""
    key = ("handed", id(func))
    if key in project.facts:
        return project.facts[key]
    project.facts[key] = None
    analysis = module_analysis(module, project)
    found = None
    if _is_generator(func):
        if any(module.resolve(d.func if isinstance(d, ast.Call) else d) in CONTEXT_MANAGERS
               for d in func.decorator_list):
            state = _yielded_state(analysis.flow(func))
            if state is not None:
                found = ("context", state)
    else:
        state = returned_state(analysis, func)
        if state is not None:
            found = ("await" if isinstance(func, ast.AsyncFunctionDef) else "return", state)
    project.facts[key] = found
    return found


def _yielded_state(result: FlowResult) -> Optional[FrozenSet[str]]:
    states: Set[str] = set()
    for var in result.sessions:
        states |= result.yielded.get(var, set())
    return frozenset(states) if states else None


def returned_state(analysis: SessionAnalysis, func) -> Optional[FrozenSet[str]]:
    """The states of the session a function returns: a session made in the return
    statement (none held), one it made and holds in a variable (its state there), one
    that a project function called in the return statement hands out (`return
    get_session()`, `return await self.session()`: a function of the module, imported, or
    a method of `self` or of a module-level object; the index finds these by their
    words, screen._hands_over); else, when its return annotation is a session class,
    "unknown". None when it returns no session."""
    result = analysis.flow(func)
    states: Set[str] = set()
    for var in result.made:
        states |= result.returned.get(var, set())
    for node in _own_nodes(func):
        if isinstance(node, ast.Return) and node.value is not None:
            if analysis.session_call(node.value) == "session":
                states.add(NONE)
            elif not isinstance(node.value, ast.Name):
                value = node.value.value if isinstance(node.value, ast.Await) else node.value
                base = value.func if isinstance(value, ast.Call) else None
                while isinstance(base, ast.Attribute):
                    base = base.value
                if isinstance(base, ast.Name) and base.id not in ("self", "cls") \
                        and analysis.file.names.binds(func, base.id):
                    continue  # a parameter's or a local's method: not followed
                handed = analysis.handed(node.value)
                if handed is not None:
                    states |= handed
    if not states and func.returns is not None and isinstance(func.returns, (ast.Name, ast.Attribute)) \
            and analysis.file.module.resolve(func.returns) in SESSION_CLASSES:
        states.add(UNKNOWN)
    return frozenset(states) if states else None


def _own_nodes(func) -> Iterator[ast.AST]:
    """The nodes of a function body, not entering nested functions, classes or lambdas."""
    stack = list(func.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        yield node
        stack.extend(children(node))


def _is_generator(func) -> bool:
    return any(isinstance(node, (ast.Yield, ast.YieldFrom)) for node in _own_nodes(func))


def _class_from(expr, module):
    """(module, ClassDef) of the project class an expression of `module` names, or None
    (a string annotation is not followed: the index reads no strings)."""
    if isinstance(expr, ast.Name):
        nodes = module.names.bound(expr.id)
        if len(nodes) == 1 and isinstance(nodes[0], ast.ClassDef):
            nodes = module.names.bindings.get(expr.id)  # the class parsed in full
            return (module, nodes[0]) if nodes else None
    if not isinstance(expr, (ast.Name, ast.Attribute)) or module.project is None:
        return None
    qualified = module.names.qualify(expr)
    if not qualified:
        return None
    _, other, node = module.project.resolve(qualified, module.path, want=(ast.ClassDef,))
    if other is not None and isinstance(node, ast.ClassDef):
        return other, node
    return None


def _method(module, cls, name: str, depth: int = 0):
    """(module, FunctionDef) of a method of a project class, its project bases' included."""
    for stmt in cls.body:
        if isinstance(stmt, FunctionNode) and stmt.name == name:
            return module, stmt
    if depth < 3:
        for base in cls.bases:
            found = _class_from(base, module)
            if found is not None:
                method = _method(found[0], found[1], name, depth + 1)
                if method is not None:
                    return method
    return None


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
                if isinstance(stmt.value, ast.Name) and stmt.value.id in state:
                    self.result.returned.setdefault(stmt.value.id, set()).update(state[stmt.value.id])
            return None
        if state:
            for child in children(stmt):
                if isinstance(child, ast.expr):
                    self.expr(child, state)
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None:
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            if len(targets) == 1 and isinstance(targets[0], ast.Name):
                var = targets[0].id
                made = self.analysis.session_call(stmt.value) == "session"
                if made:
                    self.result.made.add(var)
                handed = frozenset([NONE]) if made else self.analysis.handed(stmt.value)
                if handed is not None:
                    state[var] = handed
                    self.result.sessions.add(var)
                elif var in state:
                    del state[var]  # rebound to something else
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
            if isinstance(ctx, ast.Name) and ctx.id in state:
                opened.append((ctx.id, "transaction"))  # `with session:` closes it at the end
                continue
            source = self.analysis.project_source(ctx) if var else None
            if source is not None and source[0] in ("context", "return"):
                for arg in children(ctx):
                    self.expr(arg, state)
                state[var] = source[1]
                self.result.sessions.add(var)
                opened.append((var, "scope"))
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
