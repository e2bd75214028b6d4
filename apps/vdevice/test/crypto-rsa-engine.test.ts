// Engine selection, the fallback to node:crypto, and the cache of keys loaded into an engine.
import { spawnSync } from "node:child_process";
import * as nodeCrypto from "node:crypto";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { describe, expect, it } from "vitest";
import { encodeDigestInfo, hash } from "../src/crypto/hash.ts";
import { openLibcryptoRsaEngine } from "../src/crypto/openssl-rsa.ts";
import {
  createRsaOperations,
  nodeRsaEngine,
  rsaEngineName,
  selectRsaEngine,
  type RsaEngine,
  type RsaPrivateKey,
} from "../src/crypto/rsa.ts";
import { createLogger } from "../src/log.ts";

const APP_DIR = fileURLToPath(new URL("..", import.meta.url));
const message = new TextEncoder().encode("the card signs this message");

function publicKeyOf(key: RsaPrivateKey): nodeCrypto.KeyObject {
  const toBase64Url = (value: bigint) => Buffer.from(value.toString(16).padStart(2 * Math.ceil(value.toString(16).length / 2), "0"), "hex").toString("base64url");
  return nodeCrypto.createPublicKey({ key: { kty: "RSA", n: toBase64Url(key.n), e: toBase64Url(key.e) }, format: "jwk" });
}

function pkcs1Der(bits: number): Uint8Array {
  const { privateKey } = nodeCrypto.generateKeyPairSync("rsa", { modulusLength: bits });
  return new Uint8Array(privateKey.export({ format: "der", type: "pkcs1" }));
}

/** Wraps `engine` to count the keys it loads and frees. */
function countingEngine(engine: RsaEngine): { engine: RsaEngine; imported: () => number; freed: () => number } {
  let imported = 0;
  let freed = 0;
  const counting: RsaEngine = {
    name: engine.name,
    generate: (bits) => engine.generate(bits),
    importKey: (der) => {
      imported++;
      const key = engine.importKey(der);
      return {
        ...key,
        free: () => {
          freed++;
          key.free();
        },
      };
    },
  };
  return { engine: counting, imported: () => imported, freed: () => freed };
}

describe("RSA engine selection", () => {
  it("uses libcrypto when FFI is allowed", () => {
    expect(rsaEngineName()).toMatch(/^libcrypto 3\.\d+\.\d+$/);
  });

  it("falls back to node:crypto without the library", async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: "info", write: (line) => lines.push(line) });

    const engine = selectRsaEngine({ libraryPath: "/nonexistent/libcrypto.so.3", logger });

    expect(engine).toBe(nodeRsaEngine);
    expect(lines.length).toBe(1);
    expect(lines[0]).toContain("WARN");
    expect(lines[0]).toContain("/nonexistent/libcrypto.so.3");

    const rsa = createRsaOperations(engine);
    const key = await rsa.generateRsaKey(1024);
    const signature = await rsa.rsaPkcs1Sign(key, encodeDigestInfo("SHA-256", hash("SHA-256", message)));
    expect(nodeCrypto.verify("sha256", message, publicKeyOf(key), signature)).toBe(true);
  });

  it("falls back to node:crypto without --allow-ffi", () => {
    // A child Deno without FFI permission loads rsa.ts, signs, and prints the engine and the result.
    const script = `
      import { decodeRsaPrivateKey, rsaEngineName, rsaPkcs1Sign } from "./src/crypto/rsa.ts";
      import { encodeDigestInfo, hash } from "./src/crypto/hash.ts";
      const der = Uint8Array.from(atob(Deno.args[0]), (c) => c.charCodeAt(0));
      const digestInfo = encodeDigestInfo("SHA-256", hash("SHA-256", new TextEncoder().encode(Deno.args[1])));
      const signature = await rsaPkcs1Sign(decodeRsaPrivateKey(der), digestInfo);
      console.log(JSON.stringify({ engine: rsaEngineName(), signature: btoa(String.fromCharCode(...signature)) }));
    `;
    const der = pkcs1Der(1024);
    const child = spawnSync(process.execPath, ["run", "--allow-read", "--allow-env", "-", Buffer.from(der).toString("base64"), new TextDecoder().decode(message)], {
      cwd: APP_DIR,
      input: script,
      encoding: "utf8",
      timeout: 30_000,
    });

    expect(child.status, child.stderr).toBe(0);
    const output = JSON.parse(child.stdout) as { engine: string; signature: string };
    expect(output.engine).toBe("node:crypto");
    const publicKey = nodeCrypto.createPublicKey(nodeCrypto.createPrivateKey({ key: Buffer.from(der), format: "der", type: "pkcs1" }));
    expect(nodeCrypto.verify("sha256", message, publicKey, Buffer.from(output.signature, "base64"))).toBe(true);

    const warnings = child.stderr.split("\n").filter((line) => line.includes("WARN"));
    expect(warnings.length).toBe(1);
    expect(warnings[0]).toContain("--allow-ffi");
  }, 30_000);
});

describe("RSA key cache", () => {
  it("loads a decoded key once", async () => {
    const counter = countingEngine(openLibcryptoRsaEngine());
    const rsa = createRsaOperations(counter.engine);
    const der = pkcs1Der(1024);

    for (let i = 0; i < 3; i++) {
      const key = rsa.decodeRsaPrivateKey(der);
      await rsa.rsaRaw(key, Uint8Array.of(1, 2, 3));
    }
    expect(counter.imported()).toBe(1);
    expect(counter.freed()).toBe(0);
  });

  it("frees the least recently used key", async () => {
    const counter = countingEngine(openLibcryptoRsaEngine());
    const rsa = createRsaOperations(counter.engine, 2);
    const [first, second, third] = [pkcs1Der(1024), pkcs1Der(1024), pkcs1Der(1024)];

    const firstKey = rsa.decodeRsaPrivateKey(first);
    rsa.decodeRsaPrivateKey(second);
    rsa.decodeRsaPrivateKey(first);
    rsa.decodeRsaPrivateKey(third);
    expect(counter.imported()).toBe(3);
    expect(counter.freed()).toBe(1);

    // The second key was evicted: decoding it again loads it and evicts the first.
    rsa.decodeRsaPrivateKey(second);
    expect(counter.imported()).toBe(4);
    expect(counter.freed()).toBe(2);

    // An object whose entry was evicted still works: its fields are loaded again.
    const digestInfo = encodeDigestInfo("SHA-256", hash("SHA-256", message));
    const signature = await rsa.rsaPkcs1Sign(firstKey, digestInfo);
    expect(nodeCrypto.verify("sha256", message, publicKeyOf(firstKey), signature)).toBe(true);
    expect(counter.imported()).toBe(5);
  });

  it("loads a key built from its fields", async () => {
    const counter = countingEngine(openLibcryptoRsaEngine());
    const rsa = createRsaOperations(counter.engine);
    const key = rsa.decodeRsaPrivateKey(pkcs1Der(1024));
    const rebuilt: RsaPrivateKey = { ...key };

    await rsa.rsaRaw(rebuilt, Uint8Array.of(1));
    await rsa.rsaRaw(rebuilt, Uint8Array.of(2));
    expect(counter.imported()).toBe(1);
  });

  it("rejects a cache size below 1", () => {
    expect(() => createRsaOperations(nodeRsaEngine, 0)).toThrow(RangeError);
  });
});

describe("libcrypto engine", () => {
  it("rejects use after free", () => {
    const key = openLibcryptoRsaEngine().importKey(pkcs1Der(1024));
    key.free();
    expect(() => key.raw(new Uint8Array(128))).toThrow(/freed/);
  });

  it("rejects DER that is not an RSA key", () => {
    expect(() => openLibcryptoRsaEngine().importKey(Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x00))).toThrow(/d2i_PrivateKey/);
  });

  it("writes the DER of a generated key", async () => {
    const { der, key } = await openLibcryptoRsaEngine().generate(1024);
    const parsed = nodeCrypto.createPrivateKey({ key: Buffer.from(der), format: "der", type: "pkcs1" });
    expect(parsed.asymmetricKeyDetails?.modulusLength).toBe(1024);
    expect(parsed.asymmetricKeyDetails?.publicExponent).toBe(65537n);
    key.free();
  });
});
