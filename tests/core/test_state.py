"""Declared state transitions."""

from __future__ import annotations

import pytest

from coopol.core.errors import Conflict, IllegalTransition
from coopol.core.state import StateMachine

LIFECYCLE = StateMachine("idea", {
    "draft": {"published", "withdrawn"},
    "published": {"evaluating", "withdrawn", "removed"},
    "evaluating": {"accepted", "rejected"},
})


@pytest.mark.parametrize(("source", "target"), [("draft", "published"), ("published", "evaluating"),
                                                ("evaluating", "accepted")])
def test_declared_transitions_pass(source, target):
    assert LIFECYCLE.can(source, target)
    assert LIFECYCLE.check(source, target) == target


@pytest.mark.parametrize(("source", "target"), [("draft", "accepted"), ("accepted", "draft"),
                                                ("published", "published"), ("removed", "published")])
def test_undeclared_transitions_raise(source, target):
    assert not LIFECYCLE.can(source, target)
    with pytest.raises(IllegalTransition) as raised:
        LIFECYCLE.check(source, target)
    assert raised.value.status_code == 409
    assert source in raised.value.message and target in raised.value.message
    assert "state" in raised.value.errors


def test_an_unknown_state_is_named():
    with pytest.raises(IllegalTransition, match="Unknown idea state 'archived'"):
        LIFECYCLE.check("draft", "archived")


def test_states_include_terminal_ones():
    assert LIFECYCLE.states == {"draft", "published", "withdrawn", "evaluating", "removed", "accepted", "rejected"}
    assert issubclass(IllegalTransition, Conflict)
