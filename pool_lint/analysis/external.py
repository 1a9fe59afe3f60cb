"""External calls (SPEC 4): requests to other services made over the network.

The catalogue is data (qualified names, as `names`/`project` resolve them). A call is
external when it is a catalogued function, a request method of a known client object, a
configured `external-calls` name, or a call of a project function that (transitively,
through the project's own functions) makes one; then the description names the chain,
e.g. `send_receipt() -> httpx.AsyncClient.post`.
"""
from __future__ import annotations

import ast
from typing import Optional

from .file import FileView
from .names import FunctionNode
from .tree import children, walk

from .catalog import (CLIENT_PREFIXES, CLIENTS, EXTERNAL_FUNCTIONS, EXTERNAL_PREFIXES, HTTP_METHODS,  # noqa: F401
                      IN_PROCESS_TRANSPORTS, LOCAL_METHODS, NOT_EXTERNAL_IN_PREFIX)


def client_kind(qualified: Optional[str]):
    """(client name, external methods or None for any) for a constructor, else None."""
    if not qualified:
        return None
    if qualified in CLIENTS:
        return qualified, CLIENTS[qualified]
    for prefix, methods in CLIENT_PREFIXES.items():
        if qualified.startswith(prefix):
            return qualified, methods
    return None


class ExternalCalls:
    """Answers "is this call external, and through what chain?" for one file."""

    def __init__(self, file):
        self.file = file
        self.extra = frozenset(file.settings.external_calls)

    # -- the object a call is made on ------------------------------------------------------
    def _client_of_expr(self, expr: ast.AST, at: ast.AST, depth: int = 0):
        """The client kind of the object `expr` evaluates to, or None."""
        file = self.file
        if depth > 4:
            return None
        if isinstance(expr, ast.Call):
            kind = client_kind(file.resolve(expr.func))
            return None if kind is not None and self._in_process(expr) else kind
        if isinstance(expr, ast.Name):
            return self._client_of_name(expr.id, at, depth)
        if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id == "self":
            return self._client_of_self_attribute(expr.attr, at, depth)
        if isinstance(expr, ast.Attribute):
            # An SDK client's sub-resources: client.chat.completions -> the client.
            inner = self._client_of_expr(expr.value, at, depth + 1)
            if inner is not None and inner[1] is None:
                return inner
        return None

    def _client_of_name(self, name: str, at: ast.AST, depth: int):
        file = self.file
        scope, nodes = file.evaluator.scope_of_name(name, at)
        if len(nodes) != 1:
            return None
        node = nodes[0]
        if isinstance(node, ast.arg):
            return self._client_of_annotation(node.annotation)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found = file.module.imported_assignment(name) if scope is file.names.tree else None
            if found is not None and isinstance(found[1], ast.Call):
                return client_kind(found[0].resolve(found[1].func))
            return None
        if isinstance(node, ast.Name):
            parent = file.source.parent(node)
            if isinstance(parent, ast.withitem) and parent.optional_vars is node:
                return self._client_of_expr(parent.context_expr, at, depth + 1)
            if isinstance(parent, ast.AnnAssign):
                kind = self._client_of_annotation(parent.annotation)
                if kind:
                    return kind
            value = file.evaluator.binding_value(name, at) if scope is not file.names.tree else \
                file.names.single_assignment(name)
            if value is not None:
                return self._client_of_expr(value, at, depth + 1)
        return None

    def _in_process(self, call: ast.Call) -> bool:
        """Is a client built on a transport that calls an app in-process
        (`httpx.AsyncClient(transport=httpx.ASGITransport(app=app))`, the transport made
        inline or bound to a name)?"""
        transport = next((k.value for k in call.keywords if k.arg == "transport"), None)
        if isinstance(transport, ast.Name):
            transport = self.file.evaluator.binding_value(transport.id, call)
        return isinstance(transport, ast.Call) and self.file.resolve(transport.func) in IN_PROCESS_TRANSPORTS

    def _client_of_annotation(self, annotation: Optional[ast.AST]):
        if annotation is None:
            return None
        if isinstance(annotation, ast.Subscript):  # Optional[httpx.AsyncClient], Annotated[...]
            inner = annotation.slice
            candidates = inner.elts if isinstance(inner, ast.Tuple) else [inner]
            for candidate in candidates:
                kind = self._client_of_annotation(candidate)
                if kind:
                    return kind
            return None
        if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
            try:
                annotation = ast.parse(annotation.value, mode="eval").body
            except SyntaxError:
                return None
            return client_kind(self.file.names.qualify(annotation))
        return client_kind(self.file.resolve(annotation))

    def _client_of_self_attribute(self, attr: str, at: ast.AST, depth: int):
        cls = next((n for n in self.file.enclosing_functions(at) if isinstance(n, ast.ClassDef)), None)
        if cls is None:
            return None
        found = None
        for node in walk(cls):
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if (isinstance(target, ast.Attribute) and target.attr == attr and isinstance(target.value, ast.Name)
                            and target.value.id == "self" and node.value is not None):
                        kind = self._client_of_expr(node.value, node, depth + 1)
                        if kind is None and isinstance(node, ast.AnnAssign):
                            kind = self._client_of_annotation(node.annotation)
                        if kind is None or (found is not None and found != kind):
                            return None
                        found = kind
        return found

    # -- the question ------------------------------------------------------------------------
    def describe(self, call: ast.Call) -> Optional[str]:
        """A description of the external call (`httpx.AsyncClient.post`, or a chain through
        project functions), or None."""
        file = self.file
        qualified = file.resolve(call.func)
        if qualified:
            if qualified in EXTERNAL_FUNCTIONS or qualified in self.extra:
                return qualified
            if qualified.startswith(EXTERNAL_PREFIXES) and not qualified.startswith(NOT_EXTERNAL_IN_PREFIX):
                return qualified
            if client_kind(qualified):
                return None  # constructing a client is not a request
        if isinstance(call.func, ast.Attribute):
            kind = self._client_of_expr(call.func.value, call)
            if kind is not None:
                name, methods = kind
                method = call.func.attr
                if (methods is None and method not in LOCAL_METHODS) or (methods is not None and method in methods):
                    return f"{name}.{method}"
        # Resolved from the name as written here: a canonical name is relative to its
        # module's own import root, which need not be one this file searches.
        chain = self._project_function_chain(file.qualify(call.func) if qualified else None)
        if chain:
            return chain
        return None

    def _project_function_chain(self, qualified: Optional[str]) -> Optional[str]:
        if not qualified:
            return None
        _, module, node = self.file.project.resolve(qualified, self.file.path, want=FunctionNode)
        if module is None or not isinstance(node, FunctionNode):
            return None
        inner = function_external_chain(self.file.project, module, node)
        return f"{node.name}() -> {inner}" if inner else None


def function_external_chain(project, module, func, depth: int = 0) -> Optional[str]:
    """The first external call a project function makes (transitively), memoised."""
    key = ("external", str(module.path), func.lineno, func.name)
    if key in project.facts:
        return project.facts[key]
    project.facts[key] = None  # recursion guard
    if depth > 6:
        return None
    file = FileView.for_module(module, project)
    checker = ExternalCalls(file)
    result = None
    for node in _calls_in_body(func):
        described = checker.describe(node)
        if described:
            result = described
            break
    project.facts[key] = result
    return result


def _calls_in_body(func):
    """Calls in a function body in source order, not entering nested functions."""
    out = []
    stack = list(func.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        if isinstance(node, ast.Call):
            out.append(node)
        stack.extend(children(node))
    out.sort(key=lambda n: (n.lineno, n.col_offset))
    return out
