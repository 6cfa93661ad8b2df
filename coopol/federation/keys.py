"""Key pairs of our actors.

The instance (`/actor`) and its Group (`/g/ideas`) keep RSA-2048 key pairs as PEM files in the
instance folder, readable by the owner only (`coopol init` creates the instance one; any missing one is
created when first needed). Members' key pairs live in the database, the private half encrypted with
AES-GCM under a key derived (HKDF) from the instance secret, and are created when first needed.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from coopol.federation.signatures import generate_rsa_keypair, load_private_key

KEY_DIR = "keys"
PRIVATE_FILE = "instance.pem"
PUBLIC_FILE = "instance.pub.pem"
NONCE_BYTES = 12


def _write_new_file(path: Path, content: str, mode: int) -> bool:
    """Write ``content`` to ``path`` atomically unless it exists; True if this call created it.

    Written to a temporary file then hard-linked into place, so a concurrent reader never sees a
    half-written key and two processes racing to create it agree on one."""
    temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(content)
        try:
            os.link(temp, path)
        except FileExistsError:
            return False
        return True
    finally:
        temp.unlink(missing_ok=True)


def ensure_actor_keypair(instance_path: Path, name: str) -> tuple[Path, bool]:
    """Create ``keys/<name>.pem`` (and ``<name>.pub.pem``) once; returns (private path, created?)."""
    key_dir = Path(instance_path) / KEY_DIR
    key_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    private_path = key_dir / f"{name}.pem"
    if private_path.exists():
        return private_path, False
    private, public = generate_rsa_keypair()
    created = _write_new_file(private_path, private, 0o600)
    if created:
        public_path = key_dir / f"{name}.pub.pem"
        public_path.unlink(missing_ok=True)
        _write_new_file(public_path, public, 0o644)
    return private_path, created


def read_actor_keypair(instance_path: Path, name: str) -> tuple[str, str]:
    """(private PEM, public PEM) of actor key ``name``, creating the pair if it is missing.

    The public half is derived from the private file, the one source of truth."""
    private_path, _ = ensure_actor_keypair(instance_path, name)
    private = private_path.read_text()
    public = load_private_key(private).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")
    return private, public


def ensure_instance_keypair(instance_path: Path) -> tuple[Path, bool]:
    """Create the key pairs of the instance actor and of its Group once (`coopol init`); returns the
    instance key's (private path, created?). Never overwrites a key."""
    ensure_actor_keypair(instance_path, "group")
    return ensure_actor_keypair(instance_path, "instance")


def read_instance_keypair(instance_path: Path) -> tuple[str, str]:
    return read_actor_keypair(instance_path, "instance")


# ------------------------------------------------------------------------------ member keys


def _member_key_cipher(secret: str) -> AESGCM:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"coopol member private keys v1").derive(secret.encode("utf-8"))
    return AESGCM(derived)


def encrypt_private_key(private_pem: str, secret: str, member_id: int | str) -> bytes:
    """Encrypt a member's private key; the member id is bound in, so rows cannot be swapped (a group's
    key binds `group:<id>`, so it cannot be swapped with a member's either)."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + _member_key_cipher(secret).encrypt(nonce, private_pem.encode("ascii"),
                                                      str(member_id).encode("ascii"))


def decrypt_private_key(blob: bytes, secret: str, member_id: int | str) -> str:
    try:
        plain = _member_key_cipher(secret).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:],
                                                   str(member_id).encode("ascii"))
    except InvalidTag as error:
        raise ValueError("member key cannot be decrypted: was the instance secret changed?") from error
    return plain.decode("ascii")
