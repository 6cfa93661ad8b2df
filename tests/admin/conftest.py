"""The admin dashboard's tests use the live instances and scripted peers of the federation tests."""

from __future__ import annotations

from tests.federation.conftest import instance, peer  # noqa: F401  (fixtures)
