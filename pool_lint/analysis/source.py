"""Reading and parsing one file, and turning `ast` positions into report positions.

pool-lint parses with CPython's own parser (`ast`): it is the parser that decides what a
syntax error is, and it is fast enough to meet the speed budget (see README, Design).
Positions in `ast` are UTF-8 byte offsets within a line; reports use 1-based character
columns, as ruff and flake8 do.
"""
from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple
from .downgrade import parse, reparse, version_text
from .statements import skeleton
from .text import SourceError, decode, split_lines  # noqa: F401 - SourceError, decode: part of this API
from .tree import fields_of

AST = ast.AST
# Node classes the index records, by exact class (the parser makes no subclasses).
_CALL, _FUNCTION, _IMPORT, _NAME, _ARG, _HANDLER, _CLASS = range(1, 8)
_KINDS = {ast.Call: _CALL, ast.FunctionDef: _FUNCTION, ast.AsyncFunctionDef: _FUNCTION, ast.Import: _IMPORT,
          ast.ImportFrom: _IMPORT, ast.Name: _NAME, ast.arg: _ARG, ast.ExceptHandler: _HANDLER, ast.ClassDef: _CLASS}
_STUB_CLASSES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_SCOPES = frozenset([ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef])
_INFO: Dict[type, tuple] = {}  # node class -> (kind, opens a scope, child fields)
# True: `parse_lazily` parses whole (the oracle the screen is tested against: pool_lint.oracle).
WHOLE = False


def _info_of(cls: type) -> tuple:
    info = _INFO[cls] = (_KINDS.get(cls, 0), cls in _SCOPES, fields_of(cls))
    return info


def _import_locals(node: ast.AST):
    """The names an import statement binds (as `names.bound_names` reads them)."""
    for alias in node.names:
        if alias.name != "*":
            yield alias.asname or (alias.name.split(".")[0] if isinstance(node, ast.Import) else alias.name)


@dataclass
class Source:
    """One parsed file: its text, lines, tree and parent links."""

    text: str
    tree: ast.Module
    filename: str = "<stdin>"
    lines: List[str] = field(default_factory=list)
    _parents: Optional[Dict[ast.AST, ast.AST]] = None
    # A module parsed lazily (parse_lazily): stub -> (first line, text of its statement),
    # and stub -> its parsed statement (None if it does not parse) once expanded.
    _lazy: Optional[Dict[ast.AST, tuple]] = None
    _expanded: Optional[Dict[ast.AST, Optional[ast.AST]]] = None

    @classmethod
    def parse(cls, text: str, filename: str = "<stdin>") -> "Source":
        try:
            try:
                tree = ast.parse(text, filename=filename, type_comments=False)
            except SyntaxError as exc:  # newer syntax, read through LibCST (downgrade), or an error
                tree = reparse(text, filename, exc)
        except SyntaxError as exc:
            raise _syntax_error(exc) from None
        except (ValueError, RecursionError, MemoryError) as exc:  # e.g. NUL bytes
            raise SourceError(f"cannot parse: {exc}") from None
        return cls(text=text, tree=tree, filename=filename, lines=split_lines(text))

    @classmethod
    def parse_lazily(cls, text: str, filename: str = "<stdin>", keep: Sequence[Tuple[int, int]] = (),
                     heads=None) -> "Source":
        """A module parsed as a skeleton (statements.skeleton): each module-level function
        and class a stub that `expand` parses on demand, when a question reaches its name
        (names.ModuleNames does). For a module the analysis only consults, and for the
        file being checked when the screen says where in it a rule can look (`keep`:
        those line ranges stay whole). The skeleton is cut along the statements the
        tokenizer finds (statements.layout), so it binds what the whole parse binds;
        where no C tokenizer is at hand the module is parsed whole. A stub whose statement then fails to parse binds
        nothing: its name cannot be resolved, and what cannot be resolved reports nothing;
        an error in a stub no question reaches is not seen (POL001 is for what pool-lint
        must read). `heads`: the text's statements.heads, where the scan laid it out
        already (the text is then not tokenized again)."""
        cut = None if WHOLE else skeleton(text, keep, heads)
        if cut is None:
            return cls.parse(text, filename)
        shape, stubs = cut
        try:
            tree = ast.parse(shape, filename=filename, type_comments=False)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return cls.parse(text, filename)  # the parser of the whole text says what is wrong
        source = cls(text=text, tree=tree, filename=filename, lines=split_lines(text))
        lazy = source._lazy = {}
        for node in tree.body:
            if node.__class__ in _STUB_CLASSES and node.lineno in stubs:
                lazy[node] = stubs[node.lineno]
        source._expanded = {}
        return source

    # -- lazily parsed modules -------------------------------------------------------------
    def expand(self, node: ast.AST) -> Optional[ast.AST]:
        """The parsed statement of a stub (the node itself if it is none), put in the
        tree in the stub's place; None when the statement does not parse."""
        lazy = self._lazy
        if not lazy or node not in lazy:
            return self._expanded.get(node, node) if lazy is not None else node
        first, text = lazy.pop(node)
        try:
            body = parse("\n" * (first - 1) + text, filename=self.filename).body
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            body = []
        found = body[0] if len(body) == 1 and body[0].__class__ is node.__class__ \
            and body[0].name == node.name else None
        self._expanded[node] = found
        if found is not None:
            statements = self.tree.body
            statements[next(i for i, n in enumerate(statements) if n is node)] = found
            if self._parents is not None:
                self._index(found)
        return found

    def expand_where(self, wanted) -> None:
        """Parse in place every stub whose text `wanted` accepts (an analysis that must
        see every call of a kind in a module it only consults, not just the names it asks)."""
        for stub, (_, text) in list((self._lazy or {}).items()):
            if wanted(text):
                self.expand(stub)

    # -- positions ---------------------------------------------------------------------
    def column(self, row: int, byte_offset: int) -> int:
        """0-based character column for an `ast` UTF-8 byte offset on 1-based `row`."""
        if row < 1 or row > len(self.lines):
            return byte_offset
        line = self.lines[row - 1]
        if line.isascii():
            return byte_offset
        return len(line.encode("utf-8")[:byte_offset].decode("utf-8", errors="replace"))

    def start(self, node: ast.AST):
        """(row, 0-based column) of the node's start."""
        return node.lineno, self.column(node.lineno, node.col_offset)

    def end(self, node: ast.AST):
        return node.end_lineno, self.column(node.end_lineno, node.end_col_offset)

    def offset(self, row: int, column: int) -> int:
        """Offset into `text` of a (1-based row, 0-based character column)."""
        return self._line_starts[row - 1] + column

    @property
    def _line_starts(self) -> List[int]:
        starts = self.__dict__.get("_starts")
        if starts is None:
            starts, total = [], 0
            for line in self.lines:
                starts.append(total)
                total += len(line)
            starts.append(total)
            self.__dict__["_starts"] = starts
        return starts

    def segment(self, node: ast.AST) -> str:
        (r1, c1), (r2, c2) = self.start(node), self.end(node)
        return self.text[self.offset(r1, c1) : self.offset(r2, c2)]

    # -- tree navigation -----------------------------------------------------------------
    def _index(self, statement: Optional[ast.AST] = None) -> None:
        """One walk of the tree: parent links, enclosing scopes, calls and functions in
        source order. Everything the analysis asks of the tree's shape comes from here.
        With `statement` (a module-level statement just expanded), the walk of that
        statement is added to the maps made already."""
        if statement is None:
            parents: Dict[ast.AST, ast.AST] = {}
            scopes: Dict[ast.AST, tuple] = {self.tree: ()}
            calls: List[ast.Call] = []
            functions: List[ast.AST] = []
            imports: List[ast.AST] = []
            local_names = set()
            binders: Dict[str, set] = {}
            stack = [self.tree]
        else:  # new lists (a rule may be walking the old ones), the same maps
            parents, found = self._parents, self.__dict__
            scopes, local_names, binders = found["_scopes"], found["_local_names"], found["_binders"]
            calls, functions, imports = [], [], []
            parents[statement] = self.tree
            scopes[statement] = ()
            stack = [statement]
        infos, load = _INFO, ast.Load
        pop, push = stack.pop, stack.append
        while stack:
            node = pop()
            cls = node.__class__
            info = infos.get(cls)
            if info is None:
                info = _info_of(cls)
            kind, is_scope, fields = info
            chain = scopes[node]
            if kind:
                if kind == _CALL:
                    calls.append(node)
                elif kind == _FUNCTION:
                    functions.append(node)
                elif kind == _IMPORT:
                    imports.append(node)
                if chain:
                    bound = None
                    if kind == _NAME:
                        if not isinstance(node.ctx, load):
                            bound = node.id
                            local_names.add(bound)
                    elif kind == _ARG:
                        bound = node.arg
                        local_names.add(bound)
                    elif kind == _IMPORT:
                        for local in _import_locals(node):
                            scoped = binders.get(local)
                            if scoped is None:
                                binders[local] = {chain[0]}
                            else:
                                scoped.add(chain[0])
                    elif kind == _HANDLER or kind == _FUNCTION or kind == _CLASS:
                        bound = node.name
                    if bound is not None:
                        scoped = binders.get(bound)
                        if scoped is None:
                            binders[bound] = {chain[0]}
                        else:
                            scoped.add(chain[0])
            inner = (node,) + chain if is_scope else chain
            for name in fields:
                value = getattr(node, name, None)
                if value is None:
                    continue
                if value.__class__ is list:
                    for item in value:
                        if isinstance(item, AST):
                            parents[item] = node
                            scopes[item] = inner
                            push(item)
                elif isinstance(value, AST):
                    parents[value] = node
                    scopes[value] = inner
                    push(value)
        order = lambda n: (n.lineno, n.col_offset)  # noqa: E731
        if statement is not None:
            calls, functions = found["_calls"] + calls, found["_functions"] + functions
            imports = found["_imports"] + imports
        calls.sort(key=order)
        functions.sort(key=order)
        self._parents = parents
        self.__dict__.update(_scopes=scopes, _calls=calls, _functions=functions, _imports=imports,
                             _local_names=local_names, _binders=binders)

    def _indexed(self, key: str):
        """One of the maps `_index` builds, building them all on first use."""
        if key not in self.__dict__:
            self._index()
        return self.__dict__[key]

    @property
    def parents(self) -> Dict[ast.AST, ast.AST]:
        """Node -> its parent (nodes hash by identity)."""
        if self._parents is None:
            self._index()
        return self._parents

    @property
    def calls(self) -> List[ast.Call]:
        """Every call in the file, in source order."""
        return self._indexed("_calls")

    @property
    def functions(self) -> List[ast.AST]:
        """Every function and method definition, in source order."""
        return self._indexed("_functions")

    @property
    def local_names(self) -> set:
        """Every name bound inside some function or lambda (a quick "surely not local")."""
        return self._indexed("_local_names")

    @property
    def binders(self) -> Dict[str, set]:
        """Name -> the functions, lambdas and classes whose own scope may bind it (by a
        parameter, an assignment target, an import, a nested definition or an `except ...
        as`): a scope not listed for a name certainly does not bind it."""
        return self._indexed("_binders")

    @property
    def imports(self) -> List[ast.AST]:
        """Every import statement, at module level or inside functions."""
        return self._indexed("_imports")

    def enclosing(self, node: ast.AST) -> tuple:
        """The functions, lambdas and classes around `node`, innermost first."""
        found = self._indexed("_scopes").get(node)
        if found is None:  # a node made after parsing: walk up by parents
            found, parent = [], self.parent(node)
            while parent is not None:
                if isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                    found.append(parent)
                parent = self.parent(parent)
            found = tuple(found)
        return found

    def parent(self, node: ast.AST) -> Optional[ast.AST]:
        return self.parents.get(node)

    def ancestors(self, node: ast.AST):
        node = self.parent(node)
        while node is not None:
            yield node
            node = self.parent(node)


def _syntax_error(exc: SyntaxError) -> SourceError:
    """POL001 for a text no parser reads: the running parser's error, or the Python a
    construct needs when that is why (downgrade.reparse)."""
    running = version_text(sys.version_info[:2])
    needs = getattr(exc, "needs", None)
    if needs is not None:
        version, what, row, column = needs
        return SourceError(f"syntax error: needs Python {version_text(version)} or newer ({what}); "
                           f"pool-lint runs on Python {running}", row, column)
    return SourceError(f"syntax error: {exc.msg} (parsed as Python {running})", exc.lineno or 1, max(exc.offset or 1, 1))


def read_source(data: bytes, filename: str, lazily: bool = False, heads=None) -> Source:
    """Decode and parse (`lazily`: Source.parse_lazily, with the text's heads where they
    are known); raises SourceError for POL001."""
    if lazily:
        return Source.parse_lazily(decode(data), filename, heads=heads)
    return Source.parse(decode(data), filename)

