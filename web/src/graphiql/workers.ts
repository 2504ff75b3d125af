// Monaco's editor workers, bundled by Vite (`?worker`) and served from /assets like the rest
// of the playground. GraphiQL's own `setup-workers/vite` does the same but logs every worker.
import JsonWorker from "monaco-editor/esm/vs/language/json/json.worker.js?worker";
import EditorWorker from "monaco-editor/esm/vs/editor/editor.worker.js?worker";
import GraphQLWorker from "monaco-graphql/esm/graphql.worker.js?worker";
import type { Environment } from "monaco-editor";

const environment: Environment = {
  getWorker(_workerId: string, label: string): Worker {
    if (label === "json") return new JsonWorker();
    if (label === "graphql") return new GraphQLWorker();
    return new EditorWorker();
  },
};

window.MonacoEnvironment = environment;
