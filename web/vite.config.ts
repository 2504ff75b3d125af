/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { fileURLToPath } from "node:url";
import { defineConfig, type Plugin } from "vite";

// The API process serves dist/ at /; in development, Vite proxies the API to `dts up`.
const api = process.env.DTS_API ?? "http://127.0.0.1:4000";

// The dashboard's own budget: no chunk it loads over 300 kB. The playground is Monaco
// (2.8 MB, loaded only at /graphql), so Vite's global limit is set above it and this
// plugin keeps the budget for the chunks the dashboard entry imports.
const DASHBOARD_CHUNK_BUDGET_KB = 300;

function dashboardBudget(): Plugin {
  return {
    name: "dts:dashboard-budget",
    apply: "build",
    generateBundle(_options, bundle) {
      const entry = Object.values(bundle).find(
        (file) => file.type === "chunk" && file.isEntry && file.name === "main",
      );
      const seen = new Set<string>();
      const visit = (fileName: string) => {
        const file = bundle[fileName];
        if (!file || file.type !== "chunk" || seen.has(fileName)) return;
        seen.add(fileName);
        const kb = file.code.length / 1000;
        if (kb > DASHBOARD_CHUNK_BUDGET_KB) {
          this.warn(`dashboard chunk ${fileName} is ${kb.toFixed(0)} kB (budget ${DASHBOARD_CHUNK_BUDGET_KB} kB)`);
        }
        file.imports.forEach(visit);
      };
      if (entry) visit(entry.fileName);
    },
  };
}

export default defineConfig({
  plugins: [react(), dashboardBudget()],
  build: {
    outDir: "dist",
    assetsDir: "assets",
    sourcemap: false,
    chunkSizeWarningLimit: 3000,
    rolldownOptions: {
      onwarn(warning, warn) {
        // GraphiQL's modules start with "use no memo" (a React Compiler hint that only
        // matters before bundling): harmless, and not ours to change.
        if (warning.code === "MODULE_LEVEL_DIRECTIVE" && warning.message.includes("use no memo")) return;
        warn(warning);
      },
      // Two pages: the dashboard, and the GraphQL playground (GraphiQL) that dts serves at /graphql.
      input: {
        main: fileURLToPath(new URL("index.html", import.meta.url)),
        graphiql: fileURLToPath(new URL("graphiql.html", import.meta.url)),
      },
      output: {
        // React changes less often than the app: its own hashed file stays cached across releases.
        codeSplitting: {
          groups: [{ name: "react", test: /node_modules[\\/](react|react-dom|scheduler)[\\/]/ }],
        },
      },
    },
  },
  server: {
    proxy: {
      "/graphql": {
        target: api,
        ws: true,
        // A browser opening /graphql gets the playground from Vite (hot reload), as dts
        // serves it in production; queries, mutations and the websocket go to the API.
        bypass: (req) => {
          const page = req.method === "GET" && (req.headers.accept ?? "").includes("text/html");
          return page && !(req.url ?? "").includes("query=") ? "/graphiql.html" : undefined;
        },
      },
      "/api": api,
    },
  },
  test: {
    environment: "happy-dom",
    include: ["src/**/*.test.{ts,tsx}"],
    setupFiles: ["src/test/setup.ts"],
  },
});
