"""Three live allied instances in one process (each with its own database, served over real HTTP on
127.0.0.1) and helpers to act on them through the JSON API and to run their delivery workers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.federation.conftest import LiveInstance, build_votes, run_handshake


@dataclass
class Party:
    """A live instance seen by a test: its members act through the API with personal tokens."""

    live: LiveInstance
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.live.url

    @property
    def host(self) -> str:
        return self.live.host

    @property
    def app(self):
        return self.live.app

    def member(self, handle: str, role: str = "member") -> dict[str, str]:
        from coopol.accounts.services import create_token, register_member
        from coopol.core.uow import unit_of_work

        with self.app.app_context(), unit_of_work():
            member = register_member(handle, f"{handle}@{self.host.split(':')[0]}.example", "correct horse 12",
                                     role=role, display_name=handle.title(), bypass_policy=True)
            _token, raw = create_token(member, "test")
        self.tokens[handle] = {"Authorization": f"Bearer {raw}"}
        return self.tokens[handle]

    def api(self, method: str, path: str, as_: str | None = None, expect: int | None = None, **kwargs: Any):
        client = self.app.test_client()
        response = client.open(f"/api/v1{path}", method=method, headers=self.tokens.get(as_ or "", {}), **kwargs)
        if expect is not None:
            assert response.status_code == expect, (method, path, response.status_code, response.get_json())
        return response

    def query(self, fn: Callable[[], Any]) -> Any:
        return self.live.query(fn)

    def build_votes(self) -> int:
        """What the worker does first: our members' queued votes signed, kept and put in the outbox."""
        with self.app.app_context():
            return build_votes()

    def copy_of(self, ap_id: str) -> dict[str, Any] | None:
        """The API view of our idea (or copy) with ActivityPub id `ap_id`, or None."""
        from sqlalchemy import select

        from coopol.extensions import db
        from coopol.ideas.models import Idea

        local_prefix = f"{self.url}/ideas/"
        if ap_id.startswith(local_prefix):
            idea_id = int(ap_id[len(local_prefix):])
        else:
            idea_id = self.query(lambda: db.session.scalar(select(Idea.id).where(Idea.ap_id == ap_id)))
        if idea_id is None:
            return None
        response = self.api("GET", f"/ideas/{idea_id}")
        return response.get_json() if response.status_code == 200 else None

    def comments(self, idea_id: int) -> list[dict[str, Any]]:
        return self.api("GET", f"/ideas/{idea_id}/comments", expect=200).get_json()["items"]


def settle(*parties: Party, rounds: int = 12) -> None:
    """Run every worker until a whole round delivers nothing (each round is bounded)."""
    for _ in range(rounds):
        if sum(p.live.drain() for p in parties) == 0:
            return
    raise AssertionError("deliveries did not settle")


@pytest.fixture
def parties(instance) -> Callable[..., list[Party]]:
    """`a, b, c = parties(3)`: instances allied with each other (every pair)."""

    def factory(count: int = 3, **config: Any) -> list[Party]:
        made = [Party(instance(name, **config)) for name in "abcdefgh"[:count]]
        for i, first in enumerate(made):
            for second in made[i + 1:]:
                run_handshake(first.live, second.live)
        return made

    return factory
