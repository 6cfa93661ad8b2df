"""Creating an instance: its folder (config, secret, keys), its database and its first administrator.

`coopol init` and `coopol demo` call the same functions, so the demo builds its instances exactly as an
admin would (in one process, without a `coopol` child per step). Like `create_app`, this module sits above
the feature packages and may use any of them (the instance keys live in `coopol.federation.keys`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from coopol.config import check_base_url, read_or_create_secret, write_instance_config


@dataclass(frozen=True)
class InstanceFolder:
    path: Path
    config_file: Path
    key_path: Path
    key_created: bool


def prepare_instance_folder(path: Path, values: dict[str, Any]) -> InstanceFolder:
    """Create the folder (owner-only), `coopol.toml` (adding only the keys it lacks), the secret and the
    key pairs. Safe to run again: nothing an admin wrote is changed, no key is replaced."""
    from coopol.federation.keys import ensure_instance_keypair

    path = path.resolve()
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    if "url" in values:
        values = {**values, "url": check_base_url(values["url"])}
    config_file = write_instance_config(path, values)
    read_or_create_secret(path)
    key_path, created = ensure_instance_keypair(path)
    return InstanceFolder(path, config_file, key_path, created)


def upgrade_database(app: Flask) -> None:
    """Apply every pending migration to the app's database (inside the app's context)."""
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(revision="heads")


def find_admins() -> list[str]:
    """Handles of the local administrators (in an app context)."""
    from coopol.accounts.models import Member, Role
    from coopol.extensions import db

    return list(db.session.scalars(select(Member.handle).where(Member.host.is_(None), Member.role == Role.ADMIN.value)
                                   .order_by(Member.id)))
