"""The canvas in headless Chromium: flows of 50, 300 and 1,000 nodes opened, dragged and panned.

A real `chatloom run` server is started on a fresh data folder (no example flows), grid-laid flows
of each size (`flow_document`) are imported with `chatloom import`, and Debian's Chromium (headless,
`--disable-gpu`: software rendering) opens them in a 1400×900 window. For each size:

- **Time to interactive** (`tti_ms`): from the navigation start (`performance.now()` in the page,
  whose origin is the start of the navigation) until a click on a node has been answered by Python.
  The click is issued as soon as (a) the nodes Vue Flow draws are in the page and measured (none
  still hidden), (b) the view has been fitted (the viewport transform left its initial
  `translate(0, 0) scale(1)`) and (c) NiceGUI's socket has finished its handshake; `drawn_ms` is when
  (a)–(c) held, `clicked_ms` when the click came and `html_ms` when the page's HTML had arrived from
  Python. The click is answered when the node's id appears in the settings panel, so `tti_ms`
  includes one round trip. The median of `loads` loads is kept.
- **Frame times while dragging a node** and **while panning** (pressing on an empty part of the
  pane): a `requestAnimationFrame` loop in the page records the time between frames while the mouse
  is held down and swung back and forth for `seconds`; p50, p95 and frames a second are kept, and
  how far the node or the view had moved (to show the gesture took). The dragged node is selected
  first, so the settings panel it opens is not part of the drag.
- **Round trip** (browser event → Python → browser): different nodes in view are clicked one after
  the other; the time from the mouse release (the `pointerup` event's own time stamp) to the node's
  id appearing in the settings panel (a `MutationObserver`) is recorded; p50 and p95. It includes
  the canvas's own wait of up to a frame that gathers a selection before reporting it.
- The longest main-thread task (`longtask` entries) since the last load, and the number of nodes in
  the page: the editor draws only the nodes in view above a size, and whatever it does is measured.

Baselines measured in the same run, so the figures can be read as ratios: the flow list `/` (a
plain NiceGUI page) from navigation start until its rows are shown and its socket connected, for
time to interactive; an idle page's `requestAnimationFrame` loop (the flow list), for frame times
and round trips. Errors the page logs, and NiceGUI reloading it, are collected in `errors`.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
BUNDLE = ROOT / "builder" / "canvas" / "dist" / "index.js"
VIEWPORT = (1400, 900)
COLUMNS = 20  # nodes in a row of the grid
GAP_X, GAP_Y = 260, 160  # flow units between grid positions
TIMEOUT_MS = 60_000  # for any one wait in the page
EXITS = {"logic.condition": ("high", "else"), "input.text": ("valid", "invalid")}  # both lead to the next node

# Installed in every document before its own scripts: the frame recorder and the round-trip clock.
INIT_SCRIPT = """
(() => {
  const bench = (window.__bench = { on: false, last: 0, frames: [], rt: null, longest: 0, tasks: [] });
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        bench.longest = Math.max(bench.longest, e.duration);
        bench.tasks.push([e.startTime, e.duration]);
      }
    }).observe({ type: 'longtask', buffered: true });
  } catch (e) {}
  const tick = (t) => {
    if (bench.on) {
      if (bench.last) bench.frames.push(t - bench.last);
      bench.last = t;
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  addEventListener('pointerup', (e) => {
    const rt = bench.rt;
    if (rt && !rt.t0) rt.t0 = e.timeStamp;  // when the input came, however busy the page was
  }, true);
  // answered: the side panel says it shows that step (data-settings-of) and its settings are drawn
  new MutationObserver((records) => {
    const rt = bench.rt;
    if (!rt || !rt.t0 || rt.t1) return;
    const panel = document.querySelector(`[data-settings-of="${CSS.escape(rt.want)}"]`);
    if (panel && panel.querySelector('input, textarea, .q-field')) rt.t1 = performance.now();
  }).observe(document, { childList: true, subtree: true, attributes: true, attributeFilter: ['data-settings-of'] });
})();
"""

# True (the time) once the canvas has drawn and measured its nodes, fitted the view and connected.
DRAWN = """
() => {
  if (!window.did_handshake) return false;
  const nodes = document.querySelectorAll('.vue-flow__node');
  if (!nodes.length) return false;
  for (const n of nodes) if (n.style.visibility === 'hidden') return false;
  const pane = document.querySelector('.vue-flow__transformationpane');
  const t = pane && pane.style.transform.replace(/\\s/g, '');
  if (!t || t === 'translate(0px,0px)scale(1)') return false;
  return performance.now();
}
"""

LIST_SHOWN = """
() => window.did_handshake && document.querySelector('a[href^="/flows/"]') ? performance.now() : false
"""

# Waits until the view has stood still for five frames: selecting a node can resize the canvas, which
# refits the view (until the person moves it) a frame later.
SETTLE = """
async () => {
  const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));
  const state = () => {
    const r = document.querySelector('.vue-flow').getBoundingClientRect();
    return `${document.querySelector('.vue-flow__transformationpane').style.transform} ${r.width} ${r.height}`;
  };
  let last = state();
  for (let still = 0, n = 0; still < 5 && n < 300; n++) {
    await frame();
    const now = state();
    still = now === last ? still + 1 : 0;
    last = now;
  }
}
"""

# Nodes whose centre is inside the pane, clear of the minimap and controls, and on top there; nearest the centre
# first; the selected ones left out if asked (clicking them again changes nothing).
IN_VIEW = """
(skipSelected) => {
  const pane = document.querySelector('.vue-flow__pane').getBoundingClientRect();
  const cx = pane.left + pane.width / 2, cy = pane.top + pane.height / 2;
  const blockers = [...document.querySelectorAll('.vue-flow__minimap, .vue-flow__controls')]
    .map((e) => e.getBoundingClientRect());
  const out = [];
  for (const el of document.querySelectorAll('.vue-flow__node')) {
    if (skipSelected && el.classList.contains('selected')) continue;
    const r = el.getBoundingClientRect();
    const x = r.left + r.width / 2, y = r.top + r.height / 2;
    if (x < pane.left + 30 || x > pane.right - 30 || y < pane.top + 30 || y > pane.bottom - 30) continue;
    if (blockers.some((b) => x > b.left - 20 && x < b.right + 20 && y > b.top - 20 && y < b.bottom + 20)) continue;
    const hit = document.elementFromPoint(x, y);
    if (!hit || !el.contains(hit) || hit.closest('.vue-flow__handle')) continue;
    out.push({ id: el.dataset.id, x, y, d: Math.hypot(x - cx, y - cy) });
  }
  out.sort((a, b) => a.d - b.d);
  return out;
}
"""
IN_STILL_VIEW = f"async (skipSelected) => {{ await ({SETTLE})(); return ({IN_VIEW})(skipSelected); }}"

# An empty point of the pane (nothing but the pane under it), nearest the centre: points of a grid tried
# nearest first, so the search (hit tests, which the page runs on its main thread) stays short.
EMPTY_SPOT = f"""
async () => {{
  await ({SETTLE})();
  const pane = document.querySelector('.vue-flow__pane').getBoundingClientRect();
  const cx = pane.left + pane.width / 2, cy = pane.top + pane.height / 2;
  const points = [];
  for (let i = 1; i < 40; i++) for (let j = 1; j < 40; j++) {{
    const x = pane.left + (pane.width * i) / 40, y = pane.top + (pane.height * j) / 40;
    points.push({{ x, y, d: Math.hypot(x - cx, y - cy) }});
  }}
  points.sort((a, b) => a.d - b.d);
  for (const p of points) {{
    const hit = document.elementFromPoint(p.x, p.y);
    if (hit && hit.classList.contains('vue-flow__pane')) return p;
  }}
  return null;
}}
"""


def flow_document(size: int) -> dict[str, Any]:
    """A flow of `size` nodes on a grid, in a chain: messages, a question every seventh node, a
    condition every tenth (its other branch skips to the same next node), and an end."""
    ids = ["start"] + [f"step{i:04d}" for i in range(1, size - 1)] + ["end"]
    nodes: list[dict[str, Any]] = []
    for i, node_id in enumerate(ids):
        row, col = divmod(i, COLUMNS)
        ui = {"x": col * GAP_X, "y": row * GAP_Y}
        if node_id == "start":
            node: dict[str, Any] = {"type": "flow.start", "settings": {}}
        elif node_id == "end":
            node = {"type": "flow.end", "settings": {}}
        elif i % 10 == 0:
            rule = {"left": "{{ score }}", "op": "greater_than", "right": str(i)}
            node = {"type": "logic.condition", "settings": {"branches": [{"port": "high", "rules": [rule]}]}}
        elif i % 7 == 0:
            node = {"type": "input.text", "settings": {"prompt": f"Question {i}?", "save_as": "name"}}
        else:
            node = {"type": "message.send", "settings": {"text": f"Step {i}: hello {{{{ name }}}}"}}
        nodes.append({"id": node_id, "version": 1, "ui": ui, **node})
    edges = []
    for i, (a, b) in enumerate(itertools.pairwise(ids)):
        main_port, other_port = EXITS.get(nodes[i]["type"], ("out", None))
        edges.append({"id": f"e{i}", "source": a, "source_port": main_port, "target": b})
        if other_port:
            edges.append({"id": f"x{i}", "source": a, "source_port": other_port, "target": b})
    return {
        "schema_version": 1,
        "id": f"bench-{size}",
        "name": f"Benchmark, {size} nodes",
        "start": "start",
        "variables": [
            {"name": "name", "type": "string", "default": None, "description": ""},
            {"name": "score", "type": "number", "default": 0, "description": ""},
        ],
        "nodes": nodes,
        "edges": edges,
    }


def missing() -> str | None:
    """Why this benchmark cannot run here, or None."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (Debian's chromium package)"
    if not BUNDLE.exists():
        return "the canvas bundle is missing (`make canvas` builds it)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "Playwright is not installed (`pip install -e '.[test]'`)"
    return None


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile (q in 0–100) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


OWNER, PASSWORD = "owner@chatloom.test", "correct horse battery staple"  # the account running_server makes


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sign_in(page: Any, url: str) -> None:
    """Sign the browser in as the owner running_server made, through the sign-in form."""
    page.goto(f"{url}/login", timeout=TIMEOUT_MS)
    page.fill("#email", OWNER)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/", timeout=TIMEOUT_MS)


@contextmanager
def running_server(data: Path, env: dict[str, str], *, examples: bool = False, root: Path = ROOT) -> Iterator[str]:
    """`chatloom run` on a free port with its data in `data` (and its log beside it); its URL.

    Also the browser tests' server. Stopped (terminated, then killed) on leaving. `root` is the source
    tree it runs from (another checkout of the repository: bench_task measures an older builder).
    """
    port = free_port()
    log_path = data.parent / "server.log"
    args = [sys.executable, "-m", "chatloom", "run", "--port", str(port)] + ([] if examples else ["--no-examples"])
    owner = [sys.executable, "-m", "chatloom", "users", "create-owner", "--email", OWNER]
    with_password = {**env, "CHATLOOM_DATA": str(data), "CHATLOOM_OWNER_PASSWORD": PASSWORD}
    made = subprocess.run(owner, env=with_password, capture_output=True, text=True, cwd=root, check=False)
    if made.returncode and "already has an owner" not in made.stderr:
        raise RuntimeError(f"the owner account could not be made: {made.stderr}")
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            args, env={**env, "CHATLOOM_DATA": str(data)}, stdout=log, stderr=subprocess.STDOUT, cwd=root
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not start: {log_path.read_text()[-2000:]}")
                time.sleep(0.2)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _import_flows(sizes: tuple[int, ...], folder: Path, env: dict[str, str]) -> None:
    for size in sizes:
        path = folder / f"bench-{size}.json"
        path.write_text(json.dumps(flow_document(size)))
        subprocess.run(
            [sys.executable, "-m", "chatloom", "import", str(path)],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            timeout=120,
        )


def _frames(page: Any, action: Callable[[], T]) -> tuple[list[float], T]:
    """The times between frames (ms) while `action()` runs, and what it returned."""
    page.evaluate("() => { const b = window.__bench; b.frames = []; b.last = 0; b.on = true; }")
    try:
        done = action()
    finally:
        frames: list[float] = page.evaluate("() => { const b = window.__bench; b.on = false; return b.frames; }")
    return frames, done


def _hold_and_move(page: Any, x: float, y: float, *, seconds: float, amplitude: float, probe: str) -> float:
    """Press at (x, y), move back and forth (and a little up and down) for `seconds`, release.

    Returns how far the point `probe` gives (JS, `() => [x, y]`) had moved at the far end of the first swing.
    """
    before = page.evaluate(probe)
    page.mouse.move(x, y)
    page.mouse.down()
    began, moved = time.monotonic(), None
    while (elapsed := time.monotonic() - began) < seconds:
        phase = 2 * math.pi * elapsed
        page.mouse.move(x + amplitude * math.sin(phase), y + amplitude / 3 * math.sin(2 * phase))
        if moved is None and elapsed >= 0.25:  # a quarter of a swing: the furthest point
            now = page.evaluate(probe)
            moved = math.hypot(now[0] - before[0], now[1] - before[1])
        time.sleep(0.004)
    page.mouse.move(x, y)
    page.mouse.up()
    return moved or 0.0


def _click_round_trip(page: Any, node: dict[str, Any]) -> float | None:
    """Click a node; ms from the release to its id in the settings panel (None if it never came)."""
    page.evaluate("(id) => { window.__bench.rt = { want: id, t0: 0, t1: 0 }; }", node["id"])
    page.mouse.click(node["x"], node["y"])
    try:
        handle = page.wait_for_function(
            "() => { const r = window.__bench.rt; return r.t1 ? r.t1 - r.t0 : false; }", timeout=10_000, polling=20
        )
    except Exception:  # noqa: BLE001 - a click that went unanswered is counted, not fatal
        return None
    return float(handle.json_value())


def _open_editor(page: Any, url: str) -> dict[str, float]:
    """Load the editor; when it was drawn and when its first node click was answered (ms from navigation)."""
    page.goto(url, wait_until="commit", timeout=TIMEOUT_MS)
    drawn = float(page.wait_for_function(DRAWN, timeout=TIMEOUT_MS, polling="raf").json_value())
    # at once: the node nearest the centre, armed for its round trip and clicked
    arm_nearest = f"() => {{ const n = ({IN_VIEW})(true)[0]; if (n) window.__bench.rt = {{ want: n.id, t0: 0, t1: 0 }};"
    target = page.evaluate(arm_nearest + " return n; }")
    if not target:
        raise RuntimeError("no node of the canvas could be clicked")
    rendered = int(page.evaluate("() => document.querySelectorAll('.vue-flow__node').length"))
    page.mouse.click(target["x"], target["y"])
    try:
        answered = page.wait_for_function("() => window.__bench.rt.t1", timeout=5_000, polling=20).json_value()
    except Exception:  # noqa: BLE001 - the view moved under the click: click again once it stands still
        target = page.evaluate(IN_STILL_VIEW, True)[0]
        page.evaluate("(id) => { window.__bench.rt = { want: id, t0: 0, t1: 0 }; }", target["id"])
        page.mouse.click(target["x"], target["y"])
        answered = page.wait_for_function("() => window.__bench.rt.t1", timeout=TIMEOUT_MS, polling=20).json_value()
    clicked = float(page.evaluate("() => window.__bench.rt.t0"))
    html = float(page.evaluate("() => performance.getEntriesByType('navigation')[0].responseEnd"))
    return {"html_ms": html, "drawn_ms": drawn, "clicked_ms": clicked, "tti_ms": float(answered), "rendered": rendered}


def _round_trips(page: Any, clicks: int) -> list[float | None]:
    """Click different nodes in view one after the other, each once the view stands still."""
    trips: list[float | None] = []
    for i in range(clicks):
        candidates = page.evaluate(IN_STILL_VIEW, True)
        trips.append(_click_round_trip(page, candidates[i % min(len(candidates), 12)]) if candidates else None)
    return trips


# the longest main-thread task that began after `since` (ms from navigation)
LONGEST_SINCE = "(since) => Math.max(0, ...window.__bench.tasks.filter(([t]) => t >= since).map(([, d]) => d))"


def _measure_size(page: Any, url: str, size: int, *, loads: int, clicks: int, seconds: float) -> dict[str, Any]:
    opened = [_open_editor(page, f"{url}/flows/bench-{size}") for _ in range(loads)]
    page.wait_for_timeout(3000)  # the last load left alone for a while: whatever the page does once interactive
    out: dict[str, Any] = {
        "nodes": size,
        "rendered": opened[-1]["rendered"],
        "drawn_ms": statistics.median(o["drawn_ms"] for o in opened),
        "tti_ms": statistics.median(o["tti_ms"] for o in opened),
        "tti_all_ms": [round(o["tti_ms"]) for o in opened],
        "clicked_ms": statistics.median(o["clicked_ms"] for o in opened),
        "html_ms": statistics.median(o["html_ms"] for o in opened),  # the page's HTML received from Python
        "longest_task_idle_ms": float(page.evaluate(LONGEST_SINCE, opened[-1]["tti_ms"])),
    }
    trips = _round_trips(page, clicks)
    answered = [t for t in trips if t is not None]
    out["round_trip_missed"] = len(trips) - len(answered)
    if answered:
        out["round_trip_p50_ms"], out["round_trip_p95_ms"] = percentile(answered, 50), percentile(answered, 95)

    # the node dragged is selected first, so its settings panel (and any refit it causes) is not part of the drag
    node = page.evaluate(IN_STILL_VIEW, True)[0]
    _click_round_trip(page, node)
    node = next((n for n in page.evaluate(IN_STILL_VIEW, False) if n["id"] == node["id"]), node)
    probe = f"() => {{ const r = document.querySelector('.vue-flow__node[data-id=\"{node['id']}\"]')"
    probe += ".getBoundingClientRect(); return [r.x, r.y]; }"
    drag, out["drag_moved_px"] = _frames(
        page, lambda: _hold_and_move(page, node["x"], node["y"], seconds=seconds, amplitude=120, probe=probe)
    )
    out["drag_frames"] = len(drag)
    out["drag_p50_ms"], out["drag_p95_ms"] = percentile(drag, 50), percentile(drag, 95)
    out["drag_fps"] = 1000 * len(drag) / sum(drag)

    spot = page.evaluate(EMPTY_SPOT)
    if spot is None:
        raise RuntimeError("no empty spot of the pane to pan from")
    probe = "() => { const m = new DOMMatrix(getComputedStyle("
    probe += "document.querySelector('.vue-flow__transformationpane')).transform); return [m.e, m.f]; }"
    pan, out["pan_moved_px"] = _frames(
        page, lambda: _hold_and_move(page, spot["x"], spot["y"], seconds=seconds, amplitude=200, probe=probe)
    )
    out["pan_frames"] = len(pan)
    out["pan_p50_ms"], out["pan_p95_ms"] = percentile(pan, 50), percentile(pan, 95)
    out["pan_fps"] = 1000 * len(pan) / sum(pan)
    out["rendered_after_pan"] = int(page.evaluate("() => document.querySelectorAll('.vue-flow__node').length"))
    out["longest_task_ms"] = float(page.evaluate("() => window.__bench.longest"))  # since the last load
    # once interactive: while the rest was drawn, clicked, dragged and panned
    out["longest_task_after_ms"] = float(page.evaluate(LONGEST_SINCE, opened[-1]["tti_ms"]))
    return out


def _baselines(page: Any, url: str, *, loads: int, seconds: float) -> dict[str, float]:
    page.goto(f"{url}/", timeout=TIMEOUT_MS)  # warm-up: the server's and the browser's first page
    page.wait_for_function(LIST_SHOWN, timeout=TIMEOUT_MS, polling=20)
    shown = []
    for _ in range(loads):
        page.goto(f"{url}/", wait_until="commit", timeout=TIMEOUT_MS)
        shown.append(float(page.wait_for_function(LIST_SHOWN, timeout=TIMEOUT_MS, polling=20).json_value()))
    page.wait_for_timeout(300)
    idle, _ = _frames(page, lambda: page.wait_for_timeout(seconds * 1000))
    return {
        "list_ms": statistics.median(shown),
        "idle_frame_p50_ms": percentile(idle, 50),
        "idle_frame_p95_ms": percentile(idle, 95),
    }


def main(
    sizes: tuple[int, ...] = (50, 300, 1000), *, loads: int = 3, clicks: int = 25, seconds: float = 1.5
) -> dict[str, Any]:
    """Measure each size; absolute figures in ms and ratios against the baselines of this run.

    Returns {"baseline": {...}, "sizes": {size: {...}}, "errors": [errors the page logged]}.
    """
    reason = missing()
    if reason:
        raise RuntimeError(reason)
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with tempfile.TemporaryDirectory(prefix="chatloom-bench-") as tmp:
        data = Path(tmp) / "data"
        env = {**os.environ, "CHATLOOM_DATA": str(data)}
        env.pop("DATABASE_URL", None)
        _import_flows(sizes, Path(tmp), env)
        with running_server(data, env) as url, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--disable-gpu"])
            try:
                page = browser.new_page(viewport={"width": VIEWPORT[0], "height": VIEWPORT[1]})
                sign_in(page, url)
                page.add_init_script(INIT_SCRIPT)
                page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))

                def console(message: Any) -> None:
                    # NiceGUI reloads the page when its socket was dropped (the page froze beyond its ping timeout)
                    if message.type == "error" or "reloading because" in message.text:
                        errors.append(f"console: {message.text}")

                page.on("console", console)
                base = _baselines(page, url, loads=loads, seconds=seconds)
                page.goto(f"{url}/flows/bench-{sizes[0]}", timeout=TIMEOUT_MS)  # warm-up: the canvas bundle cached
                page.wait_for_function(DRAWN, timeout=TIMEOUT_MS, polling=20)
                per_size = {}
                for size in sizes:
                    try:
                        per_size[size] = _measure_size(page, url, size, loads=loads, clicks=clicks, seconds=seconds)
                    except PlaywrightError as exc:  # the page reloaded under us (see the errors): once more
                        errors.append(f"{size} nodes measured again after: {str(exc).splitlines()[0]}")
                        per_size[size] = _measure_size(page, url, size, loads=loads, clicks=clicks, seconds=seconds)
            finally:
                browser.close()
    frame = base["idle_frame_p50_ms"]
    for figures in per_size.values():
        figures["tti_ratio"] = figures["tti_ms"] / base["list_ms"]
        figures["drag_p95_ratio"] = figures["drag_p95_ms"] / frame
        figures["pan_p95_ratio"] = figures["pan_p95_ms"] / frame
        if "round_trip_p50_ms" in figures:
            figures["round_trip_p50_frames"] = figures["round_trip_p50_ms"] / frame
            figures["round_trip_p95_frames"] = figures["round_trip_p95_ms"] / frame
    return {"baseline": base, "sizes": per_size, "errors": sorted(set(errors))}


def _print(result: dict[str, Any]) -> None:
    base = result["baseline"]
    frame = base["idle_frame_p50_ms"]
    print(
        f"baselines: the flow list shown and connected {base['list_ms']:.0f} ms after navigation; "
        f"an idle page's frames p50 {frame:.1f} ms, p95 {base['idle_frame_p95_ms']:.1f} ms"
    )
    for size, f in result["sizes"].items():
        print(
            f"{size} nodes ({f['rendered']} of them in the page once drawn, {f['rendered_after_pan']} after panning):"
        )
        print(
            f"  interactive {f['tti_ms']:.0f} ms = {f['tti_ratio']:.1f}× the flow list "
            f"(each load: {f['tti_all_ms']} ms; "
            f"HTML received at {f['html_ms']:.0f} ms, drawn and fitted at {f['drawn_ms']:.0f} ms, "
            f"first click at {f['clicked_ms']:.0f} ms)"
        )
        print(
            f"  the longest main-thread task once interactive: {f['longest_task_after_ms']:.0f} ms "
            f"(in the 3 s left alone after opening: {f['longest_task_idle_ms']:.0f} ms; "
            f"since navigation, opening included: {f['longest_task_ms']:.0f} ms)"
        )
        for what in ("drag", "pan"):
            print(
                f"  {what}: frame p50 {f[what + '_p50_ms']:.1f} ms, p95 {f[what + '_p95_ms']:.1f} ms "
                f"= {f[what + '_p95_ratio']:.1f}× an idle frame; {f[what + '_fps']:.0f} frames/s over "
                f"{f[what + '_frames']} frames; moved {f[what + '_moved_px']:.0f} px"
            )
        if "round_trip_p50_ms" in f:
            print(
                f"  click → Python → settings panel: p50 {f['round_trip_p50_ms']:.0f} ms "
                f"({f['round_trip_p50_frames']:.1f} frames), p95 {f['round_trip_p95_ms']:.0f} ms "
                f"({f['round_trip_p95_frames']:.1f} frames); {f['round_trip_missed']} clicks unanswered"
            )
        else:
            print("  click → Python → settings panel: no click was answered")
    for error in result["errors"]:
        print(error)


if __name__ == "__main__":
    began = time.monotonic()
    _print(main())
    print(f"({time.monotonic() - began:.0f} s in all)")
