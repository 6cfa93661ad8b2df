"""Property tests (hypothesis) for the pieces that parse outside input. Run alone: `pytest tests/property`.

Examples are bounded (`PROPERTY`) so the family runs in well under a minute."""

from hypothesis import HealthCheck, settings

settings.register_profile(
    "coopol", max_examples=150, deadline=None,
    # The app fixtures are made once per test and shared by its examples on purpose (a fresh database per
    # example would be far too slow); every example leaves the database as it found it.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.load_profile("coopol")
