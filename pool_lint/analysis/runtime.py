"""Where the code runs (SPEC 4, "Runtime"): a long-running server, a serverless function,
or unknown, decided from evidence in the project root, and the evidence itself.

Serverless evidence: an import of a serverless adapter (mangum, chalice, ...), a
module-level `handler(event, context)`, or a deployment file (serverless.yml, zappa
settings, a SAM template). Strong server evidence: a process server started from code,
a Procfile, a Dockerfile CMD/ENTRYPOINT or compose `command` running one, a
gunicorn.conf.py. Weak server evidence: a web app object (FastAPI, Flask, ...), which a
serverless adapter may wrap.

The verdict depends on the project root only (never on which files were passed, so a
pre-commit run on changed files agrees with a full run), never reads outside it, and is
computed once per root per process. Python files are screened by bytes before parsing.
"""
from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from ..config import DEFAULT_EXCLUDES
from .names import ModuleNames
from .source import SourceError, read_source

SERVERLESS_MODULES = ("mangum", "chalice", "functions_framework", "azure.functions", "aws_lambda_powertools")
PROCESS_SERVERS = ("uvicorn", "gunicorn", "hypercorn", "granian", "daphne")
APP_CLASSES = {
    "fastapi.FastAPI": "FastAPI", "fastapi.applications.FastAPI": "FastAPI",
    "starlette.applications.Starlette": "Starlette", "flask.Flask": "Flask", "flask.app.Flask": "Flask",
    "litestar.Litestar": "Litestar", "sanic.Sanic": "Sanic", "quart.Quart": "Quart",
    "aiohttp.web.Application": "aiohttp", "django.core.wsgi.get_wsgi_application": "Django",
    "django.core.asgi.get_asgi_application": "Django",
}
SERVER_CALLS = ("uvicorn.run", "uvicorn.Server", "hypercorn.asyncio.serve", "hypercorn.trio.serve",
                "granian.Granian", "granian.server.Granian", "gunicorn.app.base.BaseApplication")
TRIGGERS = (b"mangum", b"chalice", b"functions_framework", b"azure", b"aws_lambda_powertools", b"def handler",
            b"def lambda_handler", b"uvicorn", b"gunicorn", b"hypercorn", b"granian", b"daphne", b"FastAPI",
            b"Starlette", b"Flask", b"Litestar", b"Sanic", b"Quart", b"web.Application", b"django")
SERVER_WORDS = re.compile(r"\b(" + "|".join(PROCESS_SERVERS) + r")\b")
MAX_FILE = 2_000_000


@dataclass(frozen=True)
class Evidence:
    kind: str  # "serverless" | "server" (strong) | "weak-server"
    what: str

    def __str__(self) -> str:
        label = "server" if self.kind == "weak-server" else self.kind
        return f"{label}: {self.what}"


@dataclass(frozen=True)
class RuntimeVerdict:
    kind: str  # "server" | "serverless" | "unknown"
    evidence: Tuple[Evidence, ...] = ()
    configured: bool = False

    def describe(self) -> str:
        if self.configured:
            return f"{self.kind} (set in configuration)"
        if not self.evidence:
            return f"{self.kind} (no evidence)"
        return f"{self.kind} ({'; '.join(str(e) for e in self.evidence)})"

    def short(self) -> str:
        """The most telling piece of evidence, for a finding's message."""
        if self.configured:
            return f'runtime = "{self.kind}" in configuration'
        wanted = {"server": ("server", "weak-server"), "serverless": ("serverless",)}.get(self.kind, ())
        for kind in wanted:
            for evidence in self.evidence:
                if evidence.kind == kind:
                    return str(evidence)
        return self.describe()


def project_root(path: Path) -> Path:
    from ..files import project_root as root_of

    return root_of(path)


def detect_runtime(root: Path, setting: str = "auto") -> RuntimeVerdict:
    if setting in ("server", "serverless"):
        return RuntimeVerdict(setting, (), configured=True)
    return _detect(Path(root).resolve())


@lru_cache(maxsize=64)
def _detect(root: Path) -> RuntimeVerdict:
    return verdict(root, _code_evidence(root))


def verdict(root: Path, code: Sequence[Evidence], setting: str = "auto") -> RuntimeVerdict:
    """The verdict for a root from the evidence found in its Python files (`code`, as
    `code_evidence` gives it per file, in path order) and the files around the code."""
    if setting in ("server", "serverless"):
        return RuntimeVerdict(setting, (), configured=True)
    evidence = _file_evidence(Path(root)) + list(code)
    kinds = {e.kind for e in evidence}
    if "serverless" in kinds and "server" not in kinds:
        kind = "serverless"
    elif kinds & {"server", "weak-server"} and "serverless" not in kinds:
        kind = "server"
    else:
        kind = "unknown"
    return RuntimeVerdict(kind, tuple(evidence))


# -- files around the code ------------------------------------------------------------------
def _read_text(path: Path) -> Optional[str]:
    try:
        if path.is_file() and path.stat().st_size <= MAX_FILE:
            return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return None


def _server_in(text: str) -> Optional[str]:
    match = SERVER_WORDS.search(text)
    return match.group(1) if match else None


def _file_evidence(root: Path) -> List[Evidence]:
    found: List[Evidence] = []
    for name in ("serverless.yml", "serverless.yaml"):
        if (root / name).is_file():
            found.append(Evidence("serverless", name))
    for path in sorted(root.glob("zappa_settings.*")):
        found.append(Evidence("serverless", path.name))
    for name in ("template.yaml", "template.yml"):
        text = _read_text(root / name)
        if text and "AWS::Serverless" in text:
            found.append(Evidence("serverless", f"{name} (SAM)"))
    text = _read_text(root / "Procfile")
    if text:
        server = next((s for line in text.splitlines() if not line.lstrip().startswith("#")
                       for s in [_server_in(line)] if s), None)
        if server:
            found.append(Evidence("server", f"Procfile runs {server}"))
    for name in ("gunicorn.conf.py", "gunicorn_conf.py"):
        if (root / name).is_file():
            found.append(Evidence("server", name))
    folders = [root] + sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")
                              and p.name not in DEFAULT_EXCLUDES) if root.is_dir() else [root]
    for folder in folders:
        for path in sorted(folder.iterdir()) if folder.is_dir() else []:
            rel = path.relative_to(root).as_posix()
            name = path.name
            if name == "Dockerfile" or name.startswith("Dockerfile.") or name.endswith(".Dockerfile"):
                text = _read_text(path) or ""
                for line in text.splitlines():
                    if re.match(r"\s*(CMD|ENTRYPOINT)\b", line, re.IGNORECASE):
                        server = _server_in(line)
                        if server:
                            found.append(Evidence("server", f"{rel} runs {server}"))
                            break
            elif name in ("docker-compose.yml", "docker-compose.yaml", "compose.yml", "compose.yaml"):
                text = _read_text(path) or ""
                for line in text.splitlines():
                    if re.match(r"\s*(command|entrypoint)\s*:", line):
                        server = _server_in(line)
                        if server:
                            found.append(Evidence("server", f"{rel} command runs {server}"))
                            break
    return found


# -- the code ---------------------------------------------------------------------------------
def python_files(root: Path) -> List[str]:
    """Every Python file of a project root whose code can be evidence (absolute path
    strings), in path order."""
    out: List[str] = []
    for folder, dirs, files in os.walk(os.path.abspath(root)):
        dirs[:] = sorted(d for d in dirs if d not in DEFAULT_EXCLUDES and not d.startswith("."))
        out += [os.path.join(folder, name) for name in sorted(files) if name.endswith(".py")]
    return out


def code_evidence(rel: str, data: bytes) -> Tuple[Evidence, ...]:
    """The evidence one Python file holds (`rel`: its path relative to the root)."""
    if len(data) > MAX_FILE or not any(word in data for word in TRIGGERS):
        return ()
    try:
        source = read_source(data, rel)
    except SourceError:
        return ()
    return tuple(_module_evidence(source.tree, rel))


def _code_evidence(root: Path) -> List[Evidence]:
    found: List[Evidence] = []
    base = len(os.path.abspath(root)) + 1
    for path in python_files(root):
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError:
            continue
        found += code_evidence(path[base:].replace(os.sep, "/"), data)
    return found


def _module_evidence(tree: ast.Module, rel: str) -> List[Evidence]:
    names = ModuleNames(tree)
    found: List[Evidence] = []
    imported = set(names.imports.values())
    for module in SERVERLESS_MODULES:
        if any(q == module or q.startswith(module + ".") for q in imported):
            found.append(Evidence("serverless", f"imports {module} ({rel})"))
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and _is_lambda_handler(stmt):
            found.append(Evidence("serverless", f"{stmt.name}(event, context) in {rel}"))
    apps = set()
    servers = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        qualified = names.qualify(node.func) or ""
        if qualified in APP_CLASSES:
            apps.add(APP_CLASSES[qualified])
        elif qualified in SERVER_CALLS or any(qualified.startswith(s + ".") for s in ("gunicorn.app",)):
            servers.add(qualified.split(".")[0])
    for server in sorted(servers):
        found.append(Evidence("server", f"{server} started in {rel}"))
    for app in sorted(apps):
        found.append(Evidence("weak-server", f"{app} app in {rel}"))
    return found


def _is_lambda_handler(func) -> bool:
    params = [a.arg for a in (*func.args.posonlyargs, *func.args.args)]
    if func.name == "lambda_handler":
        return len(params) == 2
    return func.name == "handler" and params[:2] == ["event", "context"] and len(params) == 2
