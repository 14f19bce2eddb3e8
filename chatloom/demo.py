"""A small order-status API that `chatloom serve` offers at /demo, so the order-status example works offline."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

ORDERS: dict[str, dict[str, Any]] = {
    "A1001": {"status": "shipped", "carrier": "Parcelway", "eta": "2 days", "items": ["Blue mug", "Tea sampler"]},
    "A1002": {"status": "processing", "carrier": None, "eta": "5 days", "items": ["Desk lamp"]},
    "A1003": {"status": "delivered", "carrier": "Parcelway", "eta": None, "items": ["Notebook"]},
}


def demo_routes() -> APIRouter:
    """GET /demo/orders/{number}: a known order's status, or 404."""
    router = APIRouter(prefix="/demo", tags=["demo"])

    @router.get("/orders/{number}")
    async def order(number: str) -> JSONResponse:
        found = ORDERS.get(number.strip().upper())
        if found is None:
            return JSONResponse({"error": f"No order {number}."}, status_code=404)
        return JSONResponse({"order": {"number": number.strip().upper(), **found}})

    return router
