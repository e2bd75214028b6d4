import { defineConfig, mergeConfig } from "vitest/config";
import shared from "../../vitest.shared.ts";

// Tests run in Vite's SSR environment, which ignores `resolve.conditions`. Without
// the "source" condition here, @hsmkit/tlv resolves to its unbuilt dist/.
export default mergeConfig(shared, defineConfig({ ssr: { resolve: { conditions: ["source"] } } }));
