"""The `coopol` command: in process with Click's runner, and as real processes where it matters."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key
from sqlalchemy import create_engine, inspect, select, text

from coopol.accounts.models import Member
from coopol.cli import cli
from coopol.extensions import db
from tests.conftest import PG_ADMIN_URL, TEST_PASSWORD

STRONG = "a long and unusual pass phrase"


def coopol_command() -> list[str]:
    installed = shutil.which("coopol")
    return [installed] if installed else [sys.executable, "-m", "coopol.cli"]


def clean_environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COOPOL_") and k != "DATABASE_URL"}
    env.update(extra)
    return env


def coopol(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*coopol_command(), *args], capture_output=True, text=True, timeout=120,
                          env=env or clean_environment(), cwd=cwd)


@pytest.fixture
def instance_env(monkeypatch, tmp_path):
    """Runs `init` in process: keep COOPOL_INSTANCE (set by --instance) and DATABASE_URL from leaking."""
    monkeypatch.setenv("COOPOL_INSTANCE", str(tmp_path / "unused"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return tmp_path


def init_instance(runner, path: Path, *extra: str):
    return runner.invoke(cli, ["--instance", str(path), "init", "--name", "Parti Test",
                               "--url", "http://127.0.0.1:5999", *extra])


# --- help -------------------------------------------------------------------------------------------

def test_help_lists_the_commands():
    result = coopol("--help")

    assert result.returncode == 0
    for command in ("init", "run", "db", "users", "tokens", "invites", "allies", "worker", "demo"):
        assert f"  {command} " in result.stdout
    assert "--instance DIR" in result.stdout


def test_the_cli_imports_no_feature_package_and_none_imports_it_to_register():
    """Feature packages add their commands from `register(app)`, like blueprints: no import cycle."""
    probe = ("import sys, importlib; importlib.import_module(sys.argv[1]); "
             "print(sorted(m for m in sys.modules if m in ('coopol.cli', 'coopol.demo', 'coopol.federation.cli', "
             "'coopol.federation.content.cli')))")

    def loaded_with(module: str) -> str:
        return subprocess.run([sys.executable, "-c", probe, module], capture_output=True, text=True, check=True,
                              env=clean_environment(PYTHONPATH=os.environ.get("PYTHONPATH", ""))).stdout.strip()

    assert loaded_with("coopol.cli") == "['coopol.cli']"
    assert loaded_with("coopol.federation.cli") == "['coopol.federation.cli']"
    assert loaded_with("coopol.federation.content.cli") == "['coopol.federation.cli', 'coopol.federation.content.cli']"


def test_a_feature_packages_command_with_a_bad_setting_is_one_line(tmp_path):
    result = coopol("--instance", str(tmp_path), "allies", "list",
                    env=clean_environment(COOPOL_REGISTRATION="invite-only"))

    assert result.returncode == 1
    assert result.stderr.startswith("Error: Configuration: ") and "registration must be one of" in result.stderr
    assert result.stderr.count("\n") == 1


def test_subcommand_help():
    assert "create" in coopol("users", "--help").stdout
    assert "--port" in coopol("run", "--help").stdout


# --- init -------------------------------------------------------------------------------------------

def test_init_creates_config_secret_keys_and_a_migrated_database(runner, instance_env):
    path = instance_env / "party"

    result = init_instance(runner, path, "--language", "fr", "--description", 'Say "hi"\nand \\ bye')

    assert result.exit_code == 0, result.output
    assert "Instance ready" in result.output and "(created)" in result.output
    config = tomllib.loads((path / "coopol.toml").read_text())
    assert config == {"name": "Parti Test", "url": "http://127.0.0.1:5999", "language": "fr",
                      "description": 'Say "hi"\nand \\ bye', "registration": "open"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o700
    assert stat.S_IMODE((path / "secret_key").stat().st_mode) == 0o600
    assert len((path / "secret_key").read_text().strip()) >= 32
    private_file = path / "keys" / "instance.pem"
    assert stat.S_IMODE(private_file.stat().st_mode) == 0o600
    private = load_pem_private_key(private_file.read_bytes(), password=None)
    assert isinstance(private, rsa.RSAPrivateKey) and private.key_size == 2048
    public = load_pem_public_key((path / "keys" / "instance.pub.pem").read_bytes())
    assert public.public_numbers() == private.public_key().public_numbers()
    engine = create_engine(f"sqlite:///{path / 'coopol.sqlite'}")
    try:
        tables = set(inspect(engine).get_table_names())
        with engine.connect() as connection:
            versions = set(connection.scalars(text("SELECT version_num FROM alembic_version")))
    finally:
        engine.dispose()
    assert {"members", "api_tokens", "invitations", "alembic_version"} <= tables
    assert versions <= migration_heads() and migration_heads() <= reached_from(versions)


def reached_from(versions: set[str]) -> set[str]:
    """Revisions applied, given the version table (a revision that `depends_on` another branch's head
    stands for it there)."""
    from alembic.script import ScriptDirectory

    import coopol

    script = ScriptDirectory(str(Path(coopol.__file__).parent / "migrations"))
    return {rev.revision for rev in script.iterate_revisions(tuple(versions), "base")}


def migration_heads() -> set[str]:
    from alembic.script import ScriptDirectory

    import coopol

    return set(ScriptDirectory(str(Path(coopol.__file__).parent / "migrations")).get_heads())


def test_init_is_idempotent_and_keeps_what_the_admin_edited(runner, instance_env):
    path = instance_env / "party"
    assert init_instance(runner, path).exit_code == 0
    key, secret = (path / "keys" / "instance.pem").read_bytes(), (path / "secret_key").read_text()
    edited = (path / "coopol.toml").read_text().replace('name = "Parti Test"', 'name = "Renamed"')
    (path / "coopol.toml").write_text("# my own notes\n" + edited.replace('registration = "open"\n', "")
                                      + "\n[limits]\nideas_per_day = 5\n")

    again = runner.invoke(cli, ["--instance", str(path), "init", "--name", "Other", "--url", "http://127.0.0.1:5999"])

    assert again.exit_code == 0, again.output
    assert "(kept)" in again.output
    assert "Note: name stays 'Renamed'" in again.output
    assert (path / "keys" / "instance.pem").read_bytes() == key
    assert (path / "secret_key").read_text() == secret
    content = (path / "coopol.toml").read_text()
    assert content.startswith("# my own notes\n")
    config = tomllib.loads(content)
    assert config["name"] == "Renamed"
    assert config["registration"] == "open"  # the missing key is added back at the top level
    assert config["limits"] == {"ideas_per_day": 5}


def admins_of(path: Path) -> list[tuple[str, str, str]]:
    engine = create_engine(f"sqlite:///{path / 'coopol.sqlite'}")
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(
                "SELECT handle, email, role FROM members WHERE role = 'admin' ORDER BY id"))]
    finally:
        engine.dispose()


def test_init_with_admin_creates_the_first_administrator_who_can_log_in(runner, instance_env):
    path = instance_env / "party"

    result = init_instance(runner, path, "--admin", "alice", "--email", "alice@party.example", "--password", STRONG)

    assert result.exit_code == 0, result.output
    assert "  admin:    alice (created)" in result.output
    assert admins_of(path) == [("alice", "alice@party.example", "admin")]
    from coopol import create_app
    from coopol.accounts.services import authenticate

    app = create_app({"INSTANCE_PATH": str(path)})
    with app.app_context():
        assert authenticate("alice", STRONG).is_admin
        db.engine.dispose()


def test_init_prints_the_next_steps(runner, instance_env):
    path = instance_env / "party"

    result = init_instance(runner, path, "--admin", "alice", "--email", "alice@party.example", "--password", STRONG)

    steps = result.output.split("Next steps:", 1)[1]
    assert f"coopol --instance {path} run --port 5999" in steps
    assert "http://127.0.0.1:5999/login as alice" in steps
    assert f"coopol --instance {path} users create HANDLE --email E" in steps
    assert f"coopol --instance {path} tokens create alice" in steps
    assert f"coopol --instance {path} allies request https://" in steps
    assert f"coopol --instance {path} worker" in steps


def test_init_asks_for_the_password_twice_without_echoing_it(runner, instance_env, monkeypatch):
    monkeypatch.delenv("COOPOL_PASSWORD", raising=False)
    path = instance_env / "party"

    result = runner.invoke(cli, ["--instance", str(path), "init", "--name", "P", "--url", "http://127.0.0.1:5999",
                                 "--admin", "alice", "--email", "alice@party.example"],
                           input=f"{STRONG}\nnot the same one\n{STRONG}\n{STRONG}\n")

    assert result.exit_code == 0, result.output
    assert result.output.count("Password for alice") == 2  # asked again after the mismatch
    assert STRONG not in result.output
    assert admins_of(path) == [("alice", "alice@party.example", "admin")]


def test_init_refuses_a_weak_password_in_one_line_and_creates_no_admin(runner, instance_env):
    path = instance_env / "party"

    result = init_instance(runner, path, "--admin", "alice", "--email", "alice@party.example", "--password", "short")

    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1].startswith("Error: password: Use at least 10 characters")
    assert admins_of(path) == []


def test_init_again_with_an_admin_changes_nothing_and_says_so(runner, instance_env):
    path = instance_env / "party"
    assert init_instance(runner, path, "--admin", "alice", "--email", "alice@party.example",
                         "--password", STRONG).exit_code == 0

    same = init_instance(runner, path, "--admin", "alice", "--email", "alice@party.example", "--password", STRONG)
    other = init_instance(runner, path, "--admin", "bob", "--email", "bob@party.example")  # no password asked

    assert same.exit_code == 0 and other.exit_code == 0, other.output
    assert "  admin:    alice (exists; nothing changed)" in same.output
    assert "  admin:    alice (exists; nothing changed, 'bob' not created)" in other.output
    assert "Password" not in other.output
    assert admins_of(path) == [("alice", "alice@party.example", "admin")]


def test_init_without_admin_says_there_is_none_yet(runner, instance_env):
    result = init_instance(runner, instance_env / "party")

    assert result.exit_code == 0
    assert "No administrator yet: run init again with --admin HANDLE --email E" in result.output


@pytest.mark.parametrize("args, message", [
    (["--admin", "alice"], "--admin needs --email"),
    (["--email", "a@b.example"], "--email and --password name the first administrator: give --admin HANDLE too."),
])
def test_init_admin_options_go_together(runner, instance_env, args, message):
    result = init_instance(runner, instance_env / "party", *args)

    assert result.exit_code == 1
    assert f"Error: {message}" in result.output
    assert not (instance_env / "party").exists()


@pytest.mark.parametrize("url", ["ideas.party.example", "ftp://ideas.party.example", "https://",
                                 "https://ideas.party.example/sub/path", "http://host:notaport",
                                 "https://user:pw@ideas.party.example", "https://ideas.party.example/?x=1"])
def test_init_refuses_a_bad_url_in_one_line(runner, instance_env, url):
    path = instance_env / "party"

    result = runner.invoke(cli, ["--instance", str(path), "init", "--name", "X", "--url", url])

    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert result.output.startswith("Error: --url must be a base URL")
    assert not path.exists()


def test_init_refuses_an_unknown_language(runner, instance_env):
    result = init_instance(runner, instance_env / "party", "--language", "xx")

    assert result.exit_code == 2
    assert "'xx' is not one of" in result.output


def test_a_bad_url_as_a_real_process(tmp_path):
    result = coopol("--instance", str(tmp_path / "p"), "init", "--name", "X", "--url", "not a url")

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == ["Error: --url must be a base URL like "
                                                  "https://ideas.party.example, not 'not a url'."]
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(not PG_ADMIN_URL, reason="needs COOPOL_TEST_DATABASE_URL (PostgreSQL)")
def test_init_migrates_a_postgresql_database_named_by_database_url(runner, instance_env, monkeypatch,
                                                                    database_factory):
    from sqlalchemy.engine import make_url

    name = f"coopol_cli_{os.getpid()}_{int(time.time() * 1000) % 10**8}"
    with database_factory.admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    monkeypatch.setenv("DATABASE_URL", make_url(url).set(password="s3cret-pw").render_as_string(hide_password=False)
                       if not make_url(url).password else url)
    try:
        result = init_instance(runner, instance_env / "party")
        assert result.exit_code == 0, result.output
        assert "postgresql" in result.output
        assert "s3cret-pw" not in result.output  # never print the database password
        engine = create_engine(url)
        try:
            assert "members" in inspect(engine).get_table_names()
        finally:
            engine.dispose()
        assert not (instance_env / "party" / "coopol.sqlite").exists()
    finally:
        database_factory.drop(url)


# --- users, tokens, invites, db ------------------------------------------------------------------------

def test_users_create_list_and_role(app, runner):
    created = runner.invoke(cli, ["users", "create", "alice", "--email", "alice@example.org", "--password", STRONG,
                                  "--name", "Alice Martin", "--role", "moderator"])
    role = runner.invoke(cli, ["users", "role", "alice", "admin"])
    listed = runner.invoke(cli, ["users", "list"])

    assert created.exit_code == 0 and created.output == "Created moderator 'alice'.\n"
    assert role.exit_code == 0 and role.output == "'alice' is now admin.\n"
    assert listed.output.startswith("alice\tadmin\tactive\t")
    with app.app_context():
        member = db.session.scalar(select(Member).where(Member.handle == "alice"))
        assert (member.display_name, member.role, member.email) == ("Alice Martin", "admin", "alice@example.org")


def test_users_create_takes_the_password_from_the_environment(runner, monkeypatch):
    monkeypatch.setenv("COOPOL_PASSWORD", STRONG)

    result = runner.invoke(cli, ["users", "create", "alice", "--email", "alice@example.org"])

    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(("args", "message"), [
    (["--email", "other@example.org", "--password", STRONG], "Error: This handle is already taken. (handle)\n"),
    (["--email", "alice@example.org", "--password", STRONG], "Error: This handle is already taken. (handle)\n"),
])
def test_users_create_a_duplicate_is_one_clear_line(runner, create_member, args, message):
    create_member("alice")

    result = runner.invoke(cli, ["users", "create", "alice", *args])

    assert result.exit_code == 1
    assert result.output == message


def test_users_create_a_duplicate_email_names_the_field(runner, create_member):
    create_member("alice")

    result = runner.invoke(cli, ["users", "create", "bob", "--email", "ALICE@example.org", "--password", STRONG])

    assert result.exit_code == 1
    assert result.output == "Error: This e-mail address is already registered. (email)\n"


def test_users_create_a_weak_password_names_the_field(app, runner):
    result = runner.invoke(cli, ["users", "create", "alice", "--email", "alice@example.org", "--password", "short"])

    assert result.exit_code == 1
    assert result.output == "Error: password: Use at least 10 characters.\n"
    with app.app_context():
        assert db.session.scalar(select(Member.id)) is None


def test_users_create_several_bad_fields_in_one_line(runner):
    result = runner.invoke(cli, ["users", "create", "x", "--email", "nope", "--password", STRONG])

    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert "handle: Use 3 to 30" in result.output and "email: Enter a valid e-mail address." in result.output


def test_users_role_of_an_unknown_member(runner):
    result = runner.invoke(cli, ["users", "role", "nobody", "admin"])

    assert result.exit_code == 1
    assert result.output == "Error: No member 'nobody'.\n"


def test_tokens_create_prints_a_working_token(app, runner, client, create_member):
    create_member("alice")

    result = runner.invoke(cli, ["tokens", "create", "alice", "--name", "deploy script"])

    assert result.exit_code == 0
    token = result.output.strip()
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json["handle"] == "alice"
    assert client.get("/api/v1/me/tokens", headers={"Authorization": f"Bearer {token}"}).json[0]["name"] == (
        "deploy script")


def test_tokens_create_refuses_unknown_and_banned_members(runner, create_member, app):
    create_member("alice")
    with app.app_context():
        db.session.scalar(select(Member).where(Member.handle == "alice")).status = "banned"
        db.session.commit()

    unknown = runner.invoke(cli, ["tokens", "create", "nobody"])
    banned = runner.invoke(cli, ["tokens", "create", "alice"])

    assert unknown.exit_code == 1 and unknown.output == "Error: No member 'nobody'.\n"
    assert banned.exit_code == 1 and "cannot have API tokens" in banned.output


def test_invites_create_prints_distinct_codes(runner):
    codes = {runner.invoke(cli, ["invites", "create"]).output.strip() for _ in range(3)}

    assert len(codes) == 3


def test_db_upgrade_migrates_an_empty_database(tmp_path):
    from coopol import create_app
    from coopol.cli import database_state
    from tests.conftest import FAST_CONFIG

    app = create_app({**FAST_CONFIG, "INSTANCE_PATH": str(tmp_path),
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'empty.sqlite'}"})
    runner = app.test_cli_runner()
    try:
        with app.app_context():
            assert database_state() == "missing"
        result = runner.invoke(cli, ["db", "upgrade"])
        assert result.exit_code == 0, result.output
        assert "Database is up to date." in result.output
        with app.app_context():
            assert database_state() == "ready"
        assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0  # nothing left to apply
    finally:
        with app.app_context():
            db.engine.dispose()


def test_commands_refuse_an_instance_that_does_not_exist(tmp_path):
    missing = tmp_path / "nowhere"

    for args in (["users", "list"], ["tokens", "create", "alice"], ["db", "upgrade"]):
        result = coopol("--instance", str(missing), *args)
        assert result.returncode == 1, args
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
        assert "init" in lines[0]
    assert not missing.exists()


def test_a_bad_setting_is_one_line_naming_it(tmp_path):
    for variable, value, expected in (("COOPOL_REGISTRATION", "invite-only", "registration must be one of"),
                                      ("COOPOL_PASSWORD_MIN_LENGTH", "ten", "COOPOL_PASSWORD_MIN_LENGTH")):
        result = coopol("--instance", str(tmp_path), "users", "list", env=clean_environment(**{variable: value}))
        assert result.returncode == 1
        assert result.stderr.startswith("Error: Configuration: ") and expected in result.stderr
        assert result.stderr.count("\n") == 1


def test_an_unreachable_database_is_one_line(tmp_path):
    result = coopol("--instance", str(tmp_path), "db", "upgrade",
                    env=clean_environment(DATABASE_URL="postgresql://nobody@127.0.0.1:1/nothing"))

    assert result.returncode == 1
    assert result.stderr.startswith("Error: Database: ")
    assert result.stderr.count("\n") == 1


# --- run ----------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def start_server():
    started: list[subprocess.Popen] = []

    def start(*args: str) -> subprocess.Popen:
        process = subprocess.Popen([*coopol_command(), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, env=clean_environment())
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_for_home_page(process: subprocess.Popen, url: str) -> requests.Response:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited ({process.returncode}): {process.stderr.read()}")
        try:
            return requests.get(url, timeout=5)
        except requests.ConnectionError:
            time.sleep(0.2)
    pytest.fail("the server did not answer")


@pytest.mark.slow
def test_run_serves_the_instance(tmp_path, start_server):
    port = free_port()
    path = tmp_path / "party"
    created = coopol("--instance", str(path), "init", "--name", "Parti du Test", "--url", f"http://127.0.0.1:{port}")
    assert created.returncode == 0, created.stderr

    server = start_server("--instance", str(path), "run", "--port", str(port))
    response = wait_for_home_page(server, f"http://127.0.0.1:{port}/")

    assert response.status_code == 200
    assert "Parti du Test" in response.text
    assert "Content-Security-Policy" in response.headers
    assert requests.get(f"http://127.0.0.1:{port}/api/v1/me", timeout=5).status_code == 401


@pytest.mark.slow
def test_run_refuses_an_uninitialised_instance(tmp_path, start_server):
    path = tmp_path / "empty"
    path.mkdir()

    server = start_server("--instance", str(path), "run", "--port", str(free_port()))
    _out, err = server.communicate(timeout=60)

    assert server.returncode == 1
    assert err.strip().splitlines() == [
        "Error: The database is not initialised: run `coopol --instance DIR init ...` or `coopol db upgrade`."]
    assert not (path / "coopol.sqlite").exists()  # the check created nothing


def test_run_refuses_a_database_with_pending_migrations(tmp_path):
    from flask_migrate import upgrade

    from coopol import create_app
    from tests.conftest import FAST_CONFIG

    app = create_app({**FAST_CONFIG, "INSTANCE_PATH": str(tmp_path),
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.sqlite'}"})
    try:
        with app.app_context():
            upgrade(revision="0001_accounts")
        result = app.test_cli_runner().invoke(cli, ["run", "--port", str(free_port())])
    finally:
        with app.app_context():
            db.engine.dispose()

    assert result.exit_code == 1
    assert "db upgrade" in result.output and "migrations" in result.output


def test_tokens_and_users_as_real_processes(tmp_path):
    path = tmp_path / "party"
    assert coopol("--instance", str(path), "init", "--name", "P", "--url", "http://127.0.0.1:5998").returncode == 0

    created = coopol("--instance", str(path), "users", "create", "alice", "--email", "alice@example.org",
                     env=clean_environment(COOPOL_PASSWORD=TEST_PASSWORD))
    duplicate = coopol("--instance", str(path), "users", "create", "alice", "--email", "x@example.org",
                       "--password", TEST_PASSWORD)
    token = coopol("--instance", str(path), "tokens", "create", "alice")

    assert created.returncode == 0, created.stderr
    assert duplicate.returncode == 1 and duplicate.stderr == "Error: This handle is already taken. (handle)\n"
    assert token.returncode == 0 and token.stdout.startswith("cpl_")


@pytest.mark.parametrize(("url", "port", "warns"), [
    ("http://127.0.0.1:5000", 5000, False),
    ("http://127.0.0.1:5000", 5001, True),
    ("http://localhost", 80, False),
    ("http://localhost", 8080, True),
    ("https://ideas.party.example", 8000, False),  # behind a proxy: the ports rightly differ
])
def test_run_warns_when_a_local_url_names_another_port(url, port, warns):
    from coopol.cli import port_mismatch

    warning = port_mismatch(url, port)

    assert (warning is not None) is warns
    if warns:
        assert url in warning and f"port {port}" in warning
