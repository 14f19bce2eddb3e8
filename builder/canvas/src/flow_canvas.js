// The flow canvas: Vue Flow showing the graph Python holds. The browser applies harmless changes
// (selection, dragging) itself and only reports edits; Python saves them or undoes them.
import { VueFlow, MiniMap, Controls, Background, Handle, Position, useVueFlow } from "chatloom-canvas";

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
      .chatloom-node { min-width:160px; max-width:220px; background:white; border:1px solid #999;
                       border-radius:6px; padding:6px 10px; font-size:12px }
      .chatloom-node.has-error { border:2px solid #c10015 }
      .chatloom-node.has-warning { border:2px solid #f2c037 }
      .chatloom-node.running { box-shadow:0 0 0 4px #21ba45aa }
      .vue-flow__node.selected .chatloom-node { outline:2px solid #1976d2; outline-offset:2px }
      .chatloom-node .mark { float:right; font-weight:700 }
      .chatloom-node.has-error .mark { color:#c10015 }
      .chatloom-node.has-warning .mark { color:#a07800 }
      .chatloom-note { width:200px; min-height:60px; background:#fff8b0; border:1px solid #e0d060;
                       border-radius:4px; padding:8px; font-size:12px; white-space:pre-wrap; color:#444 }
      .vue-flow__node.selected .chatloom-note { outline:2px solid #1976d2; outline-offset:2px }`;
    document.head.appendChild(style);
  }
}

// Ctrl/Cmd + key → the command Python runs
const COMMANDS = { z: "undo", y: "redo", c: "copy", v: "paste", d: "duplicate" };

function typingInto(target) {
  return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
}

export default {
  components: { VueFlow, MiniMap, Controls, Background, Handle },
  // visibleOnly: "first" draws only the nodes in view until the page is connected, then all of
  // them (fast to open, smooth to pan); "always" keeps drawing only what is in view (huge flows)
  props: { nodes: Array, edges: Array, visibleOnly: { type: String, default: "never" } },
  // declared, or events named like DOM events (drop, select) would also reach Python from the root <div>
  emits: ["connect", "move", "remove", "select", "drop", "command"],
  setup() {
    performance.mark("chatloom:canvas-setup"); // the timeline the canvas benchmark reads
    addStyle();
    return { flow: useVueFlow(), Position };
  },
  data() {
    return { marks: {}, running: null, mapShown: false, onlyVisible: this.visibleOnly !== "never" };
  },
  template: `
    <div class="chatloom-canvas" style="width:100%;height:100%" @dragover.prevent @drop.prevent="onDrop"
         @pointermove="onPointer" @pointerleave="pointer = null" @pointerdown.capture="touch"
         @wheel.capture.passive="touch" @keydown.capture="touch">
      <VueFlow :nodes="nodes" :edges="edges" :apply-default="false" connection-mode="strict"
               :delete-key-code="['Delete', 'Backspace']" :only-render-visible-elements="onlyVisible"
               :auto-pan-on-connect="false" :auto-pan-on-node-drag="false"
               @nodes-change="onNodesChange" @edges-change="onEdgesChange" @connect="onConnect"
               @node-drag-stop="onNodeDragStop" @nodes-initialized="onNodesInitialized">
        <template #node-card="{ id, data }">
          <div class="chatloom-node" :data-node-id="id"
               :class="{ 'has-error': marks[id] === 'error', 'has-warning': marks[id] === 'warning', running: running === id }">
            <Handle v-for="p in data.inputs" :key="'in-' + p" :id="p" type="target" :position="Position.Left"
                    :data-port="p" />
            <div style="font-weight:600"><span v-if="marks[id]" class="mark" :title="marks[id]">!</span>{{ data.title }}</div>
            <div style="color:#555;overflow:hidden;text-overflow:ellipsis;white-space:nowrap">{{ data.summary }}</div>
            <div v-for="p in data.outputs" :key="'out-' + p" style="position:relative;text-align:right;color:#777">
              {{ p }}
              <Handle :id="p" type="source" :position="Position.Right" :data-port="p" />
            </div>
          </div>
        </template>
        <template #node-note="{ id, data }">
          <div class="chatloom-note" :data-note-id="id">{{ data.text || "Empty note: select it to write" }}</div>
        </template>
        <Background /><MiniMap v-if="mapShown" pannable zoomable /><Controls />
      </VueFlow>
    </div>`,
  mounted() {
    performance.mark("chatloom:canvas-mounted");
    this.onKey = (e) => {
      if (!(e.ctrlKey || e.metaKey) || e.altKey || typingInto(e.target)) return;
      const key = e.key.toLowerCase();
      if (key === "a") {
        e.preventDefault();
        this.flow.addSelectedNodes(this.flow.getNodes.value);
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
        this.flow.fitView({ padding: 0.15, maxZoom: 1 });
        if (!this.fitted) performance.mark("chatloom:fitted");
        this.fitted = true;
      };
      fit(true); // at once, so the flow is in view on the first frame it is drawn
      // The minimap draws every node again, and on a large flow so does drawing the nodes out of
      // view: seconds the page first needs for connecting to Python. Both come once it is connected.
      const started = performance.now();
      const later = () => {
        if (!window.did_handshake && performance.now() - started < 5000) {
          setTimeout(later, 50);
          return;
        }
        this.mapShown = true;
        if (this.visibleOnly === "first") drawAllWhenIdle();
      };
      // Drawing the rest keeps the page busy for a moment: do it when the person has not touched
      // the page for a second and a half, so it never lands in the middle of a click or a drag.
      const drawAllWhenIdle = () => {
        if (performance.now() - (this.lastInput || 0) < 1500) setTimeout(drawAllWhenIdle, 250);
        else this.onlyVisible = false;
      };
      this.lastInput = performance.now();
      later();
      this.observer = new ResizeObserver(() => requestAnimationFrame(() => fit()));
      this.observer.observe(this.$el);
      setTimeout(() => fit(), 250); // and once more after the page's own layout has settled
      this.flow.onMoveStart((e) => { if (e.event) this.touched = true; });
    },
    selection() {
      return {
        nodes: this.flow.getSelectedNodes.value.map((n) => n.id),
        edges: this.flow.getSelectedEdges.value.map((e) => e.id),
      };
    },
    reportSelection() {
      // a box selection changes many nodes in a burst: report once, and only what changed
      if (this.selectionTimer) return;
      this.selectionTimer = setTimeout(() => {
        this.selectionTimer = null;
        const now = this.selection();
        const key = JSON.stringify(now);
        if (key === this.lastSelection) return;
        this.lastSelection = key;
        this.$emit("select", now);
      }, 30);
    },
    onNodesChange(changes) {
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
    onPointer(e) {
      this.pointer = { x: e.clientX, y: e.clientY };
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
      this.flow.addEdges(edges);
    },
    removeElements(nodes, edges) {
      // applied directly: removeNodes() would only emit "remove" again and loop with Python
      this.flow.applyEdgeChanges(edges.map((id) => ({ type: "remove", id })));
      this.flow.applyNodeChanges(nodes.map((id) => ({ type: "remove", id })));
      this.reportSelection();
    },
    updateNodeData(id, data) {
      this.flow.updateNodeData(id, data, { replace: true });
      this.$nextTick(() => this.flow.updateNodeInternals([id])); // its ports may have changed
    },
    setGraph(nodes, edges) {
      const keep = new Set(this.selection().nodes);
      this.flow.setNodes(nodes.map((n) => (keep.has(n.id) ? { ...n, selected: true } : n)));
      this.flow.setEdges(edges);
      this.reportSelection();
    },
    setMarks(marks) {
      this.marks = marks;
    },
    highlight(id) {
      this.running = id;
    },
    selectNodes(ids) {
      const wanted = new Set(ids);
      this.flow.addSelectedNodes(this.flow.getNodes.value.filter((n) => wanted.has(n.id)));
    },
    focusNode(id) {
      const node = this.flow.findNode(id);
      if (!node) return;
      this.touched = true; // the person asked for this view: a resize should not undo it
      this.selectNodes([id]);
      this.flow.fitView({ nodes: [id], maxZoom: 1.2, padding: 0.5, duration: 250 });
    },
    fit() {
      this.flow.fitView({ padding: 0.15, maxZoom: 1, duration: 250 });
    },
  },
};
