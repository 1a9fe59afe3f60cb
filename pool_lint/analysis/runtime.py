"""Where the code runs (SPEC 4, "Runtime"): a long-running server, a serverless function,
or unknown, decided from evidence in the project root, and the evidence itself.

Serverless evidence: an import of a serverless adapter or SDK (mangum, chalice,
functions_framework, azure.functions, aws_lambda_powertools), a module-level
`handler(event, context)` / `lambda_handler(event, context)`, or a deployment file in the
root (serverless.yml, zappa settings, a SAM template mentioning `AWS::Serverless`).
Strong server evidence: a process server (uvicorn, gunicorn, hypercorn, granian, daphne)
started from code, a Procfile, a Dockerfile `CMD`/`ENTRYPOINT` or a compose `command` that
runs one, a gunicorn.conf.py. Weak server evidence: a web app object (FastAPI, Flask,
Django, ...), which a serverless adapter may just as well wrap.

Verdict: serverless evidence without strong server evidence is serverless; server evidence
(strong or weak) without serverless evidence is server; anything else is unknown.

The verdict depends on the project root only (never on which files were passed, so a
pre-commit run on changed files agrees with a full run) and never reads outside it:
symbolic links are not followed, and a folder that is a project root of its own
(`files.marks_root`: it holds .git, or pyproject.toml, setup.cfg or setup.py and is not
inside a package) belongs to that project, not to this one.
It is computed once per root per process. Python files are screened by their bytes and
only the few that mention a trigger word are parsed; a file that cannot be read, decoded
or parsed is skipped silently.

Two entry points share the work: `detect_runtime(root)` does everything (and caches it);
the runner, which reads every file anyway, calls `code_evidence(rel, data)` per file (and
caches that by content) and then `verdict(root, code)`.
"""
from __future__ import annotations

import ast
import os
import re
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Callable, Dict, FrozenSet, Iterable, List, NamedTuple, Optional, Sequence, Tuple

from ..config import DEFAULT_EXCLUDES

from ..files import Listing, entries_mark_root, entries_of, holds_package_init, read_regular, read_text_or_none
from .downgrade import reparse
from .text import SourceError, decode
from .tree import walk
SERVERLESS_MODULES = ("mangum", "chalice", "functions_framework", "azure.functions", "aws_lambda_powertools")
PROCESS_SERVERS = ("uvicorn", "gunicorn", "hypercorn", "granian", "daphne")
# Calls (qualified through the file's imports) that start a process server.
SERVER_CALLS = {
    "uvicorn.run": "uvicorn",
    "uvicorn.Server": "uvicorn",
    "uvicorn.main.run": "uvicorn",
    "uvicorn.server.Server": "uvicorn",
    "hypercorn.asyncio.serve": "hypercorn",
    "hypercorn.trio.serve": "hypercorn",
    "hypercorn.run.run": "hypercorn",
    "granian.Granian": "granian",
    "granian.server.Granian": "granian",
    "daphne.server.Server": "daphne",
    "gunicorn.app.wsgiapp.run": "gunicorn",
}
# Base classes of a custom gunicorn application started from code.
GUNICORN_BASES = ("gunicorn.app.base.BaseApplication", "gunicorn.app.base.Application",
                  "gunicorn.app.wsgiapp.WSGIApplication")
# Constructors of a web app object (weak server evidence), by qualified name.
APP_CLASSES = {
    "fastapi.FastAPI": "FastAPI",
    "fastapi.applications.FastAPI": "FastAPI",
    "starlette.applications.Starlette": "Starlette",
    "flask.Flask": "Flask",
    "flask.app.Flask": "Flask",
    "litestar.Litestar": "Litestar",
    "litestar.app.Litestar": "Litestar",
    "sanic.Sanic": "Sanic",
    "sanic.app.Sanic": "Sanic",
    "quart.Quart": "Quart",
    "quart.app.Quart": "Quart",
    "aiohttp.web.Application": "aiohttp.web",
    "aiohttp.web_app.Application": "aiohttp.web",
}
DJANGO_APPS = ("django.core.wsgi.get_wsgi_application", "django.core.asgi.get_asgi_application")
TRIGGERS = (b"mangum", b"chalice", b"functions_framework", b"azure", b"aws_lambda_powertools", b"def handler",
            b"def lambda_handler", b"uvicorn", b"gunicorn", b"hypercorn", b"granian", b"daphne", b"FastAPI",
            b"Starlette", b"Flask", b"Litestar", b"Sanic", b"Quart", b"web.Application", b"django")
GUNICORN_CONFIGS = ("gunicorn.conf.py", "gunicorn_conf.py")
SERVERLESS_FILES = ("serverless.yml", "serverless.yaml", "zappa_settings.json", "zappa_settings.yml",
                    "zappa_settings.yaml", "zappa_settings.toml")
SAM_TEMPLATES = ("template.yaml", "template.yml")
COMPOSE_FILES = ("docker-compose.yml", "docker-compose.yaml", "compose.yml", "compose.yaml")
SERVER_WORD = re.compile(r"(?<![\w-])(" + "|".join(PROCESS_SERVERS) + r")(?![\w-])")
DOCKER_COMMAND = re.compile(r"\s*(CMD|ENTRYPOINT)\b", re.IGNORECASE)
COMPOSE_COMMAND = re.compile(r"(\s*)(?:-\s+)?(command|entrypoint)\s*:(.*)$")
MAX_FILE = 2_000_000  # bytes; anything larger is generated or data, not evidence

# The order of the verdict's own evidence before the other kinds in `describe`.
_LABEL = {"serverless": "serverless", "server": "server", "weak-server": "server"}
_GROUPS = {"serverless": ("serverless", "server", "weak-server"), "server": ("server", "weak-server", "serverless"),
           "unknown": ("serverless", "server", "weak-server")}


class Evidence(NamedTuple):
    kind: str  # "serverless" | "server" (strong) | "weak-server"
    what: str  # short human text: "Procfile runs uvicorn", "imports mangum (app.py)", ...

    @property
    def label(self) -> str:
        """"server" or "serverless" (weak server evidence is still server evidence)."""
        return _LABEL.get(self.kind, self.kind)

    def __str__(self) -> str:
        return f"{self.label}: {self.what}"


class RuntimeVerdict(NamedTuple):
    kind: str  # "server" | "serverless" | "unknown"
    evidence: Tuple[Evidence, ...] = ()
    configured: bool = False  # True when `runtime` in the configuration decided it
    complete: bool = True  # False: only the evidence that decides kind and short() (lazy_verdict)
    # The project's deployment.Deployment, read once per run where POL112 may need it.
    deployment: object = None

    def key(self) -> str:
        """What a finding can depend on (its kind and `short()`, and the deployment files
        when they were read): equal keys give equal findings, whether the verdict is
        complete or not."""
        key = f"{self.kind}: {self.short()}" if self.kind != "unknown" else "unknown"
        fingerprint = getattr(self.deployment, "fingerprint", "")
        return f"{key} [deployment {fingerprint}]" if fingerprint else key

    def describe(self) -> str:
        """One line: the verdict and all its evidence. Evidence of the verdict's own kind
        is listed bare and first; any other evidence is labelled ("server: ...")."""
        if self.configured:
            return f"{self.kind} (set in configuration)"
        if not self.evidence:
            return f"{self.kind} (no evidence)"
        parts = []
        for group in _GROUPS.get(self.kind, _GROUPS["unknown"]):
            for evidence in self.evidence:
                if evidence.kind == group:
                    parts.append(evidence.what if evidence.label == self.kind else str(evidence))
        parts += [str(e) for e in self.evidence if e.kind not in _LABEL]
        return f"{self.kind} ({'; '.join(parts)})"

    def short(self) -> str:
        """The single most telling piece of evidence, for a finding's message: the first
        strong piece of the verdict's kind (files around the code come first)."""
        if self.configured:
            return f'runtime = "{self.kind}" in configuration'
        wanted = {"server": ("server", "weak-server"), "serverless": ("serverless",)}.get(self.kind, ())
        for kind in wanted:
            for evidence in self.evidence:
                if evidence.kind == kind:
                    return str(evidence)
        return self.describe()


# -- roots and the verdict ------------------------------------------------------------------
def project_root(path: Path) -> Path:
    """The project root of a path (one definition for the whole tool: `files.project_root`)."""
    from ..files import project_root as root_of

    return root_of(path)


def detect_runtime(root: Path, setting: str = "auto") -> RuntimeVerdict:
    """The runtime of the project at `root`: `setting` "server"/"serverless" decides it
    (configured=True); "auto" detects it from the root (once per root per process)."""
    if setting in ("server", "serverless"):
        return RuntimeVerdict(setting, (), configured=True)
    return _detect(os.path.realpath(root))


@lru_cache(maxsize=64)
def _detect(root: str) -> RuntimeVerdict:
    code: List[Evidence] = []
    cut = len(root.rstrip(os.sep)) + 1
    for path in python_files(root):
        try:
            data = read_regular(path, MAX_FILE)
        except OSError:  # not a regular file, too large (generated or data, not evidence), unreadable
            continue
        code += code_evidence(path[cut:].replace(os.sep, "/"), data)
    return verdict(Path(root), code)


def clear_cache() -> None:
    """Forget every verdict (a long-lived process whose projects change, or tests)."""
    from ..files import _marked_folder, _real_folder, _root_of_folder

    from .deployment import clear_cache as forget_deployments

    _detect.cache_clear()
    forget_deployments()
    _marked_folder.cache_clear()
    _root_of_folder.cache_clear()
    _real_folder.cache_clear()


def verdict(root: Path, code: Sequence[Evidence], setting: str = "auto") -> RuntimeVerdict:
    """The verdict for `root` from the evidence of its Python files (`code`, as
    `code_evidence` gives it, file by file in `python_files` order) and of the files
    around the code (read here). Evidence order: the files around the code by path, then
    the Python files by path."""
    if setting in ("server", "serverless"):
        return RuntimeVerdict(setting, (), configured=True)
    evidence = tuple(_file_evidence(str(root))) + tuple(code)
    return RuntimeVerdict(decide(e.kind for e in evidence), evidence)


def decide(kinds: Iterable[str]) -> str:
    """SPEC 4: serverless without strong server evidence -> serverless; server evidence
    (strong or weak) without serverless evidence -> server; otherwise unknown."""
    kinds = set(kinds)
    if "serverless" in kinds:
        return "unknown" if "server" in kinds else "serverless"
    if kinds & {"server", "weak-server"}:
        return "server"
    return "unknown"


# -- walking the root -----------------------------------------------------------------------
# The Python files of each root the current run walked (stages.Layout), by the root's
# absolute path: python_files' answer for them, in this process and in the workers forked
# from it, while the run lasts (runner.run forgets them at its end). A worker's analysis
# asks for a root's files (project.Project.chain_tops): it need not walk the root again.
_WALKED: Dict[str, List[str]] = {}


def remember_walks(walked: Dict[str, List[str]]) -> None:
    """Set what python_files answers for the roots the current run walked ({}: forget)."""
    _WALKED.clear()
    _WALKED.update(walked)


def python_files(root, listing: Optional[Listing] = None, left_out: Optional[list] = None) -> List[str]:
    """Every Python file of the project at `root` (absolute path strings, sorted by their
    path relative to the root). Skips hidden folders, DEFAULT_EXCLUDES folders, folders
    that are project roots of their own, and symbolic links (never leaves the root).
    `listing`: the folders the run's discovery listed already (files.discover).
    `left_out`: told the path of each entry the walk leaves out below the root (a link, a
    folder, another project's root, a folder it cannot list, an entry it cannot stat)."""
    top = os.path.abspath(root)
    if left_out is None and _WALKED:
        walked = _WALKED.get(top)
        if walked is not None:
            return list(walked)
    found: List[Tuple[str, str]] = []
    stack = [(top, "", False)]
    while stack:
        folder, rel, in_package = stack.pop()
        entries = entries_of(folder, listing)
        if entries is None or (rel and entries_mark_root(entries, in_package)):
            if left_out is not None:
                left_out.append(folder)
            continue  # unreadable, or another project's root
        package = holds_package_init(entries)
        for entry in entries:
            name = entry.name
            try:
                if entry.is_symlink():
                    if left_out is not None:
                        left_out.append(entry.path)
                    continue
                if entry.is_dir():
                    if not name.startswith(".") and name not in DEFAULT_EXCLUDES:
                        stack.append((entry.path, f"{rel}{name}/", package))
                    elif left_out is not None:
                        left_out.append(entry.path)
                elif name.endswith(".py") and entry.is_file():
                    found.append((f"{rel}{name}", entry.path))
            except OSError:
                if left_out is not None:
                    left_out.append(entry.path)
                continue
    found.sort()
    return [path for _, path in found]


# -- the files around the code --------------------------------------------------------------
def _file_evidence(root: str) -> List[Evidence]:
    """Deployment and process files: serverless/zappa/SAM files, a Procfile at the root;
    Dockerfiles and compose files at the root and one folder down. In path order."""
    found: List[Tuple[str, Evidence]] = []
    entries = entries_of(root) or []
    for entry in entries:
        name = entry.name
        if not _plain_file(entry):
            continue
        if name in SERVERLESS_FILES:
            found.append((name, Evidence("serverless", name)))
        elif name in SAM_TEMPLATES:
            text = _read_text(entry.path)
            if text and "AWS::Serverless" in text:
                found.append((name, Evidence("serverless", f"{name} (SAM)")))
        elif name == "Procfile":
            server = _procfile_server(_read_text(entry.path) or "")
            if server:
                found.append((name, Evidence("server", f"Procfile runs {server}")))
    folders = [(entries, "")]
    for entry in entries:
        try:
            if entry.is_dir() and not entry.is_symlink() and not entry.name.startswith(".") \
                    and entry.name not in DEFAULT_EXCLUDES and entry.name not in DEMO_FOLDERS:
                inner = entries_of(entry.path) or []
                if not entries_mark_root(inner, holds_package_init(entries)):  # not another project's root
                    folders.append((inner, entry.name + "/"))
        except OSError:
            continue
    for inner, prefix in folders:
        for entry in inner:
            name = entry.name
            if _is_dockerfile(name) and _plain_file(entry):
                server = _dockerfile_server(_read_text(entry.path) or "")
                if server:
                    found.append((prefix + name, Evidence("server", f"{prefix}{name} runs {server}")))
            elif name in COMPOSE_FILES and _plain_file(entry):
                server = _compose_server(_read_text(entry.path) or "")
                if server:
                    found.append((prefix + name, Evidence("server", f"{prefix}{name} command runs {server}")))
    found.sort(key=lambda item: item[0])
    return [evidence for _, evidence in found]


def _plain_file(entry) -> bool:
    try:
        return entry.is_file() and not entry.is_symlink()
    except OSError:
        return False


def _is_dockerfile(name: str) -> bool:
    return name == "Dockerfile" or name.startswith("Dockerfile.") or name.endswith(".Dockerfile")


def _read_text(path: str) -> Optional[str]:
    return read_text_or_none(path, MAX_FILE)


def _server_in(text: str) -> Optional[str]:
    match = SERVER_WORD.search(text)
    return match.group(1) if match else None


def _procfile_server(text: str) -> Optional[str]:
    """The first process server a Procfile command runs (`web: uvicorn app:app`)."""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        _, colon, command = line.partition(":")
        server = _server_in(command if colon else line)
        if server:
            return server
    return None


def _dockerfile_server(text: str) -> Optional[str]:
    """The first process server a Dockerfile's CMD or ENTRYPOINT runs."""
    from .deployment import logical_lines

    for line in logical_lines(text):
        match = DOCKER_COMMAND.match(line)
        if match:
            server = _server_in(line[match.end():])
            if server:
                return server
    return None


def _compose_server(text: str) -> Optional[str]:
    """The first process server a compose file's `command:` (or `entrypoint:`) runs, the
    value on the key's line or a block or list on the lines indented below it."""
    lines = text.splitlines()
    for number, line in enumerate(lines):
        if line.lstrip().startswith("#"):
            continue
        match = COMPOSE_COMMAND.match(line)
        if not match:
            continue
        value = match.group(3).split(" #")[0]
        server = _server_in(value)
        if server:
            return server
        if value.strip() in ("", ">", "|", ">-", "|-", ">+", "|+"):
            indent = len(match.group(1))
            for following in lines[number + 1:]:
                if not following.strip() or following.lstrip().startswith("#"):
                    continue
                if len(following) - len(following.lstrip()) <= indent:
                    break
                server = _server_in(following.split(" #")[0])
                if server:
                    return server
    return None


# -- the verdict without reading every file -----------------------------------------------
# What a file's bytes allow it to hold, as bits (cheap, for the runner's first stage): a
# file without a bit can hold no evidence of that kind (`code_evidence` finds none there).
MAY_SERVERLESS, MAY_SERVER, MAY_WEAK = 1, 2, 4
# The top-level modules a file must import to hold evidence of each kind (azure.functions:
# "azure", with the word "functions" in the file).
_SERVERLESS_TOPS = frozenset(m.split(".")[0] for m in SERVERLESS_MODULES) - {"azure"}
_SERVER_TOPS = frozenset(PROCESS_SERVERS)
_WEAK_TOPS = frozenset(q.split(".")[0] for q in (*APP_CLASSES, *DJANGO_APPS))
# A module-level `def handler` / `def lambda_handler` starts a line (a continuation may split it).
_HANDLER_DEF = re.compile(rb"^(?:async[ \t\\\r\n]+)?def[ \t\\\r\n]+(?:lambda_)?handler\b", re.MULTILINE)


def _defines_handler(data: bytes) -> bool:
    """`_HANDLER_DEF.search(data)`, asked only around each `def handler` / `def
    lambda_handler` of the file: with its `^`, the regex alone tries every line."""
    at = data.find(b"handler")
    while at >= 0:
        before = at - 7 if data[max(0, at - 7):at] == b"lambda_" else at
        start = before
        while start > 0 and data[start - 1:start] in _SPACES:
            start -= 1
        if start < before and data[max(0, start - 3):start] == b"def":
            start -= 3
            while start > 0 and data[start - 1:start] in _SPACES:
                start -= 1
            if data[max(0, start - 5):start] == b"async":
                start -= 5
            line = data.rfind(b"\n", 0, start) + 1
            if _HANDLER_DEF.search(data, line, at + len(b"handler") + 1):
                return True
        at = data.find(b"handler", at + 7)
    return False


_SPACES = (b" ", b"\t", b"\\", b"\r", b"\n")

# Demonstrations that ship with a project (a library's `examples/`, its documentation's
# snippets) are not how the project itself is deployed: an example FastAPI app does not
# make a library a server, so nothing in them is runtime evidence.
DEMO_FOLDERS = frozenset(["examples", "example", "docs", "docs_src"])


def is_demo(rel: str) -> bool:
    """Is `rel` (relative to the root, with "/") inside a demonstration folder?"""
    return not DEMO_FOLDERS.isdisjoint(rel.split("/")[:-1])


def evidence_bits(rel: str, data: bytes, imported: FrozenSet[str]) -> int:
    """Which kinds of evidence `code_evidence(rel, data)` can find, from the bytes and the
    top-level modules the file imports (`imported`, as the screen reads them: every
    import statement): a superset, since every piece of evidence but a handler function
    or a file's name needs an import of its module."""
    name = rel.rsplit("/", 1)[-1]
    if is_demo(rel):
        return 0
    bits = MAY_SERVER if name in GUNICORN_CONFIGS else 0
    if len(data) > MAX_FILE:
        return bits
    if name == "manage.py" and b"DJANGO_SETTINGS_MODULE" in data:
        bits |= MAY_WEAK
    if not imported.isdisjoint(_SERVERLESS_TOPS) or ("azure" in imported and b"functions" in data) \
            or (b"handler" in data and _defines_handler(data)):
        bits |= MAY_SERVERLESS
    if not imported.isdisjoint(_SERVER_TOPS):
        bits |= MAY_SERVER
    if not imported.isdisjoint(_WEAK_TOPS):
        bits |= MAY_WEAK
    return bits


def lazy_verdict(root: Path, files: Sequence[Tuple[str, int]], evidence_of: Callable[[str], Sequence[Evidence]],
                 setting: str = "auto") -> RuntimeVerdict:
    """The verdict of `verdict(root, every file's code_evidence)`, with the same `kind`,
    `short()` and `key()`, reading only as many files as that takes. `files`: the root's
    Python files in `python_files` order, each with its `evidence_bits` (files without
    bits may be left out); `evidence_of(path)`: that file's `code_evidence`.

    Serverless evidence is rare, so every file that may hold some is read; then the first
    strong server evidence in order (what `short()` names, and what turns serverless into
    unknown); weak server evidence only when there is no strong evidence at all. The
    evidence of the returned verdict is what was read (`complete` False)."""
    if setting in ("server", "serverless"):
        return RuntimeVerdict(setting, (), configured=True)
    around = _file_evidence(str(root))
    read: Dict[str, Sequence[Evidence]] = {}

    def first(bit: int, kind: str, every: bool = False) -> bool:
        """Read, in order, the files that may hold `bit`; stop at the first that holds
        evidence of `kind` (unless `every`). Did any hold some?"""
        hit = False
        for path, bits in files:
            if bits & bit:
                if path not in read:
                    read[path] = evidence_of(path)
                if any(e.kind == kind for e in read[path]):
                    hit = True
                    if not every:
                        break
        return hit

    serverless = first(MAY_SERVERLESS, "serverless", every=True) or any(e.kind == "serverless" for e in around)
    strong = any(e.kind == "server" for e in around) or first(MAY_SERVER, "server")
    if not serverless and not strong:
        first(MAY_WEAK, "weak-server")
    code = [e for path, _ in files if path in read for e in read[path]]
    evidence = tuple(around) + tuple(code)
    return RuntimeVerdict(decide(e.kind for e in evidence), evidence, complete=False)


# -- the code -------------------------------------------------------------------------------
def code_evidence(rel: str, data: bytes) -> Tuple[Evidence, ...]:
    """The evidence one Python file holds (`rel`: its path relative to the root, with
    "/"). Only files that mention a trigger word are parsed."""
    name = rel.rsplit("/", 1)[-1]
    found: List[Evidence] = []
    if is_demo(rel):
        return ()
    if name in GUNICORN_CONFIGS:
        found.append(Evidence("server", rel))
    if len(data) > MAX_FILE:
        return tuple(found)
    if name == "manage.py" and b"DJANGO_SETTINGS_MODULE" in data:
        found.append(Evidence("weak-server", f"Django project ({rel})"))
    if not any(word in data for word in TRIGGERS):
        return tuple(found)
    tree = _parse(data)
    if tree is not None:
        found += [e for e in _module_evidence(tree, rel) if e not in found]
    return tuple(found)


def _parse(data: bytes) -> Optional[ast.Module]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning on odd escapes is not ours to show
            try:
                return ast.parse(data)
            except SyntaxError as exc:  # newer syntax (downgrade)
                return reparse(decode(data), "<unknown>", exc)
    except (SyntaxError, ValueError, TypeError, RecursionError, MemoryError, SourceError):
        return None


class _Imports:
    """Local names bound by the file's imports (at any depth) -> qualified names; and,
    from the same walk of the tree, its calls and classes."""

    def __init__(self, tree: ast.Module):
        self.names: Dict[str, str] = {}
        self.modules: List[str] = []  # every module (and `from` member) imported
        self.calls: List[ast.Call] = []
        self.classes: List[ast.ClassDef] = []
        for node in walk(tree):
            if isinstance(node, ast.Call):
                self.calls.append(node)
            elif isinstance(node, ast.ClassDef):
                self.classes.append(node)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    self.modules.append(alias.name)
                    if alias.asname:
                        self.names[alias.asname] = alias.name
                    else:
                        head = alias.name.split(".")[0]
                        self.names.setdefault(head, head)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                self.modules.append(node.module)
                for alias in node.names:
                    if alias.name == "*":
                        continue
                    qualified = f"{node.module}.{alias.name}"
                    self.modules.append(qualified)
                    self.names[alias.asname or alias.name] = qualified

    def qualify(self, node: ast.AST) -> Optional[str]:
        if isinstance(node, ast.Name):
            return self.names.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self.qualify(node.value)
            return f"{base}.{node.attr}" if base else None
        return None


def _module_evidence(tree: ast.Module, rel: str) -> List[Evidence]:
    imports = _Imports(tree)
    found: List[Evidence] = []
    for module in SERVERLESS_MODULES:
        if any(m == module or m.startswith(module + ".") for m in imports.modules):
            found.append(Evidence("serverless", f"imports {module} ({rel})"))
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and _is_lambda_handler(stmt):
            found.append(Evidence("serverless", f"{stmt.name}(event, context) in {rel}"))
    servers = set()
    django = False
    for node in imports.calls:
        qualified = imports.qualify(node.func)
        if qualified in SERVER_CALLS:
            servers.add(SERVER_CALLS[qualified])
        elif qualified in DJANGO_APPS:
            django = True
    for node in imports.classes:
        if any(imports.qualify(base) in GUNICORN_BASES for base in node.bases):
            servers.add("gunicorn")
    for server in sorted(servers):
        found.append(Evidence("server", f"{server} started in {rel}"))
    apps = sorted({app for stmt in tree.body for app in [_app_of(stmt, imports)] if app})
    for app in apps:
        found.append(Evidence("weak-server", f"{app} app in {rel}"))
    if django:
        found.append(Evidence("weak-server", f"Django app in {rel}"))
    return found


def _app_of(stmt: ast.stmt, imports: _Imports) -> Optional[str]:
    """The framework of a module-level `app = FastAPI(...)` (also annotated)."""
    if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and isinstance(stmt.value, ast.Call):
        return APP_CLASSES.get(imports.qualify(stmt.value.func) or "")
    return None


def _is_lambda_handler(func) -> bool:
    """`def handler(event, context)`, or `def lambda_handler(a, b)`: exactly two positional
    parameters and nothing else required."""
    args = func.args
    params = [a.arg for a in (*args.posonlyargs, *args.args)]
    if len(params) != 2 or args.kwonlyargs:
        return False
    if func.name == "lambda_handler":
        return True
    return func.name == "handler" and params == ["event", "context"]
