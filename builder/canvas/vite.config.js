// One ES module with Vue Flow and its add-ons; `vue` stays external so the page's import map
// gives it NiceGUI's own Vue instance.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const CULLING = fileURLToPath(new URL("./src/culling.js", import.meta.url));

// Vue Flow's getters of the nodes and edges to draw are replaced by src/culling.js (why: see there).
// The build fails if the code replaced is not found exactly once, so an upgrade of @vue-flow/core
// that changes it cannot quietly drop the patch.
function culling() {
  const start = "  const getNodes = computed(() => {\n    if (state.onlyRenderVisibleElements) {";
  const end = "      return visibleEdges;\n    }\n    return state.edges;\n  });\n";
  return {
    name: "chatloom-vue-flow-culling",
    transform(code, id) {
      if (!id.replace(/\\/g, "/").endsWith("@vue-flow/core/dist/vue-flow-core.mjs")) return null;
      const from = code.indexOf(start);
      const to = code.indexOf(end, from);
      if (from < 0 || to < 0 || code.indexOf(start, from + 1) >= 0) {
        throw new Error("@vue-flow/core changed: the culling patch (vite.config.js, src/culling.js) no longer applies");
      }
      const patched = "  const { getNodes, getEdges } = __chatloomCulled(state);\n";
      return {
        code: `import { culledGetters as __chatloomCulled } from ${JSON.stringify(CULLING)};\n` +
          code.slice(0, from) + patched + code.slice(to + end.length),
        map: null,
      };
    },
  };
}

export default defineConfig({
  // Vue Flow's warn() reads process.env.NODE_ENV, which does not exist in a browser
  define: { "process.env.NODE_ENV": JSON.stringify("production") },
  plugins: [culling()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    lib: { entry: "src/index.js", formats: ["es"], fileName: () => "index.js", cssFileName: "style" },
    rolldownOptions: { external: ["vue"] },
  },
});
