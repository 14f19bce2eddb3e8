"""`chatloom serve`: the runtime's HTTP server on the embedded defaults, with the example flows."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from chatloom.demo import demo_routes
from flows.db import database_url, default_data_dir, make_engine
from flows.document import DocumentError, parse_flow
from flows.problems import has_errors
from flows.store import FlowStore
from flows.validate import validate
from nodes.registry import Registry
from runtime.api import create_app
from runtime.engine import Runtime

log = logging.getLogger("chatloom")
TEMPLATES = Path(__file__).resolve().parents[1] / "flows" / "templates"


def install_examples(store: FlowStore, registry: Registry, folder: Path = TEMPLATES) -> list[str]:
    """Import and publish each template the database does not have yet; skip broken ones with a warning."""
    added = []
    for path in sorted(folder.glob("*.json")):
        try:
            flow = parse_flow(path.read_bytes(), source=path.name)
        except DocumentError as exc:
            log.warning("example skipped: %s", exc)
            continue
        if store.exists(flow.id):
            continue
        if has_errors(validate(flow, registry)):
            log.warning("example %s skipped: it has errors (run `chatloom validate %s`)", path.name, path)
            continue
        store.save_draft(flow)
        store.publish(flow.id, registry, note="example")
        added.append(flow.id)
    return added


def serve(*, host: str, port: int, data: Path | None, examples: bool) -> int:
    import uvicorn

    folder = data.resolve() if data else default_data_dir()
    url = database_url(folder)
    registry = Registry.from_entry_points()
    runtime = Runtime(make_engine(url), registry)
    if examples:
        install_examples(runtime.flows, registry)
    app = create_app(runtime)
    app.include_router(demo_routes())
    base = f"http://{host}:{port}"
    flows = [f for f in runtime.flows.list() if f.latest_version]
    where = "PostgreSQL" if url.startswith("postgres") else f"SQLite in {folder}"
    print(f"Chatloom runtime on {base}  (data: {where}; API reference: {base}/docs)")
    if flows:
        first = next((f.id for f in flows if f.id == "lead-capture"), flows[0].id)
        print(f"Published flows: {', '.join(f.id for f in flows)}")
        print(
            f"Chat over HTTP:  curl -s -X POST {base}/api/flows/{first}/conversations "
            "-H 'content-type: application/json' -d '{}'"
        )
    print("Chat in a terminal: chatloom chat flows/templates/lead_capture.json")
    print("Stop with Ctrl+C.", flush=True)
    uvicorn.run(app, host=host, port=port, log_level=os.environ.get("CHATLOOM_LOG_LEVEL", "warning"))
    return 0
