"""Channel credentials encrypted at rest (Fernet: AES-128-CBC with an HMAC), with a key kept
apart from the database: `CHATLOOM_SECRET_KEY`, or a key file made once in the data folder,
readable by its owner only. A database copied without the key reveals no token."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

KEY_ENV = "CHATLOOM_SECRET_KEY"


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
            return cls(env.encode())
        path = data / "secret.key"
        if not path.exists():
            data.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(Fernet.generate_key())
        return cls(path.read_bytes().strip())

    def seal(self, values: dict[str, Any]) -> str:
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
        return data
