"""The builder's pages under NiceGUI's simulated user: real pages, real runtime, no browser."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator

import httpx
import pytest
from cryptography.fernet import Fernet
from nicegui import core, ui
from nicegui.testing.general import nicegui_reset_globals, prepare_simulation
from nicegui.testing.user import User
from sqlalchemy.engine import Engine

from builder.app import add_pages
from builder.context import Builder
from nodes.registry import Registry
from runtime.channels.secretbox import SecretBox
from runtime.channels.service import Channels
from runtime.channels.store import ChannelStore
from runtime.engine import Runtime
from tests.access import sign_in


@pytest.fixture
async def builder(engine: Engine, builtins: Registry) -> Builder:
    runtime = Runtime(engine, builtins)
    return Builder(runtime, Channels(runtime, ChannelStore(engine, SecretBox(Fernet.generate_key()))))


@pytest.fixture
async def user(builder: Builder) -> AsyncIterator[User]:
    async for first in _users(builder, ["owner"]):
        yield first[0]


@pytest.fixture
async def two_users(builder: Builder) -> AsyncIterator[tuple[User, User]]:
    """Two people signed in at once in two browsers (the owner and an editor) on the same builder."""
    async for both in _users(builder, ["owner", "editor"]):
        yield both[0], both[1]


async def _users(builder: Builder, roles: list[str]) -> AsyncIterator[list[User]]:
    """NiceGUI's simulated user on the builder's own pages (as nicegui.testing.user_simulation does)."""
    with nicegui_reset_globals():
        os.environ["NICEGUI_USER_SIMULATION"] = "true"
        try:
            prepare_simulation()
            add_pages(builder)
            ui.run(storage_secret="test secret")
            transport = httpx.ASGITransport(core.app)
            async with core.app.router.lifespan_context(core.app), contextlib.AsyncExitStack() as stack:
                users = []
                for role in roles:
                    client = await stack.enter_async_context(
                        httpx.AsyncClient(transport=transport, base_url="http://test")
                    )
                    sign_in(client, builder.access, role)  # type: ignore[arg-type]
                    users.append(User(client))
                yield users
        finally:
            os.environ.pop("NICEGUI_USER_SIMULATION", None)
