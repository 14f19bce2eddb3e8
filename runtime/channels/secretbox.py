"""Channel credentials encrypted at rest (Fernet: AES-128-CBC with an HMAC), with a key kept
apart from the database: `CHATLOOM_SECRET_KEY`, or a key file made once in the data folder,
readable by its owner only. A database copied without the key reveals no token."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from runtime import redaction

KEY_ENV = "CHATLOOM_SECRET_KEY"
redaction.install()  # a process that holds secrets scrubs them from its logs


class SecretsUnreadable(Exception):
    """The stored credentials cannot be decrypted with this key (a different key, a damaged row)."""


class SecretBox:
    """Encrypts and decrypts small JSON objects of credentials."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    @classmethod
    def for_data_folder(cls, data: Path) -> SecretBox:
        """The key from $CHATLOOM_SECRET_KEY, else from `data/secret.key` (made on first use, mode 0600)."""
        env = os.environ.get(KEY_ENV)
        if env:
            redaction.remember(env)
            return cls(env.encode())
        path = data / "secret.key"
        if not path.exists():
            data.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(Fernet.generate_key())
        return cls(path.read_bytes().strip())

    def seal(self, values: dict[str, Any]) -> str:
        redaction.remember(*values.values())
        return self._fernet.encrypt(json.dumps(values).encode()).decode()

    def open(self, sealed: str) -> dict[str, Any]:
        try:
            data = json.loads(self._fernet.decrypt(sealed.encode()))
        except (InvalidToken, ValueError) as exc:
            raise SecretsUnreadable(
                "The channel's credentials cannot be read with this server's key; enter them again."
            ) from exc
        if not isinstance(data, dict):
            raise SecretsUnreadable("The channel's stored credentials are damaged; enter them again.")
        redaction.remember(*data.values())
        return data


class WrongKey(Exception):
    """The server's key is not the one the database's secrets were sealed with, or not a key at all."""


def open_box(data: Path) -> SecretBox:
    """The data folder's SecretBox, or WrongKey in words when the key is not a Fernet key."""
    try:
        return SecretBox.for_data_folder(data)
    except ValueError:
        where = KEY_ENV if os.environ.get(KEY_ENV) else str(data / "secret.key")
        raise WrongKey(f"The encryption key in {where} is not a valid key (32 url-safe base64 bytes).") from None


def check_key(box: SecretBox, engine: Any) -> None:
    """Refuse to start with a key that cannot open this database's secrets, before anything is written.

    The database keeps a sealed check value, written on the first start; older databases are checked
    against the first sealed secret they hold (a channel's credentials or a model's key)."""
    from sqlalchemy import inspect, text

    wrong = WrongKey(
        f"The encryption key (${KEY_ENV} or secret.key in the data folder) is not the one this database's "
        "secrets were sealed with. Start with the right key; nothing was changed."
    )
    tables = set(inspect(engine).get_table_names())
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS secret_key_check (id INTEGER PRIMARY KEY, sealed TEXT NOT NULL)"))
        row = conn.execute(text("SELECT sealed FROM secret_key_check WHERE id = 1")).first()
        if row is not None:
            try:
                box.open(row.sealed)
            except SecretsUnreadable:
                raise wrong from None
            return
        probes = {
            "deployments": "SELECT credentials FROM deployments LIMIT 1",
            "ai_models": "SELECT sealed_key FROM ai_models WHERE sealed_key != '' LIMIT 1",
        }
        for table, query in probes.items():
            sealed = conn.execute(text(query)).scalar() if table in tables else None
            if sealed:
                try:
                    box.open(sealed)
                except SecretsUnreadable:
                    raise wrong from None
        conn.execute(text("INSERT INTO secret_key_check (id, sealed) VALUES (1, :s)"), {"s": box.seal({"check": True})})
