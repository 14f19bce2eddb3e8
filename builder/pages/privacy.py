"""Privacy and data: what Chatloom stores and where (for the data protection officer), and the
requests of one end user: find them, download everything held about them, erase it.

Each export and erasure goes into the audit log by its counts only, never whom it was about.
"""

from __future__ import annotations

import asyncio
import json
import time
from functools import partial

from fastapi import Request
from fastapi.responses import Response
from nicegui import ui

from builder.access import Visitor, enter
from builder.context import Builder
from builder.i18n import N_, _, n_
from builder.pages.account import header
from builder.widgets import named_dialog
from runtime.privacy import Privacy, Subject, SubjectNotFound
from runtime.retention import Retention
from runtime.workspaces import DEFAULT

CHANNELS = ["api", "telegram", "slack", "whatsapp", "messenger", "instagram", "web"]

DB = N_("Chatloom's database")
STORED = [  # (what, where, how long, where exactly: for the data protection officer), translated where shown
    (N_("End users' conversations: where each stands in its flow and the answers it collected "
        "(names, emails, phone numbers the flow asked for)"), DB, N_("until erased"), N_("table conversations")),
    (N_("Transcripts: everything said both ways (masked, if set below)"), DB, N_("until erased"), N_("table turns")),
    (N_("When masking is on: what was said and sent, unmasked, used only to deliver it"), DB,
     N_("a day, or until erased"), N_("table turns_as_said")),
    (N_("Messages from the messenger apps as they arrived, and replies waiting to be sent"), DB,
     N_("until erased; a reply until it is sent"), N_("tables channel_inbox, channel_outbox")),
    (N_("How each end user is reached on a messenger app"), DB, N_("until erased"), N_("table channel_chats")),
    (N_("What the bots remember about people over time"), N_("the memory store on this server"),
     N_("until forgotten by a flow or erased"),
     N_("chromadb in data/memory/ (or your chromadb server), table memory_items")),
    (N_("Documents you upload for a bot to answer from"), N_("the memory store on this server"), N_("until removed"),
     N_("chromadb, a collection per bot")),
    (N_("Voice replies made for end users"), N_("files on this server"), N_("until erased"), "data/media/"),
    (N_("AI model use: which model, how much, what it cost (not the words)"), DB,
     N_("kept; the link to a conversation goes when it is erased"), N_("table ai_calls")),
    (N_("Accounts of the people who build bots: passwords (never stored as written), sessions, API tokens"),
     DB, N_("until removed"), N_("tables users, sessions, api_tokens; passwords hashed with argon2id")),
    (N_("The audit log: who did what and from which address"), DB, N_("kept"), N_("table audit_log, append-only")),
    (N_("Messenger app tokens, app secrets and AI model keys"), N_("Chatloom's database, encrypted"),
     N_("until replaced"), N_("encrypted (Fernet) with the key in data/secret.key or CHATLOOM_SECRET_KEY")),
]  # fmt: skip


def register(builder: Builder) -> None:
    @ui.page("/privacy")
    def privacy(request: Request) -> Response | None:
        who = enter(builder, request)
        if isinstance(who, Response):
            return who
        PrivacyPage(builder, who)
        return None


class PrivacyPage:
    def __init__(self, builder: Builder, who: Visitor) -> None:
        self.who, self.privacy = who, Privacy(builder.runtime)
        self.subject: Subject | None = None
        header(_("Privacy and data"), who)
        with ui.card().classes("w-full max-w-4xl"):
            ui.label(_("One person's data")).classes("text-lg font-medium")
            ui.label(
                _(
                    "Find an end user by their id on a channel, or by an email address or phone number: it is looked "
                    "for in variables, transcripts, channel events, waiting messages and memories. Then download "
                    "everything held about them, or erase it."
                )
            ).classes("text-sm text-gray-600")
            with ui.row().classes("items-end gap-2"):
                self.kind = ui.select({"user_id": _("Channel user id"), "email": _("Email"), "phone": _("Phone")},
                                      value="user_id", label=_("Find by")).classes("w-44").mark("find-by")  # fmt: skip
                self.value = ui.input(_("Value")).classes("w-64").mark("find-value")
                channels = {"": _("any channel")} | {c: c for c in CHANNELS}
                self.channel = ui.select(channels, value="", label=_("Channel")).classes("w-40")
                self.channel.mark("find-channel")
                ui.button(_("Find"), icon="search", on_click=self._find).mark("find")
            self.found = ui.column().classes("w-full gap-1").mark("found")
        self.retention = Retention(builder.runtime, who.access.audit)
        place = who.workspace() or DEFAULT
        kept = self.retention.settings(place)
        with ui.card().classes("w-full max-w-4xl"):
            ui.label(_("Retention, per workspace")).classes("text-lg font-medium")
            ui.label(
                _(
                    "Conversations and their transcripts are deleted this many days after their last message "
                    "(checked every ten minutes); 0 keeps them until erased. Masking replaces emails, phone numbers "
                    "and card numbers in transcripts written from now on."
                )
            ).classes("text-sm text-gray-600")
            with ui.row().classes("items-end gap-2"):
                spaces = {w.id: w.name for w in who.workspaces()}
                self.place = ui.select(spaces, value=place, label=_("Workspace"), on_change=self._show_kept)
                self.place.classes("w-48").mark("retention-workspace")
                self.days = ui.number(_("Days to keep"), value=kept.days, min=0, max=36_500, step=1).classes("w-28")
                self.days.mark("days")
                masking = _("Mask emails, phone numbers and card numbers")
                self.mask = ui.checkbox(masking, value=kept.mask).mark("mask")
                ui.button(_("Save"), on_click=self._keep).mark("save-retention")
        with ui.card().classes("w-full max-w-4xl"):
            ui.label(_("What Chatloom stores, and where")).classes("text-lg font-medium")
            names = {"what": _("What"), "where": _("Where"), "kept": _("How long")}
            columns = [{"name": k, "label": label, "field": k, "align": "left"} for k, label in names.items()]
            rows = [{"what": _(what), "where": _(where), "kept": _(long)} for what, where, long, _exact in STORED]
            table = ui.table(columns=columns, rows=rows, row_key="what").classes("w-full").props("wrap-cells flat")
            table.mark("stored")
            with ui.expansion(_("Where exactly (for your data protection officer)")).classes("w-full text-sm"):
                for what, _where, _kept, exact in STORED:
                    ui.label(f"{_(what)}: {_(exact)}.").classes("text-xs text-gray-600")
            ui.label(
                _(
                    "Nothing leaves the server unless a flow sends it: an AI step to a hosted model, an HTTP step, "
                    "a channel's platform. The built-in AI model, embeddings and speech run on this server."
                )
            ).classes("text-sm")

    def _show_kept(self) -> None:
        kept = self.retention.settings(str(self.place.value))
        self.days.value, self.mask.value = kept.days, kept.mask

    def _keep(self) -> None:
        place = str(self.place.value)
        if not self.who.may("privacy.manage") or not self.who.principal.sees(place):
            return
        try:
            kept = self.retention.configure(int(self.days.value or 0), bool(self.mask.value), place)
        except (TypeError, ValueError) as exc:
            ui.notify(str(exc), type="warning")
            return
        self.who.record("retention.set", place, {"days": kept.days, "mask": kept.mask})
        kept_for = n_("{count} day", "{count} days", kept.days) if kept.days else _("until erased")
        if kept.mask:
            ui.notify(_("Saved: conversations are kept {how_long}; transcripts are masked.", how_long=kept_for))
        else:
            ui.notify(_("Saved: conversations are kept {how_long}.", how_long=kept_for))

    async def _find(self) -> None:
        if not self.who.may("privacy.manage"):
            return
        value = (self.value.value or "").strip()
        kind = str(self.kind.value)
        channel = str(self.channel.value or "")
        self.found.clear()
        self.subject = None
        try:  # an email or phone is looked for in every store: off the page's event loop
            self.subject = await asyncio.to_thread(partial(self.privacy.find, **{kind: value}, channel=channel))
        except (SubjectNotFound, ValueError) as exc:
            with self.found:
                ui.label(str(exc)).mark("not-found")
            return
        with self.found:
            ui.label(_("{what} held for that person.", what=self.subject.summary())).mark("found-count")
            if kind != "user_id" and self.privacy.note():
                ui.label(self.privacy.note()).classes("text-sm text-gray-600").mark("search-note")
            with ui.row():
                ui.button(_("Download everything (JSON)"), icon="download", on_click=self._export).mark("export")
                ui.button(_("Erase everything"), icon="delete_forever", on_click=self._erase).props(
                    "color=negative"
                ).mark("erase")

    async def _export(self) -> None:
        if self.subject is None or not self.who.may("privacy.manage"):
            return
        data = await self.privacy.export(self.subject)
        self.who.record("privacy.export", detail={"conversations": len(self.subject.ids)})
        body = json.dumps(data, ensure_ascii=False, indent=2, default=str).encode()
        ui.download.content(body, time.strftime("person-%Y%m%d-%H%M%S.json"), "application/json")

    async def _erase(self) -> None:
        if self.subject is None or not self.who.may("privacy.manage"):
            return
        with named_dialog(_("Erase for good")) as dialog, ui.card():
            ui.label(_("Erase {what} and everything tied to them? This cannot be undone.", what=self.subject.summary()))
            with ui.row():
                ui.button(_("Cancel"), on_click=lambda: dialog.submit(False)).props("flat")
                ui.button(_("Erase"), on_click=lambda: dialog.submit(True)).props("color=negative").mark(
                    "confirm-erase"
                )
        confirmed = await dialog
        dialog.delete()
        if not confirmed or not self.who.may("privacy.manage"):
            return
        counts = await self.privacy.erase(self.subject)
        self.who.record("privacy.erase", detail=counts)
        self.subject = None
        self.found.clear()
        with self.found:
            erased = ", ".join(f"{n} {what}" for what, n in counts.items())
            ui.label(_("Erased: {what}.", what=erased)).mark("erased")
