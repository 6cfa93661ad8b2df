"""Declared state transitions: an illegal transition raises, it never silently passes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from coopol.core.errors import IllegalTransition


class StateMachine:
    def __init__(self, name: str, transitions: Mapping[str, Iterable[str]]) -> None:
        self.name = name
        self.transitions = {src: frozenset(dsts) for src, dsts in transitions.items()}
        self.states = frozenset(self.transitions) | {d for dsts in self.transitions.values() for d in dsts}

    def can(self, source: str, target: str) -> bool:
        return target in self.transitions.get(source, ())

    def check(self, source: str, target: str) -> str:
        if target not in self.states:
            raise IllegalTransition(f"Unknown {self.name} state '{target}'.", {"state": [f"Unknown state '{target}'."]})
        if not self.can(source, target):
            raise IllegalTransition(
                f"A {self.name} cannot go from '{source}' to '{target}'.",
                {"state": [f"Not allowed from '{source}'."]},
            )
        return target
