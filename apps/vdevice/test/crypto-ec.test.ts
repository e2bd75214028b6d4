// Signs and derives with the card's EC code and checks every result with OpenSSL's command-line
// tool, an implementation independent of @noble/curves that has every curve built in.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CardError } from "@hsmkit/apdu";
import { curveByBits, curveByName, curveByPrime, curveDomain, encodeOid, SUPPORTED_CURVES } from "../src/crypto/curves.ts";
import {
  decodeEcPrivateKey,
  ecdh,
  ecdsaSignDigest,
  ecdsaSignDigestRaw,
  ecPublicPoint,
  encodeEcPrivateKey,
  generateEcKey,
} from "../src/crypto/ec.ts";
import { hash, HASH_NAMES } from "../src/crypto/hash.ts";

const workDir = mkdtempSync(join(tmpdir(), "vdevice-ec-"));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

const OPENSSL_NAMES: Record<string, string> = {
  secp192r1: "prime192v1",
  secp256r1: "prime256v1",
  secp384r1: "secp384r1",
  secp521r1: "secp521r1",
  secp192k1: "secp192k1",
  secp256k1: "secp256k1",
  brainpoolP256r1: "brainpoolP256r1",
  brainpoolP384r1: "brainpoolP384r1",
  brainpoolP512r1: "brainpoolP512r1",
};

function derLength(length: number): number[] {
  if (length < 0x80) return [length];
  if (length < 0x100) return [0x81, length];
  return [0x82, length >> 8, length & 0xff];
}

function der(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const content = parts.flatMap((part) => [...part]);
  return Uint8Array.from([tag, ...derLength(content.length), ...content]);
}

/** SubjectPublicKeyInfo for an EC public point on a named curve. */
function ecSpki(oid: string, point: Uint8Array): Uint8Array {
  const algorithm = der(0x30, der(0x06, encodeOid("1.2.840.10045.2.1")), der(0x06, encodeOid(oid)));
  return der(0x30, algorithm, der(0x03, Uint8Array.of(0), point));
}

function writeTemp(name: string, bytes: Uint8Array): string {
  const path = join(workDir, name);
  writeFileSync(path, bytes);
  return path;
}

function opensslVerifies(spki: Uint8Array, digest: Uint8Array, signature: Uint8Array): boolean {
  const args = [
    "pkeyutl", "-verify", "-pubin", "-keyform", "DER",
    "-inkey", writeTemp("pub.der", spki),
    "-in", writeTemp("digest.bin", digest),
    "-sigfile", writeTemp("sig.der", signature),
  ];
  try {
    return execFileSync("openssl", args, { stdio: "pipe" }).toString().includes("Verified Successfully");
  } catch {
    return false;
  }
}

describe("curve table", () => {
  it("matches OpenSSL's domain parameters", () => {
    for (const name of SUPPORTED_CURVES) {
      const explicit = execFileSync("openssl", ["ecparam", "-name", OPENSSL_NAMES[name], "-param_enc", "explicit", "-outform", "DER"]);
      const domain = curveDomain(name);
      const hex = Buffer.from(explicit).toString("hex");
      expect(hex, `${name} G`).toContain(Buffer.from(domain.G).toString("hex"));
      expect(hex, `${name} b`).toContain(Buffer.from(domain.b).toString("hex"));
      expect(hex, `${name} a`).toContain(Buffer.from(domain.a).toString("hex"));
    }
  });

  it("finds curves by prime, name and size", () => {
    const p256 = curveByName("secp256r1");
    expect(curveByPrime(p256.prime)?.name).toBe("secp256r1");
    expect(curveByPrime(Uint8Array.of(0, ...curveDomain("secp256r1").p))?.name).toBe("secp256r1");
    expect(curveByPrime(curveDomain("brainpoolP384r1").p)?.name).toBe("brainpoolP384r1");
    expect(curveByPrime(2n ** 255n - 19n)).toBeUndefined();
    expect(curveByBits(256)?.name).toBe("secp256r1");
    expect(curveByBits(521)?.name).toBe("secp521r1");
    expect(curveByBits(512)?.name).toBe("brainpoolP512r1");
    expect(curveByBits(224)).toBeUndefined();
  });

  it("reports field and order sizes", () => {
    expect(curveByName("secp521r1").fieldBytes).toBe(66);
    expect(curveByName("secp521r1").orderBytes).toBe(66);
    expect(curveByName("secp192k1").orderBytes).toBe(24);
    expect(curveDomain("secp256r1").n.length).toBe(32);
    expect(curveDomain("secp256r1").G.length).toBe(65);
    expect(curveDomain("secp256k1").a).toEqual(new Uint8Array(32));
  });
});

describe.each(SUPPORTED_CURVES)("ECDSA on %s", (name) => {
  const info = curveByName(name);
  const { privateKey, publicPoint } = generateEcKey(name);
  const spki = ecSpki(info.oid, publicPoint);
  const message = new TextEncoder().encode(`message signed on ${name}`);

  it("generates a consistent key", () => {
    expect(privateKey.d.length).toBe(info.orderBytes);
    expect(publicPoint.length).toBe(1 + 2 * info.fieldBytes);
    expect(publicPoint[0]).toBe(0x04);
    expect(ecPublicPoint(privateKey)).toEqual(publicPoint);
  });

  it.each(HASH_NAMES)("signs a %s digest that OpenSSL verifies", (hashName) => {
    const digest = hash(hashName, message);
    const signature = ecdsaSignDigest(privateKey, digest);
    expect(signature[0]).toBe(0x30);
    expect(opensslVerifies(spki, digest, signature)).toBe(true);

    const tampered = digest.slice();
    tampered[0] ^= 1;
    expect(opensslVerifies(spki, tampered, signature)).toBe(false);
  });

  it("signs raw r‖s with the same key", () => {
    const digest = hash("SHA-256", message);
    const raw = ecdsaSignDigestRaw(privateKey, digest);
    expect(raw.length).toBe(2 * info.orderBytes);
    const signature = info.curve.Signature.fromBytes(raw, "compact").toBytes("der");
    expect(opensslVerifies(spki, digest, signature)).toBe(true);
  });

  it("round-trips the private key through DER", () => {
    const encoded = encodeEcPrivateKey(privateKey);
    expect(decodeEcPrivateKey(encoded)).toEqual(privateKey);
    const text = execFileSync("openssl", ["ec", "-inform", "DER", "-in", writeTemp("key.der", encoded), "-noout", "-text"], {
      stdio: "pipe",
    }).toString();
    expect(text).toContain(OPENSSL_NAMES[name]);
  });

  it("derives the secret OpenSSL derives", () => {
    const peer = generateEcKey(name);
    const shared = ecdh(privateKey, peer.publicPoint);
    expect(shared.length).toBe(info.fieldBytes);

    const derived = execFileSync("openssl", [
      "pkeyutl", "-derive", "-keyform", "DER",
      "-inkey", writeTemp("ours.der", encodeEcPrivateKey(privateKey)),
      "-peerform", "DER", "-peerkey", writeTemp("peer.der", ecSpki(info.oid, peer.publicPoint)),
    ]);
    expect(Buffer.from(shared).toString("hex")).toBe(Buffer.from(derived).toString("hex"));
    expect(ecdh(peer.privateKey, publicPoint)).toEqual(shared);
  });
});

describe("ECDSA digest lengths", () => {
  it("truncates a digest longer than the order", () => {
    const { privateKey, publicPoint } = generateEcKey("secp192r1");
    const digest = hash("SHA-512", Uint8Array.of(1, 2, 3));
    const signature = ecdsaSignDigest(privateKey, digest);
    const spki = ecSpki(curveByName("secp192r1").oid, publicPoint);
    expect(opensslVerifies(spki, digest.subarray(0, 24), signature)).toBe(true);
  });

  it("accepts a digest shorter than the order", () => {
    const { privateKey, publicPoint } = generateEcKey("secp521r1");
    const digest = hash("SHA-1", Uint8Array.of(4, 5, 6));
    const signature = ecdsaSignDigest(privateKey, digest);
    expect(opensslVerifies(ecSpki(curveByName("secp521r1").oid, publicPoint), digest, signature)).toBe(true);
  });
});

describe("ECDH with a bad peer point", () => {
  const { privateKey, publicPoint } = generateEcKey("secp256r1");
  const cases: Array<[string, Uint8Array]> = [
    ["empty", new Uint8Array(0)],
    ["compressed", Uint8Array.of(0x02, ...publicPoint.subarray(1, 33))],
    ["one byte short", publicPoint.subarray(0, 64)],
    ["wrong prefix", Uint8Array.of(0x05, ...publicPoint.subarray(1))],
    ["off the curve", Uint8Array.of(...publicPoint.subarray(0, 64), publicPoint[64] ^ 1)],
    ["all zero coordinates", Uint8Array.of(0x04, ...new Uint8Array(64))],
    ["other curve", generateEcKey("secp384r1").publicPoint],
  ];

  it.each(cases)("rejects a %s point with 69 84", (_label, point) => {
    let thrown: unknown;
    try {
      ecdh(privateKey, point);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(CardError);
    expect((thrown as CardError).sw).toBe(0x6984);
  });
});

describe("ECPrivateKey decoding", () => {
  it("rejects malformed structures", () => {
    const good = encodeEcPrivateKey(generateEcKey("secp256r1").privateKey);
    expect(() => decodeEcPrivateKey(good.subarray(0, good.length - 1))).toThrow(RangeError);
    expect(() => decodeEcPrivateKey(Uint8Array.of(...good, 0))).toThrow(RangeError);

    const zeroKey = good.slice();
    zeroKey.fill(0, 7, 7 + 32);
    expect(() => decodeEcPrivateKey(zeroKey)).toThrow(/out of range/);

    const unknownCurve = good.slice();
    unknownCurve[unknownCurve.length - 1] ^= 0xff;
    expect(() => decodeEcPrivateKey(unknownCurve)).toThrow(/unsupported curve/);
  });

  it("reads a key written by OpenSSL", () => {
    const pem = execFileSync("openssl", ["ecparam", "-name", "brainpoolP256r1", "-genkey", "-noout"]);
    const derKey = execFileSync("openssl", ["ec", "-outform", "DER", "-no_public"], { input: pem, stdio: "pipe" });
    const key = decodeEcPrivateKey(new Uint8Array(derKey));
    expect(key.curve).toBe("brainpoolP256r1");
    const publicDer = execFileSync("openssl", ["ec", "-pubout", "-outform", "DER"], { input: pem, stdio: "pipe" });
    expect(Buffer.from(publicDer).toString("hex").endsWith(Buffer.from(ecPublicPoint(key)).toString("hex"))).toBe(true);
  });
});
