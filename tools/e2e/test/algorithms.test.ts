// The algorithms PKCS#11 exposes, through OpenSC's pkcs11-tool with openssl checking every result:
// EC key generation on brainpoolP256r1, secp384r1 and secp521r1, ECDSA and RSA PKCS#1 v1.5 and
// PSS signatures with each hash, RSA-PKCS-OAEP decryption with each hash, and ECDH with openssl
// peer keys. opensc-tool then drives the symmetric keys and 25519 keys that PKCS#11 cannot reach.
// The tests run in order on one card and each relies on the keys the earlier ones made.

import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

import { openscTool, pkcs11Tool, pkcs15Tool, scHsmTool, SELECT_HSM, sendApdus, SO_PIN, USER_PIN } from "../src/opensc.ts";
import { run, runOk } from "../src/run.ts";
import type { RunResult } from "../src/run.ts";
import { startDevice } from "../src/vdevice.ts";
import type { RunningDevice } from "../src/vdevice.ts";

/** Key ids and the text openssl prints for each public key. */
const KEYS = [
  { id: "11", label: "bp256", keyType: "EC:brainpoolP256r1", openssl: "ASN1 OID: brainpoolP256r1", listed: /EC_POINT 256 bits/ },
  { id: "12", label: "p384", keyType: "EC:secp384r1", openssl: "ASN1 OID: secp384r1", listed: /EC_POINT 384 bits/ },
  { id: "13", label: "p521", keyType: "EC:secp521r1", openssl: "ASN1 OID: secp521r1", listed: /EC_POINT 52[18] bits/ },
  { id: "14", label: "rsa", keyType: "rsa:2048", openssl: "Public-Key: (2048 bit)", listed: /RSA 2048 bits/ },
] as const;

const MESSAGE = "hsmkit algorithm test message\n";

let device: RunningDevice | undefined;
let work: string;

function file(name: string): string {
  return join(work, name);
}

function withLogin(args: string[]): Promise<RunResult> {
  return pkcs11Tool(["--login", "--pin", USER_PIN, ...args], work);
}

function expectSuccess(result: RunResult): void {
  const deviceLog = device?.log().slice(-3000) ?? "(device stopped)";
  expect(result.status, `exit status; stdout:\n${result.stdout}\nstderr:\n${result.stderr}\ndevice log:\n${deviceLog}`).toBe(0);
}

function openssl(args: string[]): Promise<string> {
  return runOk("openssl", args, { cwd: work });
}

beforeAll(async () => {
  device = await startDevice("e2e-algorithms");
  work = await mkdtemp(join(tmpdir(), "vdevice-algorithms-"));
  await writeFile(file("msg.txt"), MESSAGE);
  expectSuccess(await scHsmTool(["--initialize", "--so-pin", SO_PIN, "--pin", USER_PIN]));
});

afterAll(async () => {
  await device?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe("key generation", () => {
  for (const key of KEYS) {
    test(`pkcs11-tool generates ${key.keyType}`, async () => {
      const usage = key.keyType.startsWith("EC") ? ["--usage-sign", "--usage-derive"] : [];
      const result = await withLogin(["--keypairgen", "--key-type", key.keyType, "--id", key.id, "--label", key.label, ...usage]);
      expectSuccess(result);
      expect(result.stdout).toMatch(key.listed);

      // pkcs11-tool 0.23 --read-object fails with "cannot create EVP_PKEY" on P-384 public keys with
      // OpenSSL 3.0, against SoftHSMv2 as well as this device, so the keys are exported with pkcs15-tool.
      expectSuccess(await pkcs15Tool(["--read-public-key", key.id, "-o", file(`${key.label}.pem`)]));
      expect(await openssl(["pkey", "-pubin", "-in", `${key.label}.pem`, "-text", "-noout"])).toContain(key.openssl);
    });
  }
});

describe("signatures verified by openssl", () => {
  test("ECDSA-SHA384 on secp384r1", async () => {
    const args = ["--sign", "--mechanism", "ECDSA-SHA384", "--id", "12", "--signature-format", "openssl", "-i", "msg.txt", "-o", "p384.sig"];
    expectSuccess(await withLogin(args));

    expect(await openssl(["dgst", "-sha384", "-verify", "p384.pem", "-signature", "p384.sig", "msg.txt"])).toContain("Verified OK");
  });

  test("ECDSA-SHA512 on secp521r1 and brainpoolP256r1", async () => {
    for (const [id, label] of [["13", "p521"], ["11", "bp256"]]) {
      expectSuccess(await withLogin(["--sign", "--mechanism", "ECDSA-SHA512", "--id", id, "--signature-format", "openssl", "-i", "msg.txt", "-o", `${label}.sig`]));
      expect(await openssl(["dgst", "-sha512", "-verify", `${label}.pem`, "-signature", `${label}.sig`, "msg.txt"]), label).toContain("Verified OK");
    }
  });

  test("SHA512-RSA-PKCS-PSS", async () => {
    expectSuccess(await withLogin(["--sign", "--mechanism", "SHA512-RSA-PKCS-PSS", "--id", "14", "-i", "msg.txt", "-o", "pss.sig"]));

    // The card always uses a salt as long as the digest, with MGF1 over the same hash.
    const verified = await openssl([
      "dgst", "-sha512", "-verify", "rsa.pem", "-signature", "pss.sig",
      "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:64", "-sigopt", "rsa_mgf1_md:sha512",
      "msg.txt",
    ]);
    expect(verified).toContain("Verified OK");
  });

  for (const [hash, length] of [["SHA1", 20], ["SHA224", 28], ["SHA256", 32], ["SHA384", 48]] as const) {
    test(`${hash}-RSA-PKCS and ${hash}-RSA-PKCS-PSS`, async () => {
      const digest = hash.toLowerCase();
      expectSuccess(await withLogin(["--sign", "--mechanism", `${hash}-RSA-PKCS`, "--id", "14", "-i", "msg.txt", "-o", `pkcs1-${digest}.sig`]));
      expect(await openssl(["dgst", `-${digest}`, "-verify", "rsa.pem", "-signature", `pkcs1-${digest}.sig`, "msg.txt"])).toContain("Verified OK");

      expectSuccess(await withLogin(["--sign", "--mechanism", `${hash}-RSA-PKCS-PSS`, "--id", "14", "-i", "msg.txt", "-o", `pss-${digest}.sig`]));
      const verified = await openssl([
        "dgst", `-${digest}`, "-verify", "rsa.pem", "-signature", `pss-${digest}.sig`,
        "-sigopt", "rsa_padding_mode:pss", "-sigopt", `rsa_pss_saltlen:${length}`, "-sigopt", `rsa_mgf1_md:${digest}`,
        "msg.txt",
      ]);
      expect(verified).toContain("Verified OK");
    });
  }

  test("a tampered message fails openssl", async () => {
    await writeFile(file("other.txt"), MESSAGE.replace("test", "best"));
    const result = await run("openssl", ["dgst", "-sha384", "-verify", "p384.pem", "-signature", "p384.sig", "other.txt"], { cwd: work });
    expect(result.status).not.toBe(0);
    expect(result.stdout + result.stderr).toContain("Verification failure");
  });
});

describe("decryption", () => {
  test("RSA-PKCS-OAEP with SHA-256 decrypts openssl ciphertext", async () => {
    const secret = randomBytes(48);
    await writeFile(file("secret.bin"), secret);
    await openssl([
      "pkeyutl", "-encrypt", "-pubin", "-inkey", "rsa.pem", "-in", "secret.bin", "-out", "secret.oaep",
      "-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha256", "-pkeyopt", "rsa_mgf1_md:sha256",
    ]);

    const args = ["--decrypt", "--mechanism", "RSA-PKCS-OAEP", "--hash-algorithm", "SHA256", "--mgf", "MGF1-SHA256", "--id", "14"];
    expectSuccess(await withLogin([...args, "-i", "secret.oaep", "-o", "secret.dec"]));
    expect((await readFile(file("secret.dec"))).equals(secret)).toBe(true);
  });
});

describe("decryption with every OAEP hash", () => {
  for (const [p11Hash, opensslHash] of [["SHA-1", "sha1"], ["SHA224", "sha224"], ["SHA384", "sha384"], ["SHA512", "sha512"]]) {
    test(`RSA-PKCS-OAEP with ${p11Hash}`, async () => {
      const secret = randomBytes(24);
      await writeFile(file(`oaep-${opensslHash}.bin`), secret);
      await openssl([
        "pkeyutl", "-encrypt", "-pubin", "-inkey", "rsa.pem", "-in", `oaep-${opensslHash}.bin`, "-out", `oaep-${opensslHash}.enc`,
        "-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", `rsa_oaep_md:${opensslHash}`, "-pkeyopt", `rsa_mgf1_md:${opensslHash}`,
      ]);

      const mgf = `MGF1-${p11Hash.replace("-", "")}`;
      const args = ["--decrypt", "--mechanism", "RSA-PKCS-OAEP", "--hash-algorithm", p11Hash, "--mgf", mgf, "--id", "14"];
      expectSuccess(await withLogin([...args, "-i", `oaep-${opensslHash}.enc`, "-o", `oaep-${opensslHash}.dec`]));
      expect((await readFile(file(`oaep-${opensslHash}.dec`))).equals(secret)).toBe(true);
    });
  }
});

describe("key agreement", () => {
  for (const [id, label, curve] of [["12", "p384", "secp384r1"], ["11", "bp256", "brainpoolP256r1"]]) {
    test(`ECDH1-DERIVE on ${curve} equals openssl's secret`, async () => {
      await openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", `ec_paramgen_curve:${curve}`, "-out", `peer-${label}.pem`]);
      await openssl(["pkey", "-in", `peer-${label}.pem`, "-pubout", "-outform", "DER", "-out", `peer-${label}.der`]);
      await openssl(["pkeyutl", "-derive", "-inkey", `peer-${label}.pem`, "-peerkey", `${label}.pem`, "-out", `openssl-${label}.secret`]);

      expectSuccess(await withLogin(["--derive", "--mechanism", "ECDH1-DERIVE", "--id", id, "-i", `peer-${label}.der`, "-o", `card-${label}.secret`]));

      const expected = await readFile(file(`openssl-${label}.secret`));
      const derived = await readFile(file(`card-${label}.secret`));
      expect(derived.length).toBe(expected.length);
      expect(derived.toString("hex")).toBe(expected.toString("hex"));
    });
  }
});

describe("symmetric keys through opensc-tool", () => {
  const VERIFY_USER_PIN = "00 20 00 81 06 36 34 38 32 31 39";
  const BLOCK = "00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F";

  test("GENERATE SYMMETRIC KEY, CMAC and CBC round trip", async () => {
    const generate = "80 48 14 B2";
    const cmac = `80 78 14 18 10 ${BLOCK} 00`;
    expect(await sendApdus([SELECT_HSM, VERIFY_USER_PIN, generate, cmac])).toEqual(["9000", "9000", "9000", "9000"]);

    const result = await openscTool(["--send-apdu", SELECT_HSM, "--send-apdu", VERIFY_USER_PIN, "--send-apdu", `80 78 14 10 10 ${BLOCK} 00`]);
    const responses = [...(result.stdout + result.stderr).matchAll(/Received \(SW1=0x90, SW2=0x00\)(?::\s*\n((?:[0-9A-F]{2} .*\n?)+))?/gi)];
    // opensc-tool prints 16 bytes per line, then their ASCII: the first 16 tokens are the ciphertext.
    const ciphertext = (responses[2]?.[1] ?? "").split(/\s+/).filter((token) => /^[0-9A-F]{2}$/i.test(token)).slice(0, 16).join(" ");
    expect(ciphertext.split(" ").length).toBe(16);
    expect(ciphertext).not.toBe(BLOCK);

    const decrypt = `80 78 14 11 10 ${ciphertext} 00`;
    const decrypted = await openscTool(["--send-apdu", SELECT_HSM, "--send-apdu", VERIFY_USER_PIN, "--send-apdu", decrypt]);
    expect((decrypted.stdout + decrypted.stderr).toUpperCase()).toContain("00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F");
  });

  test("an AES key cannot sign and an EC key cannot run CIPHER SYMMETRIC", async () => {
    const sign = `80 68 14 70 20 ${BLOCK} ${BLOCK} 00`;
    // OpenSC gave the first generated key (brainpoolP256r1) key reference 01.
    const cmacOnEc = `80 78 01 18 10 ${BLOCK} 00`;
    expect(await sendApdus([SELECT_HSM, VERIFY_USER_PIN, sign, cmacOnEc])).toEqual(["9000", "9000", "6400", "6400"]);
  });
});

describe("Ed25519 and X25519 keys beside OpenSC", () => {
  const VERIFY_USER_PIN = "00 20 00 81 06 36 34 38 32 31 39";
  const P25519 = "7F FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF ED";

  /** GENERATE ASYMMETRIC KEY PAIR data for a 25519 key: CPI, CAR, 7F49 {OID, 81 prime, 83 base point}, CHR. */
  function generate25519(keyRef: string, firstGeneratorByte: string): string {
    const generator = [firstGeneratorByte, ...Array(31).fill("00")].join(" ");
    const template = `7F 49 50 06 0A 04 00 7F 00 07 02 02 02 02 03 81 20 ${P25519} 83 20 ${generator}`;
    const data = `5F 29 01 00 42 09 55 54 43 41 30 30 30 30 31 ${template} 5F 20 0D 55 54 43 44 55 4D 4D 59 30 30 30 30 31`;
    const length = data.split(" ").length.toString(16).padStart(2, "0").toUpperCase();
    return `00 46 ${keyRef} 00 ${length} ${data} 00`;
  }

  test("generating them through opensc-tool leaves pkcs15-tool and pkcs11-tool working", async () => {
    const statuses = await sendApdus([SELECT_HSM, VERIFY_USER_PIN, generate25519("20", "58"), generate25519("21", "09")]);
    expect(statuses).toEqual(["9000", "9000", "9000", "9000"]);

    const listing = await pkcs15Tool(["-D"]);
    expectSuccess(listing);
    expect(listing.stdout).toContain("Private EC Key [p384]");

    const objects = await withLogin(["--list-objects", "--type", "privkey"]);
    expectSuccess(objects);
    expect(objects.stdout).toContain("p521");
  });
});
