"""https, as in production: two instances with https URLs and real names, each `coopol run` and `coopol
worker` behind Debian's nginx as the TLS proxy (certificates from a CA made here), ally and federate an
idea, a comment and a vote, with every production rule in force (https only, public addresses only).

Names and addresses: the whole set-up lives in a network and mount namespace of its own (`unshare`, as
root), whose loopback carries two public addresses (44.0.0.1, 44.0.0.2: nothing leaves the namespace,
which has no other interface) and whose /etc/hosts is a file of this test bind-mounted there only (the
machine's own file is untouched). So the instances resolve `a.party.example` through the system
resolver, as in production, and the address rules are not relaxed. The servers trust the test CA
through REQUESTS_CA_BUNDLE. The test itself writes through the services on each instance's SQLite file
(the file system is shared) and reads through requests run inside the namespace.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.e2e.conftest import COOPOL, free_port
from tests.tls import make_certificates

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
NAMES = {"a": ("a.party.example", "44.0.0.1"), "b": ("b.party.example", "44.0.0.2")}


def _can_unshare() -> bool:
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("nsenter"):
        return False
    return subprocess.run(["unshare", "--net", "--mount", "true"], capture_output=True).returncode == 0


needs_namespace = pytest.mark.skipif(NGINX is None or not _can_unshare(),
                                     reason="needs nginx and root (network and mount namespaces)")


def _nginx_conf(folder: Path, ports: dict[str, int]) -> Path:
    servers = []
    for key, (name, address) in NAMES.items():
        servers.append(f"""
  server {{
    listen {address}:443 ssl;
    server_name {name};
    ssl_certificate {folder}/{name}.pem;
    ssl_certificate_key {folder}/{name}.key;
    client_max_body_size 2m;
    location / {{
      proxy_pass http://127.0.0.1:{ports[key]};
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;
    }}
  }}""")
    conf = folder / "nginx.conf"
    conf.write_text(f"""user root;
worker_processes 1;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/nginx-error.log;
events {{ worker_connections 256; }}
http {{
  access_log {folder}/nginx-access.log;
  client_body_temp_path {folder}/client_body;
  proxy_temp_path {folder}/proxy;
  {''.join(servers)}
}}
""")
    return conf


class Namespace:
    """A network and mount namespace held by a sleeping process; `run` and `spawn` enter it."""

    def __init__(self, hosts: Path) -> None:
        addresses = " && ".join(f"ip addr add {address}/32 dev lo" for _name, address in NAMES.values())
        self.holder = subprocess.Popen(
            ["unshare", "--net", "--mount", "--propagation", "private", "sh", "-c",
             f"mount --bind {hosts} /etc/hosts && ip link set lo up && {addresses} && echo ready && exec sleep 600"],
            stdout=subprocess.PIPE, text=True)
        assert self.holder.stdout.readline().strip() == "ready"
        self.enter = ["nsenter", "--target", str(self.holder.pid), "--net", "--mount", "--"]

    def run(self, args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([*self.enter, *args], env=env, capture_output=True, text=True, timeout=timeout)

    def spawn(self, args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
        with log.open("w") as out:
            return subprocess.Popen([*self.enter, *args], env=env, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)

    def close(self) -> None:
        self.holder.kill()
        self.holder.wait(10)


def _app(path: Path):
    from coopol import create_app

    return create_app({"INSTANCE_PATH": str(path), "RATELIMIT_ENABLED": False, "PUBLIC_CACHE_SECONDS": 0})


def _within(app, fn):
    from coopol.core.uow import unit_of_work
    from coopol.extensions import db

    with app.test_request_context("/"):
        try:
            with unit_of_work():
                return fn()
        finally:
            db.session.remove()


def _wait(what: str, check, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, f"{what}: still not there"
        time.sleep(0.3)
    return value


@needs_namespace
@pytest.mark.timeout(120)
def test_two_instances_behind_nginx_over_https_ally_and_federate(tmp_path):
    from coopol.accounts.services import register_member
    from coopol.extensions import db
    from coopol.ideas.comments import post_comment
    from coopol.ideas.models import Comment, Idea
    from coopol.ideas.services import create_idea
    from coopol.ideas.votes import cast_vote

    ca = make_certificates(tmp_path, [name for name, _address in NAMES.values()])
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n" + "".join(f"{address} {name}\n" for name, address in NAMES.values()))
    ports = {key: free_port() for key in NAMES}
    env = {k: v for k, v in os.environ.items() if not k.startswith("COOPOL_") and k != "DATABASE_URL"}
    env.update(REQUESTS_CA_BUNDLE=str(ca), SSL_CERT_FILE=str(ca), COOPOL_PROXY_FIX="1",
               COOPOL_RATELIMIT_ENABLED="false", COOPOL_PUBLIC_CACHE_SECONDS="0", COOPOL_ARGON2_TIME_COST="1",
               COOPOL_ARGON2_MEMORY_COST="1024", COOPOL_ARGON2_PARALLELISM="1")
    space = Namespace(hosts)
    processes: list[subprocess.Popen] = []
    try:
        processes.append(space.spawn([NGINX, "-p", str(tmp_path), "-c", str(_nginx_conf(tmp_path, ports)),
                                      "-e", str(tmp_path / "nginx-error.log")], env, tmp_path / "nginx.log"))
        paths = {key: tmp_path / key for key in NAMES}

        def coopol(key: str, *args: str) -> str:
            result = space.run([*COOPOL, "--instance", str(paths[key]), *args], env)
            assert result.returncode == 0, f"coopol {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
            return result.stdout

        for key, (name, _address) in NAMES.items():
            coopol(key, "init", "--name", f"Party {key}", "--url", f"https://{name}")
            processes.append(space.spawn([*COOPOL, "--instance", str(paths[key]), "run", "--port", str(ports[key])],
                                         env, tmp_path / f"{key}-server.log"))
            processes.append(space.spawn([*COOPOL, "--instance", str(paths[key]), "worker"], env,
                                         tmp_path / f"{key}-worker.log"))

        def get(url: str) -> str:
            code = ("import sys, requests; r = requests.get(sys.argv[1], timeout=5); "
                    "print(r.status_code, r.url, r.headers.get('Content-Type', ''))")
            result = space.run([sys.executable, "-c", code, url], env, timeout=30)
            return result.stdout.strip()

        for _key, (name, _address) in NAMES.items():  # served over https, through nginx, by name
            _wait(f"{name} up", lambda name=name: get(f"https://{name}/nodeinfo/2.1").startswith("200 "), 60)
        a_name, b_name = NAMES["a"][0], NAMES["b"][0]

        coopol("a", "allies", "request", f"https://{b_name}")
        coopol("b", "allies", "accept", a_name)
        for key, other in (("a", b_name), ("b", a_name)):
            _wait(f"{key} allied with {other}", lambda key=key, other=other: any(
                line.split("\t")[:2] == [other, "allied"] for line in coopol(key, "allies", "list").splitlines()))

        app_a, app_b = _app(paths["a"]), _app(paths["b"])
        assert app_a.config["URL"] == f"https://{a_name}" and app_a.config["SESSION_COOKIE_SECURE"]

        def publish():
            alice = register_member("alice", "alice@a.example", "correct horse 12", bypass_policy=True)
            return create_idea(alice, title="Night buses over https", body="Free at night.").ap_id

        idea_ap_id = f"https://{a_name}/ideas/1"
        _within(app_a, publish)
        copy_id = _wait("the idea on B", lambda: _within(app_b, lambda: db.session.scalar(
            select(Idea.id).where(Idea.ap_id == idea_ap_id))))

        def debate():
            bob = register_member("bob", "bob@b.example", "correct horse 12", bypass_policy=True)
            copy = db.session.get(Idea, copy_id)
            post_comment(bob, copy, body="Yes, and on Sundays.", stance="for")
            cast_vote(bob, copy, "support")

        _within(app_b, debate)

        def on_a():
            idea = db.session.scalar(select(Idea).where(Idea.origin_host.is_(None)))
            comments = db.session.scalar(select(func.count(Comment.id)).where(Comment.idea_id == idea.id))
            return (idea.support_count, comments) if comments and idea.support_count else None

        assert _wait("B's comment and vote on A", lambda: _within(app_a, on_a)) == (1, 1)
        assert get(f"https://{a_name}/.well-known/host-meta").startswith("200 ")
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                try:
                    os.killpg(process.pid, 15)
                    process.wait(10)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    os.killpg(process.pid, 9)
        space.close()
