import { defineConfig, mergeConfig } from "vitest/config";
import shared from "../../vitest.shared.ts";

// One pcscd and one vpcd reader serve every file, so files run one after another.
export default mergeConfig(
  shared,
  defineConfig({
    test: {
      fileParallelism: false,
      globalSetup: ["./src/global-setup.ts"],
      testTimeout: 120_000,
      hookTimeout: 120_000,
    },
  }),
);
