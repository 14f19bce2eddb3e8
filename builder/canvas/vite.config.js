// One ES module with Vue Flow and its add-ons; `vue` stays external so the page's import map
// gives it NiceGUI's own Vue instance.
import { defineConfig } from "vite";

export default defineConfig({
  // Vue Flow's warn() reads process.env.NODE_ENV, which does not exist in a browser
  define: { "process.env.NODE_ENV": JSON.stringify("production") },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    lib: { entry: "src/index.js", formats: ["es"], fileName: () => "index.js", cssFileName: "style" },
    rolldownOptions: { external: ["vue"] },
  },
});
