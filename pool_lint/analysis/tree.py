"""Fast tree traversal: `ast.iter_child_nodes` and `ast.walk` without the generic
field iteration (a third of the analysis time went there).

The child list of each node class is computed once; fields that never hold a node the
analysis looks at (identifiers, `ctx`, operators, flags) are skipped. The order is the
order of `ast.iter_child_nodes`, which the flow analysis relies on (evaluation order).
"""
from __future__ import annotations

import ast
from collections import deque
from typing import Dict, Iterator, List, Tuple

AST = ast.AST
_SKIP = frozenset(["ctx", "op", "id", "attr", "name", "arg", "asname", "module", "level", "kind", "type_comment",
                   "conversion", "is_async", "simple"])
_FIELDS: Dict[type, Tuple[str, ...]] = {}


def _fields_of(cls: type) -> Tuple[str, ...]:
    fields = _FIELDS[cls] = tuple(name for name in cls._fields if name not in _SKIP)
    return fields


def children(node: ast.AST) -> List[ast.AST]:
    """The child nodes of `node`, as `ast.iter_child_nodes` gives them (less `ctx` and
    operator nodes)."""
    cls = node.__class__
    fields = _FIELDS.get(cls)
    if fields is None:
        fields = _fields_of(cls)
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
