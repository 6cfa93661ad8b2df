"""The instance's own RSA key pair, kept as PEM files in the instance folder (owner-only access)."""

from __future__ import annotations

import os
from pathlib import Path

from coopol.federation.signatures import generate_rsa_keypair

KEY_DIR = "keys"
PRIVATE_FILE = "instance.pem"
PUBLIC_FILE = "instance.pub.pem"


def ensure_instance_keypair(instance_path: Path) -> tuple[Path, bool]:
    """Create the key pair once; returns (private key path, created?). Never overwrites a key."""
    key_dir = instance_path / KEY_DIR
    key_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    private_path = key_dir / PRIVATE_FILE
    if private_path.exists():
        return private_path, False
    private, public = generate_rsa_keypair()
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(private)
    (key_dir / PUBLIC_FILE).write_text(public)
    return private_path, True


def read_instance_keypair(instance_path: Path) -> tuple[str, str]:
    key_dir = instance_path / KEY_DIR
    return (key_dir / PRIVATE_FILE).read_text(), (key_dir / PUBLIC_FILE).read_text()
