// The flow canvas: Vue Flow showing the graph Python holds. The browser applies harmless changes
// (selection, dragging) itself and only reports edits; Python saves them or undoes them.
import { VueFlow, Controls, Background, Handle, BaseEdge, Position, useVueFlow, toRaw, route, pathOf } from "chatloom-canvas";

function addStyle() {
  // the bundle's CSS sits beside it; the import map tells where
  const href = import.meta.resolve("chatloom-canvas/style.css");
  if (!document.querySelector(`link[href="${href}"]`)) {
    const link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = href;
    document.head.appendChild(link);
  }
  if (!document.getElementById("chatloom-canvas-style")) {
    const style = document.createElement("style");
    style.id = "chatloom-canvas-style";
    style.textContent = `
      .chatloom-node { width:240px; background:#fff; border:1px solid #dbe1ea; border-radius:12px;
                       box-shadow:0 1px 3px rgba(15,23,42,.08); font-size:13px; color:#1e293b;
                       font-family:Inter, "Segoe UI", Roboto, system-ui, sans-serif; line-height:1.35 }
      .chatloom-node .cl-head { display:flex; align-items:center; gap:8px; padding:10px 12px 6px; position:relative }
      .chatloom-node .cl-icon { width:26px; height:26px; border-radius:7px; display:flex; flex:none;
                                align-items:center; justify-content:center; color:#fff; font-size:17px;
                                background:var(--tone) }
      .chatloom-node .cl-title { font-weight:600; font-size:13px; overflow:hidden; text-overflow:ellipsis; white-space:nowrap }
      .chatloom-node .cl-badge { margin-left:auto; flex:none; width:20px; height:20px; border-radius:10px; color:#fff;
                                 font-weight:700; font-size:12px; display:flex; align-items:center; justify-content:center }
      .chatloom-node.has-error .cl-badge { background:#dc2626 }
      .chatloom-node.has-warning .cl-badge { background:#d97706 }
      .chatloom-node .cl-body { padding:0 12px 10px; display:flex; flex-direction:column; gap:6px }
      .chatloom-node .cl-text { color:#334155; display:-webkit-box; -webkit-line-clamp:3; -webkit-box-orient:vertical;
                                overflow:hidden; overflow-wrap:anywhere; white-space:pre-line }
      .chatloom-node .cl-empty { color:#94a3b8; font-style:italic }
      .chatloom-node .cl-var { display:inline-block; padding:0 6px; border-radius:6px; background:#eef2ff; color:#4338ca;
                               font-size:12px; font-weight:500; line-height:18px; white-space:nowrap; max-width:180px;
                               overflow:hidden; text-overflow:ellipsis; vertical-align:bottom }
      .chatloom-node .cl-chips { display:flex; flex-wrap:wrap; gap:4px }
      .chatloom-node .cl-chip { border:1px solid #cbd5e1; border-radius:999px; padding:1px 8px; font-size:12px;
                                color:#334155; max-width:200px; overflow:hidden; text-overflow:ellipsis; white-space:nowrap }
      .chatloom-node .cl-saves { font-size:12px; color:#64748b }
      .chatloom-node .cl-exits { border-top:1px solid #eef1f5 }
      .chatloom-node .cl-exit { position:relative; padding:5px 16px 5px 12px; text-align:right; font-size:12px; color:#475569 }
      .chatloom-node .cl-exit-words { display:block; white-space:nowrap; overflow:hidden; text-overflow:ellipsis }
      .chatloom-node .cl-exit + .cl-exit { border-top:1px solid #f3f5f8 }
      .chatloom-node .vue-flow__handle { width:12px; height:12px; background:#fff; border:2px solid var(--tone) }
      .chatloom-node .vue-flow__handle::before { content:""; position:absolute; inset:-7px; border-radius:50% }
      .chatloom-node .vue-flow__handle.target { top:23px }
      .chatloom-node .cl-exit .vue-flow__handle { right:-7px }
      .chatloom-node .cl-head .vue-flow__handle.source { right:-7px }
      .chatloom-node .vue-flow__handle:hover, .chatloom-node .vue-flow__handle.connecting { background:var(--tone) }
      .chatloom-canvas.connecting .chatloom-node:hover { border-color:var(--tone); box-shadow:0 0 0 3px #bfdbfe }
      .chatloom-node.running { box-shadow:0 0 0 4px #22c55e88 }
      .vue-flow__node.selected .chatloom-node { border-color:#2563eb; box-shadow:0 0 0 2px #2563eb }
      .chatloom-canvas.far .chatloom-node { border-width:2px; border-color:var(--tone); box-shadow:none }
      .chatloom-canvas.far .chatloom-node .cl-body, .chatloom-canvas.far .chatloom-node .cl-exit { color:transparent }
      .chatloom-canvas.far .chatloom-node .cl-body > * { visibility:hidden }
      .chatloom-canvas.far .chatloom-node .cl-title { font-size:22px }
      .chatloom-note { width:200px; min-height:60px; background:#fef9c3; border:1px solid #fde047;
                       border-radius:8px; padding:10px; font-size:13px; white-space:pre-wrap; color:#44403c }
      .chatloom-canvas.moving .vue-flow__transformationpane { will-change:transform }
      .chatloom-map { position:absolute; right:15px; bottom:15px; z-index:5; width:200px; height:150px;
                      background:#fff; border:1px solid #e2e8f0; border-radius:8px; cursor:pointer;
                      box-shadow:0 1px 3px rgba(15,23,42,.08) }
      .vue-flow__node.selected .chatloom-note { outline:2px solid #2563eb; outline-offset:2px }`;
    document.head.appendChild(style);
  }
}

// Below this zoom cards are drawn as outlines with their titles: the text would be unreadable anyway,
// and large flows stay fast to pan
const FAR = 0.5;
// A flow opens fitted when that keeps its text readable (at least READABLE), else at 100% with the
// start step at the left of the view
const READABLE = 0.75;
// A large flow draws only the cards in and around the view (src/culling.js); one not drawn yet
// counts at the height Python estimated for it, or this
const CARD = { width: 240, height: 140 };

// "Thanks, {{ name }}!" → [{t: "Thanks, "}, {v: "name"}, {t: "!"}]: variables are drawn as chips
function pieces(text) {
  const out = [];
  let last = 0;
  for (const m of text.matchAll(/\{\{\s*([\s\S]*?)\s*\}\}/g)) {
    if (m.index > last) out.push({ t: text.slice(last, m.index) });
    out.push({ v: m[1] || "…" });
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push({ t: text.slice(last) });
  return out;
}

// Ctrl/Cmd + key → the command Python runs
const COMMANDS = { z: "undo", y: "redo", c: "copy", v: "paste", d: "duplicate" };

function typingInto(target) {
  return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
}

export default {
  components: { VueFlow, Controls, Background, Handle, BaseEdge },
  // visibleOnly: draw only the cards in and around the view, and those joined to them (large flows)
  // words: what the canvas says, in the builder's language (builder/canvas.py, through builder.i18n)
  props: { nodes: Array, edges: Array, visibleOnly: { type: Boolean, default: false }, words: { type: Object, default: () => ({}) } },
  // declared, or events named like DOM events (drop, select) would also reach Python from the root <div>
  emits: ["connect", "move", "remove", "select", "drop", "command", "view"],
  setup() {
    performance.mark("chatloom:canvas-setup"); // the timeline the canvas benchmark reads
    addStyle();
    return { flow: useVueFlow(), Position };
  },
  data() {
    return {
      marks: {},
      problems: {},
      running: null,
      far: false, // zoomed out below FAR: cards drawn as outlines with their titles
      connecting: false,
      moving: false, // the view is being panned or zoomed: the pane gets its own layer meanwhile
    };
  },
  template: `
    <div class="chatloom-canvas" :class="{ far, connecting, moving }" style="width:100%;height:100%" @dragover.prevent @drop.prevent="onDrop"
         @pointermove="onPointer" @pointerleave="pointer = null" @pointerdown.capture="touch"
         @wheel.capture.passive="touch" @keydown.capture="onKeyOnCanvas">
      <VueFlow :nodes="firstNodes" :edges="firstEdges" :apply-default="false" connection-mode="strict"
               :delete-key-code="['Delete', 'Backspace']" :only-render-visible-elements="visibleOnly"
               :auto-pan-on-connect="false" :auto-pan-on-node-drag="false" :min-zoom="0.1" :max-zoom="2"
               @nodes-change="onNodesChange" @edges-change="onEdgesChange" @connect="onConnect"
               @node-drag-stop="onNodeDragStop" @nodes-initialized="onNodesInitialized"
               @connect-start="onConnectStart" @connect-end="onConnectEnd">
        <template #node-card="{ id, data }">
          <div class="chatloom-node" :data-node-id="id" :style="{ '--tone': data.color }"
               :class="{ 'has-error': marks[id] === 'error', 'has-warning': marks[id] === 'warning', running: running === id }">
            <Handle v-for="p in data.inputs" :key="'in-' + p" :id="p" type="target" :position="Position.Left"
                    :data-port="p" />
            <div class="cl-head">
              <span class="cl-icon material-icons" aria-hidden="true">{{ data.icon }}</span>
              <span class="cl-title">{{ data.title }}</span>
              <span v-if="marks[id]" class="cl-badge" :title="problems[id] || say(marks[id] === 'error' ? 'error' : 'warning')"
                    :aria-label="say(marks[id] === 'error' ? 'error' : 'warning')">!</span>
              <Handle v-if="single(data)" :id="data.outputs[0]" type="source" :position="Position.Right"
                      :data-port="data.outputs[0]" :title="say('connect')" />
            </div>
            <div class="cl-body" v-if="data.text || data.empty || data.chips.length || data.saves">
              <div v-if="data.text" class="cl-text"><template v-for="(part, i) in pieces(data.text)" :key="i"><span
                   v-if="part.v" class="cl-var">{{ part.v }}</span><template v-else>{{ part.t }}</template></template></div>
              <div v-else-if="data.empty" class="cl-text cl-empty">{{ data.empty }}</div>
              <div v-if="data.chips.length" class="cl-chips"><span v-for="c in data.chips" :key="c" class="cl-chip">{{ c }}</span></div>
              <div v-if="data.saves" class="cl-saves">{{ say("saves") }} <span class="cl-var">{{ data.saves }}</span></div>
            </div>
            <div v-if="!single(data) && data.outputs.length" class="cl-exits">
              <div v-for="p in data.outputs" :key="'out-' + p" class="cl-exit" :data-exit="p">
                <span class="cl-exit-words" :title="data.labels[p] || p">{{ data.labels[p] || p }}</span>
                <Handle :id="p" type="source" :position="Position.Right" :data-port="p" />
              </div>
            </div>
          </div>
        </template>
        <template #edge-routed="e">
          <BaseEdge :id="e.id" :path="edgePath(e)" :style="e.style" :interaction-width="24" />
        </template>
        <template #node-note="{ id, data }">
          <div class="chatloom-note" :data-note-id="id">{{ data.text || say("note") }}</div>
        </template>
        <Background /><Controls />
        <canvas ref="map" class="vue-flow__minimap chatloom-map" width="200" height="150" aria-hidden="true"
                :title="say('map')" @pointerdown.stop.prevent="onMapPress" @mousedown.stop @dblclick.stop @wheel.stop.prevent="onMapWheel"></canvas>
      </VueFlow>
    </div>`,
  created() {
    // Vue Flow is given copies: it keeps its own state, and a resend of the props changes nothing
    this.firstNodes = this.sized(this.nodes || []);
    this.firstEdges = this.lines(this.edges || []);
  },
  mounted() {
    performance.mark("chatloom:canvas-mounted");
    // Vue Flow's zoom buttons are icons only: give each a name a screen reader can say
    for (const kind of ["zoomin", "zoomout", "fitview", "interactive"]) {
      const button = this.$el.querySelector(`.vue-flow__controls-${kind}`);
      if (button) button.setAttribute("aria-label", this.say(kind));
    }
    this.onKey = (e) => {
      if (!(e.ctrlKey || e.metaKey) || e.altKey || typingInto(e.target)) return;
      const key = e.key.toLowerCase();
      if (key === "a") {
        e.preventDefault();
        this.flow.addSelectedNodes(this.flow.nodes.value); // all of them, drawn or not
        return;
      }
      let name = COMMANDS[key];
      if (!name) return;
      if (name === "undo" && e.shiftKey) name = "redo";
      if (name === "copy" && window.getSelection && String(window.getSelection())) return; // copying page text
      e.preventDefault();
      this.command(name);
    };
    document.addEventListener("keydown", this.onKey);
  },
  unmounted() {
    document.removeEventListener("keydown", this.onKey);
    if (this.observer) this.observer.disconnect();
  },
  methods: {
    onNodesInitialized() {
      // Fit once the nodes have their sizes and the page its layout: on init the container is still
      // being laid out, and the fit placed the flow off to one side. Resizes in the next two seconds
      // refit until the person first presses, scrolls or types on the canvas; never after that, and
      // never later (a wider settings panel leaves the view be).
      if (this.observer) return;
      performance.mark("chatloom:nodes-initialized");
      const settled = performance.now() + 2000; // after that the page's layout is done: no more refits
      const fit = (first) => {
        if (!first && (this.touched || (this.fitted && performance.now() > settled))) return;
        this.openingView();
        if (!this.fitted) performance.mark("chatloom:fitted");
        this.fitted = true;
      };
      fit(true); // at once, so the flow is in view on the first frame it is drawn
      if (this.pendingFocus) this.focusNode(this.pendingFocus);
      this.drawMap();
      this.observer = new ResizeObserver(() => requestAnimationFrame(() => fit()));
      this.observer.observe(this.$el);
      setTimeout(() => fit(), 250); // and once more after the page's own layout has settled
      this.flow.onMoveStart((e) => {
        if (e.event) this.touched = true;
        this.moving = true;
      });
      this.flow.onMove(() => {
        this.lookFrom();
        this.drawMap();
      });
      this.flow.onMoveEnd(() => {
        this.moving = false;
        this.reportView();
      });
      this.reportView();
    },
    lines(edges) {
      return edges.map((e) => ({ ...e, type: "routed" })); // drawn around cards (src/routing.js)
    },
    edgePath(e) {
      // around the two cards, and clear of the cards drawn near them when it can be
      const box = (n) => {
        const raw = toRaw(n);
        const p = raw.computedPosition || raw.position;
        const size = raw.dimensions || {};
        return { x: p.x, y: p.y, width: size.width || CARD.width, height: size.height || CARD.height };
      };
      const s = { x: e.sourceX, y: e.sourceY };
      const t = { x: e.targetX, y: e.targetY };
      const from = box(e.sourceNode);
      const to = box(e.targetNode);
      const near = {
        x: Math.min(from.x, to.x) - 80,
        y: Math.min(from.y, to.y) - 80,
        x2: Math.max(from.x + from.width, to.x + to.width) + 80,
        y2: Math.max(from.y + from.height, to.y + to.height) + 80,
      };
      const others = [];
      for (const n of toRaw(this.flow.getNodes.value)) {
        if (n.id === e.source || n.id === e.target || n.type === "note") continue;
        const b = box(n);
        if (b.x < near.x2 && b.x + b.width > near.x && b.y < near.y2 && b.y + b.height > near.y) others.push(b);
      }
      return pathOf(route(s, t, from, to, others)).d;
    },
    sized(nodes) {
      // in a large flow every card has its estimated size before it is drawn (src/culling.js)
      if (!this.visibleOnly) return nodes.map((n) => ({ ...n }));
      return nodes.map((n) => ({
        ...n,
        dimensions: { width: CARD.width, height: (n.data && n.data.height) || CARD.height },
      }));
    },
    openingView() {
      // the whole flow when its text stays readable; else 100%, the start step at the left, centred
      this.flow.fitView({ padding: 0.15, maxZoom: 1 });
      if (this.flow.viewport.value.zoom >= READABLE) return this.lookFrom();
      const start = this.flow.nodes.value.find((n) => n.data && n.data.start) || this.flow.nodes.value[0];
      if (!start) return this.lookFrom();
      const box = this.$el.getBoundingClientRect();
      const h = (start.dimensions && start.dimensions.height) || 60;
      this.flow.setViewport({ x: 48 - start.position.x, y: box.height / 2 - start.position.y - h / 2, zoom: 1 });
      this.lookFrom();
    },
    lookFrom() {
      const far = this.flow.viewport.value.zoom < FAR;
      if (far !== this.far) this.far = far;
    },
    pieces,
    say(key) {
      return (this.words && this.words[key]) || key;
    },
    single(data) {
      // one plain exit: its handle sits on the title row, and needs no words
      return data.outputs.length === 1 && data.outputs[0] === "out";
    },
    onConnectStart(e) {
      this.connecting = true;
      this.connected = false;
      this.connectFrom = e && e.handleType === "source" ? { node: e.nodeId, port: e.handleId } : null;
    },
    onConnectEnd(e) {
      // A connection dropped anywhere on a step joins it there, not only on its small input dot
      this.connecting = false;
      const from = this.connectFrom;
      this.connectFrom = null;
      if (this.connected || !from || !e) return;
      const point = e.changedTouches ? e.changedTouches[0] : e;
      const hit = document.elementFromPoint(point.clientX, point.clientY);
      const card = hit && hit.closest(".chatloom-node[data-node-id]");
      if (!card || !this.$el.contains(card)) return;
      const target = this.flow.findNode(card.dataset.nodeId);
      const port = target && target.data.inputs && target.data.inputs[0];
      if (!port || target.id === from.node) return;
      this.onConnect({ source: from.node, sourceHandle: from.port, target: target.id, targetHandle: port });
    },
    selection() {
      return {
        nodes: this.flow.getSelectedNodes.value.map((n) => n.id),
        edges: this.flow.getSelectedEdges.value.map((e) => e.id),
      };
    },
    reportSelection() {
      // a box selection changes many nodes in a burst: report once a frame, and only what changed
      if (this.selectionTimer) return;
      this.selectionTimer = requestAnimationFrame(() => {
        this.selectionTimer = null;
        const now = this.selection();
        const key = JSON.stringify(now);
        if (key === this.lastSelection) return;
        this.lastSelection = key;
        this.$emit("select", now);
      });
    },
    onNodesChange(changes) {
      this.drawMap();
      const local = changes.filter((c) => c.type !== "remove");
      if (local.length) this.flow.applyNodeChanges(local);
      if (local.some((c) => c.type === "select")) this.reportSelection();
      const gone = changes.filter((c) => c.type === "remove").map((c) => c.id);
      if (gone.length) this.$emit("remove", { nodes: gone, edges: [] });
    },
    onEdgesChange(changes) {
      const local = changes.filter((c) => c.type !== "remove");
      if (local.length) this.flow.applyEdgeChanges(local);
      if (local.some((c) => c.type === "select")) this.reportSelection();
      const gone = changes.filter((c) => c.type === "remove").map((c) => c.id);
      if (gone.length) this.$emit("remove", { nodes: [], edges: gone });
    },
    onConnect(c) {
      this.connected = true;
      this.$emit("connect", {
        source: c.source,
        target: c.target,
        source_port: c.sourceHandle,
        target_port: c.targetHandle,
      });
    },
    onNodeDragStop(e) {
      this.$emit("move", { nodes: e.nodes.map((n) => ({ id: n.id, x: n.position.x, y: n.position.y })) });
    },
    touch() {
      // The person has started using the canvas: from now on the view is theirs. A refit after this
      // (a late resize while the page settles) would move the flow under a pointer that is pressing
      // a node, and the node would land sideways of where the hand put it.
      this.lastInput = performance.now();
      this.touched = true;
    },
    onKeyOnCanvas(e) {
      this.touch();
      // Arrow keys move the selected steps (Vue Flow's own keyboard access; Shift moves further).
      // Python hears the new places once the keys rest, as it would after a drag.
      if (!e.key.startsWith("Arrow") || !e.target.closest || !e.target.closest(".vue-flow__node")) return;
      clearTimeout(this.keyMoveTimer);
      this.keyMoveTimer = setTimeout(() => {
        const moved = this.flow.getSelectedNodes.value;
        if (moved.length) this.onNodeDragStop({ nodes: moved });
      }, 400);
    },
    onPointer(e) {
      this.pointer = { x: e.clientX, y: e.clientY };
    },
    drawMap() {
      // The minimap: every step as a small box in its colour, the view as a clear window in a grey
      // veil. Drawn on a <canvas> once a frame at most (a component per step, as Vue Flow's minimap
      // has, cost a large flow half a second to show and a share of every drag frame).
      if (this.mapFrame) return;
      this.mapFrame = requestAnimationFrame(() => {
        this.mapFrame = null;
        const canvas = this.$refs.map;
        if (!canvas || !this.$el) return;
        const box = this.$el.getBoundingClientRect();
        const { x, y, zoom } = this.flow.viewport.value;
        const view = { x: -x / zoom, y: -y / zoom, x2: (box.width - x) / zoom, y2: (box.height - y) / zoom };
        const nodes = toRaw(this.flow.nodes.value);
        let x1 = view.x, y1 = view.y, x2 = view.x2, y2 = view.y2;
        const boxes = [];
        let selected = 0;
        for (const n of nodes) {
          const p = n.computedPosition || n.position;
          const w = (n.dimensions && n.dimensions.width) || CARD.width;
          const h = (n.dimensions && n.dimensions.height) || CARD.height;
          boxes.push([p.x, p.y, w, h, (n.data && n.data.color) || "#cbd5e1", n.selected]);
          if (n.selected) selected++;
          x1 = Math.min(x1, p.x);
          y1 = Math.min(y1, p.y);
          x2 = Math.max(x2, p.x + w);
          y2 = Math.max(y2, p.y + h);
        }
        const pad = 20 / Math.max(1e-6, Math.min(canvas.width / (x2 - x1), canvas.height / (y2 - y1)));
        x1 -= pad; y1 -= pad; x2 += pad; y2 += pad;
        const scale = Math.min(canvas.width / (x2 - x1), canvas.height / (y2 - y1));
        const ox = (canvas.width - (x2 - x1) * scale) / 2 - x1 * scale;
        const oy = (canvas.height - (y2 - y1) * scale) / 2 - y1 * scale;
        this.mapScale = { scale, ox, oy };
        const g = canvas.getContext("2d");
        g.clearRect(0, 0, canvas.width, canvas.height);
        for (const [bx, by, w, h, color, chosen] of boxes) {
          g.fillStyle = chosen ? "#2563eb" : color;
          g.globalAlpha = chosen ? 1 : 0.55;
          g.fillRect(bx * scale + ox, by * scale + oy, Math.max(2, w * scale), Math.max(2, h * scale));
        }
        g.globalAlpha = 1;
        const vx = view.x * scale + ox, vy = view.y * scale + oy;
        const vw = (view.x2 - view.x) * scale, vh = (view.y2 - view.y) * scale;
        g.fillStyle = "rgba(226, 232, 240, 0.6)";
        g.beginPath();
        g.rect(0, 0, canvas.width, canvas.height);
        g.rect(vx, vy, vw, vh);
        g.fill("evenodd");
        g.strokeStyle = "#64748b";
        g.lineWidth = 1;
        g.strokeRect(vx + 0.5, vy + 0.5, vw - 1, vh - 1);
        canvas.dataset.nodes = String(boxes.length); // what the browser tests read
        canvas.dataset.selected = String(selected);
      });
    },
    mapPoint(e) {
      // the place of the flow under the pointer on the minimap
      const r = this.$refs.map.getBoundingClientRect();
      const { scale, ox, oy } = this.mapScale || { scale: 1, ox: 0, oy: 0 };
      const px = ((e.clientX - r.left) * this.$refs.map.width) / r.width;
      const py = ((e.clientY - r.top) * this.$refs.map.height) / r.height;
      return { x: (px - ox) / scale, y: (py - oy) / scale };
    },
    onMapPress(e) {
      // a press on the minimap brings that place to the middle of the view; dragging keeps it there
      this.touched = true;
      const go = (ev) => {
        const at = this.mapPoint(ev);
        this.flow.setCenter(at.x, at.y, { zoom: this.flow.viewport.value.zoom });
      };
      go(e);
      const move = (ev) => go(ev);
      const up = () => {
        removeEventListener("pointermove", move);
        removeEventListener("pointerup", up);
      };
      addEventListener("pointermove", move);
      addEventListener("pointerup", up);
    },
    onMapWheel(e) {
      this.touched = true;
      if (e.deltaY < 0) this.flow.zoomIn({ duration: 100 });
      else this.flow.zoomOut({ duration: 100 });
    },
    reportView() {
      // Python places steps added by double-click, keyboard or the note button in the middle of
      // what the person sees: it hears where that is whenever the view stops moving
      const box = this.$el.getBoundingClientRect();
      if (!box.width) return;
      const at = this.flow.screenToFlowCoordinate({ x: box.left + box.width / 2, y: box.top + box.height / 2 });
      this.$emit("view", { x: Math.round(at.x), y: Math.round(at.y) });
    },
    onDrop(e) {
      const type = e.dataTransfer && e.dataTransfer.getData("application/x-chatloom-node");
      if (!type) return;
      const at = this.flow.screenToFlowCoordinate({ x: e.clientX, y: e.clientY });
      this.$emit("drop", { type, x: at.x, y: at.y });
    },
    // called from Python (and by the keyboard shortcuts)
    command(name) {
      // the selection goes with each command, so Python never acts on a stale one
      const at = this.pointer ? this.flow.screenToFlowCoordinate(this.pointer) : null;
      this.$emit("command", { name, at, ...this.selection() });
    },
    addNodes(nodes) {
      this.flow.addNodes(nodes); // emits "add" changes, which onNodesChange applies
    },
    addEdges(edges) {
      this.flow.addEdges(this.lines(edges));
    },
    removeElements(nodes, edges) {
      // applied directly: removeNodes() would only emit "remove" again and loop with Python
      this.flow.applyEdgeChanges(edges.map((id) => ({ type: "remove", id })));
      this.flow.applyNodeChanges(nodes.map((id) => ({ type: "remove", id })));
      this.drawMap();
      this.reportSelection();
    },
    updateNodeData(id, data) {
      this.flow.updateNodeData(id, data, { replace: true });
      this.$nextTick(() => this.flow.updateNodeInternals([id])); // its ports may have changed
    },
    setGraph(nodes, edges) {
      const keep = new Set(this.selection().nodes);
      this.flow.setNodes(this.sized(nodes).map((n) => (keep.has(n.id) ? { ...n, selected: true } : n)));
      this.flow.setEdges(this.lines(edges));
      this.reportSelection();
      this.drawMap();
    },
    setMarks(marks, problems) {
      this.marks = marks;
      this.problems = problems || {};
    },
    highlight(id) {
      this.running = id;
      if (id) this.follow(id);
    },
    follow(id) {
      // the test chat moved to this step: bring it into view when it is out of it, at the same zoom,
      // unless the person is working on the canvas right now
      if (performance.now() - (this.lastInput || 0) < 1500) return;
      this.reveal(id);
    },
    reveal(id) {
      // bring this step into view when it is out of it (a step just added), at the same zoom
      const node = this.flow.findNode(id);
      if (!node) return;
      const box = this.$el.getBoundingClientRect();
      const { x, y, zoom } = this.flow.viewport.value;
      const w = ((node.dimensions && node.dimensions.width) || 240) * zoom;
      const h = ((node.dimensions && node.dimensions.height) || 80) * zoom;
      const left = node.computedPosition.x * zoom + x;
      const top = node.computedPosition.y * zoom + y;
      if (left >= 0 && top >= 0 && left + w <= box.width && top + h <= box.height) return;
      const cx = node.computedPosition.x + w / zoom / 2;
      const cy = node.computedPosition.y + h / zoom / 2;
      this.flow.setCenter(cx, cy, { zoom, duration: 300 });
    },
    selectNodes(ids) {
      const wanted = new Set(ids);
      this.flow.addSelectedNodes(this.flow.nodes.value.filter((n) => wanted.has(n.id)));
    },
    focusNode(id) {
      const node = this.flow.findNode(id);
      if (!this.fitted) {
        this.pendingFocus = id; // asked before the canvas has drawn: once it has
        return;
      }
      if (!node) return;
      this.touched = true; // the person asked for this view: a resize should not undo it
      this.selectNodes([id]);
      this.flow.fitView({ nodes: [id], maxZoom: 1.2, padding: 0.5, duration: 250 });
    },
    fit() {
      this.flow.fitView({ padding: 0.15, maxZoom: 1, duration: 250 }).then(() => this.lookFrom());
    },
  },
};
