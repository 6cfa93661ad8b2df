"""Work that `coopol worker` does between rounds of deliveries, registered by any package.

Domain packages cannot import federation (which owns the worker loop), so they register here: e-mail outbox
sending, reminders, scheduled recomputations. A task does a bounded amount of work and returns how much it
did (0: nothing due), so that an idle worker can wait.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

WORKER_TASKS = "coopol.worker_tasks"


def add_worker_task(app: Flask, task: Callable[[], int]) -> None:
    """More work for the worker between rounds of deliveries: `task()` does a bounded amount, returns how much."""
    app.extensions.setdefault(WORKER_TASKS, []).append(task)


def worker_tasks(app: Flask) -> list[Callable[[], int]]:
    return list(app.extensions.get(WORKER_TASKS, ()))
