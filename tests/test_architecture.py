"""The shape of the package: imports go one way, rules see only what the checker shows
them, and the project index's plan is plain data.

    files -> screen (bytes) -> project index (a plan per file) -> parse -> analysis -> rules
          -> findings -> reporters / fixes
"""
from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Dict, List, Optional, Set

import pool_lint
from pool_lint.plan import EVERYTHING, FAMILIES, NOTHING, Plan

PACKAGE = Path(pool_lint.__file__).parent


def _modules() -> Dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = ("pool_lint",) + path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _is_type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def _imports(tree: ast.AST) -> List[ast.AST]:
    """Every import statement the module runs: at module level and inside functions
    alike (an import inside a function only defers the dependency: two modules that
    import each other lazily still need each other), but not under `if TYPE_CHECKING:`."""
    out, stack = [], [tree]
    while stack:
        node = stack.pop()
        if _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            out.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return out


def import_graph() -> Dict[str, Set[str]]:
    """Module -> the pool_lint modules it imports. `from a import b` counts as an import
    of `a.b` when that is a module, of `a` otherwise. The parent packages Python runs
    before a module (`pool_lint/__init__.py` before every module) are not edges: they
    are imported first whatever the module does."""
    modules = _modules()
    graph: Dict[str, Set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: Set[str] = set()
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                if node.level:
                    base = package.split(".")
                    base = base[:len(base) - node.level + 1]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                targets = [f"{module}.{alias.name}" if f"{module}.{alias.name}" in modules else module
                           for alias in node.names]
            for target in targets:
                while target and target not in modules:  # `import a.b.c` of a name inside a.b
                    target = target.rpartition(".")[0]
                if target and target != name:
                    found.add(target)
        graph[name] = found
    return graph


def find_cycle(graph: Dict[str, Set[str]]) -> Optional[List[str]]:
    """One import cycle (its modules, the first repeated at the end), or None."""
    state: Dict[str, int] = {}  # 1: on the current path, 2: done
    path: List[str] = []

    def visit(name: str) -> Optional[List[str]]:
        state[name] = 1
        path.append(name)
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        path.pop()
        state[name] = 2
        return None

    for name in sorted(graph):
        if name not in state:
            found = visit(name)
            if found:
                return found
    return None


def test_the_import_graph_is_acyclic():
    graph = import_graph()
    assert "pool_lint.rules.sessions" in graph["pool_lint.checker"] or "pool_lint.rules" in graph["pool_lint.checker"]
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_cycles_through_lazy_imports():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None
    tree = ast.parse("import os\n\ndef f():\n    from . import x\n\nif TYPE_CHECKING:\n    import y\n")
    assert sorted(node.names[0].name for node in _imports(tree)) == ["os", "x"]  # not y


def test_the_bottom_layers_import_nothing_of_pool_lint():
    """The vocabulary (findings) and the plan are what every layer shares."""
    graph = import_graph()
    assert graph["pool_lint.findings"] == set()
    assert graph["pool_lint.plan"] == set()


# Attributes through which a rule could read the index's decisions or raw source text.
_FORBIDDEN = {"hint", "hints", "plan", "may_hold", "scope", "text", "lines", "read_bytes", "read_text"}


def test_rules_read_neither_the_plan_nor_raw_text():
    """The checker applies the plan (families, lines, each rule's scope) before any rule
    runs: a rule asks the analysis, never the index or the bytes."""
    for path in sorted((PACKAGE / "rules").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        used = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)} & _FORBIDDEN
        assert not used, f"{path.name} reads {sorted(used)}"
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not any(module and ("screen" in module or "plan" in module) for module in imported), path.name


def test_libcst_is_imported_only_where_fixes_are_made_and_newer_syntax_is_read():
    """LibCST costs more to import than a run over a small tree: `cstfix` (loaded when a
    finding has a fix to offer) imports it, and `analysis.downgrade` does, inside the
    function that reads a file the running parser rejects; no other module does (that the
    analysis of an ordinary file never loads it: test_newer_syntax, test_fixes)."""
    found = {}
    for name, path in _modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        at_top = {id(n) for n in tree.body}
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            if any(n == "libcst" or n.startswith("libcst.") for n in names):
                found.setdefault(name, set()).add("module" if id(node) in at_top else "function")
    assert found == {"pool_lint.cstfix": {"module"}, "pool_lint.analysis.downgrade": {"function"}}, found


def test_each_rule_names_the_family_the_index_plans_for_it():
    from pool_lint.rules import ALL_RULES
    from pool_lint.screen import FAMILIES as SCREEN_FAMILIES, HINT_FIELDS

    assert tuple(HINT_FIELDS) == FAMILIES  # a hint (screen.Index.hint) and a plan share their order
    by_family: Dict[str, Set[str]] = {}
    for code, rule in ALL_RULES.items():
        if code != "POL001":
            assert rule.family in FAMILIES, code
            by_family.setdefault(rule.family, set()).add(code)
    assert by_family == {family: set(codes) for family, codes in SCREEN_FAMILIES.items()}


def test_a_plan_is_plain_data_and_comes_back_from_it():
    plans = [EVERYTHING, NOTHING, Plan(False, True, (), ((3, 9), (12, 20)), ((1, 1),))]
    for plan in plans:
        plain = plan.to_plain()
        assert json.loads(json.dumps(plain)) == plain
        assert Plan.from_plain(json.loads(json.dumps(plain))) == plan
        assert Plan.from_plain(tuple(plan)) == plan


def test_a_plan_says_what_runs_and_where():
    plan = Plan(False, True, ((5, 8),), (), EVERYTHING[2])
    assert [plan.runs(family) for family in FAMILIES] == [False, True, True, False, True]
    assert plan.lines("async") is None and plan.lines("external") == ((5, 8),) and plan.lines("tasks") is None
    assert plan.may_fire("external", 6) and not plan.may_fire("external", 9) and not plan.may_fire("create", 6)
    assert plan.parsed_whole() is None  # POL204 looks anywhere
    assert plan._replace(async_sessions=False).parsed_whole() == [(5, 8), EVERYTHING[2][0]]


def test_the_index_makes_the_plans_and_the_early_ones_are_never_narrower(tmp_path):
    """Index.plan for every kept file; Index.plan_before (a file its own bytes choose,
    analysed before the index is made) keeps at least what the index's plan keeps."""
    from pool_lint.screen import FAMILIES as SCREEN_FAMILIES, Index, file_facts, read_file

    files = {
        "app/__init__.py": "",
        "app/db.py": "from sqlalchemy.ext.asyncio import create_async_engine, async_sessionmaker\n"
                     "engine = create_async_engine(URL)\nSessionLocal = async_sessionmaker(engine)\n",
        "app/routes.py": "import httpx\nfrom app.db import SessionLocal\n\n\nasync def pay():\n"
                         "    async with SessionLocal() as s:\n        await s.execute('x')\n"
                         "        await httpx.post('u')\n\n\ndef idle():\n    return 1\n",
        "tests/test_db.py": "from sqlalchemy import create_engine\nengine = create_engine('sqlite://')\n",
    }
    facts = {}
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        facts[str(path)] = file_facts(text.encode())
    families = frozenset(SCREEN_FAMILIES)
    index = Index(facts, read_file, families, str(tmp_path), check_tests=False)
    chosen = index.select()
    routes, db, test = (str(tmp_path / name) for name in ("app/routes.py", "app/db.py", "tests/test_db.py"))
    assert chosen == {routes, db}
    plan = index.plan(routes)  # pay() holds a session and calls out; idle() does not
    assert plan[:2] == (False, False) and plan.external == ((5, 10),) and plan.tasks == ()
    assert plan.may_fire("external", 8) and not plan.may_fire("external", 11)
    assert index.plan(db).engine and index.plan(db).async_sessions
    assert index.may_build_engines([db]) and not index.may_build_engines([routes])
    for path, found in facts.items():
        before = Index.plan_before(path, found.bits, families, str(tmp_path), False)
        assert (before is not None) == (path == db)  # test code: no engine rule, no early plan
        if before is not None:
            plan = index.plan(path)
            assert all(before.runs(family) for family in FAMILIES if plan.runs(family))
            assert all(before.lines(family) is None for family in FAMILIES)
