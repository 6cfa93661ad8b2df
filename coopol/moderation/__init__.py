"""Placeholder until the module lands."""


def register(app) -> None:
    pass
