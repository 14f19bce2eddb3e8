"""Data-subject requests over HTTP: POST /api/privacy/export and /api/privacy/erase.

Both need the `privacy.manage` right (the access gate) and are written to the audit log by their
counts only: whom a request was about is personal data too, and an erasure must not leave it behind.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from runtime.access import Access, Principal, client_address
from runtime.api_models import Problem
from runtime.engine import Runtime
from runtime.privacy import Privacy, Subject, SubjectNotFound

Channel = Literal["api", "telegram", "slack", "whatsapp", "messenger", "instagram", "web"]


class SubjectIn(BaseModel):
    """One of user_id (optionally with channel), email or phone."""

    model_config = ConfigDict(extra="forbid")
    user_id: str = Field("", max_length=200, description="Their id on the channel, e.g. a Telegram user id.")
    channel: Channel | None = Field(None, description="Only on this channel (with user_id).")
    email: str = Field("", max_length=254, description="An email address held anywhere about them.")
    phone: str = Field("", max_length=40, description="A phone number held anywhere about them.")


class EraseIn(SubjectIn):
    confirm: bool = Field(False, description="Must be true: an erasure cannot be undone.")


def _said(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def privacy_routes(runtime: Runtime, access: Access) -> APIRouter:
    router = APIRouter(tags=["privacy"])
    errors: dict[int | str, dict[str, Any]] = {s: {"model": Problem} for s in (400, 404, 422)}

    async def find(body: SubjectIn) -> tuple[Privacy, Subject] | JSONResponse:
        """The request's person, or the answer saying why not (404 nobody held, 400 not one way to find them)."""
        privacy = Privacy(runtime)
        try:  # a search by email or phone reads every store through: not on the event loop
            found = await asyncio.to_thread(
                privacy.find, user_id=body.user_id, email=body.email, phone=body.phone, channel=body.channel or ""
            )
        except SubjectNotFound as exc:
            return _said(404, str(exc))
        except ValueError as exc:
            return _said(400, str(exc))
        return privacy, found

    @router.post("/api/privacy/export", responses=errors)
    async def export(body: SubjectIn, request: Request) -> Any:
        """Everything held about one end user, as JSON (a data-subject access request)."""
        found = await find(body)
        if isinstance(found, JSONResponse):
            return found
        privacy, subject = found
        data = await privacy.export(subject)
        principal: Principal = request.state.principal
        access.audit.record(
            principal.user.email,
            "privacy.export",
            detail={"conversations": len(subject.ids)},
            address=client_address(request.scope),
        )
        return JSONResponse(data)

    @router.post("/api/privacy/erase", responses=errors)
    async def erase(body: EraseIn, request: Request) -> Any:
        """Erase everything held about one end user; the answer counts what went, by store."""
        if not body.confirm:
            return _said(400, 'An erasure cannot be undone: send "confirm": true to go ahead.')
        found = await find(body)
        if isinstance(found, JSONResponse):
            return found
        privacy, subject = found
        counts = await privacy.erase(subject)
        principal: Principal = request.state.principal
        access.audit.record(principal.user.email, "privacy.erase", detail=counts, address=client_address(request.scope))
        return {"erased": counts}

    return router
