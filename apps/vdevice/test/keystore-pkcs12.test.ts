// PKCS#12 import on the host: a key and certificate made by openssl are wrapped
// under the DKEK of share files, and the device unwraps the blob into a key that
// signs for the certificate's public key.
import { execFileSync } from "node:child_process";
import { createHash, verify, X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { encryptDkekShare } from "@hsmkit/keystore";
import { children, decodeTlv, toHex } from "@hsmkit/tlv";

import { importPkcs12, parseImportArgs } from "../src/keys/import-pkcs12.ts";
import { Pkcs12Error, readPkcs12 } from "../src/keys/pkcs12.ts";
import { openInitializedCard, withExtendedLc, withLc } from "./hsm-harness.ts";

const SHARE_ITERATIONS = 1000;
const SHARES = [crypto.getRandomValues(new Uint8Array(32)), crypto.getRandomValues(new Uint8Array(32))];
const MESSAGE = new TextEncoder().encode("signed by an imported key");

let work: string;
const io = { readFile: async (path: string) => new Uint8Array(await readFile(path)), writeFile: (path: string, data: Uint8Array) => writeFile(path, data) };

function openssl(args: string[]): void {
  execFileSync("openssl", args, { cwd: work, stdio: "pipe" });
}

/** Makes `<name>.p12` with a key from `newkey` and a self-signed certificate; `extra` adds pkcs12 options. */
function makePkcs12(name: string, newkey: string[], extra: string[] = []): string {
  openssl(["req", "-x509", ...newkey, "-nodes", "-keyout", `${name}.key`, "-out", `${name}.crt`, "-subj", `/CN=${name}`, "-days", "2"]);
  openssl(["pkcs12", "-export", "-inkey", `${name}.key`, "-in", `${name}.crt`, "-out", `${name}.p12`, "-passout", "pass:p12-secret", "-name", `${name}-label`, ...extra]);
  return join(work, `${name}.p12`);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "vdevice-pkcs12-"));
  for (const [i, share] of SHARES.entries()) {
    const salt = crypto.getRandomValues(new Uint8Array(8));
    await writeFile(join(work, `share${i}.pbe`), encryptDkekShare(share, `custodian ${i}`, salt, { iterations: SHARE_ITERATIONS }));
  }
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

async function wrappedFileFor(p12: string, out: string): Promise<Uint8Array> {
  await importPkcs12(
    {
      p12,
      p12Password: "p12-secret",
      shares: SHARES.map((_, i) => ({ file: join(work, `share${i}.pbe`), password: `custodian ${i}` })),
      shareIterations: SHARE_ITERATIONS,
      out: join(work, out),
    },
    io,
  );
  return new Uint8Array(await readFile(join(work, out)));
}

describe("PKCS#12 import", () => {
  for (const [name, newkey, mechanism] of [
    ["rsa", ["-newkey", "rsa:2048"], "80680220"],
    ["ec", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"], "80680270"],
  ] as const) {
    it(`restores a ${name} key that signs for its certificate`, async () => {
      const p12 = makePkcs12(name, [...newkey]);
      const file = await wrappedFileFor(p12, `${name}.wky`);

      const [blob, prkd, certificate] = children(decodeTlv(file));
      expect(blob.tag).toBe(0x04);
      expect(prkd.tag).toBe(name === "rsa" ? 0x30 : 0xa0);
      const certBytes = file.subarray(certificate.offset, certificate.offset + certificate.encodedLength);
      const cert = new X509Certificate(Buffer.from(certBytes));
      expect(cert.subject).toContain(`CN=${name}`);

      const card = await openInitializedCard(2);
      for (const share of SHARES) expect((await card.send(withLc("80520000", toHex(share)) + "00")).swHex).toBe("9000");
      expect(await card.login()).toBe("9000");
      expect((await card.send(withExtendedLc("80740393", toHex(blob.value)))).swHex).toBe("9000");

      const digest = createHash("sha256").update(MESSAGE).digest();
      const input = name === "rsa" ? pkcs1Block(digest) : digest;
      const signed = await card.send(withExtendedLc(mechanism.replace("02", "03"), toHex(input)) + "0000");
      expect(signed.swHex).toBe("9000");
      expect(verify("sha256", MESSAGE, cert.publicKey, Buffer.from(signed.data))).toBe(true);
    });
  }

  it("reads the friendlyName and every certificate", async () => {
    const contents = await readPkcs12(new Uint8Array(await readFile(makePkcs12("named", ["-newkey", "rsa:1024"]))), "p12-secret");

    expect(contents.friendlyName).toBe("named-label");
    expect(contents.certificates).toHaveLength(1);
    expect(contents.privateKey[0]).toBe(0x30);
  });

  it("rejects a wrong PKCS#12 password", async () => {
    const file = new Uint8Array(await readFile(makePkcs12("wrong", ["-newkey", "rsa:1024"])));

    await expect(readPkcs12(file, "not it")).rejects.toThrow(Pkcs12Error);
  });

  it("names the fix for a legacy PKCS#12 file", async () => {
    let file: Uint8Array;
    try {
      file = new Uint8Array(await readFile(makePkcs12("legacy", ["-newkey", "rsa:1024"], ["-legacy"])));
    } catch {
      file = new Uint8Array(await readFile(makePkcs12("legacy", ["-newkey", "rsa:1024"], ["-keypbe", "PBE-SHA1-3DES", "-certpbe", "PBE-SHA1-3DES"])));
    }

    await expect(readPkcs12(file, "p12-secret")).rejects.toThrow(/re-export with OpenSSL 3/);
  });

  it("rejects a share with a wrong password", async () => {
    const p12 = makePkcs12("badshare", ["-newkey", "rsa:1024"]);
    const options = {
      p12,
      p12Password: "p12-secret",
      shares: [{ file: join(work, "share0.pbe"), password: "wrong" }],
      shareIterations: SHARE_ITERATIONS,
      out: join(work, "badshare.wky"),
    };

    await expect(importPkcs12(options, io)).rejects.toThrow(/wrong password/);
  });
});

describe("import-pkcs12 command line", () => {
  it("pairs each share with its password", () => {
    const options = parseImportArgs(["--p12", "a.p12", "--p12-password", "x", "--dkek-share", "s1", "--share-password", "p1", "--dkek-share", "s2", "--share-password", "p2", "--out", "a.wky"]);

    expect(options.shares).toEqual([{ file: "s1", password: "p1" }, { file: "s2", password: "p2" }]);
  });

  it("names a missing or bad option", () => {
    expect(() => parseImportArgs(["--p12", "a.p12", "--out", "a.wky", "--p12-password", "x"])).toThrow(/--dkek-share/);
    expect(() => parseImportArgs(["--p12", "a.p12", "--dkek-share", "s1", "--out", "x", "--p12-password", "x"])).toThrow(/--share-password/);
    expect(() => parseImportArgs(["--id", "xyz"])).toThrow(/invalid --id/);
  });
});

/** EMSA-PKCS1-v1_5 block of a SHA-256 digest for a 2048-bit key (RFC 8017 §9.2). */
function pkcs1Block(digest: Uint8Array): Uint8Array {
  const prefix = Buffer.from("3031300d060960864801650304020105000420", "hex");
  const t = Buffer.concat([prefix, digest]);
  const block = new Uint8Array(256).fill(0xff);
  block[0] = 0;
  block[1] = 1;
  block[256 - t.length - 1] = 0;
  block.set(t, 256 - t.length);
  return block;
}
