"""The language models a workspace can use: the built-in local one, those added on the Models page
(stored in the database, API keys encrypted) and those of `models.toml` in the data folder (for
headless servers; keys from environment variables named there, never the keys themselves).

Each model is a name flows refer to, a provider, the provider's model id and how to reach it. The
workspace default is the one marked default, else the built-in local model.
"""

from __future__ import annotations

import os
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Field as Column
from sqlmodel import SQLModel

from flows.db import create_tables
from flows.problems import describe_validation_error
from nodes.ai.llm import MODEL_NAME
from runtime import redaction
from runtime.channels.secretbox import SecretBox

Provider = Literal["local", "openai", "anthropic", "mistral", "groq", "gemini", "azure", "ollama", "openai_compatible"]
LOCAL = "local"  # the built-in model's name and provider
LOCAL_PROVIDER = "chatloom-local"  # how litellm knows our in-process provider
PROVIDERS: dict[str, str] = {  # provider → what the Models page calls it
    "local": "Built-in (offline, SmolLM2-135M)",
    "openai": "OpenAI",
    "anthropic": "Anthropic",
    "mistral": "Mistral",
    "groq": "Groq",
    "gemini": "Google Gemini",
    "azure": "Azure OpenAI",
    "ollama": "Ollama",
    "openai_compatible": "Any OpenAI-compatible server",
}
NEEDS_KEY = {"openai", "anthropic", "mistral", "groq", "gemini", "azure"}
NEEDS_BASE = {"azure", "openai_compatible"}
_PREFIX = {"openai_compatible": "openai", "local": LOCAL_PROVIDER}  # litellm's prefix, where it differs


class ModelConfigError(ValueError):
    """A model's settings (or models.toml) do not make sense; one sentence per problem."""


class ModelForm(BaseModel):
    """A model as a person enters it (Models page, models.toml)."""

    name: str = Field(pattern=MODEL_NAME, title="Name", description="What flows call it, e.g. fast or gpt-4o-mini.")
    provider: Provider = Field(title="Provider")
    model: str = Field(
        "",
        max_length=200,
        title="Model id",
        description="The provider's name for it, e.g. gpt-4o-mini, claude-3-5-haiku-latest.",
    )
    api_base: str = Field(
        "", max_length=500, title="Server address", description="For Azure, Ollama and OpenAI-compatible servers."
    )
    api_version: str = Field("", max_length=50, title="API version (Azure)")
    api_key: SecretStr | None = Field(None, title="API key", description="Stored encrypted; never shown again.")
    api_key_env: str = Field("", max_length=100, title="Environment variable with the API key (models.toml)")
    default: bool = False

    @field_validator("api_base")
    @classmethod
    def _http(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("The server address must start with http:// or https://.")
        return value.rstrip("/")

    def problems(self) -> list[str]:
        out = []
        if self.provider != LOCAL and not self.model:
            out.append(f"Say which {PROVIDERS[self.provider]} model to use (its model id).")
        if self.provider in NEEDS_BASE and not self.api_base:
            out.append(f"{PROVIDERS[self.provider]} needs the server address.")
        if self.provider == "azure" and not self.api_version:
            out.append("Azure OpenAI needs the API version, e.g. 2024-10-21.")
        return out


@dataclass(frozen=True, slots=True)
class ModelConfig:
    """A usable model: what litellm is called with (the key kept out of repr and errors)."""

    name: str
    provider: str
    model: str
    api_base: str = ""
    api_version: str = ""
    source: Literal["builtin", "page", "file"] = "page"
    default: bool = False
    _key: str = ""

    def __repr__(self) -> str:  # never the key
        return f"ModelConfig(name={self.name!r}, provider={self.provider!r}, model={self.model!r})"

    @property
    def has_key(self) -> bool:
        return bool(self._key)

    def litellm_model(self) -> str:
        return f"{_PREFIX.get(self.provider, self.provider)}/{self.model or 'smollm2'}"

    def litellm_args(self) -> dict[str, Any]:
        """Keyword arguments for litellm.acompletion (the key included: pass them on, never log them)."""
        args: dict[str, Any] = {"model": self.litellm_model()}
        if self.api_base:
            args["api_base"] = self.api_base
        elif self.provider == "ollama":
            args["api_base"] = "http://127.0.0.1:11434"
        if self.api_version:
            args["api_version"] = self.api_version
        if self._key:
            args["api_key"] = self._key
        elif self.provider in ("openai_compatible", "ollama"):
            args["api_key"] = "none"  # the OpenAI client insists on one; local servers ignore it
        return args


BUILTIN = ModelConfig(name=LOCAL, provider=LOCAL, model="smollm2", source="builtin")


class ModelRow(SQLModel, table=True):
    """A model added on the Models page."""

    __tablename__ = "ai_models"
    name: str = Column(primary_key=True, max_length=100)
    provider: str = Column(max_length=32)
    model: str = Column(default="", max_length=200)
    api_base: str = Column(default="", max_length=500)
    api_version: str = Column(default="", max_length=50)
    sealed_key: str = ""  # Fernet, with the server's secret key
    is_default: bool = False
    created_at: float


TABLE = ModelRow.__table__  # type: ignore[attr-defined]


def parse_form(data: dict[str, Any]) -> ModelForm:
    """A validated model form, or ModelConfigError with one sentence per problem."""
    try:
        form = ModelForm.model_validate(data)
    except ValidationError as exc:
        raise ModelConfigError(" ".join(describe_validation_error(exc, ModelForm))) from None
    problems = form.problems()
    if problems:
        raise ModelConfigError(" ".join(problems))
    return form


def read_models_file(path: Path) -> tuple[list[ModelConfig], str | None]:
    """The models of a models.toml, and its `default`. A broken file is an error that names the line."""
    if not path.is_file():
        return [], None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ModelConfigError(f"{path.name} is not valid TOML: {exc}.") from None
    default = data.get("default")
    if default is not None and not isinstance(default, str):
        raise ModelConfigError(f"In {path.name}, default must be a model's name.")
    entries = data.get("models", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ModelConfigError(f"In {path.name}, write each model as a [[models]] table.")
    out = []
    for entry in entries:
        if "api_key" in entry:
            raise ModelConfigError(
                f"{path.name} must not hold API keys: name an environment variable with api_key_env instead."
            )
        try:
            form = parse_form(entry)
        except ModelConfigError as exc:
            raise ModelConfigError(f"In {path.name}, model {entry.get('name', '?')!r}: {exc}") from None
        key = os.environ.get(form.api_key_env, "") if form.api_key_env else ""
        redaction.remember(key)
        out.append(_config(form, key, "file", form.name == default))
    return out, default


def _config(form: ModelForm, key: str, source: Literal["page", "file"], default: bool) -> ModelConfig:
    return ModelConfig(
        name=form.name,
        provider=form.provider,
        model=form.model,
        api_base=form.api_base,
        api_version=form.api_version,
        source=source,
        default=default,
        _key=key,
    )


class ModelStore:
    """Models from the built-in one, models.toml and the database, by name."""

    def __init__(self, engine: Engine, box: SecretBox | Callable[[], SecretBox], file: Path | None = None) -> None:
        self.engine, self.file = engine, file
        self._box = box  # or how to make it: the key file is written only when a key is stored
        create_tables(engine, [TABLE])

    @property
    def box(self) -> SecretBox:
        if not isinstance(self._box, SecretBox):
            self._box = self._box()
        return self._box

    def all(self) -> list[ModelConfig]:
        """Every model: the built-in one first, then the file's, then the page's."""
        from_file, file_default = read_models_file(self.file) if self.file else ([], None)
        with self.engine.connect() as conn:
            rows = conn.execute(select(TABLE).order_by(TABLE.c.created_at)).all()
        page = [
            ModelConfig(
                name=r.name,
                provider=r.provider,
                model=r.model,
                api_base=r.api_base,
                api_version=r.api_version,
                source="page",
                default=bool(r.is_default) and file_default is None,
                _key=str(self.box.open(r.sealed_key).get("api_key", "")) if r.sealed_key else "",
            )
            for r in rows
        ]
        models = [BUILTIN, *from_file, *page]
        if not any(m.default for m in models):
            models[0] = replace(BUILTIN, default=True)
        return models

    def get(self, name: str) -> ModelConfig | None:
        return next((m for m in self.all() if m.name == name), None)

    def default(self) -> ModelConfig:
        return next(m for m in self.all() if m.default)

    def save(self, data: dict[str, Any]) -> ModelConfig:
        """Add or change a page model; an empty key keeps the stored one."""
        form = parse_form(data)
        if form.name == LOCAL:
            raise ModelConfigError("“local” is the built-in model's name; choose another.")
        if any(m.name == form.name and m.source == "file" for m in self.all()):
            raise ModelConfigError(f"“{form.name}” is set in models.toml; change it there.")
        key = form.api_key.get_secret_value().strip() if form.api_key else ""
        with self.engine.begin() as conn:
            old = conn.execute(
                select(TABLE.c.sealed_key, TABLE.c.provider, TABLE.c.api_base).where(TABLE.c.name == form.name)
            ).first()
            # an empty key field keeps the stored key, but only for the same provider at the same address:
            # otherwise changing the address would send the stored key to whoever is there
            same_place = old is not None and (old.provider, old.api_base) == (form.provider, form.api_base)
            sealed = self.box.seal({"api_key": key}) if key else (old.sealed_key if same_place and old else "")
            if form.provider in NEEDS_KEY and not sealed:
                raise ModelConfigError(f"{PROVIDERS[form.provider]} needs an API key.")
            values = {
                "provider": form.provider,
                "model": form.model,
                "api_base": form.api_base,
                "api_version": form.api_version,
                "sealed_key": sealed,
            }
            if old is None:
                conn.execute(TABLE.insert().values(name=form.name, created_at=time.time(), is_default=False, **values))
            else:
                conn.execute(update(TABLE).where(TABLE.c.name == form.name).values(**values))
        if form.default:
            self.set_default(form.name)
        found = self.get(form.name)
        assert found is not None
        return found

    def set_default(self, name: str) -> None:
        """Make a page model (or the built-in one) the workspace default."""
        if name != LOCAL and self.get(name) is None:
            raise ModelConfigError(f"There is no model named “{name}”.")
        with self.engine.begin() as conn:
            conn.execute(update(TABLE).values(is_default=TABLE.c.name == name))

    def remove(self, name: str) -> bool:
        with self.engine.begin() as conn:
            return bool(conn.execute(delete(TABLE).where(TABLE.c.name == name)).rowcount)
