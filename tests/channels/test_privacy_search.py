"""A person found by an email address or phone number wherever it is stored, not only in the
variables of a conversation (which a restart clears): then exported, erased, and looked for again
in every table and every chromadb collection, while someone with a look-alike address stays."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from nodes.api import Inbound
from runtime.ai.local_embedder import LocalEmbedder
from runtime.ai.memory import ChromaMemory
from runtime.engine import Runtime
from runtime.privacy import Privacy, SubjectNotFound
from runtime.privacy_search import NOTE_MASKED
from runtime.retention import Retention
from runtime.store import AS_SAID_SECONDS
from tests.channels.conftest import Rig, text_update

ADA_EMAIL, ADA_PHONE = "Ada.Lovelace@Example.com", "+44 20 7946 0958"
BOB_EMAIL, BOB_PHONE = "ada.lovelace@example.com.au", "020 7946 0959"  # look-alikes: someone else's


def everything(rig: Rig, memory: ChromaMemory) -> str:
    """Every row of every table in the database, and every item of every chromadb collection, lower-cased."""
    out = []
    with rig.runtime.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            out += [repr(tuple(row)) for row in conn.execute(text(f'SELECT * FROM "{table}"'))]
    for collection in memory.collections.client().list_collections():
        got = collection.get(include=["documents", "metadatas"])
        out += [f"{d} {m}" for d, m in zip(got["documents"], got["metadatas"], strict=True)]
    return "\n".join(out).lower()


async def web_visitor(runtime: Runtime, visitor: str, *said: str) -> str:
    """A web chat visitor's conversation, turn by turn as the widget hands them to the runtime."""
    cid = f"web-{visitor}"
    await runtime.start("greeter", user_id=visitor, channel="web", account="site", conversation_id=cid)
    for n, words in enumerate(said):
        await runtime.send(cid, Inbound(text=words, event_id=f"{visitor}:{n}"), restart_on=1)
    return cid


@pytest.fixture
def memory(rig: Rig, tmp_path: Path) -> ChromaMemory:
    found = ChromaMemory.for_data_folder(tmp_path, rig.runtime.engine, LocalEmbedder())
    rig.runtime.services.memory = found
    return found


async def test_a_restarted_web_chat_is_found_by_what_was_typed_then_erased_everywhere(
    rig: Rig, memory: ChromaMemory
) -> None:
    runtime = rig.runtime
    # the visitor gives their address and number, the flow ends, they write again: it starts over
    ada = await web_visitor(runtime, "ada-visitor-0001", f"Ada, {ADA_EMAIL} or {ADA_PHONE}", "hello again")
    bob = await web_visitor(runtime, "bob-visitor-0002", f"Bob, {BOB_EMAIL} or {BOB_PHONE}")
    state = runtime.store.load(ada)
    assert state is not None and "name" not in state.vars  # the restart cleared what she typed from the variables
    await memory.remember("greeter", "web:site:ada-visitor-0001", "Ada prefers email.")
    await memory.set_profile("greeter", "telegram:mybot:4242", "email", ADA_EMAIL.upper())  # memory only
    await memory.remember("greeter", "slack:team:U999", f"Call Ada on {ADA_PHONE}.", scope="bot")  # a bot-wide fact
    await memory.remember("greeter", "web:site:bob-visitor-0002", "Bob likes tea.")

    privacy = Privacy(runtime)
    by_email = privacy.find(email="  ada.lovelace@EXAMPLE.com ")
    by_phone = privacy.find(phone="0044 20 7946-0958")
    assert by_email.ids == by_phone.ids == [ada]
    assert by_email.users == ["telegram:mybot:4242", "web:site:ada-visitor-0001"]
    assert by_phone.users == ["slack:team:U999", "web:site:ada-visitor-0001"]
    with pytest.raises(SubjectNotFound):
        privacy.find(email="lovelace@example.com")  # a part of an address is not the address
    exported = json.dumps(await privacy.export(by_email))
    assert ADA_EMAIL in exported and "Ada prefers email." in exported and ADA_EMAIL.upper() in exported
    assert "Bob" not in exported and BOB_EMAIL not in exported

    before = everything(rig, memory)
    assert before.count("ada.lovelace@example.com") > before.count(BOB_EMAIL) > 0
    await privacy.erase(by_email)
    await privacy.erase(by_phone)
    after = everything(rig, memory)
    assert after.count("ada.lovelace@example.com") == after.count(BOB_EMAIL) > 0  # only Bob's look-alike left
    for trace in ("7946 0958", "ada-visitor-0001", ada, "ada prefers email", "telegram:mybot:4242", "u999"):
        assert trace not in after, trace
    for kept in ("7946 0959", "bob-visitor-0002", bob, "bob likes tea"):
        assert kept in after, kept
    with pytest.raises(SubjectNotFound):
        privacy.find(email=ADA_EMAIL)


async def test_with_masking_on_what_is_kept_as_typed_is_searched_and_the_rest_is_named(
    rig: Rig, memory: ChromaMemory
) -> None:
    runtime = rig.runtime
    Retention(runtime).configure(0, True)  # transcripts masked
    for update_id, (said, chat) in enumerate(
        [("hi", 777), (f"Ada on {ADA_PHONE}", 777), ("hi again", 777), ("hi", 888), (f"Bob on {BOB_PHONE}", 888)], 1
    ):
        assert (await rig.post(text_update(update_id, said, chat))).status_code == 200
        await rig.settle()
    web = await web_visitor(runtime, "ada-visitor-0001", f"Ada, {ADA_EMAIL}", "hello again")
    # masked as kept (the texts only: a timestamp's digits may read 7946 too)
    assert "7946" not in json.dumps([m.payload for m in runtime.store.messages(web)])

    privacy = Privacy(runtime)
    telegram = privacy.find(phone=ADA_PHONE)  # the channel events keep the number as it was sent
    assert [s.user_id for s in telegram.conversations] == ["777"]
    assert privacy.find(email=ADA_EMAIL).ids == [web]  # the day's turns kept as said
    runtime.store.forget_as_said(time.time() + AS_SAID_SECONDS)  # a day later, retention's sweep
    with pytest.raises(SubjectNotFound) as gone:
        privacy.find(email=ADA_EMAIL)
    assert NOTE_MASKED in str(gone.value)  # and says what it cannot find

    await privacy.erase(telegram)
    after = everything(rig, memory)
    assert "7946 0958" not in after and "'777'" not in after and '"user":"777"' not in after.replace(" ", "")
    assert "7946 0959" in after and '"user":"888"' in after.replace(" ", "")
