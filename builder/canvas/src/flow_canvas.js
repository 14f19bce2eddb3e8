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
}

export default {
  components: { VueFlow, MiniMap, Controls, Background, Handle },
  props: { nodes: Array, edges: Array },
  // declared, or events named like DOM events (drop, select) would also reach Python from the root <div>
  emits: ["connect", "move", "remove", "select", "drop"],
  setup() {
    addStyle();
    return { flow: useVueFlow(), Position };
  },
  template: `
    <div class="chatloom-canvas" style="width:100%;height:100%" @dragover.prevent @drop.prevent="onDrop">
      <VueFlow :nodes="nodes" :edges="edges" :apply-default="false" connection-mode="strict"
               delete-key-code="Delete" :fit-view-on-init="true"
               :auto-pan-on-connect="false" :auto-pan-on-node-drag="false"
               @nodes-change="onNodesChange" @edges-change="onEdgesChange" @connect="onConnect"
               @node-drag-stop="onNodeDragStop" @node-click="onNodeClick" @pane-click="onPaneClick"
               @nodes-initialized="onNodesInitialized">
        <template #node-card="{ id, data }">
          <div class="chatloom-node" :data-node-id="id"
               style="min-width:160px;max-width:220px;background:white;border:1px solid #999;border-radius:6px;padding:6px 10px;font-size:12px">
            <Handle v-for="p in data.inputs" :key="'in-' + p" :id="p" type="target" :position="Position.Left"
                    :data-port="p" />
            <div style="font-weight:600">{{ data.title }}</div>
            <div style="color:#555;overflow:hidden;text-overflow:ellipsis;white-space:nowrap">{{ data.summary }}</div>
            <div v-for="p in data.outputs" :key="'out-' + p" style="position:relative;text-align:right;color:#777">
              {{ p }}
              <Handle :id="p" type="source" :position="Position.Right" :data-port="p" />
            </div>
          </div>
        </template>
        <Background /><MiniMap pannable zoomable /><Controls />
      </VueFlow>
    </div>`,
  unmounted() {
    if (this.observer) this.observer.disconnect();
  },
  methods: {
    onNodesInitialized() {
      // Fit once the nodes have their sizes and the page its layout: on init the container is still
      // being laid out, and the fit placed the flow off to one side. A later resize refits until the
      // person moves the view themselves.
      if (this.observer) return;
      const fit = () => { if (!this.touched) this.flow.fitView({ padding: 0.15 }); };
      this.observer = new ResizeObserver(() => requestAnimationFrame(fit));
      this.observer.observe(this.$el);
      setTimeout(fit, 250); // and once more after the page's own layout has settled
      this.flow.onMoveStart((e) => { if (e.event) this.touched = true; });
    },
    onNodesChange(changes) {
      const local = changes.filter((c) => c.type !== "remove");
      if (local.length) this.flow.applyNodeChanges(local);
      const gone = changes.filter((c) => c.type === "remove").map((c) => c.id);
      if (gone.length) this.$emit("remove", { nodes: gone, edges: [] });
    },
    onEdgesChange(changes) {
      const local = changes.filter((c) => c.type !== "remove");
      if (local.length) this.flow.applyEdgeChanges(local);
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
    onNodeClick(e) {
      this.$emit("select", { node: e.node.id });
    },
    onPaneClick() {
      this.$emit("select", { node: null });
    },
    onDrop(e) {
      const type = e.dataTransfer && e.dataTransfer.getData("application/x-chatloom-node");
      if (!type) return;
      const at = this.flow.screenToFlowCoordinate({ x: e.clientX, y: e.clientY });
      this.$emit("drop", { type, x: at.x, y: at.y });
    },
    // called from Python
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
    },
    updateNodeData(id, data) {
      this.flow.updateNodeData(id, data, { replace: true });
      this.$nextTick(() => this.flow.updateNodeInternals([id])); // its ports may have changed
    },
    setGraph(nodes, edges) {
      this.flow.setNodes(nodes);
      this.flow.setEdges(edges);
    },
  },
};
