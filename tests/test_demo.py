"""`coopol demo` and the example instances of instances/.

The seed-file tests are fast; the seeding tests build real instances in this process (SQLite, or
PostgreSQL with COOPOL_TEST_DATABASE_URL) through the demo's own code. The end-to-end test starts the real
demo (servers and workers as processes, allied, seeded, backfilled), looks at what it serves over HTTP,
stops it with SIGINT and proves no child process survives.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

import coopol.demo
from coopol.demo import READY_LINE, SeedError, demo, instance_database_url, load_seed, load_seeds
from coopol.demo.instances import Instance
from coopol.demo.seed import SEEDERS, demo_password_hash, seed_members

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "instances"
PG_ADMIN_URL = os.environ.get("COOPOL_TEST_DATABASE_URL")
COOPOL = [sys.executable, "-c", "import sys; from coopol.cli import main; sys.exit(main())"]


# --- The seed files ----------------------------------------------------------------------------------


def test_the_three_example_instances_parse_with_their_languages_and_staff():
    seeds = load_seeds(SEEDS)

    assert [s.language for s in seeds] == ["fr", "es", "de"]
    assert [s.port_offset for s in seeds] == [0, 1, 2]
    for seed in seeds:
        roles = {m.role for m in seed.members}
        assert {"admin", "moderator", "member"} <= roles, seed.slug
        assert len(seed.ideas) >= 3, seed.slug
        assert all(idea.scope for idea in seed.ideas), seed.slug
        assert any(c.reply_to for idea in seed.ideas for c in idea.comments), f"{seed.slug}: no thread"
        assert {"for", "against"} <= {c.stance for idea in seed.ideas for c in idea.comments}, seed.slug
        assert any(idea.support for idea in seed.ideas) and any(idea.oppose for idea in seed.ideas), seed.slug
        # The public moderation log has something to show: a hidden comment, a locked thread, a suspension
        # (each with its reason), a report left open for the queue, and an appeal.
        actions = {a.action: a for a in seed.moderation.actions}
        assert {"hide", "lock", "suspend"} <= set(actions), seed.slug
        assert all(a.reason for a in seed.moderation.actions), seed.slug
        assert actions["suspend"].appeal, seed.slug
        assert len(seed.moderation.reports) >= 2, seed.slug
        # Local groups for the members to join: one bound to a territory, one thematic that asks approval.
        assert {"territorial", "thematic"} <= {g.kind for g in seed.groups}, seed.slug
        assert any(g.joining == "approval" for g in seed.groups), seed.slug
        # Gatherings: one fills up (someone waits on the waitlist), one took place and has its report.
        assert any(g.capacity and len(g.going) > g.capacity for g in seed.gatherings), seed.slug
        assert any(g.days < 0 and g.report for g in seed.gatherings), seed.slug
        # The interface switch offers every language, the party's own first.
        assert seed.languages[0] == seed.language and {"en", "fr", "es", "de"} <= set(seed.languages), seed.slug
    # Shared scope codes are what lets one party filter another's ideas by territory.
    assert all("eu" in {s["code"] for s in seed.scopes} for seed in seeds)


def test_seed_files_hold_no_secret_and_instance_folders_are_ignored_by_git():
    def keys(value):
        if isinstance(value, dict):
            for key, item in value.items():
                yield key
                yield from keys(item)
        elif isinstance(value, list):
            for item in value:
                yield from keys(item)

    for path in SEEDS.glob("*/seed.toml"):
        data = tomllib.loads(path.read_text())
        secret_keys = [k for k in keys(data) if re.search("password|token|secret|_key", k)]
        assert secret_keys == [], path
        assert coopol.demo.DEMO_PASSWORD not in path.read_text()
    data_file = SEEDS / "fr-communs-verts" / "instance" / "coopol.sqlite"
    ignored = subprocess.run(["git", "check-ignore", "-q", str(data_file)], cwd=ROOT, check=False)
    if ignored.returncode == 128:
        pytest.skip("not a git checkout")
    assert ignored.returncode == 0, "instances/*/instance/ must be git-ignored"


VALID_SEED = """
name = "Test party"
description = "A party for tests."
language = "fr"
port_offset = 0
scopes = [{ code = "eu", name = "Europe" }, { code = "fr", name = "France", parent = "eu" }]

[[members]]
handle = "anne"
name = "Anne"
role = "admin"

[[members]]
handle = "bruno"
name = "Bruno"

[[ideas]]
key = "one"
author = "bruno"
title = "An idea"
scope = "fr"
tags = ["énergie", "bus-lines"]
support = ["anne"]
body = "Some *Markdown*."

  [[ideas.comments]]
  key = "c1"
  author = "anne"
  stance = "for"
  body = "Yes."

  [[ideas.comments]]
  author = "bruno"
  reply_to = "c1"
  body = "Thanks."
"""


def write_seed(tmp_path: Path, text: str, folder: str = "xx-party") -> Path:
    path = tmp_path / folder
    path.mkdir()
    (path / "seed.toml").write_text(text)
    return path


def test_a_valid_seed_loads_with_its_threads_and_derived_emails(tmp_path):
    seed = load_seed(write_seed(tmp_path, VALID_SEED))

    assert seed.admin.handle == "anne"
    assert seed.members[1].email == "bruno@xx-party.example"
    assert seed.ideas[0].comments[1].reply_to == "c1"
    assert seed.ideas[0].comments[1].stance == "neutral"
    assert seed.ideas[0].tags == ("énergie", "bus-lines")


@pytest.mark.parametrize("change, message", [
    (('role = "admin"', 'role = "moderator"'), "no member has role 'admin'"),
    (('language = "fr"', 'language = "xx"'), "language 'xx' is not one of"),
    (('author = "bruno"\ntitle', 'author = "zoe"\ntitle'), "author 'zoe' is not a seed member"),
    (('reply_to = "c1"', 'reply_to = "c9"'), "reply_to 'c9' is not the key of an earlier comment"),
    (('scope = "fr"', 'scope = "it"'), "scope 'it' is not one of the instance's scopes"),
    (('"bus-lines"', '"bus lines"'), "'tags' must be a list of at most 10 lowercase words"),
    (('support = ["anne"]', 'support = ["anne"]\noppose = ["anne"]'), "someone both supports and opposes"),
    (('handle = "anne"', 'handle = "Anne!"'), "handle 'Anne!' must be 3 to 30 lowercase letters"),
    (('parent = "eu"', 'parent = "world"'), "scope 'fr' has an unknown parent 'world'"),
    (('name = "Test party"\n', ''), "'name' is missing"),
    (('port_offset = 0', 'port_offset = "zero"'), "'port_offset' must be a int"),
    (('title = "An idea"', 'title = "A"'), "the title must have 3 to 200 characters"),
    (('[[ideas]]', '[[ideas]'), "not valid TOML"),
])
def test_a_broken_seed_is_refused_with_a_message_naming_the_file_and_the_problem(tmp_path, change, message):
    old, new = change
    assert old in VALID_SEED
    folder = write_seed(tmp_path, VALID_SEED.replace(old, new, 1))

    with pytest.raises(SeedError) as error:
        load_seed(folder)

    assert str(folder / "seed.toml") in str(error.value)
    assert message in str(error.value)


MODERATION = """
[[members]]
handle = "carl"
name = "Carl"

[[members]]
handle = "mona"
name = "Mona"
role = "moderator"

[[moderation.comments]]
key = "rude"
idea = "one"
author = "carl"
body = "Rude."

[[moderation.reports]]
by = "bruno"
comment = "rude"
reason = "offensive"

[[moderation.actions]]
by = "mona"
action = "hide"
comment = "rude"
reason = "Personal attack."

[[moderation.actions]]
by = "mona"
action = "suspend"
member = "carl"
days = 7
reason = "Third attack."
appeal = "Sorry."
"""


@pytest.mark.parametrize("change, message", [
    (("", ""), None),
    (('reason = "offensive"', 'reason = "boring"'), "reason 'boring' is not one of"),
    (('by = "mona"\naction = "hide"', 'by = "bruno"\naction = "hide"'), "'bruno' must be a seed moderator"),
    (('action = "hide"', 'action = "explode"'), "action 'explode' is not one of"),
    (('action = "hide"\ncomment = "rude"', 'action = "lock"\ncomment = "rude"'), "'lock' does not apply to a comment"),
    (('days = 7\n', ''), "a suspension needs 'days'"),
    (('member = "carl"', 'member = "zoe"'), "member 'zoe' is not a seed member"),
    (('idea = "one"\nauthor = "carl"', 'idea = "two"\nauthor = "carl"'), "idea 'two' is not a seed idea"),
    (('by = "bruno"\ncomment = "rude"', 'by = "bruno"\nidea = "one"\ncomment = "c7"'),
     "comment 'c7' is not a comment of 'one'"),
])
def test_the_moderation_section_must_name_real_members_ideas_and_decisions(tmp_path, change, message):
    old, new = change
    assert old in MODERATION
    folder = write_seed(tmp_path, VALID_SEED + MODERATION.replace(old, new, 1))

    if message is None:
        moderation = load_seed(folder).moderation
        assert [a.action for a in moderation.actions] == ["hide", "suspend"]
        assert moderation.actions[1].appeal == "Sorry." and moderation.actions[1].days == 7
        assert moderation.reports[0].target.comment == "rude"
        return
    with pytest.raises(SeedError) as error:
        load_seed(folder)
    assert str(folder / "seed.toml") in str(error.value)
    assert message in str(error.value)


GROUPS = """
[[groups]]
key = "local"
name = "Local group"
kind = "territorial"
scope = "fr"
organiser = "anne"
members = ["bruno"]
organisers = ["bruno"]
description = "We meet."
"""


@pytest.mark.parametrize("change, message", [
    (("", ""), None),
    (('scope = "fr"\n', ''), "a territorial group needs a 'scope'"),
    (('scope = "fr"', 'scope = "it"'), "scope 'it' is not one of the instance's scopes"),
    (('kind = "territorial"', 'kind = "club"'), "kind 'club' is not one of"),
    (('organiser = "anne"', 'organiser = "zoe"'), "organiser 'zoe' is not a seed member"),
    (('members = ["bruno"]', 'members = ["bruno", "anne"]'), "the organiser who starts the group is in it"),
    (('members = ["bruno"]', 'members = []'), "'organisers' must also be listed in 'members'"),
])
def test_the_groups_section_must_name_real_members_and_scopes(tmp_path, change, message):
    old, new = change
    assert old in GROUPS
    folder = write_seed(tmp_path, VALID_SEED + GROUPS.replace(old, new, 1))

    if message is None:
        group = load_seed(folder).groups[0]
        assert (group.kind, group.scope, group.joining, group.organisers) == ("territorial", "fr", "open", ("bruno",))
        return
    with pytest.raises(SeedError) as error:
        load_seed(folder)
    assert str(folder / "seed.toml") in str(error.value) and message in str(error.value)


def test_languages_must_include_the_partys_own(tmp_path):
    folder = write_seed(tmp_path, VALID_SEED.replace('language = "fr"', 'language = "fr"\nlanguages = ["en", "es"]'))

    with pytest.raises(SeedError, match="'languages' must list the party's language"):
        load_seed(folder)


REMOTE = """
[[remote]]
party = "bb-two"
idea = "one"
author = "anne"
vote = "support"
"""


@pytest.mark.parametrize("change, message", [
    (("", ""), None),
    (('party = "bb-two"', 'party = "zz-none"'), "remote party 'zz-none' is not another example instance"),
    (('party = "bb-two"', 'party = "aa-one"'), "remote party 'aa-one' is not another example instance"),
    (('idea = "one"', 'idea = "two"'), "remote idea 'two' is not an idea of bb-two"),
    (('vote = "support"', 'vote = "maybe"'), "vote 'maybe' is not support or oppose"),
    (('vote = "support"', ''), "give a vote, a body, or both"),
    (('author = "anne"', 'author = "zoe"'), "author 'zoe' is not a seed member"),
])
def test_votes_and_comments_on_another_partys_ideas_must_name_them(tmp_path, change, message):
    old, new = change
    write_seed(tmp_path, VALID_SEED + REMOTE.replace(old, new, 1), "aa-one")
    write_seed(tmp_path, VALID_SEED.replace("port_offset = 0", "port_offset = 1"), "bb-two")

    if message is None:
        assert load_seeds(tmp_path)[0].remote[0].party == "bb-two"
        return
    with pytest.raises(SeedError) as error:
        load_seeds(tmp_path)
    assert message in str(error.value)
    assert "aa-one/seed.toml" in str(error.value)


def test_two_instances_on_the_same_port_offset_are_refused(tmp_path):
    write_seed(tmp_path, VALID_SEED, "aa-one")
    write_seed(tmp_path, VALID_SEED, "bb-two")

    with pytest.raises(SeedError, match="two instances have the same port_offset"):
        load_seeds(tmp_path)


# --- Seeding in process (real databases, no server) ----------------------------------------------------


def seed_everything(instance: Instance, password_hash: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for report in [seed_members(instance, password_hash)] + [seeder(instance) for _, seeder in SEEDERS]:
        assert report.problems == [], report.problems
        for key, value in report.counts.items():
            counts[key] = counts.get(key, 0) + value
    return counts


def test_seeding_gives_old_accounts_a_public_moderation_log_reports_and_an_appeal(tmp_path, database_url):
    from sqlalchemy import func, select

    from coopol.accounts.services import authenticate, get_member_by_handle
    from coopol.core.time import utcnow
    from coopol.extensions import db
    from coopol.ideas.models import Idea
    from coopol.moderation.limits import is_new_account
    from coopol.moderation.models import Report
    from coopol.moderation.services import list_modlog, pending_appeals

    seed = load_seeds(SEEDS)[0]
    url = instance_database_url(database_url, seed.slug) if database_url else None
    instance = Instance(seed, tmp_path / seed.slug, free_ports(1), url)
    try:
        instance.create()
        password_hash = demo_password_hash(instance)
        first = seed_everything(instance, password_hash)

        assert first["new"] == len(seed.members) and first["ideas_new"] == len(seed.ideas)
        assert first["groups_new"] == len(seed.groups)
        assert first["memberships_new"] == sum(len(g.members) for g in seed.groups)
        assert first["gatherings_new"] == len(seed.gatherings)
        assert first["rsvps_new"] == sum(len(g.going) for g in seed.gatherings)
        with instance.app.app_context():
            assert instance.app.config["LANGUAGES"] == list(seed.languages)
            entries, _ = list_modlog(limit=50)
            reasons = {e["action"]: e["reason"] for e in entries}
            expected = {a.action: a.reason for a in seed.moderation.actions}
            assert {k: reasons.get(k) for k in expected} == expected
            assert db.session.scalar(select(func.count()).select_from(Report)) == len(seed.moderation.reports)
            assert db.session.scalar(select(func.count()).where(Report.status == "open")) >= 1
            appeals = pending_appeals()
            suspended = next(a.target.member for a in seed.moderation.actions if a.action == "suspend")
            assert [a.appellant.handle for a in appeals] == [suspended]
            assert get_member_by_handle(suspended).status == "suspended"
            locked = next(a.target.idea for a in seed.moderation.actions if a.action == "lock")
            title = next(i.title for i in seed.ideas if i.key == locked)
            assert db.session.scalar(select(Idea).where(Idea.title == title)).locked_at is not None
            for member_seed in seed.members:
                member = get_member_by_handle(member_seed.handle)
                assert member.created_at < utcnow() - timedelta(days=7), member.handle
                assert not is_new_account(member), member.handle
            from coopol.groups.memberships import organisers
            from coopol.groups.models import Group

            for group_seed in seed.groups:
                group = db.session.scalar(select(Group).where(Group.name == group_seed.name))
                assert group.member_count == 1 + len(group_seed.members), group_seed.key
                assert {m.member.handle for m in organisers(group)} == {group_seed.organiser,
                                                                        *group_seed.organisers}
            from coopol.events.models import Event

            for gathering in seed.gatherings:
                event = db.session.scalar(select(Event).where(Event.title == gathering.title))
                if gathering.capacity:
                    assert event.going_count == min(gathering.capacity, len(gathering.going)), gathering.key
                    assert event.waitlist_count == max(0, len(gathering.going) - gathering.capacity)
                if gathering.report:
                    assert event.reported_at is not None and event.turnout == gathering.turnout
                    assert event.ends_at < utcnow()
            # One hash for everyone, and it is the demo password's.
            assert authenticate(seed.admin.handle, coopol.demo.DEMO_PASSWORD).handle == seed.admin.handle

        again = seed_everything(instance, password_hash)

        assert {k: v for k, v in again.items() if v and k not in ("members", "ideas")} == {}
    finally:
        instance.close()


# --- The command's refusals (before anything starts) -------------------------------------------------


def test_more_instances_than_examples_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(demo, ["--instances", "4", "--workdir", str(tmp_path)])

    assert result.exit_code == 1
    assert "--instances must be between 1 and 3" in result.output
    assert "fr-communs-verts" in result.output
    assert not list(tmp_path.iterdir())


def test_a_busy_port_is_a_clear_error(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(demo, ["--instances", "1", "--base-port", str(port),
                                           "--workdir", str(tmp_path)])

    assert result.exit_code == 1
    assert f"Port {port} on 127.0.0.1 is in use" in result.output
    assert not list(tmp_path.iterdir())


def test_a_sqlite_database_url_is_refused(tmp_path):
    result = CliRunner().invoke(demo, ["--instances", "1", "--base-port", str(free_ports(1)),
                                       "--workdir", str(tmp_path), "--database-url", "sqlite:///x.db"])

    assert result.exit_code == 1
    assert "--database-url must be a PostgreSQL URL" in result.output


# --- End to end -----------------------------------------------------------------------------------------


def free_ports(count: int) -> int:
    """A base port such that base .. base+count-1 are free on 127.0.0.1 right now."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base + count > 65535:
            continue
        try:
            held = []
            for port in range(base, base + count):
                sock = socket.socket()
                held.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in held:
                sock.close()
    raise RuntimeError("no free consecutive ports")


class DemoProcess:
    """`coopol demo` as a child of the test, its output read line by line."""

    def __init__(self, args: list[str]) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}
        self.process = subprocess.Popen([*COOPOL, "demo", *args], stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
                                        env=env, start_new_session=True)
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, text: str, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            try:
                line = self._queue.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"no '{text}' from the demo within {timeout:.0f} s:\n{self.output}")
            if line is None:
                pytest.fail(f"the demo exited ({self.process.wait()}) before '{text}':\n{self.output}")
            self.lines.append(line)

    def finish(self, timeout: float = 60) -> int:
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGUSR1)  # the demo dumps its threads' stacks (faulthandler)
            time.sleep(2)
            self.kill()
            with contextlib.suppress(queue.Empty):
                while (line := self._queue.get(timeout=1)) is not None:
                    self.lines.append(line)
            pytest.fail(f"the demo did not stop within {timeout:.0f} s of Ctrl-C; it said:\n{self.output[-4000:]}")
        while (line := self._queue.get(timeout=10)) is not None:
            self.lines.append(line)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, stack = set(), [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.add(child)
            stack.append(child)
    return found


def is_running(pid: int) -> bool:
    """A live (not zombie) process that is still a coopol command (guards against pid reuse)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, IndexError):
        return False
    return state != "Z" and b"coopol" in cmdline


@pytest.fixture
def database_url() -> Iterator[str | None]:
    """On PostgreSQL, the demo's databases get a unique prefix and are dropped afterwards."""
    if not PG_ADMIN_URL:
        yield None
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    prefix = f"coopol_demotest_{uuid.uuid4().hex[:8]}"
    yield make_url(PG_ADMIN_URL).set(database=prefix).render_as_string(hide_password=False)
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        names = list(conn.scalars(text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                                  {"p": prefix + "%"}))
        for name in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def http() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    return session


def run_demo_until_ready(args: list[str]) -> tuple[DemoProcess, set[int]]:
    """Start the demo, wait for its ready line; the child processes it reports and /proc shows."""
    run = DemoProcess(args)
    try:
        run.wait_for(READY_LINE)
    except BaseException:
        run.kill()
        raise
    pids = {int(p) for p in re.findall(r"(?:server|worker) pid (\d+)", run.output)}
    return run, pids | descendants(run.process.pid)


def stop_and_check_no_child_survives(run: DemoProcess, children: set[int]) -> None:
    if run.process.poll() is None:
        run.process.send_signal(signal.SIGINT)  # what Ctrl-C sends; the children are in their own groups
    try:
        code = run.finish()
    finally:
        run.kill()
    assert code == 0, run.output
    assert "Stopped." in run.output
    survivors = sorted(pid for pid in children if is_running(pid))
    assert not survivors, f"still running after the demo stopped: {survivors}\n{run.output}"


def check_seeded(web: requests.Session, seed, url: str, host: str) -> None:
    """Home page, seed ideas (once each), tallies with their per-instance breakdown, comment threads."""
    home = web.get(url + "/", timeout=10)
    assert home.status_code == 200
    assert seed.name in home.text

    ideas = web.get(url + "/api/v1/ideas", params={"origin": "local", "limit": 100}, timeout=10).json()
    titles = [item["title"] for item in ideas["items"]]
    assert sorted(titles) == sorted(idea.title for idea in seed.ideas)
    by_title = {item["title"]: item for item in ideas["items"]}
    for idea_seed in seed.ideas:
        idea = by_title[idea_seed.title]
        assert (idea["language"], idea["scope"], idea["author"]["handle"]) == (
            seed.language, idea_seed.scope, idea_seed.author)
        assert idea["state"] == (idea_seed.answer.state if idea_seed.answer else "published")
        counts = {"support": len(idea_seed.support), "oppose": len(idea_seed.oppose)}
        # Allies' members may have voted too (the seed's debate across parties): ours are counted apart.
        assert idea["tally"]["by_instance"].get(host, {"support": 0, "oppose": 0}) == counts
        assert all(idea["tally"][k] >= counts[k] for k in counts)

    threaded = next(i for i in seed.ideas if any(c.reply_to for c in i.comments))
    idea_id = by_title[threaded.title]["id"]
    comments = [c for c in web.get(f"{url}/api/v1/ideas/{idea_id}/comments", timeout=10).json()["items"]
                if c["author"]["instance"] == host]
    assert [(c["author"]["handle"], c["stance"]) for c in comments] == [
        (c.author, c.stance) for c in threaded.comments]
    ids = {c.key: posted["id"] for c, posted in zip(threaded.comments, comments, strict=True)}
    for comment, posted in zip(threaded.comments, comments, strict=True):
        assert posted.get("parent_id") == (ids[comment.reply_to] if comment.reply_to else None)


def check_moderation_and_accounts(web: requests.Session, seed, url: str) -> None:
    """The public log shows the seed's decisions with their reasons; a moderator sees an open report and the
    appeal; every seed account is older than a day (normal limits)."""
    from datetime import UTC, datetime

    log = web.get(url + "/api/v1/modlog", params={"limit": 50}, timeout=10).json()["items"]
    decided = {(e["action"], e["reason"]) for e in log}
    assert {(a.action, a.reason) for a in seed.moderation.actions} <= decided
    moderator = next(m.handle for m in seed.members if m.role == "moderator")
    token = web.post(url + "/api/v1/tokens", json={"login": moderator, "password": coopol.demo.DEMO_PASSWORD,
                                                   "name": "test"}, timeout=10).json()["token"]
    as_moderator = {"Authorization": f"Bearer {token}"}
    queue = web.get(url + "/api/v1/moderation/queue", headers=as_moderator, timeout=10).json()["items"]
    assert queue, "no open report in the moderators' queue"
    appeals = web.get(url + "/api/v1/moderation/appeals", headers=as_moderator, timeout=10).json()["items"]
    assert len(appeals) == 1
    now = datetime.now(UTC)
    for member in seed.members:
        profile = web.get(f"{url}/api/v1/members/{member.handle}", timeout=10).json()
        created = datetime.fromisoformat(profile["created_at"].replace("Z", "+00:00"))
        assert (now - created).days >= 7, member.handle


def check_allied(path: Path, other_host: str, database_url: str | None) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    if database_url:
        env["DATABASE_URL"] = instance_database_url(database_url, path.name)
    listed = subprocess.run([*COOPOL, "--instance", str(path), "allies", "list"], capture_output=True,
                            text=True, env=env, check=True)
    assert re.search(rf"^{re.escape(other_host)}\tallied\t", listed.stdout, re.M), listed.stdout


def check_ideas_travel(web: requests.Session, seeds, urls: list[str], hosts: list[str]) -> None:
    """An idea of the first instance shows up on the second with its origin (the backfill of the alliance),
    and the debate across parties reached the idea's home."""
    title = seeds[0].ideas[0].title
    deadline = time.monotonic() + 120
    while True:  # deliveries go through the workers: wait for them, then judge
        found = web.get(urls[1] + "/api/v1/ideas", params={"origin": hosts[0], "limit": 100},
                        timeout=10).json()
        copy = next((item for item in found["items"] if item["title"] == title), None)
        if copy is not None or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert copy is not None, f"'{title}' of {hosts[0]} never reached {hosts[1]}"
    assert copy["origin"] == {"host": hosts[0], "name": seeds[0].name}
    check_debate_across_parties(web, seeds, urls, hosts)


def check_debate_across_parties(web: requests.Session, seeds, urls: list[str], hosts: list[str]) -> None:
    """The first party's members voted and commented from home on an idea of the second: the origin
    instance counts the vote under the first party and shows the comment."""
    entry = next(e for e in seeds[0].remote if e.party == seeds[1].slug and e.vote and e.body)
    title = next(i.title for i in seeds[1].ideas if i.key == entry.idea)
    local_votes = next(i for i in seeds[1].ideas if i.key == entry.idea).support
    ideas = web.get(urls[1] + "/api/v1/ideas", params={"origin": "local", "limit": 100}, timeout=10).json()
    idea = next(item for item in ideas["items"] if item["title"] == title)
    deadline = time.monotonic() + 120
    while True:  # the vote and the comment go from the first instance to the origin Group by delivery
        tally = web.get(f"{urls[1]}/api/v1/ideas/{idea['id']}", timeout=10).json()["tally"]
        comments = web.get(f"{urls[1]}/api/v1/ideas/{idea['id']}/comments", timeout=10).json()["items"]
        theirs = [c for c in comments if c["author"]["instance"] == hosts[0]]
        if (tally["by_instance"].get(hosts[0]) and theirs) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert tally["by_instance"].get(hosts[0]) == {"support": 1 if entry.vote == "support" else 0,
                                                 "oppose": 1 if entry.vote == "oppose" else 0}
    assert tally["by_instance"][hosts[1]]["support"] == len(local_votes)
    assert [(c["body"].strip(), c["stance"]) for c in theirs] == [(entry.body, entry.stance)]


def check_audit(web: requests.Session, path: Path, seeds, urls: list[str], hosts: list[str],
                database_url: str | None) -> None:
    """The first party audits the idea of the second its members voted on: every signed vote verifies and
    the tallies agree (exit 0)."""
    entry = next(e for e in seeds[0].remote if e.party == seeds[1].slug and e.vote and e.body)
    title = next(i.title for i in seeds[1].ideas if i.key == entry.idea)
    ideas = web.get(urls[1] + "/api/v1/ideas", params={"origin": "local", "limit": 100}, timeout=10).json()
    idea = next(item for item in ideas["items"] if item["title"] == title)
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    if database_url:
        env["DATABASE_URL"] = instance_database_url(database_url, path.name)
    audited = subprocess.run([*COOPOL, "--instance", str(path), "audit", f"{urls[1]}/ideas/{idea['id']}"],
                             capture_output=True, text=True, env=env, timeout=120, check=False)
    assert audited.returncode == 0, audited.stdout + audited.stderr
    assert hosts[0] in audited.stdout


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.timeout(1800)
def test_demo_serves_allied_seeded_instances_and_stops_every_child(tmp_path, database_url):
    seeds = load_seeds(SEEDS)[:2]
    base = free_ports(2)
    urls = [f"http://127.0.0.1:{base + s.port_offset}" for s in seeds]
    hosts = [url.removeprefix("http://") for url in urls]
    args = ["--base-port", str(base), "--workdir", str(tmp_path)]
    args += ["--database-url", database_url] if database_url else []
    web = http()

    run, children = run_demo_until_ready(["--instances", "2", *args])
    try:
        assert len([line for line in run.output.splitlines() if " pid " in line]) == 4  # servers, workers
        assert re.search(r"^\[#+\.*\] +\d+/\d+ ", run.output, re.M), "no progress bar"
        for seed, url, host in zip(seeds, urls, hosts, strict=True):
            check_seeded(web, seed, url, host)
            check_moderation_and_accounts(web, seed, url)
        check_allied(tmp_path / seeds[0].slug, hosts[1], database_url)
        check_allied(tmp_path / seeds[1].slug, hosts[0], database_url)
        check_ideas_travel(web, seeds, urls, hosts)
        check_audit(web, tmp_path / seeds[0].slug, seeds, urls, hosts, database_url)
    finally:
        stop_and_check_no_child_survives(run, children)

    # Run again on the same folders: nothing is duplicated, the alliance is kept.
    again, children = run_demo_until_ready(["--instances", "1", *args])
    try:
        assert f"{len(seeds[0].members)} members (0 new)" in again.output
        assert "0 new reports, 0 new decisions, 0 new appeals" in again.output
        assert f"{len(seeds[0].ideas)} ideas (0 new), 0 new comments" in again.output
        check_seeded(web, seeds[0], urls[0], hosts[0])
    finally:
        stop_and_check_no_child_survives(again, children)
