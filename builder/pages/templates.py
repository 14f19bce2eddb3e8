"""The templates gallery: what each example flow does, its steps, a chat to try it, and one click to use it."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response
from nicegui import ui

from builder.access import account_menu, enter, visitor
from builder.chat_panel import ChatPanel
from builder.context import Builder
from flows.models import Flow


def register(builder: Builder) -> None:
    @ui.page("/templates")
    def templates(request: Request) -> Response | None:
        who = enter(builder, request)
        if isinstance(who, Response):
            return who
        with ui.row().classes("w-full items-center"):
            ui.link("← Flows", "/")
            ui.label("Templates").classes("text-2xl font-medium")
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
        with ui.expansion(f"{len(template.nodes)} steps").classes("w-full").mark(f"steps-{template.id}"):
            for node in template.nodes:
                node_type = builder.registry.get(node.type)
                title = node_type.title if node_type else node.type
                summary = ""
                if node_type is not None and node_type.summary is not None:
                    try:
                        summary = node_type.summary(node_type.parse(node.settings, node.version))
                    except ValueError:
                        summary = ""
                ui.label(f"{title}{': ' + summary if summary else ''}").classes("text-xs")
        with ui.row():
            ui.button("Try it", icon="chat", on_click=lambda: try_it(builder, template)).props("outline").mark(
                f"try-{template.id}"
            )
            ui.button("Use this template", on_click=lambda: use(builder, template)).mark(f"use-{template.id}")


def try_it(builder: Builder, template: Flow) -> None:
    with ui.dialog(value=True) as dialog, ui.card().classes("w-[32rem]"):
        ChatPanel(builder, template.id, flow=template)
        ui.button("Close", on_click=dialog.close).props("flat")


def use(builder: Builder, template: Flow) -> None:
    who = visitor()
    place = who.workspace()
    if not who.may("flows.edit") or place is None:
        return
    copy = template.model_copy(update={"id": builder.free_id(template.name)})
    builder.access.workspaces.place(copy.id, place)
    builder.flows.save_draft(copy)
    ui.notify(f"Created “{copy.name}” from the template.", type="positive")
    ui.navigate.to("/")
