"""`pool-lint pools`: the inventory of every long-lived engine (SPEC "Connection budget"),
with its pool settings, the process types that load it, their processes and replicas, the
database server it reaches and its worst case; and one total per database server.

Only files whose bytes mention an engine are parsed; the deployment files are read once per
project root (analysis.deployment), and the budget is the one POL112 judges
(analysis.budget).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from .analysis import catalog
from .files import read_regular

_FACTORY_WORDS = catalog.ENGINE_FACTORY_WORDS + (b"engine", b"SQLAlchemy")  # Flask-SQLAlchemy, advanced-alchemy (SPEC 3c)


def collect(targets, settings, listing=None) -> dict:
    """{"engines": [rows], "servers": [totals]} for the targets (files.Target)."""
    from .analysis.budget import pool_of, project_budget
    from .analysis.context import FileContext
    from .analysis.deployment import read_deployment
    from .analysis.lifetime import is_one_shot
    from .analysis.runtime import detect_runtime
    from .analysis.source import Source, SourceError, decode
    from .checker import Checker
    from .files import project_root

    checker = Checker(settings)
    by_root: Dict[Path, list] = {}
    for target in targets:
        if target.missing or target.path is None:
            continue
        by_root.setdefault(project_root(target.path), []).append(target)
    rows: List[dict] = []
    servers: List[dict] = []
    for root in sorted(by_root):
        project = checker.project(root)
        runtime = detect_runtime(root, settings.runtime)
        found = []
        for target in sorted(by_root[root], key=lambda t: t.display):
            try:
                data = read_regular(target.file)  # a regular file within the cap, never blocking
            except OSError:
                continue
            if not any(word in data for word in _FACTORY_WORDS):
                continue
            try:
                source = Source.parse(decode(data), target.display)
            except SourceError:
                continue
            file = FileContext(source, settings, project, target.path, target.display)
            if file.role != "app" and not settings.check_tests:
                continue
            for call in file.engines:
                if call.function is not None and is_one_shot(file, call):
                    continue
                found.append((target.display, file, call, pool_of(file, call)))
        if not found:
            continue
        deployment = read_deployment(root, listing)
        budget = project_budget(project, deployment, settings) if deployment.processes else None
        for display, file, call, pool in found:
            rows.append(_row(display, file, pool, runtime.kind, budget))
        if budget is not None and not budget.unknown:
            for server in budget.servers.values():
                servers.append(_total(server, root))
    return {"engines": rows, "servers": servers}


def _value(value):
    if value == "?":
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _row(display: str, file, pool, runtime: str, budget) -> dict:
    row, col = file.source.start(pool.node.node.func)
    processes = []
    servers = []
    worst: Optional[int] = 0
    if budget is not None and not budget.unknown:
        for process, server in budget.processes.get(pool.key, ()):
            processes.append({"type": process.name, "source": process.source, "server": process.server,
                              "per_replica": process.per_replica, "replicas": process.replicas})
            if server not in servers:
                servers.append(server)
        terms = [t for s in budget.servers.values() for t in s.terms if t.pool.key == pool.key]
        if not terms or any(t.total is None for t in terms) or len(terms) != len(processes):
            worst = None
        else:
            worst = sum(t.total for t in terms)
    else:
        worst = None
    server = servers[0] if len(servers) == 1 else None
    limit = budget.servers[server].limit if server is not None and server in budget.servers else None
    cap = pool.cap
    if pool.overflow == "unbounded":
        cap = "unbounded"
    return {
        "location": f"{display}:{row}:{col + 1}",
        "name": pool.name if pool.name != "?" else None,
        "url": pool.url if pool.url != "?" else None,
        "pool_class": pool.pool_class if pool.pool_class != "?" else None,
        "pre_ping": _value(pool.pre_ping),
        "recycle": _value(pool.recycle),
        "size": _value(pool.size),
        "overflow": _value(pool.overflow),
        "timeout": _value(pool.timeout),
        "cap": cap,
        "runtime": runtime,
        "processes": processes,
        "server": server,
        "limit": limit,
        "worst_case": worst if processes else None,
    }


def _total(server, root) -> dict:
    return {
        "server": server.key,
        "worst_case": server.worst_case,
        "limit": server.limit,
        "limit_from": server.limit_from or None,
        "over": server.over,
        "terms": [{"type": t.process.name, "engine": t.pool.name, "per_replica": t.process.per_replica,
                   "replicas": t.process.replicas, "cap": t.pool.cap, "total": t.total} for t in server.terms],
    }


# -- output ---------------------------------------------------------------------------------
COLUMNS = (("LOCATION", "location"), ("NAME", "name"), ("URL", "url"), ("POOL", "pool_class"),
           ("PRE-PING", "pre_ping"), ("RECYCLE", "recycle"), ("SIZE", "size"), ("OVERFLOW", "overflow"),
           ("TIMEOUT", "timeout"), ("CAP", "cap"), ("RUNTIME", "runtime"), ("PROCESSES", "processes"),
           ("SERVER", "server"), ("LIMIT", "limit"), ("WORST CASE", "worst_case"))


def _cell(key: str, value) -> str:
    if key == "processes":
        if not value:
            return "-"
        return ", ".join(f"{p['type']} {_cell('', p['per_replica'])}x{_cell('', p['replicas'])}" for p in value)
    if value is None:
        return "?"
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if key == "pool_class" and isinstance(value, str) and value.startswith("default"):
        return "default"
    return str(value)


_SIZED = ("size", "overflow", "timeout", "cap")


def _shown(row: dict, key: str) -> str:
    """A cell of the table: "-" where the pool class has no such setting (NullPool...)."""
    pool_class = row["pool_class"] or ""
    if key in _SIZED and row[key] is None and pool_class and "QueuePool" not in pool_class:
        return "-"
    return _cell(key, row[key])


def render_text(inventory: dict) -> str:
    rows = inventory["engines"]
    if not rows:
        return "No long-lived engine found.\n"
    table = [[title for title, _ in COLUMNS]] + [[_shown(row, key) for _, key in COLUMNS] for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    numeric = {"RECYCLE", "SIZE", "OVERFLOW", "TIMEOUT", "CAP", "LIMIT", "WORST CASE"}
    out = []
    for line in table:
        cells = [cell.rjust(width) if title in numeric and line is not table[0] else cell.ljust(width)
                 for cell, width, (title, _) in zip(line, widths, COLUMNS)]
        out.append("  ".join(cells).rstrip())
    totals = inventory["servers"]
    if totals:
        out.append("")
    for server in totals:
        terms = " + ".join(f"{t['type']} {_cell('', t['per_replica'])} x {_cell('', t['replicas'])} x "
                           f"{_cell('', t['cap'])} = {_cell('', t['total'])}" for t in server["terms"])
        worst = _cell("", server["worst_case"])
        if server["limit"] is None:
            verdict = "limit unknown"
        elif server["worst_case"] is None:
            verdict = f"limit {server['limit']} ({server['limit_from']}); worst case unknown"
        else:
            sign = ">" if server["over"] else "<="
            verdict = f"{sign} limit {server['limit']} ({server['limit_from']})" + (
                f": over by {server['worst_case'] - server['limit']}" if server["over"] else "")
        out.append(f"total {server['server']}: worst case {worst} connections ({terms}) {verdict}")
    return "\n".join(out) + "\n"


def render(inventory: dict, output_format: str) -> str:
    if output_format == "json":
        return json.dumps(inventory, indent=2) + "\n"
    return render_text(inventory)


def run(paths: Sequence[str], settings, output_format: str = "text") -> str:
    from .files import discover

    listing: dict = {}
    targets, _ = discover(paths, settings, None, listing)
    return render(collect(targets, settings, listing), output_format)
