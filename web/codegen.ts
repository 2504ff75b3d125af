// GraphQL Code Generator: typed operations for the dashboard, generated from the API's SDL.
// `npm run codegen` (run by `npm run build` and `npm test`) writes src/gql/; the folder is
// not committed, so the types always match ../schema.graphql.
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "../schema.graphql",
  documents: ["src/**/*.{ts,tsx}", "!src/gql/**/*"],
  ignoreNoDocuments: true,
  silent: true,
  generates: {
    "src/gql/": {
      preset: "client",
      presetConfig: { fragmentMasking: false },
      config: {
        enumsAsTypes: true,
        useTypeImports: true,
        skipTypename: true,
        strictScalars: true,
        scalars: { DateTime: "string" },
        avoidOptionals: { field: true, inputValue: false, object: true },
      },
    },
  },
};

export default config;
