"""A record of every model call (model, provider, tokens, cost, latency, outcome), the users'
thumbs up/down on the answers, and the per-model figures the Models page shows."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Index, case, func, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel

from flows.db import create_tables

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
        create_tables(engine, [TABLE])

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

    def figures(self, since: float | None = None, latencies: int = 10_000) -> list[ModelFigures]:
        """Per model, over the calls since `since` (default: the last 30 days): sums counted by the
        database; p50/p95 over the newest `latencies` successful calls of each model."""
        since = time.time() - 30 * 86400 if since is None else since
        c = TABLE.c
        totals = (
            select(
                c.model,
                func.count(),
                func.sum(c.tokens_in),
                func.sum(c.tokens_out),
                func.sum(c.cost),
                func.sum(case((c.outcome != "ok", 1), else_=0)),
                func.sum(case((c.feedback > 0, 1), else_=0)),
                func.sum(case((c.feedback < 0, 1), else_=0)),
            )
            .where(c.at >= since)
            .group_by(c.model)
            .order_by(c.model)
        )
        out = []
        with self.engine.connect() as conn:
            for model, calls, t_in, t_out, cost, errors, up, down in conn.execute(totals).all():
                newest = (
                    select(c.latency_ms)
                    .where(c.model == model, c.at >= since, c.outcome == "ok")
                    .order_by(c.at.desc())
                    .limit(latencies)
                )
                times = [float(v) for v in conn.execute(newest).scalars()]
                out.append(
                    ModelFigures(
                        model=model,
                        calls=int(calls),
                        tokens_in=int(t_in or 0),
                        tokens_out=int(t_out or 0),
                        cost=float(cost or 0.0),
                        p50_ms=percentile(times, 0.5),
                        p95_ms=percentile(times, 0.95),
                        error_rate=int(errors or 0) / int(calls),
                        thumbs_up=int(up or 0),
                        thumbs_down=int(down or 0),
                    )
                )
        return out
