"""Fast tree traversal: `ast.iter_child_nodes` and `ast.walk` without the generic
field iteration (a third of the analysis time went there).

The child list of each node class is computed once; fields that never hold a node the
analysis looks at (identifiers, `ctx`, operators, flags) are skipped. The order is the
order of `ast.iter_child_nodes`, which the flow analysis relies on (evaluation order).
"""
from __future__ import annotations

import ast
from collections import deque
from typing import Dict, Iterator, List, Optional, Tuple

AST = ast.AST
_SKIP = frozenset(["ctx", "op", "id", "attr", "name", "arg", "asname", "module", "level", "kind", "type_comment",
                   "conversion", "is_async", "simple"])
_FIELDS: Dict[type, Tuple[str, ...]] = {}


def fields_of(cls: type) -> Tuple[str, ...]:
    """The fields of a node class that may hold child nodes, in `_fields` order (cached).
    A `Constant`'s value is a Python object, never a node."""
    fields = _FIELDS.get(cls)
    if fields is None:
        skip = _SKIP | {"value"} if cls is ast.Constant else _SKIP
        fields = _FIELDS[cls] = tuple(name for name in cls._fields if name not in skip)
    return fields


def children(node: ast.AST) -> List[ast.AST]:
    """The child nodes of `node`, as `ast.iter_child_nodes` gives them (less `ctx` and
    operator nodes)."""
    fields = _FIELDS.get(node.__class__)
    if fields is None:
        fields = fields_of(node.__class__)
    out = []
    for name in fields:
        value = getattr(node, name, None)
        if value is None:
            continue
        if value.__class__ is list:
            for item in value:
                if isinstance(item, AST):
                    out.append(item)
        elif isinstance(value, AST):
            out.append(value)
    return out


def walk(node: ast.AST) -> Iterator[ast.AST]:
    """Every node under `node` (itself included), breadth first like `ast.walk`."""
    todo = deque([node])
    while todo:
        node = todo.popleft()
        todo.extend(children(node))
        yield node


# The fields that hold statements (a block), or the clauses holding blocks (`except`,
# `case`): statements are found only there (no expression holds a statement).
_BLOCKS = ("body", "orelse", "finalbody", "handlers", "cases")
_CLAUSES = (ast.ExceptHandler, ast.match_case) if hasattr(ast, "match_case") else (ast.ExceptHandler,)


def statements(node: ast.AST) -> Iterator[ast.stmt]:
    """Every statement under `node` (itself left out), nested functions and classes
    included, in no set order: what `walk(node)` yields of the statements, without
    visiting the expressions."""
    todo = [node]
    while todo:
        node = todo.pop()
        for name in _BLOCKS:
            block = getattr(node, name, None)
            if block.__class__ is not list:
                continue  # absent, or an expression (`lambda: x`, `a if b else c`)
            for item in block:
                if isinstance(item, ast.stmt):
                    yield item
                    todo.append(item)
                elif isinstance(item, _CLAUSES):
                    todo.append(item)


def dotted(expr: ast.AST) -> Optional[Tuple[str, ...]]:
    """The names of `a.b.c` as ("a", "b", "c"); None for anything else."""
    parts = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name):
        return None
    parts.append(expr.id)
    return tuple(reversed(parts))
