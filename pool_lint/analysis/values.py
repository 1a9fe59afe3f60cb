"""Static values of expressions (SPEC 3): literals, arithmetic on literals, names assigned
once, URL heads of f-strings and concatenations, and `**mapping` dicts.

Anything that cannot be known is `UNKNOWN` ("present, unknown"): it satisfies "is it set?"
and no value check fires on it.
"""
from __future__ import annotations

import ast
import operator
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from .names import FunctionNode, ModuleNames
from .tree import walk


class _Unknown:
    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __reduce__(self):
        return (_Unknown, ())


UNKNOWN: Any = _Unknown()


@dataclass(frozen=True)
class Partial:
    """A string whose beginning is known (`f"postgresql+asyncpg://{user}@..."`)."""

    head: str


_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_MAX_DEPTH = 12


_TRIES = tuple(t for t in (getattr(ast, "Try", None), getattr(ast, "TryStar", None)) if t is not None)


def _position(node: ast.AST) -> tuple:
    return (getattr(node, "lineno", 0), getattr(node, "col_offset", 0))


def _end(node: ast.AST) -> tuple:
    return (getattr(node, "end_lineno", None) or getattr(node, "lineno", 0),
            getattr(node, "end_col_offset", None) or getattr(node, "col_offset", 0))


def _arm(node: ast.AST, child: ast.AST) -> Optional[str]:
    """The field of the compound `node` that holds `child` ("body", "orelse", "test", ...)."""
    for field, value in ast.iter_fields(node):
        if value is child or (isinstance(value, list) and any(v is child for v in value)):
            return field
    return None


def _is_match(node: ast.AST) -> bool:
    return type(node).__name__ == "Match"


def _is_case(node: ast.AST) -> bool:
    return type(node).__name__ == "match_case"


_EXITS = (ast.Return, ast.Raise, ast.Continue, ast.Break)


def _leaves(block: List[ast.stmt]) -> bool:
    """Does a block always leave (its last statement returns, raises, continues or breaks,
    or is an `if` both of whose branches do)?"""
    if not block:
        return False
    last = block[-1]
    if isinstance(last, _EXITS):
        return True
    if isinstance(last, ast.If):
        return _leaves(last.body) and _leaves(last.orelse)
    return False


def same_shape(expr: ast.AST) -> str:
    """A key equal for two expressions that read the same (dotted) name, whatever their
    positions and context (`settings.URL` loaded or stored)."""
    parts = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if isinstance(expr, ast.Name):
        parts.append(expr.id)
        return ".".join(reversed(parts))
    return ast.dump(expr)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class Evaluator:
    """Resolves expressions of one module, as seen from a given point (`at`)."""

    def __init__(self, names: ModuleNames, parents, importer=None, enclosing=None):
        self.names = names
        self.parents = parents  # callable node -> parent
        self._enclosing = enclosing  # callable node -> enclosing scopes (Source.enclosing)
        # importer(local name) -> (Evaluator of the defining module, value expression) or
        # None: follows `from app.settings import RECYCLE` to its assignment there.
        self.importer = importer

    # -- helpers -------------------------------------------------------------------------
    def enclosing_functions(self, node: ast.AST) -> List[ast.AST]:
        if self._enclosing is not None:
            return list(self._enclosing(node))
        out = []
        parent = self.parents(node)
        while parent is not None:
            if isinstance(parent, (*FunctionNode, ast.Lambda, ast.ClassDef)):
                out.append(parent)
            parent = self.parents(parent)
        return out

    def statement_of(self, node: ast.AST) -> Optional[ast.stmt]:
        while node is not None and not isinstance(node, ast.stmt):
            node = self.parents(node)
        return node

    def runs_before(self, stmt: ast.stmt, at: ast.AST) -> bool:
        """True when `stmt` certainly runs before `at`: it stands earlier in a block that
        encloses `at` (the same branch, not inside an `if` that `at` is outside of)."""
        parent = self.parents(stmt)
        block = None
        for field in ("body", "orelse", "finalbody"):
            candidate = getattr(parent, field, None)
            if isinstance(candidate, list) and any(s is stmt for s in candidate):
                block = candidate
                break
        if block is None:
            return False
        index = next(i for i, s in enumerate(block) if s is stmt)
        # A `try` body has run to its end when its `else` clause runs.
        after = parent.orelse if isinstance(parent, _TRIES) and block is parent.body else ()
        node = at
        while node is not None:
            for i, s in enumerate(block):
                if s is node:
                    return i > index
            if any(s is node for s in after):
                return True
            node = self.parents(node)
        return False

    def scope_of_name(self, name: str, at: ast.AST):
        """(scope node, bindings) where `name` is bound as seen from `at`: the innermost
        enclosing function binding it, else the module. Bindings are Name/arg/def nodes."""
        for func in self.enclosing_functions(at):
            if isinstance(func, ast.ClassDef):
                continue
            if self.names.binds(func, name):
                return func, self.names.function_bindings(func)[name]
        return self.names.tree, self.names.bound(name)  # a Name node, or one that is none

    def imported(self, name: str, at: ast.AST):
        """(defining module's Evaluator, value) for a name imported from a project module."""
        if self.importer is None or name not in self.names.imports:
            return None
        scope, nodes = self.scope_of_name(name, at)
        if scope is not self.names.tree or len(nodes) != 1:
            return None
        return self.importer(name)

    def binding_value(self, name: str, at: ast.AST) -> Optional[ast.AST]:
        """The value expression `name` certainly holds at `at`, or None."""
        scope, nodes = self.scope_of_name(name, at)
        if len(nodes) != 1 or not isinstance(nodes[0], ast.Name):
            return None
        stmt = self.names.assignment(scope, nodes[0])
        if stmt is None:
            return None
        value = stmt.value
        if scope is self.names.tree and not self.enclosing_functions(at):
            return value if self.runs_before(stmt, at) else None
        if scope is self.names.tree:
            return value  # module level, read from inside a function: already run
        return value if self.runs_before(stmt, at) else None

    def reaching_value(self, name: str, at: ast.AST) -> Optional[ast.AST]:
        """SPEC 3b (URL knowledge): the value expression of the assignment of the local
        `name` that reaches `at` in its function's own flow (`reaching`: the one in the
        same branch, or the only one on every path), or None."""
        scope, nodes = self.scope_of_name(name, at)
        if not nodes or scope is self.names.tree:
            return None
        node = self.reaching(scope, nodes, at)
        stmt = self.names.assignment(scope, node) if isinstance(node, ast.Name) else None
        return stmt.value if stmt is not None else None

    # -- flow within one scope: reaching assignments, guards -------------------------------
    def _own_scope(self, scope: ast.AST, at: ast.AST) -> bool:
        """Is `at` read in `scope`'s own flow (not from a function nested in it, which may
        run at any time)? Class bodies run in their module's flow."""
        for func in self.enclosing_functions(at):
            if func is scope:
                return True
            if not isinstance(func, ast.ClassDef):
                return False
        return scope is self.names.tree

    def _path(self, node: ast.AST) -> List[ast.AST]:
        """`node` and its ancestors, innermost first."""
        out = []
        while node is not None:
            out.append(node)
            node = self.parents(node)
        return out

    def reaching(self, scope: ast.AST, nodes: List[ast.AST], at: ast.AST) -> Optional[ast.AST]:
        """Of the nodes binding one name in `scope`, the one whose value the name holds at
        `at`: a binding that certainly runs before `at` (it stands earlier in a block that
        encloses `at`), the latest of them, with no other binding that may run between it
        and `at` (in a branch, or later in a loop around `at`). None when that is not
        certain. Bindings in a branch that excludes `at` (the other arm of an `if`, another
        `case`, another `except`) never reach it."""
        if not self._own_scope(scope, at):
            return None
        path = self._path(at)
        candidates = [node for node in nodes if self._may_reach(node, at, path)]
        certain = [node for node in candidates if isinstance(node, ast.Name)
                   and (stmt := self.statement_of(node)) is not None and self.runs_before(stmt, at)]
        if not certain:
            # In a function, a path on which no binding ran raises UnboundLocalError: the
            # only binding that may reach `at` is the value whenever `at` runs. (A module
            # name may come from elsewhere: a star import, a builtin.)
            if len(candidates) == 1 and scope is not self.names.tree:
                return candidates[0]
            return None
        latest = max(certain, key=_position)
        for node in candidates:
            if node is not latest and node not in certain and _position(node) > _position(latest):
                return None  # may run after the latest certain one, before `at`
        return latest

    def _may_reach(self, node: ast.AST, at: ast.AST, at_path: List[ast.AST]) -> bool:
        """May the binding `node` run before `at` in one run of their scope?"""
        node_path = self._path(node)
        depth = {id(n): i for i, n in enumerate(node_path)}
        for i, common in enumerate(at_path):
            j = depth.get(id(common))
            if j is not None:
                break
        else:
            return True
        from_at = at_path[i - 1] if i else None
        from_node = node_path[j - 1] if j else None
        for ancestor in at_path[i:]:
            if isinstance(ancestor, (ast.For, ast.AsyncFor, ast.While)):
                return True  # a later iteration may run it before `at`
            if isinstance(ancestor, (*FunctionNode, ast.Lambda, ast.ClassDef, ast.Module)):
                break
        if from_node is not None and from_at is not None:
            arm_node, arm_at = _arm(common, from_node), _arm(common, from_at)
            if isinstance(common, (ast.If, ast.IfExp)) and {arm_node, arm_at} == {"body", "orelse"}:
                return False  # the other arm
            if _is_match(common) and from_node is not from_at and _is_case(from_node) and _is_case(from_at):
                return False  # another case
            if isinstance(common, _TRIES) and arm_node in ("handlers", "orelse") and arm_at in ("handlers", "orelse") \
                    and from_node is not from_at:
                return False  # another handler, or a handler and the else clause
            if isinstance(common, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.NamedExpr)) and arm_at == "value":
                return False  # `url = f(url)`: the value is read before the name is bound
        return _position(node) < _position(at)

    def guards(self, subject: ast.AST, at: ast.AST) -> List[tuple]:
        """(test, holds) for every test that is known to have evaluated to `holds` when
        `at` runs, about the value `subject` (a name, or a dotted name such as
        `settings.DATABASE_URL`) holds at `at`, innermost first: the test of an `if` /
        `elif` (or conditional expression) whose branch encloses `at`, and of an earlier
        `if` in an enclosing block one of whose branches always leaves (return, raise,
        continue, break) while the other falls through. A test is left out when the name,
        or the dotted name itself, may be bound between it and `at`. Only within `at`'s
        own function (or the module)."""
        root = subject
        while isinstance(root, ast.Attribute):
            root = root.value
        if not isinstance(root, ast.Name):
            return []
        # The tests are read in `at`'s own function only, so the name is the same one at
        # the test and at the call (a local, a parameter, or a global or closure name the
        # function does not bind), and a binding between them stands between them.
        scope, nodes = self.scope_of_name(root.id, at)
        bindings = [node for node in nodes if isinstance(node, ast.AST) and hasattr(node, "lineno")]
        if subject is not root:  # `settings.URL = ...`, `settings.URL += ...` in the scope
            shape = same_shape(subject)
            bindings += [node for node in walk(scope) if isinstance(node, ast.Attribute)
                         and isinstance(node.ctx, (ast.Store, ast.Del)) and same_shape(node) == shape]
        out = []
        child, parent = at, self.parents(at)
        while parent is not None:
            if isinstance(parent, (ast.If, ast.IfExp)) and child is not parent.test:
                holds = child in parent.body if isinstance(parent.body, list) else child is parent.body
                if self._unbound_between(parent.test, at, bindings):
                    out.append((parent.test, holds))
            for field in ("body", "orelse", "finalbody"):
                block = getattr(parent, field, None)
                if isinstance(block, list) and any(s is child for s in block):
                    index = next(i for i, s in enumerate(block) if s is child)
                    for earlier in reversed(block[:index]):
                        if not isinstance(earlier, ast.If):
                            continue
                        body_leaves, else_leaves = _leaves(earlier.body), _leaves(earlier.orelse)
                        if body_leaves != else_leaves and self._unbound_between(earlier.test, at, bindings):
                            out.append((earlier.test, else_leaves))
            if isinstance(parent, (*FunctionNode, ast.Lambda, ast.ClassDef)):
                break  # its own function's flow only
            child, parent = parent, self.parents(parent)
        return out

    def _unbound_between(self, test: ast.AST, at: ast.AST, bindings: List[ast.AST]) -> bool:
        """No binding may run after `test` is evaluated and before `at`: none stands
        between them, and none is in a loop around `at` that starts after `test`."""
        start, end = _end(test), _position(at)
        loops = [a for a in self._path(at) if isinstance(a, (ast.For, ast.AsyncFor, ast.While))
                 and _position(a) > _position(test)]
        for node in bindings:
            where = _position(node)
            if start <= where < end:
                return False
            if any(self._inside(node, loop) for loop in loops):
                return False
        return True

    def _inside(self, node: ast.AST, outer: ast.AST) -> bool:
        return any(a is outer for a in self._path(node))

    # -- values --------------------------------------------------------------------------
    def value(self, expr: Optional[ast.AST], at: Optional[ast.AST] = None, depth: int = 0) -> Any:
        if expr is None or depth > _MAX_DEPTH:
            return UNKNOWN
        at = at if at is not None else expr
        if isinstance(expr, ast.Constant):
            return expr.value
        if isinstance(expr, ast.UnaryOp):
            operand = self.value(expr.operand, at, depth + 1)
            if isinstance(expr.op, ast.USub) and _number(operand):
                return -operand
            if isinstance(expr.op, ast.UAdd) and _number(operand):
                return operand
            if isinstance(expr.op, ast.Not) and operand is not UNKNOWN and not isinstance(operand, Partial):
                return not operand
            return UNKNOWN
        if isinstance(expr, ast.BinOp):
            left = self.value(expr.left, at, depth + 1)
            right = self.value(expr.right, at, depth + 1)
            if isinstance(expr.op, ast.Add) and isinstance(left, str):
                return left + right if isinstance(right, str) else Partial(left)
            if isinstance(expr.op, ast.Add) and isinstance(left, Partial):
                return left
            op = _BINOPS.get(type(expr.op))
            if op and _number(left) and _number(right):
                if isinstance(expr.op, ast.Pow) and (abs(right) > 64 or abs(left) > 10**6):
                    return UNKNOWN
                try:
                    return op(left, right)
                except (ArithmeticError, ValueError):
                    return UNKNOWN
            return UNKNOWN
        if isinstance(expr, ast.JoinedStr):
            head = ""
            for part in expr.values:
                if isinstance(part, ast.Constant) and isinstance(part.value, str):
                    head += part.value
                else:
                    return Partial(head)
            return head
        if isinstance(expr, ast.Name):
            bound = self.binding_value(expr.id, at)
            if bound is None:
                imported = self.imported(expr.id, at)
                if imported is None:
                    return UNKNOWN
                other, value = imported
                return other.value(value, value, depth + 1)
            return self.value(bound, self.statement_of(bound) or at, depth + 1)
        return UNKNOWN

    # -- mappings (`**options`, engine_from_config's dict) ----------------------------------
    def mapping(self, expr: ast.AST, at: ast.AST) -> Optional[Dict[str, Optional[ast.AST]]]:
        """Keys of a statically known dict -> value expression (None: present, unknown).
        None when the mapping cannot be resolved."""
        if isinstance(expr, ast.Dict):
            return self._dict_literal(expr)
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == "dict":
            if self.names.qualify_name("dict", self.enclosing_functions(expr)) is not None or expr.args:
                return None
            if any(k.arg is None for k in expr.keywords):
                return None
            return {k.arg: k.value for k in expr.keywords}
        if not isinstance(expr, ast.Name):
            return None
        scope, nodes = self.scope_of_name(expr.id, at)
        if len(nodes) != 1 or not isinstance(nodes[0], ast.Name):
            return None
        value = self.binding_value(expr.id, at)
        if value is None or not isinstance(value, (ast.Dict, ast.Call)):
            return None
        base = self.mapping(value, at)
        if base is None:
            return None
        keys = dict(base)
        return self._apply_uses(expr.id, scope, nodes[0], keys, at)

    def _dict_literal(self, node: ast.Dict) -> Optional[Dict[str, Optional[ast.AST]]]:
        out: Dict[str, Optional[ast.AST]] = {}
        for key, value in zip(node.keys, node.values):
            if key is None:  # {**other}
                return None
            if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                return None
            out[key.value] = value
        return out

    def _apply_uses(self, name: str, scope: ast.AST, binding: ast.Name, keys, at: ast.AST):
        """Follow `name["key"] = value` before `at`; any other use makes it unresolvable."""
        at_pos = (at.lineno, at.col_offset)
        for node in walk(scope):
            if not isinstance(node, ast.Name) or node.id != name or node is binding:
                continue
            parent = self.parents(node)
            inside_function = scope is self.names.tree and bool(self.enclosing_functions(node))
            if inside_function and self.scope_of_name(name, node)[0] is not scope:
                continue  # a different (local) name in a function
            if isinstance(parent, ast.keyword) and parent.arg is None:
                continue  # another `**name`: a read that changes nothing
            if isinstance(parent, ast.Subscript) and parent.value is node:
                if isinstance(parent.ctx, ast.Load):
                    continue  # reading a key
                if isinstance(parent.ctx, ast.Store) and (node.lineno, node.col_offset) < at_pos and not inside_function:
                    key = parent.slice
                    if isinstance(key, ast.Constant) and isinstance(key.value, str):
                        stmt = self.statement_of(parent)
                        if isinstance(stmt, ast.Assign) and self.runs_before(stmt, at):
                            keys[key.value] = stmt.value
                        else:
                            keys[key.value] = None  # set under a condition: present, unknown
                        continue
                    return None
                if (node.lineno, node.col_offset) > at_pos and not inside_function:
                    continue
                return None
            if (node.lineno, node.col_offset) > at_pos and not inside_function:
                continue
            return None
        return keys
