import { defineConfig } from "vitest/config";

// Shared by every project: resolve workspace packages to their TypeScript
// sources (the "source" export condition) so tests never need a build first.
export default defineConfig({
  resolve: { conditions: ["source"] },
  test: { include: ["test/**/*.test.ts"] },
});
