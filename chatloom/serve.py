"""`chatloom serve`: the runtime's HTTP server on the embedded defaults, with the example flows."""

from __future__ import annotations

import errno
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import flows
from chatloom.cli import CliError, data_folder, open_database, parse_flow_bytes, read_flow_bytes, sealing_key
from flows.models import Flow
from flows.problems import has_errors
from flows.store import FlowStore
from flows.validate import validate
from nodes.registry import Registry

if TYPE_CHECKING:
    from runtime.channels.service import Channels
    from runtime.engine import Runtime
    from runtime.outbound.addresses import Allowance

log = logging.getLogger("chatloom")
TEMPLATES = Path(flows.__file__).resolve().parent / "templates"
PREFERRED_EXAMPLE = "lead_capture.json"
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


def load_examples(registry: Registry, folder: Path = TEMPLATES) -> dict[Path, Flow]:
    """The example flows that are usable; broken ones are skipped with a one-line warning each."""
    found: dict[Path, Flow] = {}
    for path in sorted(folder.glob("*.json"), key=lambda p: (p.name != PREFERRED_EXAMPLE, p.name)):
        try:
            flow = parse_flow_bytes(read_flow_bytes(path), path.name)
        except CliError as exc:
            log.warning("example skipped: %s", exc)
            continue
        if has_errors(validate(flow, registry)):
            log.warning("example %s skipped: it has errors (see `chatloom validate %s`)", path.name, _shown(path))
            continue
        if any(other.id == flow.id for other in found.values()):
            log.warning("example %s skipped: another example has the id %r", path.name, flow.id)
            continue
        found[path] = flow
    return found


def install_examples(store: FlowStore, registry: Registry, examples: dict[Path, Flow]) -> list[str]:
    """Import and publish each example the database does not have yet; the ids added."""
    added = []
    for flow in examples.values():
        if store.exists(flow.id):
            continue
        store.save_draft(flow)
        store.publish(flow.id, registry, note="example")
        added.append(flow.id)
    return added


def _shown(path: Path) -> str:
    """A path as the user would type it: relative to the current folder when it is inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _check_port(host: str, port: int, option: str = "--port") -> None:
    """Fail in one line, before any output, when the address cannot be listened on."""
    if not 0 < port < 65536:
        raise CliError(f"{option} {port}: a port is a number from 1 to 65535.")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise CliError(f"{option.replace('port', 'host')} {host}: {exc.strerror or exc}.") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise CliError(
                    f"Port {port} on {host} is in use by another program; choose another with {option}.", 1
                ) from None
            raise CliError(f"Cannot listen on {host}:{port}: {exc.strerror or exc}.", 1) from None


def _base_url(host: str, port: int) -> str:
    shown = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}.get(host, host)
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def _check_outbound_setting() -> None:
    """A mistyped CHATLOOM_OUTBOUND_ALLOW stops the start in one line, before anything runs."""
    from runtime.outbound.addresses import AllowanceError, server_allowance

    try:
        server_allowance()
    except AllowanceError as exc:
        raise CliError(str(exc)) from None


def _own_demo(host: str, port: int) -> Allowance:
    """The one private place flows may reach without an administrator's say: this server's own demo
    order API (/demo/, made-up data), which the order-status example calls. Only that path: the rest
    of the server trusts loopback for its proxy headers."""
    from runtime.outbound.addresses import Allowance

    shown = _base_url(host, port).removeprefix("http://").rpartition(":")[0]
    return Allowance.own_route(shown, port, "/demo/")


def serve(*, host: str, port: int, data: Path | None, examples: bool, builder: bool = False, work: bool = True) -> int:
    """Publish the examples the database lacks, say how to reach the server, and run it until Ctrl+C."""
    _check_port(host, port)
    _check_outbound_setting()
    import uvicorn

    from chatloom.demo import demo_routes
    from runtime.access import Access
    from runtime.ai.setup import attach_ai
    from runtime.api import create_app
    from runtime.channels.service import Channels
    from runtime.channels.store import ChannelStore
    from runtime.engine import Runtime
    from runtime.workspace_secrets import WorkspaceSecrets

    registry = Registry.from_entry_points()
    engine = open_database(data)
    assert engine is not None
    box = sealing_key(engine, data)  # first: a wrong key stops the server before anything is written
    runtime = Runtime(engine, registry, outbound=_own_demo(host, port))
    runtime.services.secrets_for = WorkspaceSecrets(engine, box).for_flow  # {{ secrets.NAME }} in HTTP steps
    attach_ai(runtime, data_folder(data))
    usable = load_examples(registry)
    if examples:
        install_examples(runtime.flows, registry, usable)
    channels = Channels(runtime, ChannelStore(engine, box))
    access = Access(engine)
    app = create_app(runtime, channels, work=work, access=access)
    app.include_router(demo_routes())
    if builder:  # imported only here: the runtime alone never loads NiceGUI
        from builder.app import mount

        mount(app, runtime, data_folder(data), channels, access)

    base = _base_url(host, port)
    order = {flow.id: n for n, flow in enumerate(usable.values())}  # the examples first, the preferred one leading
    published = sorted(
        (f.id for f in runtime.flows.list() if f.latest_version), key=lambda fid: (order.get(fid, len(order)), fid)
    )
    where = "SQLite in " + str(data_folder(data)) if engine.dialect.name == "sqlite" else engine.dialect.name
    lines = [f"Chatloom runtime on {base}  (data: {where}; API reference: {base}/docs)"]
    if builder:
        lines.insert(0, f"Chatloom builder: open {base}/ in your browser")
    if not access.accounts.has_owner():
        lines.insert(0, f"First run: create the owner account at {base}/setup?code={access.setup_code}")
    if published:
        first = published[0]
        lines.append(f"Published flows: {', '.join(published)}")
        lines.append(
            f"Chat over HTTP (with an API token from the builder's Account page, or `chatloom tokens create`):\n"
            f'  curl -s -X POST {base}/api/flows/{first}/conversations -H "authorization: Bearer $CHATLOOM_TOKEN" '
            "-H 'content-type: application/json' -d '{}'"
        )
    else:
        lines.append("No published flows yet: add one with `chatloom import FLOW.json --publish`.")
    if usable:
        lines.append(f"Chat in a terminal: chatloom chat {_shown(next(iter(usable)))}")
    lines.append("Stop with Ctrl+C.")
    print("\n".join(lines), flush=True)
    level = os.environ.get("CHATLOOM_LOG_LEVEL", "warning").lower()
    uvicorn.run(app, host=host, port=port, log_level=level if level in LOG_LEVELS else "warning")
    return 0


def work(*, data: Path | None, health_host: str = "127.0.0.1", health_port: int | None = None) -> int:
    """Handle the channels' events and deliver their messages, with no HTTP server: the other half
    of `chatloom serve --no-worker`. Run as many as the load needs (on SQLite, one works at a time).
    With a health port, GET /health and GET /ready answer there. Stops cleanly on SIGTERM and Ctrl+C,
    freeing its chats for the other workers at once."""
    import asyncio
    import contextlib
    import signal

    from runtime.ai.setup import attach_ai
    from runtime.channels.service import Channels
    from runtime.channels.store import ChannelStore
    from runtime.engine import Runtime
    from runtime.retention import Retention
    from runtime.workspace_secrets import WorkspaceSecrets

    if health_port is not None:
        _check_port(health_host, health_port, "--health-port")
    _check_outbound_setting()
    engine = open_database(data)
    assert engine is not None
    box = sealing_key(engine, data)  # first: a wrong key stops the server before anything is written
    runtime = Runtime(engine, Registry.from_entry_points())
    runtime.services.secrets_for = WorkspaceSecrets(engine, box).for_flow
    attach_ai(runtime, data_folder(data))
    channels = Channels(runtime, ChannelStore(engine, box))
    retention = Retention(runtime)
    where = "SQLite in " + str(data_folder(data)) if engine.dialect.name == "sqlite" else engine.dialect.name

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):  # Windows: Ctrl+C is a KeyboardInterrupt
                loop.add_signal_handler(sig, stop.set)
        await runtime.startup()
        health = None
        try:
            retention.start()
            await channels.start()
            if health_port is not None:  # after the start: before it, no claims would read as all of them
                health = await _serve_health(runtime, channels, health_host, health_port)
            print(f"Chatloom worker {channels.holder}: handling channel events (data: {where})", flush=True)
            await stop.wait()
        finally:
            figures = channels.health()
            log.warning(
                "worker %s stopping after %d events handled and %d messages sent; its chats go to the other workers",
                channels.holder,
                figures["handled"],
                figures["sent"],
            )
            if health is not None:
                await health()
            await channels.stop()
            await retention.stop()
            await runtime.shutdown()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
    return 0


async def _serve_health(runtime: Runtime, channels: Channels, host: str, port: int) -> Callable[[], Awaitable[None]]:
    """GET /health and GET /ready of a worker, served by uvicorn on this event loop; the function
    that stops it."""
    import asyncio
    import contextlib
    from collections.abc import Iterator

    import uvicorn

    from runtime.api import health_app

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield  # the worker stops on SIGTERM and Ctrl+C itself, after its own work

    level = os.environ.get("CHATLOOM_LOG_LEVEL", "warning").lower()
    config = uvicorn.Config(
        health_app(runtime, channels),
        host=host,
        port=port,
        lifespan="off",
        log_level=level if level in LOG_LEVELS else "warning",
    )
    server = Server(config)
    task = asyncio.create_task(server.serve(), name="chatloom-health")
    while not server.started and not task.done():
        await asyncio.sleep(0.02)
    if task.done():
        task.result()
        raise CliError(f"Cannot serve health on {host}:{port}.", 1)
    base = _base_url(host, port)
    print(f"Chatloom worker {channels.holder}: health on {base}/health and {base}/ready", flush=True)

    async def stop() -> None:
        server.should_exit = True
        await task

    return stop
