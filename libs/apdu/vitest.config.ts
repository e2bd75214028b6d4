import { defaultServerConditions } from "vite";
import { defineConfig, mergeConfig } from "vitest/config";
import shared from "../../vitest.shared.ts";

// Vitest runs tests in Vite's server (SSR) environment, which ignores the shared
// `resolve.conditions`. Without "source" here, `@hsmkit/tlv` resolves to its
// unbuilt dist/ and fails to load.
export default mergeConfig(shared, defineConfig({ ssr: { resolve: { conditions: [...defaultServerConditions, "source"] } } }));
