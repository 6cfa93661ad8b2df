"""`coopol demo`: the example parties of `instances/` running side by side on 127.0.0.1, allied and seeded.

Everything goes through the documented contracts (the `coopol` command line and the JSON API), so the
demo exercises what an admin or a script would use. Each instance runs two children (`run` and
`worker`), each in its own process group; the demo stops every group when it gets Ctrl-C, SIGTERM or
SIGHUP, and the children also get SIGTERM if the demo itself dies (Linux `PR_SET_PDEATHSIG`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

import click
import requests

from coopol.cli import register_command

SEED_FILE = "seed.toml"
DEMO_PASSWORD = "federate-with-allies"
READY_LINE = "Coopol demo ready"
LANGUAGES = ("en", "fr", "es", "de")
ROLES = ("member", "moderator", "admin")
HANDLE_RE = re.compile(r"^[a-z0-9_]{3,30}$")
TAG_RE = re.compile(r"^[\w-]{1,40}$")  # what the ideas API accepts (we also ask for lowercase)
STANCES = ("for", "against", "neutral")
ANSWER_STATES = ("evaluating", "accepted", "rejected")
# What the demo sets per instance; inherited values would point every instance at the same place.
PER_INSTANCE_ENV = ("COOPOL_INSTANCE", "COOPOL_URL", "COOPOL_NAME", "COOPOL_LANGUAGE", "COOPOL_DESCRIPTION",
                    "COOPOL_SCOPES", "DATABASE_URL")
# `python -m coopol.cli` would load the CLI twice (as __main__ and as coopol.cli) and lose the commands
# that feature packages register on coopol.cli, so children run the console entry point this way.
COOPOL = [sys.executable, "-c", "import sys; from coopol.cli import main; sys.exit(main())"]
START_TIMEOUT = 120.0
STOP_TIMEOUT = 10.0
ALLY_TIMEOUT = 30.0
COPY_TIMEOUT = 30.0
SETTLE_TIMEOUT = 60.0
HTTP_TIMEOUT = 10.0


class SeedError(ValueError):
    """A seed file that cannot be used, with a message that says where and why."""


class DemoError(click.ClickException):
    """A one-line reason the demo cannot go on (exit status 1)."""


# --- Seed files -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberSeed:
    handle: str
    name: str
    role: str
    email: str


@dataclass(frozen=True)
class CommentSeed:
    key: str
    author: str
    stance: str
    body: str
    reply_to: str | None = None
    up: tuple[str, ...] = ()
    down: tuple[str, ...] = ()


@dataclass(frozen=True)
class AnswerSeed:
    by: str
    state: str
    text: str


@dataclass(frozen=True)
class IdeaSeed:
    key: str
    author: str
    title: str
    body: str
    tags: tuple[str, ...]
    scope: str | None
    support: tuple[str, ...] = ()
    oppose: tuple[str, ...] = ()
    comments: tuple[CommentSeed, ...] = ()
    answer: AnswerSeed | None = None


@dataclass(frozen=True)
class RemoteSeed:
    """A member's vote and/or comment, from home, on an idea of another example party."""

    party: str  # the other party's folder name
    idea: str  # the idea's key in that party's seed file
    author: str
    vote: str | None
    stance: str
    body: str | None


@dataclass(frozen=True)
class InstanceSeed:
    folder: Path
    name: str
    description: str
    language: str
    port_offset: int
    scopes: tuple[dict[str, str], ...]
    members: tuple[MemberSeed, ...]
    ideas: tuple[IdeaSeed, ...]
    remote: tuple[RemoteSeed, ...] = ()

    @property
    def slug(self) -> str:
        return self.folder.name

    @property
    def admin(self) -> MemberSeed:
        return next(m for m in self.members if m.role == "admin")


def _require(table: dict[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in table:
        raise SeedError(f"{where}: '{key}' is missing")
    value = table[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise SeedError(f"{where}: '{key}' must be a {kind.__name__}")
    if isinstance(value, str) and not value.strip():
        raise SeedError(f"{where}: '{key}' must not be empty")
    return value


def _handles(table: dict[str, Any], key: str, members: set[str], where: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SeedError(f"{where}: '{key}' must be a list of member handles")
    for handle in value:
        if handle not in members:
            raise SeedError(f"{where}: '{key}' names '{handle}', who is not a seed member")
    if len(set(value)) != len(value):
        raise SeedError(f"{where}: '{key}' names someone twice")
    return tuple(value)


def load_seed(folder: Path) -> InstanceSeed:
    """Read and check `folder/seed.toml`; every problem is a SeedError naming the file and the entry."""
    path = folder / SEED_FILE
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise SeedError(f"{path}: not found") from None
    except tomllib.TOMLDecodeError as error:
        raise SeedError(f"{path}: not valid TOML ({error})") from None
    where = str(path)
    name = _require(data, "name", str, where)
    description = _require(data, "description", str, where)
    language = _require(data, "language", str, where)
    if language not in LANGUAGES:
        raise SeedError(f"{where}: language '{language}' is not one of {', '.join(LANGUAGES)}")
    port_offset = _require(data, "port_offset", int, where)
    if not 0 <= port_offset < 100:
        raise SeedError(f"{where}: port_offset must be between 0 and 99")

    scopes: list[dict[str, str]] = []
    for index, entry in enumerate(_require(data, "scopes", list, where)):
        here = f"{where}: scopes[{index}]"
        if not isinstance(entry, dict):
            raise SeedError(f"{here} must be a table {{code, name, parent}}")
        scope = {"code": _require(entry, "code", str, here), "name": _require(entry, "name", str, here)}
        if entry.get("parent") is not None:
            scope["parent"] = _require(entry, "parent", str, here)
        scopes.append(scope)
    codes = [s["code"] for s in scopes]
    if len(set(codes)) != len(codes):
        raise SeedError(f"{where}: a scope code appears twice")
    for scope in scopes:
        if scope.get("parent") is not None and scope["parent"] not in codes:
            raise SeedError(f"{where}: scope '{scope['code']}' has an unknown parent '{scope['parent']}'")

    members: list[MemberSeed] = []
    for index, entry in enumerate(_require(data, "members", list, where)):
        here = f"{where}: members[{index}]"
        handle = _require(entry, "handle", str, here)
        if not HANDLE_RE.match(handle):
            raise SeedError(f"{here}: handle '{handle}' must be 3 to 30 lowercase letters, digits or "
                            "underscores")
        role = entry.get("role", "member")
        if role not in ROLES:
            raise SeedError(f"{here}: role '{role}' is not one of {', '.join(ROLES)}")
        members.append(MemberSeed(handle, _require(entry, "name", str, here), role,
                                  f"{handle}@{folder.name}.example"))
    handles = {m.handle for m in members}
    if len(handles) != len(members):
        raise SeedError(f"{where}: a member handle appears twice")
    if not any(m.role == "admin" for m in members):
        raise SeedError(f"{where}: no member has role 'admin' (the demo needs one to ally the instance)")

    ideas: list[IdeaSeed] = []
    for index, entry in enumerate(data.get("ideas", [])):
        here = f"{where}: ideas[{index}]"
        key = _require(entry, "key", str, here)
        here = f"{where}: idea '{key}'"
        author = _require(entry, "author", str, here)
        if author not in handles:
            raise SeedError(f"{here}: author '{author}' is not a seed member")
        title = _require(entry, "title", str, here)
        if not 3 <= len(title) <= 200:
            raise SeedError(f"{here}: the title must have 3 to 200 characters")
        tags = entry.get("tags", [])
        if not isinstance(tags, list) or len(tags) > 10 \
                or not all(isinstance(t, str) and TAG_RE.match(t) and t == t.lower() for t in tags):
            raise SeedError(f"{here}: 'tags' must be a list of at most 10 lowercase words (letters, digits "
                            "and dashes, at most 40 characters each)")
        scope = entry.get("scope")
        if scope is not None and scope not in codes:
            raise SeedError(f"{here}: scope '{scope}' is not one of the instance's scopes")
        support = _handles(entry, "support", handles, here)
        oppose = _handles(entry, "oppose", handles, here)
        if set(support) & set(oppose):
            raise SeedError(f"{here}: someone both supports and opposes")
        comments: list[CommentSeed] = []
        comment_keys: set[str] = set()
        for c_index, c_entry in enumerate(entry.get("comments", [])):
            c_here = f"{here}: comments[{c_index}]"
            c_key = str(c_entry.get("key") or f"#{c_index}")
            c_author = _require(c_entry, "author", str, c_here)
            if c_author not in handles:
                raise SeedError(f"{c_here}: author '{c_author}' is not a seed member")
            stance = c_entry.get("stance", "neutral")
            if stance not in STANCES:
                raise SeedError(f"{c_here}: stance '{stance}' is not one of {', '.join(STANCES)}")
            reply_to = c_entry.get("reply_to")
            if reply_to is not None and reply_to not in comment_keys:
                raise SeedError(f"{c_here}: reply_to '{reply_to}' is not the key of an earlier comment")
            if c_key in comment_keys:
                raise SeedError(f"{c_here}: the key '{c_key}' appears twice")
            comment_keys.add(c_key)
            body = _require(c_entry, "body", str, c_here).strip()
            comments.append(CommentSeed(c_key, c_author, stance, body, reply_to,
                                        _handles(c_entry, "up", handles, c_here),
                                        _handles(c_entry, "down", handles, c_here)))
        answer = None
        if "answer" in entry:
            a_entry, a_here = entry["answer"], f"{here}: answer"
            by = _require(a_entry, "by", str, a_here)
            if not any(m.handle == by and m.role in ("moderator", "admin") for m in members):
                raise SeedError(f"{a_here}: '{by}' must be a seed moderator or admin")
            state = _require(a_entry, "state", str, a_here)
            if state not in ANSWER_STATES:
                raise SeedError(f"{a_here}: state '{state}' is not one of {', '.join(ANSWER_STATES)}")
            answer = AnswerSeed(by, state, _require(a_entry, "text", str, a_here).strip())
        ideas.append(IdeaSeed(key, author, title, _require(entry, "body", str, here).strip() + "\n",
                              tuple(tags), scope, support, oppose, tuple(comments), answer))
    if len({i.key for i in ideas}) != len(ideas) or len({i.title for i in ideas}) != len(ideas):
        raise SeedError(f"{where}: two ideas share a key or a title")
    remote: list[RemoteSeed] = []
    for index, entry in enumerate(data.get("remote", [])):
        here = f"{where}: remote[{index}]"
        author = _require(entry, "author", str, here)
        if author not in handles:
            raise SeedError(f"{here}: author '{author}' is not a seed member")
        vote = entry.get("vote")
        if vote not in (None, "support", "oppose"):
            raise SeedError(f"{here}: vote '{vote}' is not support or oppose")
        stance = entry.get("stance", "neutral")
        if stance not in STANCES:
            raise SeedError(f"{here}: stance '{stance}' is not one of {', '.join(STANCES)}")
        body = _require(entry, "body", str, here).strip() if "body" in entry else None
        if vote is None and body is None:
            raise SeedError(f"{here}: give a vote, a body, or both")
        remote.append(RemoteSeed(_require(entry, "party", str, here), _require(entry, "idea", str, here),
                                 author, vote, stance, body))
    return InstanceSeed(folder.resolve(), name, description, language, port_offset, tuple(scopes),
                        tuple(members), tuple(ideas), tuple(remote))


def load_seeds(root: Path) -> list[InstanceSeed]:
    """Every example instance under `root` (a folder with a seed.toml), in port order."""
    seeds = [load_seed(path.parent) for path in sorted(root.glob(f"*/{SEED_FILE}"))]
    offsets = [s.port_offset for s in seeds]
    if len(set(offsets)) != len(offsets):
        raise SeedError(f"{root}: two instances have the same port_offset")
    keys = {s.slug: {i.key for i in s.ideas} for s in seeds}
    for seed in seeds:
        for entry in seed.remote:
            if entry.party == seed.slug or entry.party not in keys:
                raise SeedError(f"{seed.folder / SEED_FILE}: remote party '{entry.party}' is not another "
                                f"example instance of {root}")
            if entry.idea not in keys[entry.party]:
                raise SeedError(f"{seed.folder / SEED_FILE}: remote idea '{entry.idea}' is not an idea of "
                                f"{entry.party}")
    return sorted(seeds, key=lambda s: s.port_offset)


def default_seed_root() -> Path:
    """`instances/` of the source tree (an editable install), else of the current directory."""
    for candidate in (Path(__file__).resolve().parent.parent / "instances", Path.cwd() / "instances"):
        if any(candidate.glob(f"*/{SEED_FILE}")):
            return candidate
    raise DemoError("No example instances found: run `coopol demo` from a Coopol source checkout "
                    "(it reads instances/*/seed.toml), or pass --seeds DIR.")


# --- Child processes --------------------------------------------------------------------------------


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask Linux to send the child SIGTERM if the demo dies without cleaning up (e.g. SIGKILL)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class Child:
    label: str
    process: subprocess.Popen
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def stop_children(children: list[Child], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM every child's process group, wait, then SIGKILL what is left. Reaps every child."""
    for child in children:
        if child.process.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
    for child in children:
        # The group may outlive its leader (a grandchild); kill it whatever the leader did.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, signal.SIGKILL)
        child.process.wait()


# --- One running instance ---------------------------------------------------------------------------


@dataclass(eq=False)
class Instance:
    seed: InstanceSeed
    path: Path
    port: int
    database_url: str | None
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def label(self) -> str:
        return f"{self.seed.name} ({self.seed.language})"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in PER_INSTANCE_ENV}
        env["PYTHONUNBUFFERED"] = "1"
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        return env

    def coopol(self, *args: str, check: bool = True, timeout: float = 120,
               env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """Run one `coopol --instance DIR ...` command to completion."""
        result = subprocess.run([*COOPOL, "--instance", str(self.path), *args],
                                env={**self.env(), **(env or {})}, capture_output=True, text=True,
                                timeout=timeout, stdin=subprocess.DEVNULL)
        if check and result.returncode != 0:
            raise DemoError(f"{self.seed.slug}: `coopol {' '.join(args)}` failed: "
                            f"{_last_line(result.stderr or result.stdout)}")
        return result

    def spawn(self, label: str, *args: str) -> Child:
        logs = self.path / "logs"
        logs.mkdir(exist_ok=True)
        log_path = logs / f"{label}.log"
        log = log_path.open("ab")
        try:
            process = subprocess.Popen([*COOPOL, "--instance", str(self.path), *args], env=self.env(),
                                       stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True,
                                       preexec_fn=_die_with_parent if sys.platform == "linux" else None)
        finally:
            log.close()
        return Child(f"{self.seed.slug} {label}", process, log_path)

    # tokens are kept in the (git-ignored) instance folder so a second run needs no new ones
    @property
    def tokens_file(self) -> Path:
        return self.path / "demo-tokens.json"

    def load_tokens(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            stored = json.loads(self.tokens_file.read_text())
            self.tokens = {k: v for k, v in stored.items() if isinstance(v, str)}

    def save_token(self, handle: str, token: str) -> None:
        self.tokens[handle] = token
        fd = os.open(self.tokens_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(self.tokens, fh, indent=1)


def _last_line(text: str) -> str:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no output"


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def instance_database_url(server_url: str, slug: str) -> str:
    """`postgresql+psycopg://u@h/coopol_demo` and `fr-x` → `postgresql+psycopg://u@h/coopol_demo_fr_x`."""
    from sqlalchemy.engine import make_url

    try:
        url = make_url(server_url)
    except Exception as error:  # any parse failure is the user's input
        raise DemoError(f"--database-url: not a database URL ({error})") from None
    if not url.drivername.startswith("postgresql"):
        raise DemoError("--database-url must be a PostgreSQL URL (SQLite needs none: each instance folder "
                        "gets its own database).")
    name = f"{url.database or 'coopol_demo'}_{slug}".replace("-", "_").lower()
    if not re.fullmatch(r"[a-z0-9_]{1,63}", name):
        raise DemoError(f"--database-url: '{name}' is not a usable database name")
    return url.set(database=name).render_as_string(hide_password=False)


def create_database(database_url: str) -> None:
    """Create the instance's PostgreSQL database if it does not exist yet."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    url = make_url(database_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}):
                conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    except SQLAlchemyError as error:
        raise DemoError(f"--database-url: cannot create database {url.database}: "
                        f"{_last_line(str(error.orig or error))}") from None
    finally:
        admin.dispose()


# --- The JSON API -----------------------------------------------------------------------------------


class ApiError(Exception):
    def __init__(self, response: requests.Response) -> None:
        self.status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            body = {}
        self.message = body.get("message") or response.reason
        errors = body.get("errors") or {}
        details = "; ".join(f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}"
                            for k, v in errors.items())
        super().__init__(f"{self.status} {self.message}" + (f" ({details})" if details else ""))


class Api:
    """The JSON API of one instance, acting as seed members (a token each, created on demand)."""

    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        self.base = instance.url + "/api/v1"
        self.http = _http()

    def call(self, method: str, path: str, handle: str | None = None, **kwargs: Any) -> Any:
        for attempt in range(4):
            headers = {"Accept": "application/json"}
            if handle:
                token = self.instance.tokens.get(handle) or self.new_token(handle)
                headers["Authorization"] = f"Bearer {token}"
            response = self.http.request(method, self.base + path, headers=headers, timeout=HTTP_TIMEOUT,
                                         **kwargs)
            if response.status_code == 401 and handle and attempt == 0:
                self.instance.tokens.pop(handle, None)  # a stale token from an earlier database
                continue
            if response.status_code == 429 and attempt < 3:
                retry_after = response.headers.get("Retry-After", "")
                time.sleep(min(float(retry_after), 10) if retry_after.isdigit() else 2)
                continue
            if response.status_code >= 400:
                raise ApiError(response)
            return response.json() if response.content else None
        raise ApiError(response)

    def new_token(self, handle: str) -> str:
        """A personal token through `POST /api/v1/tokens` with the demo password, else `coopol tokens create`
        (if someone changed that member's password)."""
        response = self.http.post(self.base + "/tokens", timeout=HTTP_TIMEOUT, json={
            "login": handle, "password": DEMO_PASSWORD, "name": "demo"})
        token = response.json().get("token") if response.status_code == 201 else None
        if not token:
            token = self.instance.coopol("tokens", "create", handle, "--name", "demo").stdout.split()[-1]
        self.instance.save_token(handle, token)
        return token

    def pages(self, path: str, params: dict[str, Any], handle: str | None = None,
              max_pages: int = 50) -> Iterator[dict]:
        cursor = None
        for _ in range(max_pages):
            page = self.call("GET", path, handle, params={**params, **({"cursor": cursor} if cursor else {})})
            if isinstance(page, list):
                yield from page
                return
            yield from page.get("items", [])
            cursor = page.get("next_cursor")
            if not cursor:
                return


def _http() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # loopback only: never through a proxy named in the environment
    return session


def _host_of(item: dict) -> str | None:
    origin = item.get("origin") or {}
    return origin.get("host") if isinstance(origin, dict) else None


def _author_handle(item: dict) -> str:
    author = item.get("author") or {}
    return str(author.get("handle") or "") if isinstance(author, dict) else ""


@dataclass
class SeedReport:
    ideas_new: int = 0
    ideas_kept: int = 0
    comments_new: int = 0
    votes: int = 0
    problems: list[str] = field(default_factory=list)
    skipped: str | None = None

    def summary(self) -> str:
        if self.skipped:
            return self.skipped
        text = (f"{self.ideas_new + self.ideas_kept} ideas ({self.ideas_new} new), "
                f"{self.comments_new} new comments, {self.votes} votes")
        return text + (f", {len(self.problems)} problems" if self.problems else "")


def seed_instance(instance: Instance) -> SeedReport:
    """Post the seed ideas, comments, votes and answers that are not there yet."""
    return Seeder(instance).run()


class Seeder:
    """Idempotent: an idea is recognised by its title, a comment by its author and body; votes are PUTs."""

    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        self.api = Api(instance)
        self.report = SeedReport()

    def attempt(self, what: str, method: str, path: str, handle: str | None = None, **kwargs: Any) -> Any:
        """One API call; a refusal is noted as a problem and the seeding goes on."""
        try:
            return self.api.call(method, path, handle, **kwargs)
        except (ApiError, requests.RequestException) as error:
            self.report.problems.append(f"{what}: {error}")
            return None

    def run(self) -> SeedReport:
        try:
            self.api.call("GET", "/ideas", params={"limit": 1})
        except ApiError as error:
            if error.status not in (404, 405):
                raise
            self.report.skipped = ("the ideas API is not available yet (GET /api/v1/ideas answered "
                                   f"{error.status}): no ideas seeded")
            return self.report
        local: dict[str, dict] = {}
        for item in self.api.pages("/ideas", {"sort": "new", "limit": 100, "origin": "local"}):
            if _host_of(item) in (None, self.instance.host):
                local.setdefault(item.get("title"), item)
        seed = self.instance.seed
        for idea_seed in seed.ideas:
            idea = local.get(idea_seed.title)
            if idea is None:
                idea = self.attempt(f"idea '{idea_seed.key}'", "POST", "/ideas", idea_seed.author, json={
                    "title": idea_seed.title, "body": idea_seed.body, "tags": list(idea_seed.tags),
                    "scope": idea_seed.scope, "language": seed.language, "publish": True})
                if idea is None:
                    continue
                self.report.ideas_new += 1
            else:
                self.report.ideas_kept += 1
            self.discuss(idea, idea_seed)
        return self.report

    def discuss(self, idea: dict, idea_seed: IdeaSeed) -> None:
        idea_id, key = idea["id"], idea_seed.key
        try:
            listed = list(self.api.pages(f"/ideas/{idea_id}/comments", {"limit": 100}))
        except (ApiError, requests.RequestException) as error:
            self.report.problems.append(f"comments of '{key}': {error}")
            return
        existing = {(_author_handle(c), (c.get("body") or "").strip()): c for c in listed}
        comment_ids: dict[str, Any] = {}
        for comment in idea_seed.comments:
            found = existing.get((comment.author, comment.body))
            if found is None:
                body: dict[str, Any] = {"body": comment.body, "stance": comment.stance}
                if comment.reply_to:
                    if comment.reply_to not in comment_ids:
                        continue  # its parent could not be posted
                    body["parent_id"] = comment_ids[comment.reply_to]
                found = self.attempt(f"comment '{comment.key}' on '{key}'", "POST",
                                     f"/ideas/{idea_id}/comments", comment.author, json=body)
                if found is None:
                    continue
                self.report.comments_new += 1
            comment_ids[comment.key] = found["id"]
            for value, voters in (("up", comment.up), ("down", comment.down)):
                for voter in voters:
                    self.vote(f"{value}-vote by {voter} on comment '{comment.key}'",
                              f"/comments/{found['id']}/vote", voter, value)
        for value, voters in (("support", idea_seed.support), ("oppose", idea_seed.oppose)):
            for voter in voters:
                self.vote(f"vote by {voter} on '{key}'", f"/ideas/{idea_id}/vote", voter, value)
        answer = idea_seed.answer
        if answer and idea.get("state") == "published":
            self.attempt(f"answer on '{key}'", "POST", f"/ideas/{idea_id}/answer", answer.by,
                         json={"state": answer.state, "answer": answer.text})

    def debate(self, entries: list[RemoteSeed], parties: dict[str, Instance]) -> SeedReport:
        """Votes and comments of our members on the copies of allies' ideas (the copies arrive through the
        allies' workers, so each is awaited a little)."""
        deadline = time.monotonic() + COPY_TIMEOUT
        for entry in entries:
            party = parties[entry.party]
            title = next(i.title for i in party.seed.ideas if i.key == entry.idea)
            what = f"{entry.author} on {entry.party}'s '{entry.idea}'"
            copy = self.find_copy(party.host, title, deadline)
            if copy is None:
                self.report.problems.append(f"{what}: the idea has not arrived from {party.host} yet")
                continue
            if entry.vote:
                self.vote(f"vote by {what}", f"/ideas/{copy['id']}/vote", entry.author, entry.vote)
            if entry.body:
                try:
                    listed = list(self.api.pages(f"/ideas/{copy['id']}/comments", {"limit": 100}))
                except (ApiError, requests.RequestException) as error:
                    self.report.problems.append(f"comments of {what}: {error}")
                    continue
                if any((_author_handle(c), (c.get("body") or "").strip()) == (entry.author, entry.body)
                       for c in listed):
                    continue
                if self.attempt(f"comment by {what}", "POST", f"/ideas/{copy['id']}/comments", entry.author,
                                json={"body": entry.body, "stance": entry.stance}) is not None:
                    self.report.comments_new += 1
        return self.report

    def find_copy(self, host: str, title: str, deadline: float) -> dict | None:
        while True:
            with contextlib.suppress(ApiError, requests.RequestException):
                for item in self.api.pages("/ideas", {"origin": host, "limit": 100}):
                    if item.get("title") == title:
                        return item
            if time.monotonic() > deadline:
                return None
            time.sleep(1)

    def vote(self, what: str, path: str, handle: str, value: str) -> None:
        if self.attempt(what, "PUT", path, handle, json={"value": value}) is not None:
            self.report.votes += 1


# --- The demo ---------------------------------------------------------------------------------------


class Demo:
    def __init__(self, instances: list[Instance], echo: Callable[[str], None]) -> None:
        self.instances = instances
        self.echo = echo
        self.children: list[Child] = []
        self.federation = False
        self.travel = False
        self.cancelled = threading.Event()
        self.started = time.monotonic()

    def step(self, number: int, text: str) -> None:
        elapsed = time.monotonic() - self.started
        self.echo(click.style(f"[{number}/5] {text}", bold=True) + click.style(f"  ({elapsed:.0f} s)",
                                                                                 dim=True))

    def prepare(self) -> None:
        self.step(1, "Preparing the instances (init, scopes, members)...")
        commands = self.instances[0].coopol("--help").stdout
        self.federation = all(re.search(rf"^\s+{name}\b", commands, re.M) for name in ("allies", "worker"))
        pool = ThreadPoolExecutor(max_workers=max(1, min(len(self.instances), os.cpu_count() or 1)))
        try:
            futures = [pool.submit(self._prepare_one, instance) for instance in self.instances]
            for instance, future in zip(self.instances, futures, strict=True):
                self.echo(f"  ✓ {instance.label}: {'; '.join(future.result())}")
        except BaseException as error:
            self.cancelled.set()  # the other threads stop before their next command
            if isinstance(error, KeyboardInterrupt):
                self.echo("\nInterrupted: letting the commands in progress finish...")
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _prepare_one(self, instance: Instance) -> list[str]:
        seed = instance.seed
        if instance.database_url:
            create_database(instance.database_url)
        config_file = instance.path / "coopol.toml"
        if config_file.exists():
            with config_file.open("rb") as fh:
                existing_url = tomllib.load(fh).get("url")
            if existing_url and existing_url.rstrip("/") != instance.url:
                raise DemoError(f"{instance.path} was created for {existing_url}: run the demo with the same "
                                "--base-port, or use a fresh --workdir.")
        instance.path.mkdir(parents=True, exist_ok=True)
        instance.coopol("init", "--name", seed.name, "--url", instance.url, "--language", seed.language,
                        "--description", seed.description)
        from coopol.config import write_instance_config

        # Keeps an admin's own SCOPES if the file already has some.
        write_instance_config(instance.path, {"scopes": [dict(s) for s in seed.scopes]})
        listed = instance.coopol("users", "list").stdout.splitlines()
        present = {line.split("\t", 1)[0] for line in listed if line.strip()}
        created = 0
        for member in seed.members:
            if self.cancelled.is_set():
                return []
            if member.handle not in present:
                instance.coopol("users", "create", member.handle, "--email", member.email,
                                "--role", member.role, "--name", member.name,
                                env={"COOPOL_PASSWORD": DEMO_PASSWORD})
                created += 1
        instance.load_tokens()
        return [f"{instance.path}", f"{len(seed.members)} members ({created} new)"]

    def start(self) -> None:
        self.step(2, "Starting servers" + (" and workers" if self.federation else "") + " on 127.0.0.1...")
        for instance in self.instances:
            server = instance.spawn("server", "run", "--host", "127.0.0.1", "--port", str(instance.port))
            self.children.append(server)
            pids = f"server pid {server.pid}"
            if self.federation:
                worker = instance.spawn("worker", "worker")
                self.children.append(worker)
                pids += f", worker pid {worker.pid}"
            self.echo(f"  … {instance.label} starting ({pids})")
        if not self.federation:
            self.echo("  – `coopol worker` is not available yet (federation not installed): "
                      "no workers started.")
        for instance in self.instances:
            self._wait_until_serving(instance)
            self.echo(f"  ✓ {instance.label} answers on {instance.url}")

    def _wait_until_serving(self, instance: Instance) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        mine = [c for c in self.children if c.label.startswith(instance.seed.slug + " ")]
        while True:
            for child in mine:
                if child.process.poll() is not None:
                    raise DemoError(f"{child.label} exited with status {child.process.returncode}; "
                                    f"its log ({child.log_path}) ends with:\n{child.log_tail()}")
            try:
                response = _http().get(instance.url + "/", timeout=2, allow_redirects=False)
                if response.status_code < 500:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise DemoError(f"{instance.label} did not answer on {instance.url} within "
                                f"{START_TIMEOUT:.0f} s; see {mine[0].log_path}")
            time.sleep(0.25)

    def ally(self) -> None:
        """Each pair: the first asks (`allies request URL`), the second accepts (`allies accept HOST`)."""
        self.step(3, "Allying the instances pairwise...")
        if not self.federation:
            self.echo("  – skipped: `coopol allies` is not available yet (the federation module has not "
                      "landed); the instances run side by side, unallied.")
            return
        if len(self.instances) < 2:
            self.echo("  – skipped: only one instance.")
            return
        status = {i.host: ally_statuses(i) for i in self.instances}
        pairs = list(combinations(self.instances, 2))
        waiting = []
        for first, second in pairs:
            pair = f"{first.seed.slug} ↔ {second.seed.slug}"
            if status[first.host].get(second.host) == "allied" == status[second.host].get(first.host):
                self.echo(f"  ✓ {pair}: already allied")
                continue
            waiting.append((first, second))
            problem = self._ally_pair(first, second, status)
            self.echo(f"  ! {pair}: {problem}" if problem else f"  … {pair}: asked and accepted")
        if not waiting:
            return
        deadline = time.monotonic() + ALLY_TIMEOUT
        while waiting and time.monotonic() < deadline:
            # Accept and Follow travel through the workers; both sides say "allied" once they arrive.
            time.sleep(0.5)
            status = {i.host: ally_statuses(i) for i in {i for pair in waiting for i in pair}}
            waiting = [(a, b) for a, b in waiting
                       if not status[a.host].get(b.host) == "allied" == status[b.host].get(a.host)]
        if waiting:
            names = ", ".join(f"{a.seed.slug} ↔ {b.seed.slug}" for a, b in waiting)
            self.echo(f"  ! not confirmed yet: {names} (see `coopol --instance DIR allies list` and the "
                      "worker logs)")
        else:
            self.echo(f"  ✓ {len(pairs)} alliance{'s' if len(pairs) > 1 else ''} confirmed on both sides")

    def _ally_pair(self, first: Instance, second: Instance, status: dict[str, dict[str, str]]) -> str | None:
        """Start the handshake; None when it went through, else what went wrong."""
        if status[first.host].get(second.host) == "pending":  # an earlier request of `second` is waiting
            first, second = second, first
        elif status[second.host].get(first.host) != "pending":
            if status[first.host].get(second.host) != "requested":
                request = first.coopol("allies", "request", second.url, check=False)
                if request.returncode != 0:
                    return f"request refused: {_last_line(request.stderr or request.stdout)}"
        deadline = time.monotonic() + ALLY_TIMEOUT
        while True:  # the Follow may still be on its way to `second` (delivered by `first`'s worker)
            accept = second.coopol("allies", "accept", first.host, check=False)
            if accept.returncode == 0:
                return None
            if time.monotonic() > deadline:
                return f"accept failed: {_last_line(accept.stderr or accept.stdout)}"
            time.sleep(1)

    def seed(self) -> None:
        self.step(4, "Seeding ideas, comments and votes through the JSON API...")
        for instance in self.instances:
            try:
                report = seed_instance(instance)
            except (ApiError, requests.RequestException) as error:
                self.echo(f"  ! {instance.label}: seeding failed: {error}")
                continue
            mark = "–" if report.skipped else ("!" if report.problems else "✓")
            self.echo(f"  {mark} {instance.label}: {report.summary()}")
            for problem in report.problems[:10]:
                self.echo(f"      {problem}")
        self.travel = self.ideas_travel()
        parties = {i.seed.slug: i for i in self.instances}
        debates = [(i, [e for e in i.seed.remote if e.party in parties]) for i in self.instances]
        debates = [(i, entries) for i, entries in debates if entries]
        if debates and not self.travel:
            self.echo("  – the debate across parties is not seeded: ideas do not travel between the "
                      "instances in this build")
        elif debates:
            for instance, entries in debates:
                try:
                    report = Seeder(instance).debate(entries, parties)
                except (ApiError, requests.RequestException) as error:
                    self.echo(f"  ! {instance.label}: seeding the debate with allies failed: {error}")
                    continue
                self.echo(f"  {'!' if report.problems else '✓'} {instance.label}, on allies' ideas: "
                          f"{report.comments_new} new comments, {report.votes} votes")
                for problem in report.problems[:10]:
                    self.echo(f"      {problem}")
        self.settle()

    def settle(self) -> None:
        """Wait (a bounded time) until no delivery is queued anywhere, so every instance shows the same."""
        if not self.federation or len(self.instances) < 2:
            return
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while True:
            counts = [queued_deliveries(i) for i in self.instances]
            if None in counts:
                return
            queued = sum(counts)
            if queued == 0:
                self.echo("  ✓ deliveries settled: no activity waits in any outbox")
                return
            if time.monotonic() > deadline:
                self.echo(f"  … {queued} deliveries still queued; the workers go on in the background")
                return
            time.sleep(1)

    def ideas_travel(self) -> bool:
        """Whether an idea of the second instance reached the first (waiting a little for the workers).

        The second instance's Group outbox (a public collection) tells at once whether this build
        federates ideas at all."""
        if not self.federation or len(self.instances) < 2:
            return False
        home, other = self.instances[0], self.instances[1]
        web = _http()
        try:
            outbox = web.get(other.url + "/g/ideas/outbox", timeout=HTTP_TIMEOUT,
                             headers={"Accept": "application/activity+json"})
            if outbox.status_code != 200 or not outbox.json().get("totalItems"):
                return False
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                found = web.get(home.url + "/api/v1/ideas", params={"origin": other.host, "limit": 1},
                                timeout=HTTP_TIMEOUT)
                if found.status_code == 200 and found.json().get("items"):
                    return True
                time.sleep(1)
        except (requests.RequestException, ValueError):
            pass
        return False

    def announce(self) -> None:
        self.step(5, "Running.")
        echo = self.echo
        echo("")
        for instance in self.instances:
            title = click.style(f"  {instance.seed.name}", bold=True)
            echo(f"{title} ({instance.seed.language}) — {instance.url}")
            for member in instance.seed.members:
                echo(f"      {member.role:<9} {member.handle:<10} {member.name}")
        echo(f"\n  Every seed member logs in with the password: {DEMO_PASSWORD}")
        echo("  Logs: " + ", ".join(str(i.path / "logs") for i in self.instances))
        echo("\nWhat to try:")
        for line in what_to_try(self.instances, self.federation, self.travel):
            echo(f"  • {line}")
        echo("")
        count = len(self.instances)
        echo(click.style(f"{READY_LINE}: {count} instance{'s' if count > 1 else ''} on "
                         f"{', '.join(i.url for i in self.instances)}. Press Ctrl-C to stop.", fg="green"))

    def watch(self) -> None:
        """Until a signal: a child that dies takes the demo down with a reason."""
        while True:
            for child in self.children:
                if child.process.poll() is not None:
                    raise DemoError(f"{child.label} stopped unexpectedly (status "
                                    f"{child.process.returncode}); its log ({child.log_path}) ends with:\n"
                                    f"{child.log_tail()}")
            time.sleep(0.5)

    def stop(self) -> None:
        if self.children:
            self.echo(f"Stopping {len(self.children)} processes...")
            stop_children(self.children)
            self.echo("Stopped.")


def queued_deliveries(instance: Instance) -> int | None:
    """Deliveries waiting in the instance's outbox, per `allies list --json` (None if it cannot tell)."""
    listed = instance.coopol("allies", "list", "--json", check=False)
    if listed.returncode == 0:
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            return sum(int(r.get("queued") or 0) for r in json.loads(listed.stdout))
    return None


def ally_statuses(instance: Instance) -> dict[str, str]:
    """{host: status} from `allies list` (allied, requested, pending, ...)."""
    listed = instance.coopol("allies", "list", "--json", check=False)
    if listed.returncode == 0:
        with contextlib.suppress(ValueError):
            rows = json.loads(listed.stdout)
            return {str(r.get("host")): str(r.get("status")) for r in rows if isinstance(r, dict)}
    listed = instance.coopol("allies", "list", check=False)  # the documented text form: HOST<TAB>STATUS...
    cells = [line.split("\t") for line in listed.stdout.splitlines()]
    return {c[0].strip().lower(): c[1].strip().lower() for c in cells if len(c) > 1}


def what_to_try(instances: list[Instance], federation: bool, ideas_travel: bool) -> list[str]:
    home = instances[0]
    member = home.seed.members[-1].handle
    moderator = next((m.handle for m in home.seed.members if m.role == "moderator"), home.seed.admin.handle)
    tips = [f"Open {home.url}/ideas, log in as {home.seed.admin.handle} and browse the ideas of "
            f"{home.seed.name}; filter by tag or territorial scope."]
    if len(instances) > 1 and ideas_travel:
        other = instances[1]
        tips.append(f"On {home.url}, open an idea of {other.seed.name} "
                    f"({home.url}/ideas?origin={other.host}): it shows its origin party and links back.")
        tips.append(f"Comment on it and vote from {home.seed.name} as {member}, then open the same idea on "
                    f"{other.url}: your comment is there, and the tally's per-instance breakdown counts your "
                    f"vote under {home.host}.")
        if len(instances) > 2:
            tips.append(f"Look at the same idea on {instances[2].url}: a third party sees the whole debate.")
    elif len(instances) > 1 and federation:
        tips.append("The instances are allied, but this build does not carry ideas between allies yet: each "
                    "instance shows its own ideas (see `coopol --instance DIR allies list`).")
    elif len(instances) > 1:
        tips.append("Federation is not installed yet: the instances run side by side without exchanging "
                    "ideas.")
    tips.append(f"Report a comment as {member}; handle the report as the moderator {moderator} at "
                f"{home.url}/moderation; read the public log at {home.url}/modlog.")
    tips.append(f"Script it: the JSON API is documented at {home.url}/api/openapi.json "
                f"(`coopol --instance {home.path} tokens create {home.seed.admin.handle}` prints a token).")
    return tips


class _Stop(KeyboardInterrupt):
    """SIGTERM or SIGHUP, handled like Ctrl-C."""


def _raise_stop(signum: int, frame: Any) -> None:
    raise _Stop()


@click.command("demo")
@click.option("--instances", "count", default=3, show_default=True, type=int,
              help="How many example instances to run (the first N of instances/).")
@click.option("--base-port", default=5001, show_default=True, type=click.IntRange(1024, 65000),
              help="The first instance listens on this port, the next ones on the following ports.")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path),
              help="Where the instance folders live. Default: instances/<name>/instance (git-ignored).")
@click.option("--database-url", metavar="URL",
              help="A PostgreSQL URL such as postgresql+psycopg://postgres@127.0.0.1:5432/coopol_demo: each "
                   "instance gets its own database <name>_<instance>, created if missing. Default: SQLite.")
@click.option("--seeds", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="Folder of example instances (each a folder with seed.toml). Default: instances/.")
def demo(count: int, base_port: int, workdir: Path | None, database_url: str | None,
         seeds: Path | None) -> None:
    """Run the example parties of instances/ on 127.0.0.1, allied and seeded, until Ctrl-C."""
    root = seeds.resolve() if seeds else default_seed_root()
    try:
        available = load_seeds(root)
    except SeedError as error:
        raise DemoError(str(error)) from None
    if not available:
        raise DemoError(f"No example instances in {root} (expected folders with a {SEED_FILE}).")
    if not 1 <= count <= len(available):
        raise DemoError(f"--instances must be between 1 and {len(available)}: {root} has {len(available)} "
                        f"example instances ({', '.join(s.slug for s in available)}).")
    chosen = available[:count]
    ports = [base_port + s.port_offset for s in chosen]
    if max(ports) > 65535:
        raise DemoError("--base-port is too high for the instances' port offsets.")
    busy = [p for p in ports if not port_is_free(p)]
    if busy:
        raise DemoError(f"Port {', '.join(map(str, busy))} on 127.0.0.1 is in use: choose another "
                        "--base-port (or stop the other demo).")
    instances = []
    for seed, port in zip(chosen, ports, strict=True):
        path = (workdir.resolve() / seed.slug) if workdir else seed.folder / "instance"
        instances.append(Instance(seed, path, port,
                                  instance_database_url(database_url, seed.slug) if database_url else None))

    def echo(line: str) -> None:
        click.echo(line)

    storage = "PostgreSQL" if database_url else "SQLite in each instance folder"
    parties = f"{count} example part{'ies' if count > 1 else 'y'}"
    echo(click.style(f"Coopol demo: {parties} from {root} ({storage})", bold=True))
    runner = Demo(instances, echo)
    previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        runner.prepare()
        runner.start()
        runner.ally()
        runner.seed()
        runner.announce()
        runner.watch()
    except KeyboardInterrupt:
        echo("")
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # let the cleanup finish; it is bounded by STOP_TIMEOUT
        try:
            runner.stop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            signal.signal(signal.SIGINT, signal.default_int_handler)


register_command(demo)
