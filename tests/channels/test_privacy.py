"""A data-subject request: find a person by their Telegram id or an email address, export
everything held about them, erase it, and find nothing of them in any store afterwards (while
another person's data stays)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from flows.document import parse_flow
from nodes.api import Inbound, Outbound
from runtime.ai.local_embedder import LocalEmbedder
from runtime.ai.memory import ChromaMemory
from runtime.audit import CLI, AuditLog
from runtime.channels.base import ChannelEvent
from runtime.media import LocalMedia
from runtime.privacy import Privacy, SubjectNotFound
from runtime.store import CONV
from tests.channels.conftest import Rig, text_update

EMAIL = "ada.lovelace@example.com"
TABLES = ("conversations", "turns", "channel_inbox", "channel_outbox", "channel_chats", "user_profile", "memory_items")


def dump(rig: Rig, memory: ChromaMemory) -> str:
    """Every row of every table that holds people's data, and every item of every chromadb collection."""
    out = []
    with rig.runtime.engine.connect() as conn:
        for table in TABLES:
            out += [repr(tuple(row)) for row in conn.execute(text(f"SELECT * FROM {table}"))]
    for collection in memory.collections.client().list_collections():
        got = collection.get(include=["documents", "metadatas"])
        out += [f"{d} {m}" for d, m in zip(got["documents"], got["metadatas"], strict=True)]
    return "\n".join(out)


async def test_export_then_erase_a_person_everywhere(rig: Rig, tmp_path: Path) -> None:
    runtime = rig.runtime
    memory = ChromaMemory.for_data_folder(tmp_path, runtime.engine, LocalEmbedder())
    runtime.services.memory = memory
    media = LocalMedia.for_data_folder(tmp_path)
    runtime.services.media = media
    for update_id, (said, chat) in enumerate([("hi", 777), ("Ada", 777), ("hello", 888), ("Bob", 888)], 1):
        assert (await rig.post(text_update(update_id, said, chat))).status_code == 200
        await rig.settle()
    ada = runtime.store.load(next(s.id for s in _states(rig) if s.user_id == "777"))
    assert ada is not None and ada.vars["name"] == "Ada"
    await memory.remember("greeter", "telegram:mybot:777", "My passport number is X1234567.")
    await memory.set_profile("greeter", "telegram:mybot:777", "city", "Marylebone")
    await memory.remember("greeter", "telegram:mybot:888", "Bob likes tea.")
    voice = await media.save(b"OggS voice reply", kind="audio", mime="audio/ogg")  # a spoken reply waiting to go
    spoken = ChannelEvent(channel="telegram", account="mybot", chat="777", user="777", event_id="v1", kind="text")
    rig.store.enqueue_message(ada.id, spoken, Outbound(text="(spoken)", media=voice))
    voice_file = media.path_of(voice.url)
    assert voice_file is not None and voice_file.is_file()
    api_cid, _ = await runtime.start("greeter", variables={"contact": {"email": EMAIL}})

    privacy = Privacy(runtime)
    by_id = privacy.find(user_id="777", channel="telegram")
    by_email = privacy.find(email=EMAIL.upper())
    assert by_id.ids == [ada.id] and by_email.ids == [api_cid]
    exported = json.loads(json.dumps(await privacy.export(by_id)))  # JSON all the way
    [conversation] = exported["conversations"]
    assert conversation["variables"]["name"] == "Ada"
    assert [line["text"] for line in conversation["transcript"]][:4] == [
        "hi",  # the message that started it is theirs too
        "What is your name?",
        "Ada",
        "Nice to meet you, Ada!",
    ]
    assert {e["user"] for e in exported["channel_events"]} == {"777"} and len(exported["channel_events"]) == 2
    assert exported["memory"]["telegram:mybot:777"]["profiles"] == {"greeter": {"city": "Marylebone"}}
    assert [m["text"] for m in exported["memory"]["telegram:mybot:777"]["memories"]] == [
        "My passport number is X1234567."
    ]
    assert exported["messages_waiting"] and "Bob" not in json.dumps(exported)

    before = dump(rig, memory)
    assert "X1234567" in before and "Marylebone" in before and EMAIL in before
    counts = await privacy.erase(by_id)
    await privacy.erase(by_email)
    assert counts["conversations"] == 1 and counts["channel events"] == 2 and counts["memories"] == 2
    after = dump(rig, memory)
    traces = ("X1234567", "Marylebone", EMAIL, '"text": "Ada"', "Nice to meet you, Ada", ada.id, api_cid)
    for trace in (*traces, "telegram:mybot:777"):
        assert trace not in after, trace
    assert '"user":"777"' not in after.replace(" ", "") and "'777'" not in after
    assert "Bob likes tea." in after and '"Bob"' in after  # the other person's data stays
    with pytest.raises(SubjectNotFound):
        privacy.find(user_id="777", channel="telegram")
    assert not voice_file.exists()
    assert await privacy.erase(by_id) == {k: 0 for k in counts}  # run again (as after a crash): nothing left


def test_the_person_must_be_named_one_way(rig: Rig) -> None:
    privacy = Privacy(rig.runtime)
    with pytest.raises(ValueError, match="Give one of"):
        privacy.find()
    with pytest.raises(ValueError, match="not an email address"):
        privacy.find(email="nobody")
    with pytest.raises(ValueError, match="not a phone number"):
        privacy.find(phone="call me")
    with pytest.raises(SubjectNotFound):
        privacy.find(phone="+44 20 7946 0958")


def _states(rig: Rig) -> list[Any]:
    with rig.runtime.engine.connect() as conn:
        ids = list(conn.execute(select(CONV.c.id)).scalars())
    return [s for cid in ids if (s := rig.runtime.store.load(cid)) is not None]


def test_the_command_line_exports_and_erases(tmp_path: Path) -> None:
    import asyncio
    import subprocess
    import sys

    from flows.db import make_engine
    from nodes.registry import Registry
    from runtime.engine import Runtime
    from tests.channels.conftest import GREETER

    data = tmp_path / "data"
    data.mkdir()
    engine = make_engine(f"sqlite:///{data / 'chatloom.db'}")
    registry = Registry.from_entry_points()
    runtime = Runtime(engine, registry)
    runtime.flows.save_draft(parse_flow(json.dumps(GREETER)))
    runtime.flows.publish("greeter", registry)

    async def talk() -> None:
        cid, _ = await runtime.start("greeter", user_id="ann")
        await runtime.send(cid, Inbound(text="Ann Example"))

    asyncio.run(talk())
    engine.dispose()

    def chatloom(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "chatloom", *args, "--data", str(data)],
            check=False,
            capture_output=True,
            text=True,
            timeout=120,
        )

    exported = chatloom("privacy-export", "--user-id", "ann")
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)["conversations"][0]["variables"]["name"] == "Ann Example"
    refused = chatloom("privacy-erase", "--user-id", "ann")
    assert refused.returncode != 0 and "add --yes" in refused.stderr
    erased = chatloom("privacy-erase", "--user-id", "ann", "--yes")
    assert erased.returncode == 0 and "1 conversations" in erased.stdout, erased.stderr
    again = chatloom("privacy-export", "--user-id", "ann")
    assert again.returncode != 0 and "No conversations are held for that person." in again.stderr
    engine = make_engine(f"sqlite:///{data / 'chatloom.db'}")
    entries = AuditLog(engine).entries(action="privacy")
    engine.dispose()
    assert [(e.actor, e.action) for e in entries] == [(CLI, "privacy.erase"), (CLI, "privacy.export")]
    assert entries[0].detail["conversations"] == 1 and '"ann"' not in json.dumps([e.to_json() for e in entries])
