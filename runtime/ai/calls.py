"""A record of every model call (model, provider, tokens, cost, latency, outcome), the users'
thumbs up/down on the answers, and the per-model figures the Models page shows."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Index, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel

Outcome = Literal["ok", "error", "timeout"]


class CallRow(SQLModel, table=True):
    """One attempt at one model (a fallback is a second row)."""

    __tablename__ = "ai_calls"
    __table_args__ = (Index("ix_ai_calls_model_at", "model", "at"),)
    id: str = Field(primary_key=True, max_length=32)
    at: float = Field(index=True)
    model: str = Field(max_length=100)  # the configured name
    provider: str = Field(max_length=32)
    flow_id: str = Field(default="", max_length=100)
    node_id: str = Field(default="", max_length=100)
    conversation_id: str = Field(default="", max_length=64)
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0  # US dollars, from litellm's price tables (0 for local models)
    latency_ms: float = 0.0
    outcome: str = Field(max_length=16)
    error: str = Field(default="", max_length=300)
    feedback: int = 0  # +1 thumbs up, -1 thumbs down, 0 none


TABLE = CallRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class ModelFigures:
    """What the Models page shows for one model."""

    model: str
    calls: int
    tokens_in: int
    tokens_out: int
    cost: float
    p50_ms: float
    p95_ms: float
    error_rate: float
    thumbs_up: int
    thumbs_down: int


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q * len(ordered) - 1e-9) - 1))
    return ordered[rank]


class CallLog:
    """Writes and reads the call records."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        SQLModel.metadata.create_all(engine, tables=[TABLE])

    def record(self, row: CallRow) -> None:
        with self.engine.begin() as conn:
            conn.execute(TABLE.insert().values(**row.model_dump()))

    def rate(self, call_id: str, score: int, *, conversation_id: str | None = None) -> bool:
        """Keep a user's thumbs up (+1) or down (-1) on an answer (of that conversation, when given);
        False when there is no such answer."""
        if score not in (-1, 1):
            raise ValueError("Feedback is 1 (thumbs up) or -1 (thumbs down).")
        which = [TABLE.c.id == call_id, TABLE.c.outcome == "ok"]
        if conversation_id is not None:
            which.append(TABLE.c.conversation_id == conversation_id)
        with self.engine.begin() as conn:
            return bool(conn.execute(update(TABLE).where(*which).values(feedback=score)).rowcount)

    def get(self, call_id: str) -> CallRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(TABLE).where(TABLE.c.id == call_id)).first()
        return CallRow.model_validate(row._mapping) if row else None

    def recent(self, limit: int = 50) -> list[CallRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(TABLE).order_by(TABLE.c.at.desc()).limit(limit)).all()
        return [CallRow.model_validate(r._mapping) for r in rows]

    def figures(self, since: float | None = None, per_model: int = 100_000) -> list[ModelFigures]:
        """Per model, over the calls since `since` (default: the last 30 days), newest `per_model` at most."""
        since = time.time() - 30 * 86400 if since is None else since
        cols = [TABLE.c.model, TABLE.c.tokens_in, TABLE.c.tokens_out, TABLE.c.cost, TABLE.c.latency_ms]
        cols += [TABLE.c.outcome, TABLE.c.feedback]
        with self.engine.connect() as conn:
            rows = conn.execute(select(*cols).where(TABLE.c.at >= since).order_by(TABLE.c.at.desc())).all()
        grouped: dict[str, list[tuple[int, int, float, float, str, int]]] = {}
        for model, *rest in rows:
            bucket = grouped.setdefault(model, [])
            if len(bucket) < per_model:
                bucket.append(tuple(rest))
        out = []
        for model, items in sorted(grouped.items()):
            latencies = [lat for _, _, _, lat, outcome, _ in items if outcome == "ok"]
            out.append(
                ModelFigures(
                    model=model,
                    calls=len(items),
                    tokens_in=sum(i[0] for i in items),
                    tokens_out=sum(i[1] for i in items),
                    cost=sum(i[2] for i in items),
                    p50_ms=percentile(latencies, 0.5),
                    p95_ms=percentile(latencies, 0.95),
                    error_rate=sum(i[4] != "ok" for i in items) / len(items),
                    thumbs_up=sum(i[5] > 0 for i in items),
                    thumbs_down=sum(i[5] < 0 for i in items),
                )
            )
        return out
