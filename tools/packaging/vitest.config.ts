import { defineConfig, mergeConfig } from "vitest/config";
import shared from "../../vitest.shared.ts";

// The global setup packs every library once and installs the tarballs into one
// temporary project that all test files share.
export default mergeConfig(
  shared,
  defineConfig({
    test: {
      globalSetup: ["./src/global-setup.ts"],
      testTimeout: 60_000,
      hookTimeout: 60_000,
    },
  }),
);
