"""Declared state transitions: an illegal transition raises, it never silently passes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from flask_babel import gettext as _

from coopol.core.errors import IllegalTransition
from coopol.core.labels import label


class StateMachine:
    def __init__(self, name: str, transitions: Mapping[str, Iterable[str]], *, labels: str | None = None) -> None:
        """`labels`: the label table (coopol/core/labels.py) of states people see; their errors are then
        translated. Without it the states are internal (deliveries, backfills) and errors stay technical."""
        self.name = name
        self.labels = labels
        self.transitions = {src: frozenset(dsts) for src, dsts in transitions.items()}
        self.states = frozenset(self.transitions) | {d for dsts in self.transitions.values() for d in dsts}

    def can(self, source: str, target: str) -> bool:
        return target in self.transitions.get(source, ())

    def check(self, source: str, target: str) -> str:
        if self.labels is not None:
            self._check_for_people(source, target)
        if target not in self.states:
            raise IllegalTransition(f"Unknown {self.name} state '{target}'.", {"state": [f"Unknown state '{target}'."]})
        if not self.can(source, target):
            raise IllegalTransition(
                f"A {self.name} cannot go from '{source}' to '{target}'.",
                {"state": [f"Not allowed from '{source}'."]},
            )
        return target

    def _check_for_people(self, source: str, target: str) -> None:
        if target not in self.states:
            message = _("Unknown state “%(state)s”.", state=target)
            raise IllegalTransition(message, {"state": [message]})
        if not self.can(source, target):
            words = {"source": label(self.labels, source), "target": label(self.labels, target)}
            raise IllegalTransition(_("Not possible: from “%(source)s” to “%(target)s”.", **words),
                                    {"state": [_("Not possible from “%(source)s”.", **words)]})
