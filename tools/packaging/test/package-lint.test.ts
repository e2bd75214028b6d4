/**
 * Lints each packed tarball the way npm users' tools see it: publint for the
 * manifest and the published files, @arethetypeswrong/cli for the types that
 * TypeScript resolves under node16 (ESM) and bundler resolution.
 */

import { readFile } from "node:fs/promises";
import { join } from "node:path";

import { publint } from "publint";
import { formatMessage } from "publint/utils";
import { describe, expect, inject, it } from "vitest";

import { BIN_DIR, listLibraries } from "../src/libraries.ts";
import { formatOutput, runCommand } from "../src/run-command.ts";

const tarballs = inject("tarballs");

describe.concurrent.each(listLibraries().map((library) => [library.npm.name] as const))("%s tarball", (name) => {
  const tarball = tarballs[name];

  it("passes publint", async () => {
    const bytes = await readFile(tarball);
    const { messages, pkg } = await publint({
      pack: { tarball: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer },
      level: "warning",
      strict: true,
    });

    expect(messages.map((message) => `${message.type}: ${formatMessage(message, pkg) ?? message.code}`)).toEqual([]);
  });

  it("passes arethetypeswrong as an ESM-only package", async () => {
    // esm-only ignores the node10 and CommonJS-require resolutions, which an ESM-only package cannot serve.
    const result = await runCommand(join(BIN_DIR, "attw"), [tarball, "--profile", "esm-only", "--format", "ascii"], {
      env: { ...process.env, NO_COLOR: "1" },
    });
    expect(result.status, formatOutput(result)).toBe(0);
  });
});
