"""The templates gallery: what each example flow does, its steps, a chat to try it, and one click to use it."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response
from nicegui import ui

from builder.access import account_menu, enter, visitor
from builder.cards import look
from builder.chat_panel import ChatPanel
from builder.context import Builder
from builder.i18n import _, n_
from builder.pages.flow_list import create_from_template
from flows.models import Flow


def register(builder: Builder) -> None:
    @ui.page("/templates")
    def templates(request: Request) -> Response | None:
        who = enter(builder, request)
        if isinstance(who, Response):
            return who
        with ui.row().classes("w-full items-center"):
            ui.link(_("← Flows"), "/")
            ui.label(_("Templates")).classes("text-2xl font-medium")
            ui.space()
            account_menu(who)
        with ui.row().classes("w-full gap-4"):
            for template in builder.templates():
                card(builder, template)
        return None


def card(builder: Builder, template: Flow) -> None:
    with ui.card().classes("w-96").mark(f"template-{template.id}"):
        ui.label(template.name).classes("text-lg font-medium")
        ui.label(template.description).classes("text-sm")
        steps = n_("{count} step", "{count} steps", len(template.nodes))
        with ui.expansion(steps).classes("w-full").mark(f"steps-{template.id}"):
            for node in template.nodes:
                node_type = builder.registry.get(node.type)
                color, icon = look(node_type)
                title = _(node_type.title) if node_type else node.type
                summary = ""
                if node_type is not None and node_type.summary is not None:
                    try:
                        summary = node_type.summary(node_type.parse(node.settings, node.version))
                    except ValueError:
                        summary = ""
                with ui.row().classes("w-full no-wrap items-start gap-2 py-1"):
                    ui.icon(icon).classes("rounded p-0.5 text-white text-sm shrink-0").style(f"background:{color}")
                    with ui.column().classes("gap-0 min-w-0"):
                        ui.label(title).classes("text-xs font-medium")
                        if summary:
                            ui.label(summary).classes("text-xs text-gray-500 line-clamp-2")
        with ui.row():
            ui.button(_("Try it"), icon="chat", on_click=lambda: try_it(builder, template)).props("outline").mark(
                f"try-{template.id}"
            )
            ui.button(_("Use this template"), on_click=lambda: use(builder, template)).mark(f"use-{template.id}")


def try_it(builder: Builder, template: Flow) -> None:
    with ui.dialog(value=True) as dialog, ui.card().classes("w-[32rem]"):
        ChatPanel(builder, template.id, flow=template)
        ui.button(_("Close"), on_click=dialog.close).props("flat")


async def use(builder: Builder, template: Flow) -> None:
    await create_from_template(builder, visitor(), template)
