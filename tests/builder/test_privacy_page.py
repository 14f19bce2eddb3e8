"""The privacy page as a data protection officer uses it: find a person, download what is held,
erase it; set retention and masking; read what is stored where. Each step lands in the audit log."""

from __future__ import annotations

import json

from nicegui.testing.user import User

from builder.context import TEMPLATES, Builder
from flows.document import parse_flow
from nodes.api import Inbound
from runtime.retention import Retention


async def test_find_download_and_erase_one_person(user: User, builder: Builder) -> None:
    builder.flows.save_draft(parse_flow((TEMPLATES / "lead_capture.json").read_bytes()))
    builder.flows.publish("lead-capture", builder.registry)
    cid, _ = await builder.runtime.start("lead-capture", user_id="tg-99")
    await builder.runtime.send(cid, Inbound(text="Grace Hopper"))
    await user.open("/privacy")
    await user.should_see(marker="stored")  # what is stored and where
    user.find(marker="find-value").type("tg-99")
    user.find(marker="find").click()
    await user.should_see("1 conversation(s) held for that person.")
    user.find(marker="export").click()
    exported = json.loads((await user.download.next()).content)
    assert exported["conversations"][0]["variables"]["name"] == "Grace Hopper"
    user.find(marker="erase").click()
    await user.should_see(marker="confirm-erase")
    user.find(marker="confirm-erase").click()
    await user.should_see(marker="erased")
    assert builder.runtime.store.load(cid) is None
    entries = builder.access.audit.entries(action="privacy")
    assert [e.action for e in entries] == ["privacy.erase", "privacy.export"]
    assert "tg-99" not in json.dumps([e.to_json() for e in entries]) and "Grace" not in json.dumps(
        [e.to_json() for e in entries]
    )
    user.find(marker="find").click()
    await user.should_see("No conversations are held for that person.")


async def test_set_retention_and_masking(user: User, builder: Builder) -> None:
    await user.open("/privacy")
    user.find(marker="days").clear().type("30")
    user.find(marker="mask").click()
    user.find(marker="save-retention").click()
    await user.should_see("Saved: conversations are kept 30 days; transcripts are masked.")
    kept = Retention(builder.runtime).settings()
    assert (kept.days, kept.mask) == (30, True)
    assert builder.runtime.store.masked is not None  # this server masks from the next turn
    [entry] = builder.access.audit.entries(action="retention")
    assert entry.detail == {"days": 30, "mask": True} and entry.target == "default"
