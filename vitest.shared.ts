import { defaultServerConditions } from "vite";
import { defineConfig } from "vitest/config";

// Shared by every project: resolve workspace packages to their TypeScript
// sources (the "source" export condition) so tests never need a build first.
// Vitest runs test files through Vite's SSR pipeline, which takes its own list.
export default defineConfig({
  resolve: { conditions: ["source"] },
  ssr: { resolve: { conditions: [...defaultServerConditions, "source"], externalConditions: ["source"] } },
  test: { include: ["test/**/*.test.ts"] },
});
