"""GET /api/conversations: the conversations of the caller's workspaces, last active first."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from runtime.access import Access, Principal
from runtime.api_models import Problem
from runtime.engine import Runtime
from runtime.workspaces import DEFAULT


class ConversationItem(BaseModel):
    conversation_id: str
    flow_id: str
    version: int
    channel: str
    user_id: str
    status: str
    started_at: float
    last_active_at: float


def conversation_routes(runtime: Runtime, access: Access) -> APIRouter:
    router = APIRouter(tags=["conversations"])
    errors: dict[int | str, dict[str, Any]] = {422: {"model": Problem}}

    @router.get("/api/conversations", responses=errors)
    async def conversations(
        request: Request,
        *,
        flow_id: str | None = Query(None, max_length=100, description="Only this flow's."),
        status: str = Query("", pattern="^(|waiting|sleeping|ended)$", description="Only those in this state."),
        limit: int = Query(100, ge=1, le=1000),
    ) -> list[ConversationItem]:
        """Conversations of the flows in the caller's workspaces (or of one of them), last active first."""
        principal: Principal = request.state.principal
        places = access.workspaces.flows_in()
        flows = [f.id for f in runtime.flows.list() if principal.sees(places.get(f.id, DEFAULT))]
        if flow_id is not None:
            flows = [f for f in flows if f == flow_id]
        return [
            ConversationItem(
                conversation_id=c.id,
                flow_id=c.flow_id,
                version=c.version,
                channel=c.channel,
                user_id=c.user_id,
                status=c.status,
                started_at=c.created_at,
                last_active_at=c.updated_at,
            )
            for c in runtime.store.recent(flows, limit=limit, status=status)
        ]

    return router
