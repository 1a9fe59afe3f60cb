#!/usr/bin/env python3
"""Write a deterministic synthetic Python code base for the speed benchmark.

    python benchmarks/generate.py OUT_DIR [--files 10000] [--seed 1] [--lines-per-file 50-150]

The tree looks like a large monorepo of FastAPI services and shared libraries:

    OUT_DIR/pyproject.toml              the one project root
    OUT_DIR/services/<svc>/Procfile     uvicorn (and sometimes a worker)
    OUT_DIR/services/<svc>/<pkg>/...    api, models, repositories, services, schemas,
                                        clients, domain, utils, tasks, db modules
    OUT_DIR/services/<svc>/tests/...    pytest modules (and a conftest with a SQLite engine)
    OUT_DIR/libs/<lib>/<lib>/...        shared, database-free libraries
    OUT_DIR/scripts/...                 operational scripts (some build an engine)

About 8% of the modules use SQLAlchemy: models (DeclarativeBase, Mapped), a few db
modules per service with create_engine / create_async_engine calls (some naive, some
tuned), repositories and services that open sessions, and FastAPI routes that take a
session from `Depends(get_session)`; about 1% of the files are routes that make an httpx
call between a query and the commit. The rest is ordinary application code: classes,
dataclasses, pydantic schemas, HTTP clients (requests, httpx), comprehensions, tests.

The same arguments always give the same bytes (random.Random(seed), seeded per file by
its path). Standard library only; Python >= 3.9.
"""
from __future__ import annotations

import argparse
import random
import shutil
import sys
import textwrap
from pathlib import Path
from string import Template
from typing import Callable, Dict, List, Optional, Sequence, Tuple

MARKER = ".pool-lint-bench-tree"  # lets a re-run replace a tree this script wrote

# -- vocabulary -------------------------------------------------------------------------------
SERVICES = [
    "billing", "orders", "catalog", "identity", "payments", "shipping", "inventory",
    "notifications", "analytics", "search", "pricing", "support", "reporting", "crm",
    "ledger", "fulfillment", "onboarding", "marketing", "risk", "compliance", "gateway",
    "media", "scheduler", "partners", "loyalty", "reviews", "checkout", "accounts",
    "warehouse", "procurement", "returns", "tax", "invoicing", "subscriptions", "messaging",
]
LIBS = ["common", "observability", "auth_kit", "money", "geo", "feature_flags", "textutils",
        "retrying", "events", "storage", "timekit", "validation"]
NOUNS = [
    "order", "invoice", "customer", "payment", "shipment", "product", "account", "ticket",
    "subscription", "report", "notification", "warehouse", "coupon", "refund", "review",
    "cart", "address", "vendor", "contract", "campaign", "device", "audit_event", "price_rule",
    "inventory_item", "team", "project", "task", "comment", "attachment", "webhook", "plan",
    "quota", "ledger_entry", "transfer", "merchant", "store", "category", "tag", "message",
    "channel", "lead", "opportunity", "parcel", "carrier", "discount", "voucher", "tenant_note",
]
SUFFIXES = ["", "_line", "_event", "_history", "_snapshot", "_batch", "_rule", "_version"]
FIELDS = ["name", "code", "status", "reference", "email", "region", "currency", "kind",
          "source", "external_id", "slug", "label", "owner", "country", "channel"]
AREAS = ["pricing", "rules", "workflow", "billing_cycle", "exports", "imports", "matching",
         "scoring", "routing", "forecasting", "reconciliation", "allocation", "sync",
         "policies", "enrichment", "dedup", "lifecycle", "eligibility", "settlement"]
KINDS = ["rules", "calculations", "validation", "policies", "mapping", "formatting",
         "events", "handlers", "workflow", "helpers", "transforms", "selectors", "builders"]
UTIL_NAMES = ["dates", "strings", "money", "ids", "pagination", "retry", "hashing", "csv_io",
              "json_io", "cache", "timing", "collections", "env", "urls", "slugs", "text",
              "numbers", "batching", "locks", "files", "tz", "diffing", "sampling", "masks"]
PARTNERS = ["crm", "erp", "tax_engine", "fraud", "geocoder", "mailer", "sms", "warehouse_api",
            "carrier_api", "fx_rates", "search_index", "identity_provider", "payments_psp"]

STDLIB = {
    "__future__", "asyncio", "collections", "contextlib", "csv", "dataclasses", "datetime",
    "decimal", "enum", "functools", "hashlib", "itertools", "json", "logging", "math", "os",
    "pathlib", "random", "re", "statistics", "string", "time", "typing", "uuid", "urllib",
    "abc", "operator", "textwrap", "secrets", "base64", "heapq", "bisect", "threading",
}

# -- categories ---------------------------------------------------------------------------------
SA_CATEGORIES = ("model", "db", "repository", "service_db", "route_db", "route_http")
# Variable categories of a service and their share of the service's modules (the fixed files
# -- __init__, main, config, db modules, models/base, conftest -- come on top).
SERVICE_WEIGHTS = [
    ("model", 0.020), ("repository", 0.015), ("service_db", 0.010), ("route_db", 0.013),
    ("route_http", 0.0115), ("schema", 0.07), ("client", 0.05), ("route_plain", 0.03),
    ("task", 0.04), ("util", 0.10), ("test", 0.16),
]  # the rest: "domain"
LIB_WEIGHTS = [("client", 0.08), ("schema", 0.06), ("test", 0.15), ("util", 0.35)]  # rest: domain


def camel(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))


def plural(noun: str) -> str:
    if noun.endswith("y") and not noun.endswith(("ay", "ey", "oy")):
        return noun[:-1] + "ies"
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    return noun + "s"


def T(text: str, **values) -> List[str]:
    """A dedented template ($name placeholders) as a list of lines."""
    return Template(textwrap.dedent(text).strip("\n")).safe_substitute(values).split("\n")


# -- module builder ---------------------------------------------------------------------------
class Code:
    """Collects import needs and body blocks; renders a module."""

    def __init__(self, rng: random.Random, package: str, future: bool):
        self.rng = rng
        self.package = package  # the top-level package (for absolute local imports)
        self.future = future
        self.plain: Dict[str, None] = {}  # import x
        self.froms: Dict[str, Dict[str, None]] = {}  # from x import a, b
        self.prelude: List[List[str]] = []
        self.blocks: List[List[str]] = []
        self._prelude_keys: Dict[str, None] = {}

    def imp(self, module: str, *names: str) -> None:
        if names:
            bucket = self.froms.setdefault(module, {})
            for name in names:
                bucket[name] = None
        else:
            self.plain[module] = None

    def once(self, key: str, lines: List[str]) -> None:
        """A module-level statement needed by some block (logger, router, constants)."""
        if key not in self._prelude_keys:
            self._prelude_keys[key] = None
            self.prelude.append(lines)

    def logger(self) -> None:
        self.imp("logging")
        self.once("logger", ["logger = logging.getLogger(__name__)"])

    def add(self, lines: List[str]) -> None:
        self.blocks.append(lines)

    def body_lines(self) -> int:
        return sum(len(b) + 2 for b in self.blocks) + sum(len(p) + 1 for p in self.prelude)

    def estimate(self) -> int:
        return self.body_lines() + len(self.plain) + len(self.froms) + 6

    def _import_lines(self) -> List[str]:
        groups: Tuple[List[str], List[str], List[str]] = ([], [], [])

        def group_of(module: str) -> int:
            top = module.split(".")[0]
            if module.startswith(".") or top == self.package:
                return 2
            return 0 if top in STDLIB else 1

        for module in self.plain:
            groups[group_of(module)].append(f"import {module}")
        for module, names in self.froms.items():
            items = sorted(names, key=lambda n: (not n[:1].isupper(), n.lower()))
            line = f"from {module} import {', '.join(items)}"
            if len(line) > 96:
                inner = "".join(f"    {n},\n" for n in items)
                line = f"from {module} import (\n{inner})"
            groups[group_of(module)].append(line)
        out: List[str] = []
        for group in groups:
            if group:
                group.sort(key=lambda s: (s.startswith("from"), s.split()[1].lstrip(".").lower(), s))
                if out:
                    out.append("")
                out.extend(group)
        return out

    def render(self, docstring: str) -> str:
        lines = [f'"""{docstring}"""']
        if self.future:
            lines.append("from __future__ import annotations")
            lines.append("")
        else:
            lines.append("")
        lines.extend(self._import_lines())
        if self.prelude:
            lines.append("")
            previous = None
            if len(self.prelude[0]) > 1:
                lines.append("")
            for block in self.prelude:
                if previous is not None and (len(block) > 1 or len(previous) > 1):
                    lines += ["", ""]
                lines.extend(block)
                previous = block
        for block in self.blocks:
            lines.append("")
            lines.append("")
            lines.extend(block)
        return "\n".join(lines).rstrip() + "\n"


class Ctx:
    """What a file's blocks may refer to."""

    def __init__(self, rng: random.Random, pkg: str, noun: str, area: str, service: str,
                 sync_db: bool = False, nouns: Sequence[str] = ()):
        self.rng = rng
        self.pkg = pkg
        self.noun = noun
        self.Cls = camel(noun)
        self.area = area
        self.service = service
        self.sync_db = sync_db
        self.nouns = list(nouns) or [noun]

    def other_noun(self) -> str:
        return self.rng.choice(self.nouns)

    def field(self, *taken: str) -> str:
        return self.rng.choice([f for f in FIELDS if f not in taken])

    def n(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)


# -- generic blocks (no database) ---------------------------------------------------------------
def b_normalize(c: Code, x: Ctx) -> List[str]:
    c.imp("typing", "Any", "Dict", "Iterable", "List", "Mapping")
    field = x.field()
    return T('''
        def normalize_${noun}_records(records: Iterable[Mapping[str, Any]], *, strict: bool = False) -> List[Dict[str, Any]]:
            """Normalize raw ${noun} records coming from the ${area} export."""
            cleaned = []
            for record in records:
                key = str(record.get("${field}", "")).strip().lower()
                if not key:
                    if strict:
                        raise ValueError(f"record without ${field}: {record!r}")
                    continue
                cleaned.append({**record, "${field}": key})
            return cleaned
        ''', noun=x.noun, area=x.area, field=field)


def b_index(c: Code, x: Ctx) -> List[str]:
    c.imp("collections", "defaultdict")
    c.imp("typing", "Any", "Dict", "List", "Sequence")
    f1, f2 = x.field(), x.field()
    return T('''
        def index_${plural}_by_${f1}(items: Sequence[Dict[str, Any]]) -> Dict[str, List[Dict[str, Any]]]:
            grouped: Dict[str, List[Dict[str, Any]]] = defaultdict(list)
            for item in items:
                grouped[str(item.get("${f1}"))].append(item)
            return {
                key: sorted(values, key=lambda v: str(v.get("${f2}", "")))
                for key, values in grouped.items()
                if len(values) >= ${n}
            }
        ''', plural=plural(x.noun), f1=f1, f2=f2, n=x.n(1, 3))


def b_dataclass(c: Code, x: Ctx) -> List[str]:
    c.imp("dataclasses", "dataclass", "field", "replace")
    c.imp("datetime", "datetime", "timedelta", "timezone")
    c.imp("decimal", "Decimal")
    c.imp("typing", "Optional", "Tuple")
    name = x.Cls + x.rng.choice(["", "View", "Record", "Draft", "Summary", "Snapshot"])
    return T('''
        @dataclass(frozen=True)
        class ${name}:
            """A ${noun} as the ${area} layer sees it."""

            id: int
            ${f1}: str
            created_at: datetime
            ${f2}: Optional[str] = None
            amount: Decimal = Decimal("0")
            tags: Tuple[str, ...] = field(default_factory=tuple)

            @property
            def is_recent(self) -> bool:
                return datetime.now(timezone.utc) - self.created_at < timedelta(days=${days})

            def with_tag(self, tag: str) -> "${name}":
                return replace(self, tags=tuple(sorted({*self.tags, tag.lower()})))
        ''', name=name, noun=x.noun, area=x.area, f1=x.field(), f2="note", days=x.n(1, 90))


def b_enum(c: Code, x: Ctx) -> List[str]:
    c.imp("enum", "Enum")
    states = x.rng.sample(["pending", "active", "paused", "closed", "failed", "archived",
                           "draft", "approved", "rejected", "expired", "queued"], x.n(3, 6))
    members = "\n".join(f'    {s.upper()} = "{s}"' for s in states)
    lines = [f"class {x.Cls}{x.rng.choice(['Status', 'State', 'Kind', 'Stage'])}(str, Enum):",
             f'    """The states a {x.noun.replace("_", " ")} goes through."""', ""]
    lines += members.split("\n")
    lines += ["", "    @property", "    def is_final(self) -> bool:",
              f"        return self.value in {tuple(states[-2:])!r}"]
    return lines


def b_processor(c: Code, x: Ctx) -> List[str]:
    c.logger()
    c.imp("typing", "Iterable", "List")
    return T('''
        class ${Cls}Processor:
            """Applies the ${area} rules to ${plural} in batches."""

            def __init__(self, batch_size: int = ${n}, dry_run: bool = False) -> None:
                self.batch_size = batch_size
                self.dry_run = dry_run
                self._processed = 0

            def process(self, items: Iterable[dict]) -> int:
                pending = list(items)
                for start in range(0, len(pending), self.batch_size):
                    self._apply(pending[start:start + self.batch_size])
                logger.info("processed %d ${plural}", self._processed)
                return self._processed

            def _apply(self, batch: List[dict]) -> None:
                if self.dry_run:
                    logger.debug("dry run: skipping %d items", len(batch))
                    return
                self._processed += sum(1 for item in batch if item.get("active"))
        ''', Cls=x.Cls, area=x.area, plural=plural(x.noun), n=x.rng.choice([50, 100, 200, 500]))


def b_chunked(c: Code, x: Ctx) -> List[str]:
    c.imp("typing", "Iterator", "List", "Sequence", "TypeVar")
    c.once("T", ['T = TypeVar("T")'])
    return T('''
        def chunked(items: Sequence[T], size: int = ${n}) -> Iterator[List[T]]:
            """Yield successive chunks of `items`."""
            if size <= 0:
                raise ValueError("size must be positive")
            for start in range(0, len(items), size):
                yield list(items[start:start + size])
        ''', n=x.rng.choice([10, 25, 100, 250]))


def b_parse_json(c: Code, x: Ctx) -> List[str]:
    c.imp("json")
    c.imp("re")
    c.imp("typing", "Any", "Dict")
    const = f"_{x.noun.upper()}_KEY_RE"
    c.once(const, [f'{const} = re.compile(r"^[a-z][a-z0-9_]{{1,{x.n(20, 64)}}}$")'])
    return T('''
        def parse_${noun}_payload(raw: str) -> Dict[str, Any]:
            try:
                data = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ValueError(f"invalid ${noun} payload: {exc}") from exc
            if not isinstance(data, dict):
                raise TypeError("expected a JSON object")
            return {key: value for key, value in data.items() if ${const}.match(key)}
        ''', noun=x.noun, const=const)


def b_gather(c: Code, x: Ctx) -> List[str]:
    c.imp("asyncio")
    c.imp("time")
    c.imp("typing", "List", "Sequence")
    return T('''
        async def refresh_${plural}(ids: Sequence[int], concurrency: int = ${n}) -> List[dict]:
            """Refresh many ${plural} at once, at most `concurrency` at a time."""
            semaphore = asyncio.Semaphore(concurrency)

            async def one(item_id: int) -> dict:
                async with semaphore:
                    await asyncio.sleep(0)
                    return {"id": item_id, "refreshed_at": time.time()}

            return list(await asyncio.gather(*(one(i) for i in ids)))
        ''', plural=plural(x.noun), n=x.n(2, 16))


def b_timed(c: Code, x: Ctx) -> List[str]:
    c.logger()
    c.imp("contextlib", "contextmanager")
    c.imp("time")
    c.imp("typing", "Iterator")
    return T('''
        @contextmanager
        def timed(label: str, threshold: float = ${t}) -> Iterator[None]:
            start = time.perf_counter()
            try:
                yield
            finally:
                elapsed = time.perf_counter() - start
                if elapsed > threshold:
                    logger.warning("%s took %.3f s", label, elapsed)
        ''', t=x.rng.choice(["0.5", "1.0", "0.25", "2.0"]))


def b_counter(c: Code, x: Ctx) -> List[str]:
    c.imp("collections", "Counter")
    c.imp("typing", "Any", "Dict", "Iterable", "Mapping")
    return T('''
        def summarize_${plural}(items: Iterable[Mapping[str, Any]]) -> Dict[str, int]:
            counts = Counter(str(item.get("status", "unknown")) for item in items)
            total = sum(counts.values())
            return {"total": total, **{f"status_{key}": value for key, value in counts.most_common(${n})}}
        ''', plural=plural(x.noun), n=x.n(3, 10))


def b_errors(c: Code, x: Ctx) -> List[str]:
    base = camel(x.area) + "Error"
    c.once(base, T('''
        class ${base}(Exception):
            """Base error of the ${area} package."""
        ''', base=base, area=x.area))
    return T('''
        class ${Cls}${what}(${base}):
            def __init__(self, ${noun}_id: int, reason: str = "") -> None:
                super().__init__(f"${noun} {${noun}_id} ${msg}: {reason}".rstrip(": "))
                self.${noun}_id = ${noun}_id
                self.reason = reason
        ''', Cls=x.Cls, base=base, noun=x.noun, what=x.rng.choice(["NotFound", "Conflict", "Invalid", "Locked"]),
             msg=x.rng.choice(["not found", "is locked", "conflicts", "is invalid"]))


def b_load_files(c: Code, x: Ctx) -> List[str]:
    c.imp("json")
    c.imp("pathlib", "Path")
    c.imp("typing", "Any", "Dict", "List")
    return T('''
        def load_${noun}_fixtures(folder: Path, pattern: str = "*.json") -> List[Dict[str, Any]]:
            rows: List[Dict[str, Any]] = []
            for path in sorted(folder.glob(pattern)):
                with path.open(encoding="utf-8") as handle:
                    rows.extend(json.load(handle))
            return [row for row in rows if row.get("enabled", True)]
        ''', noun=x.noun)


def b_cached(c: Code, x: Ctx) -> List[str]:
    c.imp("functools", "lru_cache")
    kinds = x.rng.sample(["standard", "express", "bulk", "priority", "economy", "internal"], 3)
    weights = ", ".join(f'"{k}": {x.rng.randint(5, 30) / 10}' for k in kinds)
    return T('''
        _WEIGHTS = {${weights}}


        @lru_cache(maxsize=${n})
        def ${noun}_weight(kind: str, region: str = "eu") -> float:
            base = _WEIGHTS.get(kind, 1.0)
            return round(base * (1.2 if region == "us" else 1.0), 4)
        ''', weights=weights, n=x.rng.choice([128, 256, 1024]), noun=x.noun)


def b_constants(c: Code, x: Ctx) -> List[str]:
    up = x.noun.upper()
    fields = x.rng.sample(FIELDS, 4)
    return [f"DEFAULT_{up}_LIMIT = {x.rng.choice([20, 50, 100, 500])}",
            f"{up}_FIELDS = {tuple(['id'] + fields)!r}",
            f"{up}_RETRY_DELAYS = {tuple(sorted(x.rng.sample([1, 2, 5, 10, 30, 60], 3)))!r}"]


def b_money(c: Code, x: Ctx) -> List[str]:
    c.imp("decimal", "Decimal", "ROUND_HALF_UP")
    c.imp("typing", "Iterable")
    return T('''
        def total_${plural}(amounts: Iterable[Decimal], tax_rate: Decimal = Decimal("${rate}")) -> Decimal:
            subtotal = sum((Decimal(a) for a in amounts), Decimal("0"))
            tax = (subtotal * tax_rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
            return subtotal + tax
        ''', plural=plural(x.noun), rate=x.rng.choice(["0.19", "0.20", "0.07", "0.21"]))


def b_abc(c: Code, x: Ctx) -> List[str]:
    c.imp("abc", "ABC", "abstractmethod")
    c.imp("typing", "Any", "Dict", "List")
    return T('''
        class ${Cls}Handler(ABC):
            """One step of the ${area} pipeline."""

            name = "${noun}"

            @abstractmethod
            def handle(self, event: Dict[str, Any]) -> List[Dict[str, Any]]:
                raise NotImplementedError

            def can_handle(self, event: Dict[str, Any]) -> bool:
                return event.get("type", "").startswith(self.name)


        class Default${Cls}Handler(${Cls}Handler):
            def handle(self, event: Dict[str, Any]) -> List[Dict[str, Any]]:
                items = event.get("items") or []
                return [dict(item, handled_by=self.name) for item in items if item.get("id")]
        ''', Cls=x.Cls, area=x.area, noun=x.noun)


def b_uuid(c: Code, x: Ctx) -> List[str]:
    c.imp("hashlib")
    c.imp("uuid")
    return T('''
        def ${noun}_fingerprint(*parts: object) -> str:
            digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()
            return f"${prefix}_{digest[:${n}]}"


        def new_${noun}_reference() -> str:
            return f"${prefix}-{uuid.uuid4().hex[:12]}"
        ''', noun=x.noun, prefix=x.noun[:3], n=x.n(8, 20))


def b_itertools(c: Code, x: Ctx) -> List[str]:
    c.imp("itertools")
    c.imp("operator", "itemgetter")
    c.imp("typing", "Any", "Dict", "Iterable", "List", "Tuple")
    f = x.field()
    return T('''
        def pair_${plural}(rows: Iterable[Dict[str, Any]]) -> List[Tuple[Dict[str, Any], Dict[str, Any]]]:
            ordered = sorted(rows, key=itemgetter("${f}"))
            pairs = []
            for _, group in itertools.groupby(ordered, key=itemgetter("${f}")):
                members = list(group)
                pairs.extend(itertools.combinations(members[:${n}], 2))
            return pairs
        ''', plural=plural(x.noun), f=f, n=x.n(3, 8))


def b_requests_get(c: Code, x: Ctx) -> List[str]:
    c.imp("requests")
    c.imp("typing", "Dict")
    return T('''
        def fetch_${noun}_rates(base_url: str, timeout: float = ${t}) -> Dict[str, float]:
            response = requests.get(f"{base_url}/${plural}/rates", timeout=timeout)
            response.raise_for_status()
            return {row["code"]: float(row["rate"]) for row in response.json().get("rates", [])}
        ''', noun=x.noun, plural=plural(x.noun), t=x.rng.choice(["2.0", "5.0", "10.0"]))


def b_async_blocking(c: Code, x: Ctx) -> List[str]:
    """A real-world mistake ruff's ASYNC210 / ASYNC212 report."""
    if x.rng.random() < 0.5:
        c.imp("requests")
        return T('''
            async def notify_${noun}_changed(${noun}_id: int, hook_url: str) -> bool:
                response = requests.post(hook_url, json={"${noun}_id": ${noun}_id}, timeout=5)
                return response.ok
            ''', noun=x.noun)
    c.imp("httpx")
    return T('''
        async def ping_${noun}_backend(url: str) -> int:
            client = httpx.Client(timeout=3.0)
            response = client.get(url)
            return response.status_code
        ''', noun=x.noun)


GENERIC = [b_normalize, b_index, b_dataclass, b_enum, b_processor, b_chunked, b_parse_json,
           b_gather, b_timed, b_counter, b_errors, b_load_files, b_cached, b_constants,
           b_money, b_abc, b_uuid, b_itertools]


# -- category blocks ------------------------------------------------------------------------------
def b_schema(c: Code, x: Ctx) -> List[str]:
    c.imp("datetime", "datetime")
    c.imp("decimal", "Decimal")
    c.imp("typing", "List", "Optional")
    c.imp("pydantic", "BaseModel", "ConfigDict", "Field", "field_validator")
    noun = x.noun
    return T('''
        class ${Cls}Create(BaseModel):
            model_config = ConfigDict(str_strip_whitespace=True)

            ${f}: str = Field(min_length=1, max_length=${n})
            amount: Decimal = Field(default=Decimal("0"), ge=0)
            currency: str = Field(default="${cur}", pattern=r"^[A-Z]{3}$")
            tags: List[str] = Field(default_factory=list)
            note: Optional[str] = None

            @field_validator("tags")
            @classmethod
            def _dedupe_tags(cls, value: List[str]) -> List[str]:
                return sorted({tag.lower() for tag in value if tag})


        class ${Cls}Read(${Cls}Create):
            model_config = ConfigDict(from_attributes=True)

            id: int
            status: str = "pending"
            created_at: datetime
        ''', Cls=camel(noun), f=x.field("currency", "status"), n=x.rng.choice([64, 120, 255]), cur=x.rng.choice(["EUR", "USD", "GBP"]))


def b_schema_list(c: Code, x: Ctx) -> List[str]:
    c.imp("typing", "Generic", "List", "TypeVar")
    c.imp("pydantic", "BaseModel")
    c.once("ItemT", ['ItemT = TypeVar("ItemT")'])
    return T('''
        class Page(BaseModel, Generic[ItemT]):
            items: List[ItemT]
            total: int
            limit: int = ${n}
            offset: int = 0

            @property
            def has_more(self) -> bool:
                return self.offset + len(self.items) < self.total
        ''', n=x.rng.choice([20, 50, 100]))


def b_client(c: Code, x: Ctx) -> List[str]:
    partner = x.rng.choice(PARTNERS)
    if x.rng.random() < 0.55:
        c.imp("requests")
        c.imp("requests.adapters", "HTTPAdapter")
        c.imp("urllib3.util.retry", "Retry")
        c.imp("typing", "Any", "Dict", "Optional")
        c.logger()
        return T('''
            class ${P}Client:
                """A thin client for the ${partner} API (retries on 5xx)."""

                def __init__(self, base_url: str, token: str, timeout: float = ${t}) -> None:
                    self.base_url = base_url.rstrip("/")
                    self.timeout = timeout
                    self.session = requests.Session()
                    self.session.headers.update({"Authorization": f"Bearer {token}"})
                    retry = Retry(total=${r}, backoff_factor=0.5, status_forcelist=(502, 503, 504))
                    self.session.mount("https://", HTTPAdapter(max_retries=retry))

                def get_${noun}(self, ${noun}_id: str) -> Optional[Dict[str, Any]]:
                    response = self.session.get(f"{self.base_url}/${plural}/{${noun}_id}", timeout=self.timeout)
                    if response.status_code == 404:
                        return None
                    response.raise_for_status()
                    return response.json()

                def push_${noun}(self, payload: Dict[str, Any]) -> str:
                    response = self.session.post(f"{self.base_url}/${plural}", json=payload, timeout=self.timeout)
                    response.raise_for_status()
                    logger.info("pushed ${noun} to ${partner}: %s", response.status_code)
                    return response.json()["id"]
            ''', P=camel(partner), partner=partner, t=x.rng.choice(["5.0", "10.0", "3.0"]),
                 r=x.n(2, 5), noun=x.noun, plural=plural(x.noun))
    c.imp("httpx")
    c.imp("typing", "Any", "Dict", "List")
    return T('''
        class Async${P}Client:
            """Async client for the ${partner} API."""

            def __init__(self, base_url: str, api_key: str) -> None:
                self._client = httpx.AsyncClient(
                    base_url=base_url,
                    headers={"X-Api-Key": api_key},
                    timeout=httpx.Timeout(${t}, connect=2.0),
                )

            async def list_${plural}(self, since: str, limit: int = 100) -> List[Dict[str, Any]]:
                response = await self._client.get("/${plural}", params={"since": since, "limit": limit})
                response.raise_for_status()
                return [item for item in response.json()["data"] if not item.get("deleted")]

            async def aclose(self) -> None:
                await self._client.aclose()
        ''', P=camel(partner), partner=partner, t=x.rng.choice(["5.0", "10.0"]), plural=plural(x.noun))


def b_route_plain(c: Code, x: Ctx) -> List[str]:
    c.imp("fastapi", "APIRouter", "Depends", "HTTPException", "status")
    c.imp(f"{x.pkg}.core.security", "User", "get_current_user")
    c.imp("typing", "Any", "Dict")
    c.once("router", [f'router = APIRouter(prefix="/{plural(x.noun)}", tags=["{plural(x.noun)}"])'])
    verb = x.rng.choice(["summary", "preview", "quote", "status", "export", "stats"])
    c.imp(f"{x.pkg}.utils.cache", "AsyncCache")
    c.once(f"{verb}_cache", [f'{verb}_cache = AsyncCache(namespace="{verb}", ttl={x.rng.choice([30, 60, 300])})'])
    return T('''
        @router.get("/{${noun}_id}/${verb}")
        async def get_${noun}_${verb}(${noun}_id: int, user: User = Depends(get_current_user)) -> Dict[str, Any]:
            if not user.can_read("${noun}"):
                raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail="forbidden")
            data = await ${verb}_cache.get(${noun}_id)
            if data is None:
                raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="${noun} not found")
            return {"id": ${noun}_id, "${verb}": data}
        ''', noun=x.noun, verb=verb)


def b_task(c: Code, x: Ctx) -> List[str]:
    c.imp("celery", "shared_task")
    c.logger()
    return T('''
        @shared_task(bind=True, max_retries=${r}, default_retry_delay=${d})
        def ${what}_${plural}(self, batch_id: str) -> int:
            """Background job: ${what} the ${plural} of one batch."""
            try:
                count = _${what}_batch(batch_id)
            except ConnectionError as exc:
                raise self.retry(exc=exc)
            logger.info("batch %s: %d ${plural}", batch_id, count)
            return count


        def _${what}_batch(batch_id: str) -> int:
            return sum(1 for part in batch_id.split("-") if part)
        ''', r=x.n(2, 6), d=x.rng.choice([10, 30, 60]), what=x.rng.choice(["sync", "export", "expire", "reindex", "archive"]),
             plural=plural(x.noun))


def b_test(c: Code, x: Ctx) -> List[str]:
    c.imp("pytest")
    n = x.noun
    if x.rng.random() < 0.5:
        c.imp(f"{x.pkg}.domain.{x.area}.{n}_transforms", f"normalize_{n}_records")
        return T('''
            @pytest.mark.parametrize(
                "raw, expected",
                [("A", "a"), (" b ", "b"), ("${up}", "${low}"), ("", None)],
            )
            def test_normalize_${noun}_${k}(raw, expected):
                result = normalize_${noun}_records([{"${f}": raw}])
                assert (result[0]["${f}"] if result else None) == expected
            ''', noun=n, up=n.upper(), low=n, f="name", k=x.n(1, 999))
    c.imp(f"{x.pkg}.domain.{x.area}.{n}_workflow", f"{x.Cls}Processor")
    return T('''
        def test_${noun}_processor_counts_active_items_${k}():
            processor = ${Cls}Processor(batch_size=${b})
            items = [{"active": i % ${m} == 0} for i in range(${total})]
            assert processor.process(items) == len([i for i in range(${total}) if i % ${m} == 0])


        def test_${noun}_processor_dry_run_${k}(caplog):
            processor = ${Cls}Processor(dry_run=True)
            assert processor.process([{"active": True}]) == 0
        ''', noun=n, Cls=x.Cls, b=x.n(1, 5), m=x.n(2, 4), total=x.n(5, 40), k=x.n(1, 999))


def b_fixture(c: Code, x: Ctx) -> List[str]:
    c.imp("pytest")
    c.imp("datetime", "datetime", "timezone")
    return T('''
        @pytest.fixture
        def ${noun}_rows():
            now = datetime(2024, ${m}, ${d}, tzinfo=timezone.utc)
            return [
                {"id": i, "name": f"${noun}-{i}", "status": "active" if i % 2 else "closed", "created_at": now}
                for i in range(1, ${n})
            ]
        ''', noun=x.noun, m=x.n(1, 12), d=x.n(1, 28), n=x.n(5, 30))


# -- SQLAlchemy blocks -----------------------------------------------------------------------------
def b_model(c: Code, x: Ctx, noun: str) -> List[str]:
    c.imp("datetime", "datetime")
    c.imp("decimal", "Decimal")
    c.imp("typing", "List", "Optional")
    c.imp("sqlalchemy", "DateTime", "ForeignKey", "Numeric", "String", "Text", "UniqueConstraint", "func")
    c.imp("sqlalchemy.orm", "Mapped", "mapped_column", "relationship")
    c.imp(".base", "Base")
    Cls, f, table = camel(noun), x.field("status", "external_id"), plural(noun)
    lines = T('''
        class ${Cls}(Base):
            """A ${label} row."""

            __tablename__ = "${table}"
            __table_args__ = (UniqueConstraint("tenant_id", "${f}", name="uq_${table}_tenant_${f}"),)

            id: Mapped[int] = mapped_column(primary_key=True)
            tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
            ${f}: Mapped[str] = mapped_column(String(${n}))
            status: Mapped[str] = mapped_column(String(32), default="pending", index=True)
            amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))
            external_id: Mapped[Optional[str]] = mapped_column(String(64), unique=True)
            notes: Mapped[Optional[str]] = mapped_column(Text)
            created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
            updated_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True), onupdate=func.now())

            lines: Mapped[List["${Cls}Line"]] = relationship(back_populates="${noun}", cascade="all, delete-orphan")

            def __repr__(self) -> str:
                return f"<${Cls} id={self.id} status={self.status!r}>"

            @property
            def is_open(self) -> bool:
                return self.status in ("pending", "active")


        class ${Cls}Line(Base):
            __tablename__ = "${noun}_lines"

            id: Mapped[int] = mapped_column(primary_key=True)
            ${noun}_id: Mapped[int] = mapped_column(ForeignKey("${table}.id", ondelete="CASCADE"))
            sku: Mapped[str] = mapped_column(String(40))
            quantity: Mapped[int] = mapped_column(default=1)
            unit_price: Mapped[Decimal] = mapped_column(Numeric(12, 2))

            ${noun}: Mapped["${Cls}"] = relationship(back_populates="lines")

            @property
            def total(self) -> Decimal:
                return self.unit_price * self.quantity
        ''', Cls=Cls, label=noun.replace("_", " "), table=table, f=f, noun=noun, n=x.rng.choice([64, 120, 255]))
    return lines


def b_model_classmethod(c: Code, x: Ctx, noun: str) -> List[str]:
    """A query helper on the model module (some code bases keep them there)."""
    c.imp("typing", "Optional")
    c.imp("sqlalchemy", "select")
    c.imp("sqlalchemy.orm", "Session")
    Cls = camel(noun)
    return T('''
        def find_${noun}_by_external_id(session: Session, external_id: str) -> Optional[${Cls}]:
            return session.scalars(select(${Cls}).where(${Cls}.external_id == external_id)).first()
        ''', noun=noun, Cls=Cls)


def b_base(c: Code, x: Ctx) -> List[str]:
    c.imp("datetime", "datetime")
    c.imp("typing", "Any", "Dict")
    c.imp("sqlalchemy", "JSON", "DateTime", "MetaData")
    c.imp("sqlalchemy.orm", "DeclarativeBase")
    return T('''
        NAMING_CONVENTION = {
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }


        class Base(DeclarativeBase):
            """The declarative base of the ${service} models."""

            metadata = MetaData(naming_convention=NAMING_CONVENTION, schema="${schema}")
            type_annotation_map = {
                Dict[str, Any]: JSON,
                datetime: DateTime(timezone=True),
            }

            def to_dict(self) -> Dict[str, Any]:
                return {column.key: getattr(self, column.key) for column in self.__table__.columns}
        ''', service=x.service, schema=x.service)


# db modules: naive, tuned, partially tuned, NullPool, dict of options, sync
def db_variant(c: Code, x: Ctx, variant: str, stats: Dict[str, int]) -> List[str]:
    stats["engine calls"] += 1
    stats[f"engine calls: {variant}"] += 1
    c.imp("os")
    if variant == "sync naive":
        c.imp("typing", "Iterator")
        c.imp("sqlalchemy", "create_engine")
        c.imp("sqlalchemy.orm", "Session", "sessionmaker")
        return T('''
            DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql+psycopg://app:app@localhost:5432/${service}")

            engine = create_engine(DATABASE_URL, echo=os.environ.get("SQL_ECHO") == "1")
            SessionLocal = sessionmaker(bind=engine, autoflush=False, expire_on_commit=False)


            def get_session() -> Iterator[Session]:
                session = SessionLocal()
                try:
                    yield session
                finally:
                    session.close()
            ''', service=x.service)
    if variant == "sync tuned":
        c.imp("typing", "Iterator")
        c.imp("sqlalchemy", "create_engine")
        c.imp("sqlalchemy.orm", "Session", "sessionmaker")
        return T('''
            DATABASE_URL = os.environ["DATABASE_URL"]

            engine = create_engine(
                DATABASE_URL,
                pool_pre_ping=True,
                pool_recycle=${recycle},
                pool_size=${size},
                max_overflow=0,
                pool_timeout=${timeout},
            )
            SessionLocal = sessionmaker(bind=engine, autoflush=False, expire_on_commit=False)


            def get_session() -> Iterator[Session]:
                with SessionLocal() as session:
                    yield session
            ''', recycle=x.rng.choice([900, 1800, 3000]), size=x.rng.choice([5, 10, 20]),
                 timeout=x.rng.choice([5, 10]))
    c.imp("typing", "AsyncIterator")
    c.imp("sqlalchemy.ext.asyncio", "AsyncSession", "async_sessionmaker", "create_async_engine")
    head = {
        "async naive": T('''
            engine = create_async_engine(settings.database_url, echo=settings.debug)
            '''),
        "async tuned": T('''
            engine = create_async_engine(
                settings.database_url,
                pool_pre_ping=True,
                pool_recycle=${recycle},
                pool_size=${size},
                max_overflow=0,
                pool_timeout=${timeout},
            )
            ''', recycle=x.rng.choice([900, 1800, 3000]), size=x.rng.choice([5, 10, 20]),
                 timeout=x.rng.choice([5, 10])),
        "async partial": T('''
            POOL_SIZE = int(os.environ.get("DB_POOL_SIZE", "${size}"))

            engine = create_async_engine(
                settings.database_url,
                pool_pre_ping=True,
                pool_size=POOL_SIZE,
                max_overflow=${overflow},
            )
            ''', size=x.rng.choice([5, 10, 15]), overflow=x.rng.choice([5, 10, 20])),
        "async options": T('''
            POOL_OPTIONS = {
                "pool_pre_ping": True,
                "pool_recycle": ${recycle},
                "pool_size": ${size},
            }

            engine = create_async_engine(settings.database_url, **POOL_OPTIONS)
            ''', recycle=x.rng.choice([120, 1800, 7200]), size=x.rng.choice([5, 10])),
        "async nullpool": T('''
            # Behind PgBouncer in transaction mode: let the bouncer pool.
            engine = create_async_engine(settings.database_url, poolclass=NullPool)
            '''),
    }[variant]
    if variant == "async nullpool":
        c.imp("sqlalchemy.pool", "NullPool")
    c.imp(f"{x.pkg}.core.config", "settings")
    return head + T('''
        SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


        async def get_session() -> AsyncIterator[AsyncSession]:
            async with SessionLocal() as session:
                yield session
        ''')


def b_db_health(c: Code, x: Ctx) -> List[str]:
    c.imp("sqlalchemy", "text")
    if x.sync_db:
        return T('''
            def ping_database() -> bool:
                with engine.connect() as conn:
                    return conn.execute(text("select 1")).scalar_one() == 1


            def dispose_engine() -> None:
                engine.dispose()
            ''')
    return T('''
        async def ping_database() -> bool:
            async with engine.connect() as conn:
                result = await conn.execute(text("select 1"))
                return result.scalar_one() == 1


        async def dispose_engine() -> None:
            await engine.dispose()
        ''')


def db_imports(c: Code, x: Ctx) -> None:
    """A session-using module imports its service's factory and the model it touches."""
    c.imp(f"{x.pkg}.db", "SessionLocal")
    c.imp(f"{x.pkg}.models.{x.noun}", x.Cls)
    c.imp("sqlalchemy", "func", "select")


def b_repository(c: Code, x: Ctx) -> List[str]:
    c.imp(f"{x.pkg}.models.{x.noun}", x.Cls)
    c.imp("sqlalchemy", "select")
    c.imp("typing", "Optional", "Sequence")
    if x.sync_db:
        c.imp("sqlalchemy.orm", "Session")
        return T('''
            class ${Cls}Repository:
                def __init__(self, session: Session) -> None:
                    self.session = session

                def get(self, ${noun}_id: int) -> Optional[${Cls}]:
                    return self.session.get(${Cls}, ${noun}_id)

                def list_by_status(self, status: str, limit: int = ${n}) -> Sequence[${Cls}]:
                    stmt = select(${Cls}).where(${Cls}.status == status).order_by(${Cls}.created_at.desc()).limit(limit)
                    return self.session.scalars(stmt).all()

                def add(self, ${noun}: ${Cls}) -> ${Cls}:
                    self.session.add(${noun})
                    self.session.flush()
                    return ${noun}
            ''', Cls=x.Cls, noun=x.noun, n=x.rng.choice([20, 50, 100]))
    c.imp("sqlalchemy.ext.asyncio", "AsyncSession")
    return T('''
        class ${Cls}Repository:
            def __init__(self, session: AsyncSession) -> None:
                self.session = session

            async def get(self, ${noun}_id: int) -> Optional[${Cls}]:
                return await self.session.get(${Cls}, ${noun}_id)

            async def list_by_status(self, status: str, limit: int = ${n}) -> Sequence[${Cls}]:
                result = await self.session.execute(
                    select(${Cls}).where(${Cls}.status == status).order_by(${Cls}.created_at.desc()).limit(limit)
                )
                return result.scalars().all()

            async def add(self, ${noun}: ${Cls}) -> ${Cls}:
                self.session.add(${noun})
                await self.session.flush()
                return ${noun}
        ''', Cls=x.Cls, noun=x.noun, n=x.rng.choice([20, 50, 100]))


def b_session_query(c: Code, x: Ctx) -> List[str]:
    db_imports(c, x)
    if x.sync_db:
        return T('''
            def count_${plural}(tenant_id: int) -> int:
                with SessionLocal() as session:
                    stmt = select(func.count()).select_from(${Cls}).where(${Cls}.tenant_id == tenant_id)
                    return session.execute(stmt).scalar_one()
            ''', plural=plural(x.noun), Cls=x.Cls)
    return T('''
        async def count_${plural}(tenant_id: int) -> int:
            async with SessionLocal() as session:
                result = await session.execute(
                    select(func.count()).select_from(${Cls}).where(${Cls}.tenant_id == tenant_id)
                )
                return result.scalar_one()
        ''', plural=plural(x.noun), Cls=x.Cls)


def b_session_update(c: Code, x: Ctx) -> List[str]:
    db_imports(c, x)
    if x.sync_db:
        return T('''
            def close_${noun}(${noun}_id: int, reason: str) -> None:
                with SessionLocal.begin() as session:
                    ${noun} = session.get(${Cls}, ${noun}_id, with_for_update=True)
                    if ${noun} is None:
                        raise LookupError(f"${noun} {${noun}_id} not found")
                    ${noun}.status = "closed"
                    ${noun}.notes = reason
            ''', noun=x.noun, Cls=x.Cls)
    return T('''
        async def close_${noun}(${noun}_id: int, reason: str) -> None:
            async with SessionLocal() as session:
                async with session.begin():
                    ${noun} = await session.get(${Cls}, ${noun}_id, with_for_update=True)
                    if ${noun} is None:
                        raise LookupError(f"${noun} {${noun}_id} not found")
                    ${noun}.status = "closed"
                    ${noun}.notes = reason
        ''', noun=x.noun, Cls=x.Cls)


def b_session_batch(c: Code, x: Ctx) -> List[str]:
    db_imports(c, x)
    c.imp("typing", "Iterable")
    if x.sync_db:
        return T('''
            def archive_${plural}(ids: Iterable[int]) -> int:
                archived = 0
                with SessionLocal() as session:
                    for row in session.scalars(select(${Cls}).where(${Cls}.id.in_(list(ids)))):
                        row.status = "archived"
                        archived += 1
                    session.commit()
                return archived
            ''', plural=plural(x.noun), Cls=x.Cls)
    return T('''
        async def archive_${plural}(ids: Iterable[int]) -> int:
            archived = 0
            async with SessionLocal() as session:
                rows = await session.scalars(select(${Cls}).where(${Cls}.id.in_(list(ids))))
                for row in rows:
                    row.status = "archived"
                    archived += 1
                await session.commit()
            return archived
        ''', plural=plural(x.noun), Cls=x.Cls)


def route_db_prelude(c: Code, x: Ctx) -> None:
    c.imp("fastapi", "APIRouter", "Depends", "HTTPException", "Query")
    c.imp("typing", "List", "Optional")
    c.imp("sqlalchemy", "select")
    c.imp(f"{x.pkg}.models.{x.noun}", x.Cls)
    c.imp(f"{x.pkg}.schemas.{x.noun}", f"{x.Cls}Create", f"{x.Cls}Read")
    if x.sync_db:
        c.imp("sqlalchemy.orm", "Session")
    else:
        c.imp("sqlalchemy.ext.asyncio", "AsyncSession")
    c.imp("..db", "get_session")
    c.once("router", [f'router = APIRouter(prefix="/{plural(x.noun)}", tags=["{plural(x.noun)}"])'])


def b_route_list(c: Code, x: Ctx) -> List[str]:
    route_db_prelude(c, x)
    if x.sync_db:
        return T('''
            @router.get("/", response_model=List[${Cls}Read])
            def list_${plural}(
                status: Optional[str] = None,
                limit: int = Query(${n}, le=500),
                session: Session = Depends(get_session),
            ):
                stmt = select(${Cls}).order_by(${Cls}.id).limit(limit)
                if status is not None:
                    stmt = stmt.where(${Cls}.status == status)
                return session.scalars(stmt).all()
            ''', Cls=x.Cls, plural=plural(x.noun), n=x.rng.choice([20, 50]))
    return T('''
        @router.get("/", response_model=List[${Cls}Read])
        async def list_${plural}(
            status: Optional[str] = None,
            limit: int = Query(${n}, le=500),
            session: AsyncSession = Depends(get_session),
        ):
            stmt = select(${Cls}).order_by(${Cls}.id).limit(limit)
            if status is not None:
                stmt = stmt.where(${Cls}.status == status)
            result = await session.execute(stmt)
            return result.scalars().all()
        ''', Cls=x.Cls, plural=plural(x.noun), n=x.rng.choice([20, 50]))


def b_route_create(c: Code, x: Ctx) -> List[str]:
    route_db_prelude(c, x)
    if x.sync_db:
        return T('''
            @router.post("/", response_model=${Cls}Read, status_code=201)
            def create_${noun}(payload: ${Cls}Create, session: Session = Depends(get_session)):
                ${noun} = ${Cls}(**payload.model_dump(exclude={"tags"}))
                session.add(${noun})
                session.commit()
                session.refresh(${noun})
                return ${noun}
            ''', Cls=x.Cls, noun=x.noun)
    return T('''
        @router.post("/", response_model=${Cls}Read, status_code=201)
        async def create_${noun}(payload: ${Cls}Create, session: AsyncSession = Depends(get_session)):
            ${noun} = ${Cls}(**payload.model_dump(exclude={"tags"}))
            session.add(${noun})
            await session.commit()
            await session.refresh(${noun})
            return ${noun}
        ''', Cls=x.Cls, noun=x.noun)


def b_route_get(c: Code, x: Ctx) -> List[str]:
    route_db_prelude(c, x)
    if x.sync_db:
        return T('''
            @router.get("/{${noun}_id}", response_model=${Cls}Read)
            def get_${noun}(${noun}_id: int, session: Session = Depends(get_session)):
                ${noun} = session.get(${Cls}, ${noun}_id)
                if ${noun} is None:
                    raise HTTPException(status_code=404, detail="${noun} not found")
                return ${noun}
            ''', Cls=x.Cls, noun=x.noun)
    return T('''
        @router.get("/{${noun}_id}", response_model=${Cls}Read)
        async def get_${noun}(${noun}_id: int, session: AsyncSession = Depends(get_session)):
            ${noun} = await session.get(${Cls}, ${noun}_id)
            if ${noun} is None:
                raise HTTPException(status_code=404, detail="${noun} not found")
            return ${noun}
        ''', Cls=x.Cls, noun=x.noun)


def b_route_http(c: Code, x: Ctx) -> List[str]:
    """The pattern POL201 is about: an HTTP call between a query and the commit."""
    route_db_prelude(c, x)
    c.imp("httpx")
    c.imp(f"{x.pkg}.core.config", "settings")
    partner = x.rng.choice(PARTNERS)
    variant = x.rng.randrange(3)
    if x.sync_db:
        return T('''
            @router.post("/{${noun}_id}/sync")
            def sync_${noun}(${noun}_id: int, session: Session = Depends(get_session)):
                ${noun} = session.get(${Cls}, ${noun}_id)
                if ${noun} is None:
                    raise HTTPException(status_code=404, detail="${noun} not found")
                response = httpx.post(f"{settings.${partner}_url}/${plural}", json={"id": ${noun}.id}, timeout=10.0)
                response.raise_for_status()
                ${noun}.external_id = response.json()["id"]
                session.commit()
                return {"id": ${noun}.id, "external_id": ${noun}.external_id}
            ''', Cls=x.Cls, noun=x.noun, plural=plural(x.noun), partner=partner)
    if variant == 0:
        return T('''
            @router.post("/{${noun}_id}/sync")
            async def sync_${noun}(${noun}_id: int, session: AsyncSession = Depends(get_session)):
                ${noun} = await session.get(${Cls}, ${noun}_id)
                if ${noun} is None:
                    raise HTTPException(status_code=404, detail="${noun} not found")
                async with httpx.AsyncClient(base_url=settings.${partner}_url, timeout=10.0) as client:
                    response = await client.post("/${plural}", json={"id": ${noun}.id, "status": ${noun}.status})
                response.raise_for_status()
                ${noun}.external_id = response.json()["id"]
                await session.commit()
                return {"id": ${noun}.id, "external_id": ${noun}.external_id}
            ''', Cls=x.Cls, noun=x.noun, plural=plural(x.noun), partner=partner)
    if variant == 1:
        c.once("partner_client", [f"{partner}_client = httpx.AsyncClient(base_url=settings.{partner}_url, timeout=5.0)"])
        return T('''
            @router.post("/{${noun}_id}/confirm")
            async def confirm_${noun}(${noun}_id: int, session: AsyncSession = Depends(get_session)):
                result = await session.execute(select(${Cls}).where(${Cls}.id == ${noun}_id).with_for_update())
                ${noun} = result.scalar_one_or_none()
                if ${noun} is None:
                    raise HTTPException(status_code=404, detail="${noun} not found")
                check = await ${partner}_client.get(f"/checks/{${noun}.external_id}")
                ${noun}.status = "confirmed" if check.json().get("ok") else "rejected"
                await session.commit()
                return {"id": ${noun}.id, "status": ${noun}.status}
            ''', Cls=x.Cls, noun=x.noun, partner=partner)
    c.imp("..db", "SessionLocal")
    return T('''
        @router.post("/{${noun}_id}/refresh")
        async def refresh_${noun}(${noun}_id: int):
            async with SessionLocal() as session:
                ${noun} = await session.get(${Cls}, ${noun}_id)
                if ${noun} is None:
                    raise HTTPException(status_code=404, detail="${noun} not found")
                async with httpx.AsyncClient(timeout=8.0) as client:
                    response = await client.get(f"{settings.${partner}_url}/${plural}/{${noun}.external_id}")
                ${noun}.notes = response.text[:500]
                await session.commit()
            return {"id": ${noun}_id}
        ''', Cls=x.Cls, noun=x.noun, plural=plural(x.noun), partner=partner)


# -- file kinds ---------------------------------------------------------------------------------------
Block = Callable[[Code, Ctx], List[str]]
ONCE = {b_chunked, b_timed, b_cached, b_schema_list}  # blocks whose names do not depend on the noun

CATEGORY_BLOCKS: Dict[str, Tuple[List[Block], List[Block]]] = {
    # (blocks that define the module, generic filler drawn from)
    "domain": ([b_dataclass, b_processor, b_abc], GENERIC),
    "util": ([b_chunked, b_timed, b_uuid], GENERIC),
    "schema": ([b_schema, b_schema_list], [b_schema, b_enum, b_constants]),
    "client": ([b_client], [b_client, b_parse_json, b_requests_get, b_errors, b_constants, b_timed]),
    "route_plain": ([b_route_plain], [b_route_plain, b_constants, b_counter, b_parse_json]),
    "task": ([b_task], [b_task, b_chunked, b_timed, b_counter, b_normalize]),
    "test": ([b_fixture, b_test], [b_test, b_fixture]),
    "repository": ([b_repository], [b_session_query, b_session_batch, b_constants, b_normalize, b_counter]),
    "service_db": ([b_session_update, b_session_query], [b_session_update, b_session_batch, b_session_query,
                                                        b_processor, b_errors, b_money, b_normalize]),
    "route_db": ([b_route_list, b_route_get], [b_route_create, b_route_get, b_route_list, b_constants]),
    "route_http": ([b_route_list, b_route_http], [b_route_create, b_route_get, b_constants]),
}


def fill(code: Code, ctx: Ctx, target: Tuple[int, int], core: List[Block], filler: List[Block],
         max_lines: int) -> None:
    """Add the core blocks, then filler blocks until the module has about `want` lines. A
    block used again is about another noun, so no name is defined twice."""
    lo, want = target
    used = set()
    for block in core:
        code.add(block(code, ctx))
        used.add(block)
    guard = 0
    noun = ctx.noun
    nouns_used = {noun}
    while code.estimate() < want and guard < 60:
        guard += 1
        fresh = [b for b in filler if b not in used]
        block = ctx.rng.choice(fresh or [b for b in filler if b not in ONCE] or filler)
        if not fresh:
            pool = ctx.nouns if guard % 2 else NOUNS
            ctx.noun = ctx.rng.choice([n for n in pool if n not in nouns_used]
                                      or [n for n in NOUNS if n not in nouns_used] or NOUNS)
            ctx.Cls = camel(ctx.noun)
            nouns_used.add(ctx.noun)
        lines = block(code, ctx)
        if code.estimate() + len(lines) + 2 > max_lines and code.estimate() >= lo:
            break
        code.add(lines)
        used.add(block)
    ctx.noun, ctx.Cls = noun, camel(noun)


class Tree:
    def __init__(self, out: Path, seed: int, lines: Tuple[int, int]):
        self.out = out
        self.seed = seed
        self.lo, self.hi = lines
        self.files = 0
        self.lines = 0
        self.bytes = 0
        self.by_category: Dict[str, int] = {}
        self.stats: Dict[str, int] = _Counter()
        self.session_word_files = 0

    def rng_for(self, rel: str) -> random.Random:
        return random.Random(f"{self.seed}:{rel}")

    def write(self, rel: str, text: str, category: Optional[str]) -> None:
        path = self.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        data = text.encode("utf-8")
        with open(path, "wb") as handle:
            handle.write(data)
        if rel.endswith(".py"):
            self.files += 1
            self.lines += text.count("\n")
            self.bytes += len(data)
            self.by_category[category or "other"] = self.by_category.get(category or "other", 0) + 1
            if b"session" in data.lower() or b"Depends" in data:
                self.session_word_files += 1

    def target(self, rng: random.Random) -> Tuple[int, int]:
        return self.lo, rng.randint(self.lo, self.hi)


class _Counter(dict):
    def __missing__(self, key):
        return 0


# -- planning -----------------------------------------------------------------------------------------
def split_counts(total: int, weights: Sequence[Tuple[str, float]], rng: random.Random) -> Dict[str, int]:
    """Counts per category summing to `total` (stochastic rounding; the rest is "domain")."""
    counts: Dict[str, int] = {}
    left = total
    for name, weight in weights:
        exact = total * weight
        n = int(exact) + (1 if rng.random() < exact - int(exact) else 0)
        n = min(n, left)
        counts[name] = n
        left -= n
    counts["domain"] = left
    return counts


def package_layout(counts: Dict[str, int], rng: random.Random, nouns: List[str]) -> List[Tuple[str, str, str]]:
    """(relative module path inside the package, category, noun) for a package's modules. The
    database modules are about the modeled nouns (the first `counts["model"]` ones)."""
    out: List[Tuple[str, str, str]] = []
    modeled = nouns[:max(1, counts.get("model", 0))]
    used: Dict[str, None] = {}

    def unique(path: str) -> str:
        base, n = path[:-3], 2
        while path in used:
            path = f"{base}_{n}.py"
            n += 1
        used[path] = None
        return path

    folders = {"model": "models", "repository": "repositories", "service_db": "services",
               "route_db": "api", "route_http": "api", "route_plain": "api", "schema": "schemas",
               "client": "clients", "task": "tasks", "util": "utils"}
    stems = {"model": "{n}", "repository": "{n}_repository", "service_db": "{n}_service",
             "route_db": "{p}", "route_http": "{p}_sync", "route_plain": "{p}_views", "schema": "{n}",
             "client": "{partner}_client", "task": "{n}_jobs", "util": "{u}"}
    for cat in ("model", "repository", "service_db", "route_db", "route_http", "route_plain", "schema",
                "client", "task", "util"):
        for i in range(counts.get(cat, 0)):
            if cat in ("model", "schema"):
                noun = nouns[i % len(nouns)]
            elif cat in ("repository", "service_db", "route_db", "route_http"):
                noun = modeled[i % len(modeled)]
            else:
                noun = rng.choice(nouns)
            stem = stems[cat].format(n=noun, p=plural(noun), partner=rng.choice(PARTNERS),
                                     u=rng.choice(UTIL_NAMES))
            out.append((unique(f"{folders[cat]}/{stem}.py"), cat, noun))
    # domain: area sub-packages of up to 12 modules each
    left = counts.get("domain", 0)
    areas = list(AREAS)
    rng.shuffle(areas)
    a = 0
    while left > 0:
        area = areas[a % len(areas)] + ("" if a < len(areas) else f"_{a // len(areas) + 1}")
        a += 1
        size = min(left, rng.randint(6, 12))
        for _ in range(size):
            noun = rng.choice(nouns)
            out.append((unique(f"domain/{area}/{noun}_{rng.choice(KINDS)}.py"), "domain", noun))
        left -= size
    return out


def packages_of(paths: Sequence[str]) -> List[str]:
    """Package folders (relative to the package root, "" for the root itself)."""
    found: Dict[str, None] = {"": None}
    for path in paths:
        parts = path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            found["/".join(parts[:i])] = None
    return sorted(found)


# -- writers ----------------------------------------------------------------------------------------
def write_module(tree: Tree, rel: str, category: str, pkg: str, service: str, noun: str,
                 nouns: List[str], sync_db: bool, area: str) -> None:
    rng = tree.rng_for(rel)
    ctx = Ctx(rng, pkg, noun, area, service, sync_db, nouns)
    code = Code(rng, pkg, future=rng.random() < 0.3)
    target = tree.target(rng)
    if category == "model":
        code.add(b_model(code, ctx, noun))
        if rng.random() < 0.3:
            code.add(b_model_classmethod(code, ctx, noun))
        filler = [b_constants, b_enum]
        fill(code, ctx, target, [], filler, tree.hi)
        doc = f"The {noun.replace('_', ' ')} tables of the {service} service."
    else:
        core, filler = CATEGORY_BLOCKS[category]
        if category in ("route_http", "route_db"):
            core = list(core)
        fill(code, ctx, target, core, filler, tree.hi)
        doc = {
            "domain": f"{camel(area)}: {noun.replace('_', ' ')} logic of the {service} service.",
            "util": f"Small helpers shared by the {service} code ({noun.replace('_', ' ')} and friends).",
            "schema": f"Request and response schemas for {plural(noun).replace('_', ' ')}.",
            "client": "HTTP clients for the partner APIs this service talks to.",
            "route_plain": f"Read-only {noun.replace('_', ' ')} endpoints (served from the cache).",
            "task": f"Background jobs for {plural(noun).replace('_', ' ')}.",
            "test": f"Tests of the {noun.replace('_', ' ')} {area} code.",
            "repository": f"Data access for {plural(noun).replace('_', ' ')}.",
            "service_db": f"Use cases around {plural(noun).replace('_', ' ')}.",
            "route_db": f"CRUD endpoints for {plural(noun).replace('_', ' ')}.",
            "route_http": f"{camel(noun)} endpoints that talk to partner systems.",
        }[category]
    if category in SA_CATEGORIES and rng.random() < 0.08:
        code.add(b_async_blocking(code, ctx))  # the odd async mistake (ruff's ASYNC210/212)
    elif category in ("client", "domain", "util", "task") and rng.random() < 0.02:
        code.add(b_async_blocking(code, ctx))
    if category == "route_http":
        tree.stats["routes with an HTTP call between a query and the commit"] += 1
    tree.write(rel, code.render(doc), category)


def write_init(tree: Tree, rel: str, pkg_name: str, category: str = "init") -> None:
    rng = tree.rng_for(rel)
    lines = [f'"""{pkg_name.replace("_", " ").strip()}."""']
    if rng.random() < 0.3:
        lines += ["", f'__all__ = ["{rng.choice(NOUNS)}"]']
    tree.write(rel, "\n".join(lines) + "\n", category)


def write_db_module(tree: Tree, rel: str, pkg: str, service: str, sync_db: bool, variant: str) -> None:
    rng = tree.rng_for(rel)
    ctx = Ctx(rng, pkg, "engine", "database", service, sync_db)
    code = Code(rng, pkg, future=rng.random() < 0.5)
    code.add(db_variant(code, ctx, variant, tree.stats))
    code.add(b_db_health(code, ctx))
    if rng.random() < 0.5:
        code.add(b_timed(code, ctx))
    tree.write(rel, code.render(f"Database engine and sessions of the {service} service."), "db")


def write_config(tree: Tree, rel: str, service: str) -> None:
    rng = tree.rng_for(rel)
    partners = "\n".join(f'    {p}_url: str = "https://{p.replace("_", "-")}.internal.example.com"' for p in PARTNERS)
    text = T('''
        """Settings of the ${service} service, read from the environment."""
        from functools import lru_cache

        from pydantic import Field
        from pydantic_settings import BaseSettings, SettingsConfigDict


        class Settings(BaseSettings):
            model_config = SettingsConfigDict(env_prefix="${prefix}_", env_file=".env", extra="ignore")

            debug: bool = False
            database_url: str = "postgresql+asyncpg://app:app@localhost:5432/${service}"
            reporting_database_url: str = ""
            redis_url: str = "redis://localhost:6379/${redis}"
            request_timeout: float = Field(default=${timeout}, gt=0)
            page_size: int = ${page}
        ${partners}


        @lru_cache
        def get_settings() -> Settings:
            return Settings()


        settings = get_settings()
        ''', service=service, prefix=service.upper(), redis=rng.randint(0, 15),
             timeout=rng.choice(["10.0", "30.0"]), page=rng.choice([20, 50]), partners=partners)
    tree.write(rel, "\n".join(text) + "\n", "config")


def write_security(tree: Tree, rel: str, service: str) -> None:
    text = T('''
        """Authentication helpers: the current user from a bearer token."""
        from dataclasses import dataclass, field
        from typing import FrozenSet

        from fastapi import Header, HTTPException, status


        @dataclass(frozen=True)
        class User:
            id: int
            email: str
            scopes: FrozenSet[str] = field(default_factory=frozenset)

            def can_read(self, what: str) -> bool:
                return "admin" in self.scopes or f"{what}:read" in self.scopes


        async def get_current_user(authorization: str = Header(default="")) -> User:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token:
                raise HTTPException(status_code=status.HTTP_401_UNAUTHORIZED, detail="not authenticated")
            user_id, _, scopes = token.partition(":")
            if not user_id.isdigit():
                raise HTTPException(status_code=status.HTTP_401_UNAUTHORIZED, detail="bad token")
            return User(id=int(user_id), email=f"user{user_id}@${service}.example.com",
                        scopes=frozenset(s for s in scopes.split(",") if s))
        ''', service=service)
    tree.write(rel, "\n".join(text) + "\n", "config")


def write_main(tree: Tree, rel: str, service: str, routers: List[str]) -> None:
    imports = "\n".join(f"from .api import {r}" for r in routers[:8])
    includes = "\n".join(f"    app.include_router({r}.router)" for r in routers[:8])
    text = T('''
        """The ${service} ASGI application."""
        from contextlib import asynccontextmanager

        from fastapi import FastAPI

        from .db import dispose_engine
        ${imports}


        @asynccontextmanager
        async def lifespan(app: FastAPI):
            yield
            await dispose_engine()


        def create_app() -> FastAPI:
            app = FastAPI(title="${service}", lifespan=lifespan)
        ${includes}

            @app.get("/healthz")
            async def healthz() -> dict:
                return {"status": "ok"}

            return app


        app = create_app()
        ''', service=service, imports=imports, includes=includes)
    tree.write(rel, "\n".join(text) + "\n", "app")


def write_sync_main(tree: Tree, rel: str, service: str, routers: List[str]) -> None:
    text = T('''
        """The ${service} ASGI application (sync database access in a thread pool)."""
        from fastapi import FastAPI

        from .db import dispose_engine
        ${imports}

        app = FastAPI(title="${service}")
        ${includes}


        @app.on_event("shutdown")
        def shutdown() -> None:
            dispose_engine()
        ''', service=service, imports="\n".join(f"from .api import {r}" for r in routers[:8]),
             includes="\n".join(f"app.include_router({r}.router)" for r in routers[:8]))
    tree.write(rel, "\n".join(text) + "\n", "app")


def write_conftest(tree: Tree, rel: str, pkg: str, sync_db: bool) -> None:
    tree.stats["engine calls"] += 1
    tree.stats["engine calls: test sqlite"] += 1
    if sync_db:
        text = T('''
            """Test fixtures: an in-memory database per test."""
            import pytest
            from sqlalchemy import create_engine
            from sqlalchemy.orm import Session

            from ${pkg}.models.base import Base


            @pytest.fixture
            def session():
                engine = create_engine("sqlite://")
                Base.metadata.create_all(engine)
                with Session(engine) as session:
                    yield session
                engine.dispose()
            ''', pkg=pkg)
    else:
        text = T('''
            """Test fixtures: an in-memory database per test."""
            import pytest
            import pytest_asyncio
            from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

            from ${pkg}.models.base import Base


            @pytest_asyncio.fixture
            async def session():
                engine = create_async_engine("sqlite+aiosqlite://")
                async with engine.begin() as conn:
                    await conn.run_sync(Base.metadata.create_all)
                async with AsyncSession(engine, expire_on_commit=False) as session:
                    yield session
                await engine.dispose()


            @pytest.fixture
            def anyio_backend():
                return "asyncio"
            ''', pkg=pkg)
    tree.write(rel, "\n".join(text) + "\n", "db")


def write_alembic_env(tree: Tree, rel: str, pkg: str) -> None:
    tree.stats["engine calls"] += 1
    tree.stats["engine calls: alembic"] += 1
    text = T('''
        """Alembic environment."""
        from logging.config import fileConfig

        from alembic import context
        from sqlalchemy import engine_from_config, pool

        from ${pkg}.models.base import Base

        config = context.config
        if config.config_file_name is not None:
            fileConfig(config.config_file_name)
        target_metadata = Base.metadata


        def run_migrations_offline() -> None:
            context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                              literal_binds=True)
            with context.begin_transaction():
                context.run_migrations()


        def run_migrations_online() -> None:
            connectable = engine_from_config(
                config.get_section(config.config_ini_section, {}),
                prefix="sqlalchemy.",
                poolclass=pool.NullPool,
            )
            with connectable.connect() as connection:
                context.configure(connection=connection, target_metadata=target_metadata)
                with context.begin_transaction():
                    context.run_migrations()


        if context.is_offline_mode():
            run_migrations_offline()
        else:
            run_migrations_online()
        ''', pkg=pkg)
    tree.write(rel, "\n".join(text) + "\n", "db")


def write_script(tree: Tree, rel: str, noun: str, with_engine: bool) -> None:
    rng = tree.rng_for(rel)
    code = Code(rng, "scripts", future=False)
    ctx = Ctx(rng, "scripts", noun, "ops", "ops")
    if with_engine:
        tree.stats["engine calls"] += 1
        tree.stats["engine calls: script"] += 1
        code.imp("os")
        code.imp("sys")
        code.imp("sqlalchemy", "create_engine", "text")
        code.add(T('''
            def main(argv=None) -> int:
                engine = create_engine(os.environ["DATABASE_URL"])
                with engine.begin() as conn:
                    count = conn.execute(text("update ${table} set status = 'archived' where created_at < now() - interval '${days} days'")).rowcount
                print(f"archived {count} rows")
                return 0


            if __name__ == "__main__":
                sys.exit(main(sys.argv[1:]))
            ''', table=plural(noun), days=rng.choice([30, 90, 365])))
    fill(code, ctx, tree.target(rng), [], [b_load_files, b_normalize, b_counter, b_timed], tree.hi)
    tree.write(rel, code.render(f"Operational script: {noun.replace('_', ' ')} maintenance."),
               "db" if with_engine else "script")


# -- the tree -------------------------------------------------------------------------------------------
DB_VARIANTS_ASYNC = ["async naive", "async naive", "async tuned", "async partial", "async options", "async nullpool"]
DB_VARIANTS_SYNC = ["sync naive", "sync naive", "sync tuned"]
EXTRA_DB_FOLDERS = ["reporting", "workers", "analytics", "admin"]


def generate(out: Path, files: int, seed: int, lines: Tuple[int, int]) -> Tree:
    rng = random.Random(seed)
    tree = Tree(out, seed, lines)
    n_services = max(1, round(files / 230))
    n_libs = max(1, round(files * 0.1 / 120)) if files >= 400 else 0
    n_scripts = max(1, files // 500)
    lib_budget = round(files * 0.1) if n_libs else 0
    service_budget = files - lib_budget - n_scripts
    service_sizes = _split(service_budget, n_services, rng)
    lib_sizes = _split(lib_budget, n_libs, rng) if n_libs else []

    (out / "pyproject.toml").write_text(textwrap.dedent('''\
        # A synthetic monorepo written by pool-lint's benchmarks/generate.py.
        [project]
        name = "bench-monorepo"
        version = "0.0.0"
        requires-python = ">=3.9"

        [tool.pool-lint]
        request-timeout = 30
        '''), encoding="utf-8")
    (out / "README.md").write_text(
        f"Synthetic code base for pool-lint's speed benchmark (seed {seed}, {files} Python files).\n",
        encoding="utf-8")

    for s in range(n_services):
        base = SERVICES[s % len(SERVICES)]
        service = base if s < len(SERVICES) else f"{base}_{s // len(SERVICES) + 1}"
        _service(tree, rng, service, service_sizes[s])
    for i in range(n_libs):
        base = LIBS[i % len(LIBS)]
        lib = base if i < len(LIBS) else f"{base}{i // len(LIBS) + 1}"
        _library(tree, rng, lib, lib_sizes[i])
    for i in range(n_scripts):
        noun = rng.choice(NOUNS)
        write_script(tree, f"scripts/{noun}_maintenance_{i + 1}.py", noun, with_engine=(i % 2 == 0))
    (out / MARKER).write_text(f"seed={seed} files={files} lines={lines[0]}-{lines[1]}\n", encoding="utf-8")
    return tree


def _split(total: int, parts: int, rng: random.Random) -> List[int]:
    weights = [rng.uniform(0.6, 1.4) for _ in range(parts)]
    scale = total / sum(weights)
    sizes = [int(w * scale) for w in weights]
    for i in range(total - sum(sizes)):
        sizes[i % parts] += 1
    return sizes


def _service(tree: Tree, rng: random.Random, service: str, budget: int) -> None:
    pkg = "app" if rng.random() < 0.5 else f"{service}_service"
    sync_db = rng.random() < 0.25
    root = f"services/{service}"
    nouns = [n + s for n in rng.sample(NOUNS, 8) for s in SUFFIXES]
    rng.shuffle(nouns)
    # Fixed files: main, config, security, db.py (+ extra db modules), models/base, conftest, alembic env.
    extra_db = rng.sample(EXTRA_DB_FOLDERS, rng.choice([0, 1, 1, 2, 3]))
    fixed = ["main.py", "core/config.py", "core/security.py", "db.py", "models/base.py"]
    fixed += [f"{folder}/db.py" for folder in extra_db]
    outside = ["tests/conftest.py"] + (["migrations/env.py"] if rng.random() < 0.4 else [])
    variable = max(0, budget - len(fixed) - len(outside))
    counts = split_counts(variable, SERVICE_WEIGHTS, rng)
    n_tests = counts.pop("test")
    if counts["route_db"] + counts["route_http"] + counts["repository"] + counts["service_db"] and not counts["model"]:
        counts["model"], counts["domain"] = 1, max(0, counts["domain"] - 1)
    # Shrink "domain" until modules + __init__ files fit the budget.
    while True:
        layout = package_layout(counts, random.Random(f"{tree.seed}:{service}:layout"), nouns)
        paths = fixed + [p for p, _, _ in layout]
        inits = len(packages_of(paths))
        over = len(paths) + inits + len(outside) + n_tests - budget
        if over <= 0 or counts["domain"] == 0:
            break
        cut = min(over, counts["domain"])
        counts["domain"] -= cut
    if over < 0:
        n_tests += -over
    pkg_root = f"{root}/{pkg}"
    for folder in packages_of(paths):
        rel = f"{pkg_root}/{folder}/__init__.py" if folder else f"{pkg_root}/__init__.py"
        write_init(tree, rel, folder.split("/")[-1] if folder else service)
    variants = DB_VARIANTS_SYNC if sync_db else DB_VARIANTS_ASYNC
    write_db_module(tree, f"{pkg_root}/db.py", pkg, service, sync_db, rng.choice(variants))
    for folder in extra_db:
        write_db_module(tree, f"{pkg_root}/{folder}/db.py", pkg, service, sync_db, rng.choice(variants))
    write_config(tree, f"{pkg_root}/core/config.py", service)
    write_security(tree, f"{pkg_root}/core/security.py", service)
    b = Code(random.Random(0), pkg, future=False)
    b.add(b_base(b, Ctx(random.Random(0), pkg, "base", "models", service)))
    tree.write(f"{pkg_root}/models/base.py", b.render(f"Declarative base of the {service} models."), "model")
    routers = []
    for path, cat, noun in layout:
        rel = f"{pkg_root}/{path}"
        area = path.split("/")[1] if cat == "domain" else path.split("/")[0]
        write_module(tree, rel, cat, pkg, service, noun, nouns, sync_db, area)
        if path.startswith("api/"):
            routers.append(path[4:-3])
    (write_sync_main if sync_db else write_main)(tree, f"{pkg_root}/main.py", service, routers)
    write_conftest(tree, f"{root}/tests/conftest.py", pkg, sync_db)
    if "migrations/env.py" in outside:
        write_alembic_env(tree, f"{root}/migrations/env.py", pkg)
    for i in range(n_tests):
        noun = rng.choice(nouns)
        write_module(tree, f"{root}/tests/test_{noun}_{rng.choice(KINDS)}_{i + 1}.py", "test", pkg,
                     service, noun, nouns, sync_db, rng.choice(AREAS))
    procfile = f"web: uvicorn {pkg}.main:app --host 0.0.0.0 --port ${{PORT:-8000}} --workers {rng.choice([2, 4, 8])}\n"
    if rng.random() < 0.4:
        procfile += f"worker: celery -A {pkg}.tasks worker --concurrency 4\n"
    (tree.out / root).mkdir(parents=True, exist_ok=True)
    (tree.out / root / "Procfile").write_text(procfile, encoding="utf-8")


def _library(tree: Tree, rng: random.Random, lib: str, budget: int) -> None:
    nouns = rng.sample(NOUNS, 10)
    root = f"libs/{lib}"
    variable = budget
    counts = split_counts(variable, LIB_WEIGHTS, rng)
    n_tests = counts.pop("test")
    while True:
        layout = package_layout(counts, random.Random(f"{tree.seed}:{lib}:layout"), nouns)
        paths = [p for p, _, _ in layout]
        inits = len(packages_of(paths))
        over = len(paths) + inits + n_tests - budget
        if over <= 0 or counts["domain"] == 0:
            break
        counts["domain"] -= min(over, counts["domain"])
    if over < 0:
        n_tests += -over
    for folder in packages_of(paths):
        rel = f"{root}/{lib}/{folder}/__init__.py" if folder else f"{root}/{lib}/__init__.py"
        write_init(tree, rel, folder.split("/")[-1] if folder else lib)
    for path, cat, noun in layout:
        rel = f"{root}/{lib}/{path}"
        area = path.split("/")[1] if cat == "domain" else path.split("/")[0]
        write_module(tree, rel, cat, lib, lib, noun, nouns, False, area)
    for i in range(n_tests):
        noun = rng.choice(nouns)
        write_module(tree, f"{root}/tests/test_{noun}_{i + 1}.py", "test", lib, lib, noun, nouns, False,
                     rng.choice(AREAS))


# -- command line ----------------------------------------------------------------------------------------
def parse_lines(value: str) -> Tuple[int, int]:
    try:
        if "-" in value:
            lo, hi = (int(v) for v in value.split("-", 1))
        else:
            lo = hi = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N or MIN-MAX, got {value!r}") from None
    if lo < 10 or hi < lo:
        raise argparse.ArgumentTypeError(f"expected 10 <= MIN <= MAX, got {value!r}")
    return lo, hi


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", metavar="OUT_DIR", type=Path)
    parser.add_argument("--files", type=int, default=10000, help="Python files to write (default 10000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--lines-per-file", type=parse_lines, default=(50, 150), metavar="MIN-MAX",
                        help="lines of an ordinary module: N or MIN-MAX (default 50-150); "
                             "package __init__ files and a few fixed modules are shorter")
    args = parser.parse_args(argv)
    if args.files < 50:
        parser.error("--files must be at least 50")
    out: Path = args.out_dir
    if out.exists() and any(out.iterdir()):
        if not (out / MARKER).exists():
            parser.error(f"{out} exists and was not written by this script; choose an empty or new folder")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)

    tree = generate(out, args.files, args.seed, args.lines_per_file)

    sa = sum(tree.by_category.get(c, 0) for c in SA_CATEGORIES)
    print(f"wrote {out}")
    print(f"  files (.py): {tree.files}")
    print(f"  lines:       {tree.lines}  (mean {tree.lines / max(1, tree.files):.0f} per file)")
    print(f"  bytes:       {tree.bytes}  ({tree.bytes / 1e6:.1f} MB)")
    print(f"  SQLAlchemy modules: {sa} ({100 * sa / max(1, tree.files):.1f}%)")
    labels = {"model": "models (DeclarativeBase / Mapped)", "db": "engine modules (db.py, conftest, alembic, scripts)",
              "repository": "repositories (sessions)", "service_db": "services (sessions)",
              "route_db": "routes with Depends(get_session)",
              "route_http": "routes with an HTTP call between a query and the commit"}
    for cat in SA_CATEGORIES:
        n = tree.by_category.get(cat, 0)
        print(f"    {labels[cat]:<58} {n:>6} ({100 * n / max(1, tree.files):.1f}%)")
    print(f"  engine factory calls: {tree.stats['engine calls']}")
    for key in sorted(k for k in tree.stats if k.startswith("engine calls: ")):
        print(f"    {key[len('engine calls: '):]:<20} {tree.stats[key]:>5}")
    other = {k: v for k, v in sorted(tree.by_category.items()) if k not in SA_CATEGORIES}
    print("  other modules: " + ", ".join(f"{k} {v}" for k, v in other.items()))
    print(f"  files mentioning 'session' or 'Depends' (any library): {tree.session_word_files}")
    services = len(list((out / "services").iterdir())) if (out / "services").exists() else 0
    print(f"  services (each with a Procfile): {services}; project root: {out / 'pyproject.toml'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
