"""`POST /api/feedback/{call_id}`: a user's thumbs up or down on an AI answer (the web widget and
the builder's test chat send it; any HTTP client may). The id is the unguessable record id the
answer carried; rating again replaces the earlier rating."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from runtime.api_models import Problem
from runtime.engine import Runtime


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    score: Literal[1, -1] = Field(description="1 for thumbs up, -1 for thumbs down.")


def feedback_routes(runtime: Runtime) -> APIRouter:
    router = APIRouter()

    @router.post(
        "/api/feedback/{call_id}",
        status_code=204,
        response_model=None,
        responses={404: {"model": Problem}, 422: {"model": Problem}},
    )
    async def feedback(call_id: str, body: FeedbackIn) -> Response:
        """Rate an AI answer (its `feedback` id)."""
        ai = runtime.ai
        if ai is None or len(call_id) > 64 or not ai.calls.rate(call_id, body.score):
            return JSONResponse({"detail": "There is no AI answer with that id."}, status_code=404)
        return Response(status_code=204)

    return router
