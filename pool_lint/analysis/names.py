"""Import and name resolution within one module.

`ModuleNames` answers: which qualified name does this expression refer to? Imports
(`import sqlalchemy as sa`, `from sqlalchemy.ext import asyncio`, relative imports) map local
names to qualified names; names defined in the module itself qualify as `<module>.<name>`;
a name bound locally in an enclosing function (a parameter, an assignment) shadows the
module's binding and does not qualify. Re-exports across the project's own modules are
followed by `project.Project.canonical`.
"""
from __future__ import annotations

import ast
from typing import Dict, Iterator, List, Optional
from .tree import children


FunctionNode = (ast.FunctionDef, ast.AsyncFunctionDef)
ScopeNode = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def resolve_relative(module: str, is_package: bool, level: int, name: Optional[str]) -> str:
    """The absolute module named by `from <level dots><name> import ...` inside `module`."""
    parts = module.split(".") if module else []
    if not is_package:
        parts = parts[:-1]
    if level > 1:
        parts = parts[: len(parts) - (level - 1)] if level - 1 <= len(parts) else []
    if name:
        parts.append(name)
    return ".".join(parts)


def bound_names(body: List[ast.stmt], declared_global: Optional[List[str]] = None) -> Iterator[tuple]:
    """(name, node) for every name a block of statements binds in its own scope,
    not descending into nested function or class bodies. Names declared `global` or
    `nonlocal` are appended to `declared_global` when given."""
    return iter(_bound_names(body, declared_global))


# How `_bound_names` treats a node class (exact classes: the parser makes no subclasses).
_DEF, _GLOBAL, _LAMBDA, _IMPORT, _NAME, _HANDLER, _ARG, _COMPREHENSION = range(1, 9)
_BINDING_KINDS = {
    ast.FunctionDef: _DEF, ast.AsyncFunctionDef: _DEF, ast.ClassDef: _DEF, ast.Global: _GLOBAL,
    ast.Nonlocal: _GLOBAL, ast.Lambda: _LAMBDA, ast.Import: _IMPORT, ast.ImportFrom: _IMPORT, ast.Name: _NAME,
    ast.ExceptHandler: _HANDLER, ast.arg: _ARG, ast.ListComp: _COMPREHENSION, ast.SetComp: _COMPREHENSION,
    ast.DictComp: _COMPREHENSION, ast.GeneratorExp: _COMPREHENSION,
}
_BINDING_CTX = (ast.Store, ast.Del)


def _bound_names(body: List[ast.stmt], declared_global: Optional[List[str]]) -> List[tuple]:
    out: List[tuple] = []
    kinds = _BINDING_KINDS
    stack = list(body)
    pop, push = stack.pop, stack.append
    while stack:
        node = pop()
        cls = node.__class__
        kind = kinds.get(cls, 0)
        if kind:
            if kind == _DEF:
                out.append((node.name, node))
                continue
            if kind == _GLOBAL:
                if declared_global is not None:
                    declared_global.extend(node.names)
                continue
            if kind == _LAMBDA:
                continue
            if kind == _IMPORT:
                for alias in node.names:
                    if alias.name == "*":
                        continue
                    local = alias.asname or (alias.name.split(".")[0] if cls is ast.Import else alias.name)
                    out.append((local, node))
                continue
            if kind == _NAME:
                if isinstance(node.ctx, _BINDING_CTX):
                    out.append((node.id, node))
                continue  # a Name has no child nodes
            if kind == _HANDLER:
                if node.name:
                    out.append((node.name, node))
            elif kind == _ARG:
                out.append((node.arg, node))
            elif kind == _COMPREHENSION:
                # Only the first iterable is evaluated in the enclosing scope; walrus targets
                # leak out, which we ignore (rare, and it only makes us more conservative).
                push(node.generators[0].iter)
                continue
        stack.extend(children(node))
    return out


class _Expanding(dict):
    """The module-level bindings of a module parsed lazily (source.Source.parse_lazily):
    looking a name up parses the function or class it is a stub of."""

    source = None

    def get(self, name, default=None):
        nodes = dict.get(self, name)
        return default if nodes is None else self._expanded(name, nodes)

    def __getitem__(self, name):
        return self._expanded(name, dict.__getitem__(self, name))

    def _expanded(self, name, nodes):
        # A stub still to parse, or one the source parsed already by another way (through
        # Source.expand_where, say): either way, the name binds what the parse gave.
        source = self.source
        lazy, done = source._lazy, source._expanded
        if (lazy or done) and any(node in lazy or node in done for node in nodes):
            nodes = [found for found in map(source.expand, nodes) if found is not None]
            dict.__setitem__(self, name, nodes)
        return nodes


class ModuleNames:
    """Name bindings of one module and qualification of expressions."""

    def __init__(self, tree: ast.Module, module: str = "", is_package: bool = False, source=None):
        self.tree = tree
        self.module = module
        self.is_package = is_package
        self.imports: Dict[str, str] = {}
        self.bindings: Dict[str, List[ast.AST]] = {}
        for name, node in _bound_names(tree.body, None):
            self.bindings.setdefault(name, []).append(node)
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                self._record_import(node, name)
        if source is not None and source._lazy:
            self.bindings = _Expanding(self.bindings)
            self.bindings.source = source
        self._locals: Dict[int, Dict[str, List[ast.AST]]] = {}
        self._assignments: Dict[int, Dict[int, ast.stmt]] = {}
        # The parsed file of `tree` (source.Source): its index knows which scopes may bind
        # a name, so that the others skip the per-function lookups.
        self._source = source

    def bound(self, name: str) -> List[ast.AST]:
        """The nodes binding a module-level name, as `bindings` has them, except that a
        function or class of a lazily parsed module may still be its stub: for questions
        that the kind of binding answers (an import? an assignment? one binding?)."""
        return dict.get(self.bindings, name) or []

    def _record_import(self, node: ast.AST, local: str) -> None:
        for alias in node.names:
            if isinstance(node, ast.Import):
                if alias.asname == local:
                    self.imports[local] = alias.name
                elif alias.asname is None and alias.name.split(".")[0] == local:
                    self.imports[local] = local
            else:
                if (alias.asname or alias.name) != local:
                    continue
                base = node.module or ""
                if node.level:
                    base = resolve_relative(self.module, self.is_package, node.level, node.module)
                self.imports[local] = f"{base}.{alias.name}" if base else alias.name

    # -- scopes ------------------------------------------------------------------------
    def function_bindings(self, func: ast.AST) -> Dict[str, List[ast.AST]]:
        """Names bound inside a function (parameters included, globals excluded) and the
        nodes that bind them; computed once per function."""
        key = id(func)
        found = self._locals.get(key)
        if found is None:
            found = {}
            if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                args = func.args
                for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
                    if arg is not None:
                        found.setdefault(arg.arg, []).append(arg)
                body = func.body if isinstance(func.body, list) else [func.body]
                declared_global: List[str] = []
                for name, node in bound_names(body, declared_global):
                    found.setdefault(name, []).append(node)
                for name in declared_global:
                    found.pop(name, None)
            self._locals[key] = found
        return found

    def function_locals(self, func: ast.AST):
        return self.function_bindings(func).keys()

    def binds(self, func: ast.AST, name: str) -> bool:
        """`name in function_locals(func)`, without computing the bindings of a function
        the file's index knows binds no such name."""
        if self._source is not None and func not in self._source.binders.get(name, ()):
            return False
        return name in self.function_bindings(func)

    def local_variable(self, func: ast.AST, name: str) -> bool:
        """Is `name` a variable of `func`: bound there, and not only by an import made
        inside it (which resolves as any import does)?"""
        return self.binds(func, name) and self.local_import(func, name) is None

    def local_import(self, func: ast.AST, name: str) -> Optional[str]:
        """The qualified name of an import made inside `func` that binds `name`."""
        nodes = self.function_bindings(func).get(name, [])
        if len(nodes) == 1 and isinstance(nodes[0], (ast.Import, ast.ImportFrom)):
            saved = dict(self.imports)
            self._record_import(nodes[0], name)
            qualified = self.imports.get(name)
            self.imports = saved
            return qualified
        return None

    # -- qualification -------------------------------------------------------------------
    def qualify_name(self, name: str, enclosing: List[ast.AST] = ()) -> Optional[str]:
        """Qualified name of a bare name as seen from inside `enclosing` functions
        (innermost first)."""
        for func in enclosing:
            if isinstance(func, ast.ClassDef):
                continue  # class bodies do not enclose their methods' names
            if self.binds(func, name):
                return self.local_import(func, name)
        nodes = self.bound(name)
        if not nodes:
            return None
        if all(isinstance(n, (ast.Import, ast.ImportFrom)) for n in nodes):
            return self.imports.get(name)
        if any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in nodes):
            return None  # imported and rebound: ambiguous
        return f"{self.module}.{name}" if self.module else name

    def qualify(self, expr: ast.AST, enclosing: List[ast.AST] = ()) -> Optional[str]:
        if isinstance(expr, ast.Name):
            return self.qualify_name(expr.id, enclosing)
        if isinstance(expr, ast.Attribute):
            base = self.qualify(expr.value, enclosing)
            return f"{base}.{expr.attr}" if base else None
        return None

    def single_assignment(self, name: str) -> Optional[ast.AST]:
        """The value assigned to a module-level name, when it is assigned exactly once
        (by a plain `name = value` or `name: T = value`)."""
        nodes = self.bound(name)
        if len(nodes) != 1:
            return None
        stmt = self.assignment(self.tree, nodes[0])
        return stmt.value if stmt is not None else None

    def assignment(self, scope: ast.AST, target: ast.AST) -> Optional[ast.stmt]:
        """The statement of `scope` (the module, or a function: its own statements, not
        nested scopes') that assigns a value to the Name node `target`: `target = value`
        (a single target) or `target: T = value`. One pass over the scope, memoised."""
        found = self._assignments.get(id(scope))
        if found is None:
            found = self._assignments[id(scope)] = {}
            body = scope.body if isinstance(getattr(scope, "body", None), list) else []
            for stmt in iter_scope_statements(body):
                if isinstance(stmt, ast.Assign):
                    if len(stmt.targets) == 1:
                        found.setdefault(id(stmt.targets[0]), stmt)
                elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                    found.setdefault(id(stmt.target), stmt)
        return found.get(id(target))


def assigned_value(body: List[ast.stmt], target: ast.AST) -> Optional[ast.AST]:
    """The value of the assignment statement (anywhere in `body`, same scope) whose
    target is the Name node `target`."""
    for stmt in iter_scope_statements(body):
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and stmt.targets[0] is target:
            return stmt.value
        if isinstance(stmt, ast.AnnAssign) and stmt.target is target and stmt.value is not None:
            return stmt.value
    return None


def iter_scope_statements(body: List[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement of a scope, entering compound statements but not nested scopes."""
    stack = list(reversed(body))
    while stack:
        stmt = stack.pop()
        yield stmt
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        children: List[ast.stmt] = []
        for name in ("body", "orelse", "finalbody"):
            children.extend(getattr(stmt, name, []) or [])
        for handler in getattr(stmt, "handlers", []) or []:
            children.extend(handler.body)
        for case in getattr(stmt, "cases", []) or []:
            children.extend(case.body)
        stack.extend(reversed(children))
