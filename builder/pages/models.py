"""Models: the language models flows can use, and how each is doing.

Add a provider's model (the API key goes straight into the encrypted store and is never shown
again), choose the workspace default, try a model, and read per model: calls, tokens, cost,
p50/p95 latency, error rate and the users' thumbs up/down (last 30 days).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from nicegui import ui

from builder.access import Visitor, account_menu, enter
from builder.context import Builder
from builder.i18n import _
from nodes.ai.llm import ChatRequest, ModelError
from runtime.ai.models import LOCAL, PROVIDERS, ModelConfigError
from runtime.ai.setup import AI


def register(builder: Builder) -> None:
    @ui.page("/models")
    def models(request: Request) -> Response | None:
        who = enter(builder, request)
        if isinstance(who, Response):
            return who
        with ui.row().classes("w-full items-center"):
            ui.link(_("← Flows"), "/")
            ui.label(_("AI models")).classes("text-2xl font-medium")
            ui.space()
            account_menu(who)
        if builder.runtime.ai is None:
            ui.label(_("AI models are not set up on this server.")).mark("unavailable")
            return None
        ModelsPage(builder.runtime.ai, who)
        return None


class ModelsPage:
    """One browser tab's models page."""

    def __init__(self, ai: AI, who: Visitor) -> None:
        self.ai, self.who = ai, who
        self.table = ui.column().classes("w-full max-w-5xl gap-1").mark("models")
        if who.can("models.manage"):
            self._form()
        self.figures = ui.column().classes("w-full max-w-5xl gap-1").mark("figures")
        self.recent = ui.column().classes("w-full max-w-5xl gap-1").mark("recent")
        self.refresh()

    def _form(self) -> None:
        with ui.card().classes("w-full max-w-3xl"):
            ui.label(_("Add a model")).classes("text-lg font-medium")
            with ui.row().classes("w-full items-end gap-2"):
                self.name = ui.input(_("Name in flows"), placeholder=_("fast")).mark("name")
                options = {k: _(v) for k, v in PROVIDERS.items() if k != LOCAL}
                self.provider = ui.select(options, value="openai", label=_("Provider")).classes("w-64").mark("provider")
                self.model = ui.input(_("Model id"), placeholder="gpt-4o-mini").mark("model")
            with ui.row().classes("w-full items-end gap-2"):
                self.api_base = ui.input(_("Server address (Azure, Ollama, compatible servers)")).classes("w-96")
                self.api_base.mark("api-base")
                self.api_version = ui.input(_("API version (Azure)")).mark("api-version")
            self.api_key = ui.input(_("API key"), password=True).classes("w-96").mark("api-key")
            self.api_key.props["hint"] = _("Stored encrypted; never shown again. Leave empty to keep the stored key.")
            self.default = ui.checkbox(_("Use it for every AI step that names no model")).mark("default")
            self.problem = ui.label().classes("text-negative").mark("problem")
            ui.button(_("Save"), icon="save", on_click=self._save).mark("save")

    def refresh(self) -> None:
        self._models()
        self._figures()
        self._recent()

    def _models(self) -> None:
        self.table.clear()
        try:
            models = self.ai.store.all()
        except ModelConfigError as exc:  # a broken models.toml: say where
            with self.table:
                ui.label(str(exc)).classes("text-negative").mark("config-error")
            return
        with self.table:
            ui.label(_("Models")).classes("text-lg font-medium mt-4")
            for m in models:
                with ui.row().classes("w-full items-center gap-3 border-b py-1").mark(f"model-{m.name}"):
                    ui.label(m.name).classes("font-medium w-40")
                    ui.label(_(PROVIDERS[m.provider]) if m.provider in PROVIDERS else m.provider).classes("w-56")
                    offline = _("{model}, offline", model="SmolLM2-135M-Instruct")
                    ui.label(m.model if m.provider != LOCAL else offline).classes("w-56")
                    where = {"builtin": _("built in"), "file": "models.toml", "page": _("this page")}[m.source]
                    if m.has_key:
                        where = _("{where}, key stored", where=where)
                    ui.label(where).classes("text-sm text-gray-600 grow")
                    if m.default:
                        ui.badge(_("default")).mark(f"default-{m.name}")
                    elif self.who.can("models.manage"):
                        ui.button(_("Make default"), on_click=lambda _, n=m.name: self._make_default(n)).props(
                            "flat dense"
                        ).mark(f"make-default-{m.name}")
                    if self.who.can("flows.edit"):
                        tried = ui.button(icon="chat", on_click=lambda _, n=m.name: self._try(n)).props("flat dense")
                        tried.tooltip(_("Try it")).mark(f"try-{m.name}")
                        tried.props["aria-label"] = _("Try {model}", model=m.name)
                    if m.source == "page" and self.who.can("models.manage"):
                        gone = ui.button(icon="delete", on_click=lambda _, n=m.name: self._remove(n)).props(
                            "flat dense"
                        )
                        gone.tooltip(_("Remove")).mark(f"remove-{m.name}")
                        gone.props["aria-label"] = _("Remove {model}", model=m.name)

    def _figures(self) -> None:
        self.figures.clear()
        figures = self.ai.calls.figures()
        with self.figures:
            ui.label(_("How they did (last 30 days)")).classes("text-lg font-medium mt-4")
            if not figures:
                ui.label(_("No calls yet.")).mark("no-calls")
                return
            columns = [
                {"name": k, "label": label, "field": k, "align": "left"}
                for k, label in [
                    ("model", _("Model")),
                    ("calls", _("Calls")),
                    ("tokens", _("Tokens in / out")),
                    ("cost", _("Cost (USD)")),
                    ("p50", _("p50")),
                    ("p95", _("p95")),
                    ("errors", _("Errors")),
                    ("feedback", "👍 / 👎"),
                ]
            ]
            rows: list[dict[str, Any]] = [
                {
                    "model": f.model,
                    "calls": f.calls,
                    "tokens": f"{f.tokens_in:,} / {f.tokens_out:,}",
                    "cost": f"{f.cost:.4f}",
                    "p50": f"{f.p50_ms:,.0f} ms",
                    "p95": f"{f.p95_ms:,.0f} ms",
                    "errors": f"{f.error_rate:.0%}",
                    "feedback": f"{f.thumbs_up} / {f.thumbs_down}",
                }
                for f in figures
            ]
            ui.table(columns=columns, rows=rows, row_key="model").classes("w-full").mark("figures-table")

    def _recent(self) -> None:
        self.recent.clear()
        calls = self.ai.calls.recent(20)
        if self.who.principal.workspaces is not None:  # another workspace's calls name its flows and errors
            calls = [c for c in calls if c.flow_id and self.who.sees_flow(c.flow_id)]
        if not calls:
            return
        with self.recent:
            ui.label(_("Latest calls")).classes("text-lg font-medium mt-4")
            for c in calls:
                when = datetime.fromtimestamp(c.at).strftime("%Y-%m-%d %H:%M:%S")
                took = _("{ms} ms", ms=f"{c.latency_ms:,.0f}")
                tokens = _("{tokens_in}→{tokens_out} tokens", tokens_in=c.tokens_in, tokens_out=c.tokens_out)
                text = f"{when}  {c.model}  {c.outcome}  {took}  {tokens}"
                with ui.row().classes("w-full gap-2 text-sm").mark("call"):
                    ui.label(text + (f"  {c.flow_id}/{c.node_id}" if c.flow_id else ""))
                    if c.error:
                        ui.label(c.error).classes("text-negative")

    def _save(self) -> None:
        if not self.who.may("models.manage"):
            return
        data: dict[str, Any] = {
            "name": (self.name.value or "").strip(),
            "provider": self.provider.value,
            "model": (self.model.value or "").strip(),
            "api_base": (self.api_base.value or "").strip(),
            "api_version": (self.api_version.value or "").strip(),
            "default": bool(self.default.value),
        }
        if self.api_key.value:
            data["api_key"] = self.api_key.value
        self.api_key.value = ""  # never left on the page, saved or not
        try:
            saved = self.ai.store.save(data)
        except ModelConfigError as exc:
            self.problem.text = str(exc)
            return
        self.problem.text = ""
        self.who.record("model.save", saved.name, {"provider": saved.provider, "key_changed": "api_key" in data})
        ui.notify(_("Saved “{name}”.", name=saved.name), type="positive")
        self.refresh()

    def _make_default(self, name: str) -> None:
        if not self.who.may("models.manage"):
            return
        try:
            self.ai.store.set_default(name)
        except ModelConfigError as exc:
            ui.notify(str(exc), type="negative")
            return
        self.refresh()

    def _remove(self, name: str) -> None:
        if not self.who.may("models.manage"):
            return
        self.ai.store.remove(name)
        self.who.record("model.remove", name)
        ui.notify(_("Removed “{name}”.", name=name))
        self.refresh()

    def _try(self, name: str) -> None:
        """A dialog to ask the model something and read its answer there, with how long it took."""
        if not self.who.may("flows.edit"):
            return
        # made in the page's layout, not in the model list: the list is redrawn, and the dialog must stay
        with ui.context.client.layout, ui.dialog(value=True) as dialog, ui.card().classes("w-[36rem] max-w-full gap-3"):
            ui.label(_("Try “{model}”", model=name)).classes("text-lg font-medium")
            question = (
                ui.textarea(_("Ask"), value=_("Say hello in five words.")).props("outlined autogrow").classes("w-full")
            )
            answer = ui.column().classes("w-full gap-1").mark("try-answer")

            async def ask() -> None:
                if not self.who.may("flows.edit") or not str(question.value or "").strip():
                    return
                answer.clear()
                with answer, ui.row().classes("items-center gap-2 text-gray-600"):
                    ui.spinner(size="sm")
                    ui.label(_("Asking {model}… a model on this server can take several seconds.", model=name))
                started = time.monotonic()
                request = ChatRequest(messages=[{"role": "user", "content": str(question.value)}], models=(name,))
                try:
                    reply = await self.ai.models.chat(request)
                except ModelError as exc:
                    answer.clear()
                    with answer:
                        ui.label(str(exc)).classes("text-negative whitespace-pre-wrap")
                else:
                    answer.clear()
                    with answer:
                        ui.label(reply.text).classes("rounded-lg bg-gray-100 px-3 py-2 whitespace-pre-wrap")
                        took = f"{time.monotonic() - started:.1f}"
                        ui.label(_("Answered in {seconds} s", seconds=took)).classes("text-xs text-gray-500")
                self._figures()  # the call counts now; the model list (which holds this dialog's button) stays
                self._recent()

            with ui.row().classes("w-full justify-end gap-2"):
                ui.button(_("Close"), on_click=dialog.close).props("flat")
                ui.button(_("Ask"), icon="send", on_click=ask).mark("try-ask")
        ui.timer(0.05, ask, once=True)  # the first question at once
