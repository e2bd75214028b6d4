// One card through its life with OpenSC's tools: initialize, generate keys, sign,
// decrypt, store data, block and unblock the user PIN. The tests run in order and
// each relies on the state the earlier ones left.

import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

import { HSM_ATR, openscTool, pkcs11Tool, pkcs15Tool, scHsmTool, SELECT_HSM, SO_PIN, USER_PIN } from "../src/opensc.ts";
import { sendApdus } from "../src/opensc.ts";
import { run, runOk } from "../src/run.ts";
import type { RunResult } from "../src/run.ts";
import { startDevice } from "../src/vdevice.ts";
import type { RunningDevice } from "../src/vdevice.ts";

const EC_ID = "01";
const RSA_ID = "02";
const MESSAGE = "hsmkit end-to-end test message\n";

/** VERIFY without data: the status of the user PIN (reference 81) as a status word. */
const VERIFY_STATUS = "00 20 00 81";

let device: RunningDevice | undefined;
let work: string;

function file(name: string): string {
  return join(work, name);
}

/** Runs pkcs11-tool after logging in with the user PIN (or `pin`), in the work directory. */
function withLogin(args: string[], pin = USER_PIN): Promise<RunResult> {
  return pkcs11Tool(["--login", "--pin", pin, ...args], work);
}

function expectSuccess(result: RunResult): void {
  const deviceLog = device?.log().slice(-3000) ?? "(device stopped)";
  expect(result.status, `exit status; stdout:\n${result.stdout}\nstderr:\n${result.stderr}\ndevice log:\n${deviceLog}`).toBe(0);
}

function openssl(args: string[]): Promise<RunResult> {
  return run("openssl", args, { cwd: work });
}

beforeAll(async () => {
  device = await startDevice("e2e-opensc");
  work = await mkdtemp(join(tmpdir(), "vdevice-opensc-"));
  await writeFile(file("msg.txt"), MESSAGE);
});

afterAll(async () => {
  await device?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe("card recognition", () => {
  test("opensc-tool -an prints ATR and name", async () => {
    const result = await openscTool(["-an"]);
    expectSuccess(result);

    expect(result.stdout).toContain(HSM_ATR);
    expect(result.stdout).toContain("SmartCard-HSM");
  });
});

describe("initialization", () => {
  test("sc-hsm-tool initializes the card", async () => {
    expectSuccess(await scHsmTool(["--initialize", "--so-pin", SO_PIN, "--pin", USER_PIN]));
  });

  test("sc-hsm-tool shows the PIN counters", async () => {
    const result = await scHsmTool([]);
    expectSuccess(result);

    expect(result.stdout).toMatch(/SO-PIN tries left\s*:\s*15/);
    expect(result.stdout).toMatch(/User PIN tries left\s*:\s*3/);
  });
});

describe("key generation", () => {
  test("pkcs11-tool generates RSA-2048", async () => {
    const result = await withLogin(["--keypairgen", "--key-type", "rsa:2048", "--id", RSA_ID, "--label", "rsa1"]);
    expectSuccess(result);

    expect(result.stdout).toContain("Public Key Object; RSA 2048 bits");
  });

  test("pkcs11-tool generates EC prime256v1", async () => {
    const result = await withLogin(["--keypairgen", "--key-type", "EC:prime256v1", "--id", EC_ID, "--label", "ec1"]);
    expectSuccess(result);

    expect(result.stdout).toMatch(/Public Key Object; EC\s+EC_POINT 256 bits/);
  });

  test("public keys export as DER", async () => {
    for (const [id, name, expected] of [[RSA_ID, "rsa", "Public-Key: (2048 bit)"], [EC_ID, "ec", "ASN1 OID: prime256v1"]]) {
      expectSuccess(await pkcs11Tool(["--read-object", "--type", "pubkey", "--id", id, "-o", `${name}.der`], work));

      const text = await runOk("openssl", ["pkey", "-pubin", "-inform", "DER", "-in", `${name}.der`, "-text", "-noout"], { cwd: work });
      expect(text, name).toContain(expected);

      await runOk("openssl", ["pkey", "-pubin", "-inform", "DER", "-in", `${name}.der`, "-out", `${name}.pem`], { cwd: work });
    }
  });

  test("pkcs15-tool -D lists both keys", async () => {
    const result = await pkcs15Tool(["-D"]);
    expectSuccess(result);

    expect(result.stdout).toContain("Private RSA Key [rsa1]");
    expect(result.stdout).toContain("Private EC Key [ec1]");
    expect(result.stdout).toMatch(/Private RSA Key \[rsa1\][\s\S]*?ModLength\s*:\s*2048[\s\S]*?ID\s*:\s*02/);
    expect(result.stdout).toMatch(/Private EC Key \[ec1\][\s\S]*?FieldLength\s*:\s*256[\s\S]*?ID\s*:\s*01/);
  });
});

describe("re-initialization", () => {
  test("wrong SO-PIN neither wipes nor re-initializes", async () => {
    const result = await scHsmTool(["--initialize", "--so-pin", "0000000000000000", "--pin", USER_PIN]);
    // sc-hsm-tool exits 0 even here; the message is what a real SmartCard-HSM gives too.
    expect(result.stdout + result.stderr).toContain("SC_HSM_INITIALIZE, *) failed with PIN code or key incorrect");

    const keys = await pkcs15Tool(["-D"]);
    expectSuccess(keys);
    expect(keys.stdout).toContain("Private RSA Key [rsa1]");
    expect(keys.stdout).toContain("Private EC Key [ec1]");

    const status = await scHsmTool([]);
    expect(status.stdout).toMatch(/SO-PIN tries left\s*:\s*14/);
  });
});

describe("signatures verified by openssl", () => {
  test("ECDSA on a SHA-256 digest", async () => {
    await writeFile(file("digest.bin"), createHash("sha256").update(MESSAGE).digest());
    expectSuccess(
      await withLogin(["--sign", "--mechanism", "ECDSA", "--id", EC_ID, "--signature-format", "openssl", "-i", "digest.bin", "-o", "ecdsa.sig"]),
    );

    const result = await openssl(["pkeyutl", "-verify", "-pubin", "-inkey", "ec.pem", "-in", "digest.bin", "-sigfile", "ecdsa.sig"]);
    expect(result.stdout + result.stderr).toContain("Signature Verified Successfully");
  });

  test("ECDSA-SHA256", async () => {
    expectSuccess(
      await withLogin(["--sign", "--mechanism", "ECDSA-SHA256", "--id", EC_ID, "--signature-format", "openssl", "-i", "msg.txt", "-o", "ecdsa-sha256.sig"]),
    );

    const result = await openssl(["dgst", "-sha256", "-verify", "ec.pem", "-signature", "ecdsa-sha256.sig", "msg.txt"]);
    expect(result.stdout).toContain("Verified OK");
  });

  test("SHA256-RSA-PKCS", async () => {
    expectSuccess(await withLogin(["--sign", "--mechanism", "SHA256-RSA-PKCS", "--id", RSA_ID, "-i", "msg.txt", "-o", "pkcs1.sig"]));

    const result = await openssl(["dgst", "-sha256", "-verify", "rsa.pem", "-signature", "pkcs1.sig", "msg.txt"]);
    expect(result.stdout).toContain("Verified OK");
  });

  test("SHA256-RSA-PKCS-PSS", async () => {
    expectSuccess(await withLogin(["--sign", "--mechanism", "SHA256-RSA-PKCS-PSS", "--id", RSA_ID, "-i", "msg.txt", "-o", "pss.sig"]));

    // pkcs11-tool's default PSS parameters: MGF1 with SHA-256, salt as long as the digest.
    const result = await openssl([
      "dgst", "-sha256", "-verify", "rsa.pem", "-signature", "pss.sig",
      "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32", "-sigopt", "rsa_mgf1_md:sha256",
      "msg.txt",
    ]);
    expect(result.stdout).toContain("Verified OK");
  });
});

describe("decryption", () => {
  test("RSA-PKCS decrypts openssl ciphertext", async () => {
    const secret = "a secret for the card\n";
    await writeFile(file("secret.txt"), secret);
    await runOk("openssl", ["pkeyutl", "-encrypt", "-pubin", "-inkey", "rsa.pem", "-in", "secret.txt", "-out", "secret.enc"], { cwd: work });

    expectSuccess(await withLogin(["--decrypt", "--mechanism", "RSA-PKCS", "--id", RSA_ID, "-i", "secret.enc", "-o", "secret.dec"]));
    expect(await readFile(file("secret.dec"), "utf8")).toBe(secret);
  });
});

describe("data objects", () => {
  test("written object reads back", async () => {
    const content = Buffer.from(Array.from({ length: 600 }, (_, i) => (i * 7) & 0xff));
    await writeFile(file("data.bin"), content);

    expectSuccess(await withLogin(["--write-object", "data.bin", "--type", "data", "--label", "d1"]));
    expectSuccess(await withLogin(["--read-object", "--type", "data", "--label", "d1", "-o", "data.out"]));

    expect(await readFile(file("data.out"))).toEqual(content);
  });
});

describe("PIN blocking", () => {
  test("wrong PINs count down to blocked", async () => {
    const expected = [
      { error: "CKR_PIN_INCORRECT", status: "63C2" },
      { error: "CKR_PIN_INCORRECT", status: "63C1" },
      { error: "CKR_PIN_LOCKED", status: "6983" },
    ];

    for (const [attempt, { error, status }] of expected.entries()) {
      const login = await withLogin(["--list-objects"], "000000");
      expect(login.status, `attempt ${attempt + 1} exit status`).not.toBe(0);
      expect(login.stdout + login.stderr, `attempt ${attempt + 1} error`).toContain(error);

      expect(await sendApdus([SELECT_HSM, VERIFY_STATUS]), `attempt ${attempt + 1} PIN status`).toEqual(["9000", status]);
    }
  });

  test("sc-hsm-tool reports the PIN locked", async () => {
    const result = await scHsmTool([]);
    expectSuccess(result);
    expect(result.stdout).toContain("User PIN locked");
  });

  test("blocked PIN rejects the right PIN", async () => {
    const login = await withLogin(["--list-objects"]);
    expect(login.status).not.toBe(0);
    expect(login.stdout + login.stderr).toContain("CKR_PIN_LOCKED");
  });

  test("SO-PIN unblocks the user PIN", async () => {
    expectSuccess(
      await pkcs11Tool(["--login", "--login-type", "so", "--so-pin", SO_PIN, "--init-pin", "--new-pin", USER_PIN], work),
    );

    expect(await sendApdus([SELECT_HSM, VERIFY_STATUS])).toEqual(["9000", "63C3"]);

    const status = await scHsmTool([]);
    expect(status.stdout).toMatch(/User PIN tries left\s*:\s*3/);
  });

  test("user PIN works again", async () => {
    const result = await withLogin(["--list-objects", "--type", "privkey"]);
    expectSuccess(result);
    expect(result.stdout).toContain("rsa1");
  });
});

describe("shutdown", () => {
  test("SIGTERM stops the device cleanly", async () => {
    const running = device!;
    device = undefined;
    const code = await running.stop();

    expect(code, running.log().slice(-3000)).toBe(0);
    expect(running.log()).toContain("vdevice stopped");
  });
});
