"""The project index: the modules of one project root, parsed on demand and resolved
across files.

A name imported from another module of the project (`from app.db import SessionLocal`)
resolves to its definition there. Modules are found the way Python finds them: from the
file's own import root (the folder above its top-level package), the project root, or
`src/`, through namespace packages (folders without `__init__.py`, PEP 420). A module is
named from the root (`Project.module_name`), so the names an analysis hands on resolve
from any file. A module that exists but cannot be read or parsed makes its names unknown. Each module is parsed at most once per process, and only when a question needs it,
so a run over changed files only (pre-commit) sees the same project as a full run.

Lookups are memoised with plain string paths: the search folders of each importing file
are resolved once, a name is resolved once per set of search folders (the files of one
import root share it), and each candidate file is checked for existence once (one
`lstat` on POSIX; a package's chain is walked once per folder).
"""
from __future__ import annotations

import ast
import os
import stat
import threading
from functools import lru_cache
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from .names import ModuleNames
from .source import Source, SourceError, read_source
from .text import digest
from ..files import read_regular

_MAX_HOPS = 8
# posixpath.realpath resolves a path by `lstat`ing it component by component: a name that
# is no link is kept as it is. (Windows' resolve asks the system for the final path,
# which may spell a name otherwise.)
_LSTAT_RESOLVES = os.path is __import__("posixpath")

# The statements.heads of modules laid out in another process (the scan, the project
# index), by path: (the content hash of the bytes laid out, their heads). A module
# loaded here whose bytes are those is not tokenized again for its lazy parse.
_HEADS: Dict[str, Tuple[str, tuple]] = {}


def know_heads(entries) -> None:
    """Remember (path, content hash, heads) entries for the modules loaded later."""
    for path, content, heads in entries:
        _HEADS[path] = (content, heads)


@dataclass
class Module:
    name: str
    path: Optional[Path]
    source: Source
    names: ModuleNames
    project: Optional["Project"] = None
    _evaluator: object = None

    @property
    def evaluator(self):
        """Static values of this module, following imports from other project modules."""
        if self._evaluator is None:
            from .values import Evaluator

            self._evaluator = Evaluator(self.names, self.source.parent, self.import_value, self.source.enclosing)
        return self._evaluator

    def resolve(self, expr: ast.AST) -> Optional[str]:
        """The canonical qualified name of a module-level expression of this module."""
        qualified = self.names.qualify(expr)
        if qualified and self.project is not None:
            return self.project.canonical(qualified, self.path)
        return qualified

    def imported_assignment(self, local: str):
        """(module, value expression) of the module-level name imported here as `local`,
        where the project module it comes from assigns it once; else None."""
        qualified = self.names.imports.get(local)
        if qualified is None or self.project is None:
            return None
        _, module, node = self.project.resolve(qualified, self.path, want=(ast.Name,))
        if module is None or not isinstance(node, ast.Name):
            return None
        value = module.names.single_assignment(node.id)
        if value is None:
            return None
        return module, value

    def import_value(self, local: str):
        """(Evaluator, value expression) of a module-level constant imported as `local`."""
        found = self.imported_assignment(local)
        return (found[0].evaluator, found[1]) if found is not None else None


@lru_cache(maxsize=None)
def module_name(path: Path) -> Tuple[str, bool, Path]:
    """(dotted module name, is_package, import root) of a .py file."""
    path = Path(path)
    is_package = path.name == "__init__.py"
    packages, top = _package_chain(str(path.parent))
    return ".".join(packages if is_package else (*packages, path.stem)), is_package, top


@lru_cache(maxsize=None)
def _package_chain(spelled: str) -> Tuple[Tuple[str, ...], Path]:
    """(the names of the packages from the top of a folder's chain down to the folder,
    the folder above the top): the folder and each parent that holds an `__init__.py`.
    Per folder (as spelled: a Windows path compares without case), so that the files of
    one package look at the disk once."""
    folder = Path(spelled)
    if not (folder / "__init__.py").is_file():
        return (), folder
    parent = folder.parent
    if parent == folder:
        return (folder.name,), folder
    packages, top = _package_chain(str(parent))
    return (*packages, folder.name), top


class Project:
    """All modules of one project root, parsed lazily."""

    def __init__(self, root: Path):
        self.root = Path(root).resolve()
        root_text = str(self.root)
        self._root_text = root_text
        self._root_prefix = root_text if root_text.endswith(os.sep) else root_text + os.sep
        self._modules: Dict[Path, Optional[Module]] = {}
        self._lock = threading.Lock()
        self._found: Dict[tuple, Optional[Module]] = {}
        self._resolved: Dict[tuple, tuple] = {}
        self._bases: Dict[Optional[Path], tuple] = {}  # importing file -> folders searched
        self._real: Dict[str, str] = {}  # a folder -> its resolved path
        self._located: Dict[tuple, Optional[Path]] = {}  # (folder, dotted) -> resolved file, or None
        self._top_hits: Dict[str, tuple] = {}  # dotted -> ((chain top, resolved file), ...) where found
        self._folders: Dict[str, bool] = {}  # a path -> is it a folder
        self._real_paths: Dict[object, Path] = {}
        self._prefixes: Dict[tuple, str] = {}  # an import root -> its namespace-package prefix
        self._broken: set = set()  # (dotted, bases) of modules found but unreadable or unparsable
        self._chain_tops: Optional[Dict[str, tuple]] = None  # chain_tops()
        self.facts: Dict[tuple, object] = {}  # memo for analyses built on the index
        # What the analysis of the current file consulted (for the cache's dependencies).
        self.touched: set = set()
        self.runtime_seen: str = ""
        self.verdict = None  # the runtime verdict, when the runner computed it already
        self.settings = None  # the run's Settings (set by the checker)

    def real_path(self, path) -> Path:
        """`Path(path).resolve()`, memoised (a checked file's path is resolved by the
        context, the project and the checker)."""
        found = self._real_paths.get(path)
        if found is None:
            found = self._real_paths[path] = Path(path).resolve()
            if found not in self._real_paths and os.path.isfile(found):
                # A resolved path of an existing file holds no link: it resolves to
                # itself (the context resolves a checked file's path, then hands it on).
                self._real_paths[found] = found
        return found

    def begin_file(self) -> None:
        self.touched = set()
        self.runtime_seen = ""

    # -- modules -------------------------------------------------------------------------
    def module_name(self, path: Path) -> Tuple[str, bool]:
        """(dotted name, is_package) of a file of this project: its package chain, under
        the namespace packages (PEP 420: folders without `__init__.py`) between the project
        root (or its `src/`) and the top of the chain, so that a name the analysis hands
        on resolves from the root whatever folder the file's own imports start from
        (`notifiers/sms.py` is `notifiers.sms`, `backend/app/main.py` is
        `backend.app.main`). Folders whose names are no identifiers add nothing."""
        name, is_package, top = module_name(path)
        key = ("name", top)
        prefix = self._prefixes.get(key)
        if prefix is None:
            prefix = ""
            try:
                parts = Path(top).resolve().relative_to(self.root).parts
            except ValueError:
                parts = ()
            if parts[:1] == ("src",):
                parts = parts[1:]
            if parts and all(part.isidentifier() for part in parts):
                prefix = ".".join(parts)
            self._prefixes[key] = prefix
        if not prefix:
            return name, is_package
        return (f"{prefix}.{name}" if name else prefix), is_package

    def add_source(self, path: Optional[Path], source: Source) -> Module:
        """Register an already-parsed file (the one being checked)."""
        if path is not None:
            name, is_package = self.module_name(path)
        else:
            name, is_package = "", False
        module = Module(name, path, source, ModuleNames(source.tree, name, is_package, source), self)
        if path is not None:
            self._modules[self.real_path(path)] = module
        return module

    def forget(self, path: Optional[Path]) -> None:
        """Drop a module whose text changed (after a fix pass)."""
        if path is not None:
            self._modules.pop(self.real_path(path), None)
            self._found.clear()
            self._broken.clear()
            self._resolved.clear()
            self._located.clear()
            self._top_hits.clear()
            self._folders.clear()
            self.facts.clear()

    def load(self, path: Path) -> Optional[Module]:
        return self._load(Path(path).resolve())

    def _load(self, path: Path) -> Optional[Module]:
        """`load` for a path already resolved."""
        if path in self._modules:
            return self._modules[path]
        module = None
        try:
            if self.root in path.parents or path.parent == self.root:
                data = read_regular(path)
                known = _HEADS.get(str(path))
                heads = known[1] if known is not None and digest(data) == known[0] else None
                source = read_source(data, str(path), lazily=True, heads=heads)
                name, is_package = self.module_name(path)
                module = Module(name, path, source, ModuleNames(source.tree, name, is_package, source), self)
        except (OSError, SourceError):
            module = None
        self._modules[path] = module
        return module

    def find_module(self, dotted: str, near: Optional[Path] = None) -> Optional[Module]:
        """The project module named `dotted`, searched from `near`'s import root, the
        project root and `src/`, then from the top of every other package chain
        (`chain_tops`). None for anything outside the project (a library)."""
        bases = self._bases.get(near)
        if bases is None:
            bases = self._bases[near] = self._search_bases(near)
        key = (dotted, bases)
        if key in self._found:
            found = self._found[key]
        else:
            found = self._found[key] = self._find_module(dotted, bases)
        if found is not None and found.path is not None:
            self.touched.add(found.path)
        return found

    def _search_bases(self, near: Optional[Path]) -> tuple:
        """The folders a module is searched in from `near`, resolved, in order, without
        repeats, and only those inside the project root."""
        roots: List[str] = []
        if near is not None:
            roots.append(str(module_name(Path(near))[2]))
        roots += [self._root_text, os.path.join(self._root_text, "src")]
        bases: List[str] = []
        for base in roots:
            real = self._real.get(base)
            if real is None:
                real = self._real[base] = str(Path(base).resolve())
            if real in bases:
                continue
            if real != self._root_text and not real.startswith(self._root_prefix):
                continue
            bases.append(real)
        return tuple(bases)

    def _find_module(self, dotted: str, bases: tuple) -> Optional[Module]:
        parts = dotted.split(".")
        if "" in parts:  # `a..b`: join as pathlib does (empty parts dropped)
            parts = [part for part in parts if part]
            if not parts:
                return None
        for base in bases:
            found = self._locate(base, dotted, parts)
            if found is not None:
                module = self._load(found)
                if module is None:
                    self._broken.add((dotted, bases))
                return module
        # The top of every other package chain of the project (`services/api/` for
        # `services/api/app/`): one file found there is the module; several are unknown.
        hits = self._top_hits.get(dotted)
        if hits is None:
            tops = self.chain_tops().get(parts[0], ())
            hits = self._top_hits[dotted] = tuple(
                (top, found) for top, found in ((top, self._locate(top, dotted, parts)) for top in tops)
                if found is not None)
        found_in = {found for top, found in hits if top not in bases}
        if len(found_in) == 1:
            module = self._load(found_in.pop())
            if module is None:
                self._broken.add((dotted, bases))
            return module
        if found_in:
            self._broken.add((dotted, bases))  # two packages of one name: unknown
        return None

    def chain_tops(self) -> Dict[str, tuple]:
        """A top-level package's name -> the folders of the project that hold a package of
        that name at the top of its chain (its parent holds no `__init__.py`), resolved,
        sorted, the root and `src/` left out (they are searched first). From the root's
        Python files as the runtime walk lists them; computed once."""
        found = self._chain_tops
        if found is None:
            from .runtime import python_files

            inits = {path for path in python_files(self._root_text) if path.endswith(os.sep + "__init__.py")}
            folders = {os.path.dirname(path) for path in inits}
            tops: Dict[str, set] = {}
            skip = {self._root_text, os.path.join(self._root_text, "src")}
            for folder in folders:
                parent = os.path.dirname(folder)
                if parent in folders or parent in skip:
                    continue
                tops.setdefault(os.path.basename(folder), set()).add(str(Path(parent).resolve()))
            found = self._chain_tops = {name: tuple(sorted(paths)) for name, paths in tops.items()}
        return found

    def _locate(self, base: str, dotted: str, parts: List[str]) -> Optional[Path]:
        """The resolved path of `base/<parts>.py` or `base/<parts>/__init__.py`, the first
        that is a file, or None. Memoised; a first part that is no folder of `base` rules
        out every candidate below it without a look at the disk."""
        key = (base, dotted)
        if key in self._located:
            return self._located[key]
        found = None
        prefix = base if base.endswith(os.sep) else base + os.sep
        head = prefix + parts[0]
        is_folder = self._folders.get(head)
        if is_folder is None:
            is_folder = self._folders[head] = os.path.isdir(head)
        rel = prefix + os.sep.join(parts)
        if is_folder:
            candidates = (rel + ".py", rel + os.sep + "__init__.py")
        else:  # only `base/<name>.py` can exist
            candidates = (rel + ".py",) if len(parts) == 1 else ()
        for candidate in candidates:
            found = self._file(candidate)
            if found is not None:
                break
        self._located[key] = found
        return found

    def _file(self, candidate: str) -> Optional[Path]:
        """`Path(candidate).resolve()` if `candidate` is a file (`os.path.isfile`), else
        None. Where paths resolve by their links alone (POSIX), a regular file that is no
        link resolves to its folder resolved (memoised) and its own name: one `lstat`."""
        if not _LSTAT_RESOLVES:
            return Path(candidate).resolve() if os.path.isfile(candidate) else None
        try:
            mode = os.lstat(candidate).st_mode
        except (OSError, ValueError):
            return None  # `stat` (which `isfile` asks) fails alike: the same path up to the name
        if stat.S_ISLNK(mode):
            return Path(candidate).resolve() if os.path.isfile(candidate) else None
        if not stat.S_ISREG(mode):
            return None
        folder, name = os.path.split(candidate)
        real = self._real.get(folder)
        if real is None:
            real = self._real[folder] = str(Path(folder).resolve())
        return Path(os.path.join(real, name))

    def split(self, qualified: str, near: Optional[Path] = None) -> Tuple[Optional[Module], Optional[str]]:
        """Split `pkg.mod.attr` into (project module `pkg.mod`, "attr"), longest module first.
        (None, qualified) for a name of no project module; (None, None) for a name of a
        project module that cannot be read or parsed: its names are unknown, and never
        taken for a library's or for another module's."""
        parts = qualified.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            dotted = ".".join(parts[:cut])
            module = self.find_module(dotted, near)
            if module is not None:
                return module, ".".join(parts[cut:])
            if self._broken and (dotted, self._bases.get(near)) in self._broken:
                return None, None
        return None, qualified

    # -- resolution ----------------------------------------------------------------------
    def resolve(self, qualified: Optional[str], near: Optional[Path] = None, want: Optional[tuple] = None):
        """Follow re-exports through the project's modules.

        Returns (canonical qualified name, defining Module or None, defining node or None).
        For a library name (sqlalchemy, httpx) the module is None and the name is the
        library's qualified name. Memoised; the project files consulted are recorded in
        `touched` on every call (the cache's dependencies). The defining node is parsed
        in full (a function or class of a lazily parsed module may be a stub until then)
        when it is of a class in `want` (None: any); a caller that asks only for, say,
        an assignment's Name gets a function's stub as is. `canonical` is for the name
        alone.
        """
        name, module, node = self._resolved_once(qualified, near)
        if node is not None and module is not None and module.source._lazy is not None \
                and (want is None or isinstance(node, want)):
            node = module.source.expand(node)
            if node is None:  # its statement does not parse
                return None, None, None
        return name, module, node

    def canonical(self, qualified: Optional[str], near: Optional[Path] = None) -> Optional[str]:
        """The canonical qualified name alone (`resolve(...)[0]`, parsing nothing more)."""
        return self._resolved_once(qualified, near)[0]

    def _resolved_once(self, qualified: Optional[str], near: Optional[Path] = None):
        # `near` matters only by the folders searched from it (`_search_bases`): the
        # files of one import root share their answers.
        bases = self._bases.get(near)
        if bases is None:
            bases = self._bases[near] = self._search_bases(near)
        key = (qualified, bases)
        found = self._resolved.get(key)
        if found is None:
            before = self.touched
            self.touched = set()
            try:
                answer = self._resolve(qualified, near)
                found = self._resolved[key] = (answer, frozenset(self.touched))
            finally:
                self.touched = before | self.touched
        self.touched |= found[1]
        return found[0]

    def _resolve(self, qualified: Optional[str], near: Optional[Path] = None):
        hops = 0
        module: Optional[Module] = None
        while qualified and hops < _MAX_HOPS:
            hops += 1
            module, attr = self.split(qualified, near)
            if module is None:
                return (qualified, None, None) if attr is not None else (None, None, None)
            head, _, rest = attr.partition(".")
            nodes = module.names.bound(head)
            if nodes and all(isinstance(n, (ast.Import, ast.ImportFrom)) for n in nodes):
                target = module.names.imports.get(head)
                if target is None:
                    return None, None, None
                qualified = f"{target}.{rest}" if rest else target
                near = module.path
                continue
            if len(nodes) != 1:
                return (f"{module.name}.{attr}" if nodes else None), (module if nodes else None), None
            return f"{module.name}.{attr}", module, (nodes[0] if not rest else None)
        return qualified, None, None
