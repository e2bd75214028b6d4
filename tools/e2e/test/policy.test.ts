// Access policies through pcscd and vpcd with OpenSC's tools and pcsc-tools'
// scriptor: public key authentication 2-of-3 (sc-hsm-tool initializes it, an
// interactive scriptor session signs the challenges), a usage-limited key
// signing through pkcs11-tool, the transport PIN, the session PIN across
// OpenSC processes, the EXTRAS clock, press-to-confirm confirmed or denied over
// the device's HTTP control endpoint while pkcs11-tool waits, and a used-up
// usage counter across a device restart. Each describe block runs its own device.

import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeCvcChain, ecDomainFromNoble, ecdsaSigner, encodeAuthenticatedRequest, ID_TA_ECDSA_SHA_256, signCertificate } from "@hsmkit/cvc";
import { p256 } from "@noble/curves/nist.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

import { parseScriptorResponses } from "../src/fuzz.ts";
import { pkcs11Tool, pkcs15Tool, READER, scHsmTool, SELECT_HSM, sendApdus, SO_PIN, USER_PIN } from "../src/opensc.ts";
import { waitFor } from "../src/pcscd.ts";
import { run } from "../src/run.ts";
import { startDevice, type RunningDevice } from "../src/vdevice.ts";

const VERIFY_USER_PIN = `00 20 00 81 06 ${hex(new TextEncoder().encode(USER_PIN))}`;

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).toUpperCase().padStart(2, "0")).join(" ");
}

function fromHex(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text.replace(/\s+/g, ""), "hex"));
}

interface Response {
  data: Uint8Array;
  sw: string;
}

/** An interactive scriptor session on the e2e reader: one card connection for many APDUs. */
class Scriptor {
  private output = "";
  private received = 0;
  private readonly child: ChildProcessWithoutNullStreams;

  constructor() {
    this.child = spawn("scriptor", ["-u", "-r", READER]);
    this.child.stdout.on("data", (chunk: Buffer) => (this.output += chunk.toString("utf8")));
    this.child.stderr.on("data", (chunk: Buffer) => (this.output += chunk.toString("utf8")));
  }

  /** Sends one APDU (hex) and waits for its response. */
  async send(apdu: string): Promise<Response> {
    this.child.stdin.write(`${apdu}\n`);
    const deadline = Date.now() + 30_000;
    for (;;) {
      // scriptor prints "< OK: <ATR>" after "reset", a line without the " : " status text.
      const responses = parseScriptorResponses(this.output.replace(/^< OK:.*\n/gm, ""));
      if (responses.length > this.received) {
        const response = responses[this.received++];
        return { data: response.subarray(0, -2), sw: hex(response.subarray(-2)).replace(" ", "") };
      }
      if (Date.now() > deadline) throw new Error(`no response from scriptor to ${apdu}:\n${this.output}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  async sw(apdu: string): Promise<string> {
    return (await this.send(apdu)).sw;
  }

  /** Resets the card (a warm reset through pcscd) and checks that SELECT then succeeds. */
  async reset(): Promise<void> {
    this.child.stdin.write("reset\n");
    expect(await this.sw(SELECT_HSM)).toBe("9000");
  }

  close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once("close", () => resolve());
      this.child.stdin.end();
    });
  }
}

/** Formats an APDU with extended Lc (and extended Le 0000 when `le`). */
function extended(header: string, data: Uint8Array, le = false): string {
  const lc = `00 ${((data.length >> 8) & 0xff).toString(16).padStart(2, "0")} ${(data.length & 0xff).toString(16).padStart(2, "0")}`;
  return `${header} ${lc} ${hex(data)}${le ? " 00 00" : ""}`;
}

function tlv(tag: number, value: Uint8Array): Uint8Array {
  const tagBytes = tag > 0xff ? [tag >> 8, tag & 0xff] : [tag];
  let length = [0x82, value.length >> 8, value.length & 0xff];
  if (value.length < 0x100) length = [0x81, value.length];
  if (value.length < 0x80) length = [value.length];
  return Uint8Array.from([...tagBytes, ...length, ...value]);
}

/** GENERATE ASYMMETRIC KEY PAIR data for a P-256 key as OpenSC sends it, plus `extra` metadata. */
function ecKeygenData(extra: Uint8Array[] = []): Uint8Array {
  const domain = ecDomainFromNoble(p256);
  const big = (value: bigint) => fromHex(value.toString(16).padStart(64, "0"));
  const oid = Uint8Array.of(0x04, 0x00, 0x7f, 0x00, 0x07, 0x02, 0x02, 0x02, 0x02, 0x03);
  const template = tlv(0x7f49, Uint8Array.from([
    ...tlv(0x06, oid),
    ...tlv(0x81, big(domain.p)),
    ...tlv(0x82, big(domain.a < 0n ? domain.a + domain.p : domain.a)),
    ...tlv(0x83, big(domain.b)),
    ...tlv(0x84, domain.G),
    ...tlv(0x85, big(domain.n)),
    ...tlv(0x87, Uint8Array.of(1)),
  ]));
  const ascii = (text: string) => new TextEncoder().encode(text);
  return Uint8Array.from([
    ...tlv(0x5f29, Uint8Array.of(0)),
    ...tlv(0x42, ascii("UTCA00001")),
    ...template,
    ...tlv(0x5f20, ascii("UTTM00001")),
    ...extra.flatMap((part) => [...part]),
  ]);
}

function expectOk(result: { status: number; stdout: string; stderr: string }, device: RunningDevice | undefined): void {
  expect(result.status, `stdout:\n${result.stdout}\nstderr:\n${result.stderr}\ndevice log:\n${device?.log().slice(-3000)}`).toBe(0);
}

describe("PKA 2-of-3 through pcscd", () => {
  let device: RunningDevice | undefined;
  const authenticators: { chr: string; privateKey: Uint8Array; registration: Uint8Array }[] = [];

  beforeAll(async () => {
    device = await startDevice();
    for (const chr of ["DEPUKALICE01", "DEPUKBOB0001", "DEPUKCAROL01"]) {
      const privateKey = p256.utils.randomSecretKey();
      const publicKey = { kind: "ec" as const, oid: ID_TA_ECDSA_SHA_256, domain: ecDomainFromNoble(p256), point: p256.getPublicKey(privateKey, false) };
      const inner = await signCertificate({ car: chr, publicKey, chr }, ecdsaSigner(p256, privateKey));
      const outer = await encodeAuthenticatedRequest(inner, "DEAUTHORITY01", ecdsaSigner(p256, p256.utils.randomSecretKey()));
      const headerLength = outer[1] < 0x80 ? 2 : 2 + (outer[1] & 0x7f);
      authenticators.push({ chr, privateKey, registration: outer.slice(headerLength) });
    }
  });

  afterAll(async () => {
    await device?.stop();
  });

  test("sc-hsm-tool initializes PKA", async () => {
    expectOk(await scHsmTool(["--reader", READER, "--initialize", "--so-pin", SO_PIN, "--pin", USER_PIN, "--public-key-auth", "3", "--required-pub-keys", "2"]), device);
    const status = await scHsmTool(["--reader", READER, "--public-key-auth-status"]);
    expectOk(status, device);
    expect(status.stdout).toMatch(/Number of public keys:\s+3\n/);
    expect(status.stdout).toMatch(/Missing public keys:\s+3\n/);
    expect(status.stdout).toMatch(/Required pubkeys for auth:\s+2\n/);
  });

  test("only the quorum logs in", async () => {
    const card = new Scriptor();
    try {
      expect(await card.sw(SELECT_HSM)).toBe("9000");
      expect(hex((await card.send("80 54 00 00 00")).data)).toBe("03 03 02 00");

      expect(await card.sw(VERIFY_USER_PIN)).toBe("9000");
      for (const authenticator of authenticators) expect(await card.sw(extended("80 54 00 00", authenticator.registration, true))).toBe("9000");
      expect(hex((await card.send("80 54 00 00 00")).data)).toBe("03 00 02 00");

      // The PIN alone gives no UA while PKA is configured.
      expect(await card.sw(extended("00 46 01 00", ecKeygenData(), true))).toBe("6982");

      expect(await card.sw("00 A4 00 00 02 2F 02 00")).toBe("9000");
      const chain = await card.send("00 B1 00 00 00 00 04 54 02 00 00 00 00");
      expect(chain.sw).toBe("9000");
      const deviceChr = decodeCvcChain(chain.data)[0].body.chr;

      const answer = async (index: number, challenge: Uint8Array) => {
        const selected = tlv(0x83, new TextEncoder().encode(authenticators[index].chr));
        expect(await card.sw(`00 22 81 A4 ${selected.length.toString(16).padStart(2, "0")} ${hex(selected)}`)).toBe("9000");
        const message = Uint8Array.from([...new TextEncoder().encode(deviceChr), ...challenge]);
        const signature = await ecdsaSigner(p256, authenticators[index].privateKey)(message);
        return card.sw(`00 82 00 00 ${signature.length.toString(16)} ${hex(signature)}`);
      };

      const challenge = (await card.send("00 84 00 00 08")).data;
      expect(challenge.length).toBe(8);

      // A wrong response: Bob's key signs the answer selected for Alice.
      const selectAlice = tlv(0x83, new TextEncoder().encode(authenticators[0].chr));
      expect(await card.sw(`00 22 81 A4 ${selectAlice.length.toString(16).padStart(2, "0")} ${hex(selectAlice)}`)).toBe("9000");
      const forged = await ecdsaSigner(p256, authenticators[1].privateKey)(Uint8Array.from([...new TextEncoder().encode(deviceChr), ...challenge]));
      expect(await card.sw(`00 82 00 00 40 ${hex(forged)}`)).toBe("6985");

      expect(await answer(0, challenge)).toBe("9000");
      expect(await card.sw(extended("00 46 01 00", ecKeygenData(), true))).toBe("6982");
      expect(await answer(2, challenge)).toBe("9000");
      expect(hex((await card.send("80 54 00 00 00")).data)).toBe("03 00 02 02");

      expect(await card.sw(extended("00 46 01 00", ecKeygenData(), true))).toBe("9000");
      const hash = sha256(new TextEncoder().encode("pka e2e"));
      expect(await card.sw(`80 68 01 70 20 ${hex(hash)} 00`)).toBe("9000");

      // Logout: the same PIN without the quorum signs nothing.
      expect(await card.sw(SELECT_HSM)).toBe("9000");
      expect(await card.sw(VERIFY_USER_PIN)).toBe("9000");
      expect(await card.sw(`80 68 01 70 20 ${hex(hash)} 00`)).toBe("6982");
    } finally {
      await card.close();
    }
  });
});

describe("usage counter, transport PIN and EXTRAS through pcscd", () => {
  let device: RunningDevice | undefined;
  let work: string;

  beforeAll(async () => {
    device = await startDevice();
    work = await mkdtemp(join(tmpdir(), "policy-e2e-"));
    await writeFile(join(work, "message.txt"), "usage counter e2e\n");
  });

  afterAll(async () => {
    await device?.stop();
    await rm(work, { recursive: true, force: true });
  });

  test("transport PIN blocks login until changed", async () => {
    // INITIALIZE with options 0003 (reset retry counter, transport PIN).
    const init = `80 50 00 00 19 80 02 00 03 81 06 ${hex(new TextEncoder().encode(USER_PIN))} 82 08 ${SO_PIN.match(/../g)!.join(" ")} 91 01 03`;
    expect(await sendApdus([SELECT_HSM, init])).toEqual(["9000", "9000"]);
    expect(await sendApdus([SELECT_HSM, "00 20 00 81"])).toEqual(["9000", "6984"]);

    const blocked = await pkcs11Tool(["--login", "--pin", USER_PIN, "--list-objects"]);
    expect(blocked.status).not.toBe(0);

    // pkcs11-tool logs in before it changes a PIN, which the transport PIN refuses, so pkcs15-tool changes it.
    expectOk(await pkcs15Tool(["--reader", READER, "--change-pin", "--pin", USER_PIN, "--new-pin", "246810"]), device);
    expectOk(await pkcs11Tool(["--login", "--pin", "246810", "--list-objects"]), device);
    expectOk(await pkcs11Tool(["--change-pin", "--pin", "246810", "--new-pin", USER_PIN]), device);
  });

  test("a usage-limited key signs twice then refuses", async () => {
    // The device's default PRKD gives key 3 the PKCS#15 ID "3" (hex 33).
    const generate = extended("00 46 03 00", ecKeygenData([tlv(0x90, Uint8Array.of(0, 0, 0, 2))]), true);
    expect(await sendApdus([SELECT_HSM, VERIFY_USER_PIN, generate])).toEqual(["9000", "9000", "9000"]);

    const sign = () => pkcs11Tool(["--login", "--pin", USER_PIN, "--sign", "--id", "33", "--mechanism", "ECDSA", "--input-file", join(work, "message.txt"), "--output-file", join(work, "signature.bin")], work);
    expectOk(await sign(), device);
    expectOk(await sign(), device);
    const third = await sign();
    expect(third.status).not.toBe(0);
    expect(device!.log()).toMatch(/sw=6A84/);
  });

  test("a zero counter is rejected", async () => {
    const generate = extended("00 46 04 00", ecKeygenData([tlv(0x90, Uint8Array.of(0, 0, 0, 0))]), true);
    expect(await sendApdus([SELECT_HSM, VERIFY_USER_PIN, generate])).toEqual(["9000", "9000", "6A80"]);
  });

  test("the clock round-trips", async () => {
    const card = new Scriptor();
    try {
      expect(await card.sw(SELECT_HSM)).toBe("9000");
      expect(await card.sw(VERIFY_USER_PIN)).toBe("9000");
      // 2035-06-10 (a Sunday, weekday 0) 12:00:00; the month is 0-based.
      expect(await card.sw("80 64 0A 00 08 07 F3 05 0A 00 0C 00 00")).toBe("9000");
      const clock = await card.send("80 64 0A 00 00");
      expect(clock.sw).toBe("9000");
      expect(hex(clock.data).slice(0, 17)).toBe("07 F3 05 0A 00 0C");
      expect(await card.sw("80 64 0A 00 08 07 F3 0C 0A 04 0C 00 00")).toBe("6A80");
      expect(await card.sw("80 64 4C 00 00")).toBe("6A86");
    } finally {
      await card.close();
    }
  });

  test("a session PIN works across processes, not after reset", async () => {
    const card = new Scriptor();
    try {
      expect(await card.sw(SELECT_HSM)).toBe("9000");
      expect(await card.sw(VERIFY_USER_PIN)).toBe("9000");
      expect(await card.sw("80 64 06 00 00")).toBe("9000");
      // Option 0004 (session PIN) is in the low byte, which only INITIALIZE sets.
      const init = `80 50 00 00 19 80 02 00 05 81 06 ${hex(new TextEncoder().encode(USER_PIN))} 82 08 ${SO_PIN.match(/../g)!.join(" ")} 91 01 03`;
      expect(await card.sw(init)).toBe("9000");
      expect(await card.sw(SELECT_HSM)).toBe("9000");
      expect(await card.sw(VERIFY_USER_PIN)).toBe("9000");
      const sessionPin = await card.send("80 5A 01 81 00");
      expect(sessionPin.sw).toBe("9000");
      expect(sessionPin.data.length).toBe(16);
      const verifySession = `00 20 00 81 10 ${hex(sessionPin.data)}`;

      expect(await card.sw(SELECT_HSM)).toBe("9000");
      expect(await card.sw(verifySession)).toBe("9000");
      await card.close();

      expect(await sendApdus([SELECT_HSM, verifySession])).toEqual(["9000", "9000"]);

      const again = new Scriptor();
      try {
        await again.reset();
      } finally {
        await again.close();
      }
      expect(await sendApdus([SELECT_HSM, verifySession])).toEqual(["9000", "63C2"]);
    } finally {
      await card.close();
    }
  });
});

/** The press-to-confirm control endpoint of a device started with `--confirm-port 0`. */
class ButtonControl {
  private constructor(private readonly base: string, private readonly token: string) {}

  /** Reads the port from the device's start-up log and the bearer token from `<data-dir>.button-token`. */
  static async of(device: RunningDevice): Promise<ButtonControl> {
    const port = /control endpoint ready .*\bport=(\d+)/.exec(device.log())?.[1];
    if (port === undefined) throw new Error(`control endpoint port not found in the device log (start it with --confirm-port):\n${device.log().slice(-3000)}`);
    const token = (await readFile(`${device.dataDir}.button-token`, "utf8")).trim();
    return new ButtonControl(`http://127.0.0.1:${port}`, token);
  }

  /** Returns the requests waiting for a decision, oldest first (GET /status). */
  async pending(): Promise<{ id: number; operation: string; keyId?: number }[]> {
    const response = await fetch(`${this.base}/status`, { headers: { authorization: `Bearer ${this.token}` } });
    expect(response.status).toBe(200);
    return ((await response.json()) as { pending: { id: number; operation: string; keyId?: number }[] }).pending;
  }

  /** POSTs /confirm or /deny with `token` (the right one unless given) and returns the HTTP status. */
  async post(path: "/confirm" | "/deny", token = this.token): Promise<number> {
    const response = await fetch(`${this.base}${path}`, { method: "POST", headers: { authorization: `Bearer ${token}` } });
    await response.body?.cancel();
    return response.status;
  }
}

describe("press-to-confirm over the HTTP control endpoint", () => {
  const EC_KEY_ID = "01";
  let device: RunningDevice | undefined;
  let button: ButtonControl;
  let work: string;

  const sign = (output: string) =>
    pkcs11Tool(["--login", "--pin", USER_PIN, "--sign", "--mechanism", "ECDSA-SHA256", "--id", EC_KEY_ID, "--signature-format", "openssl", "-i", "msg.txt", "-o", output], work);

  beforeAll(async () => {
    device = await startDevice("e2e-button", { extraArgs: ["--confirm-port", "0", "--confirm-timeout", "20"] });
    button = await ButtonControl.of(device);
    work = await mkdtemp(join(tmpdir(), "button-e2e-"));
    await writeFile(join(work, "msg.txt"), "press-to-confirm e2e\n");
    expectOk(await scHsmTool(["--initialize", "--so-pin", SO_PIN, "--pin", USER_PIN]), device);

    expectOk(await pkcs11Tool(["--login", "--pin", USER_PIN, "--keypairgen", "--key-type", "EC:prime256v1", "--id", EC_KEY_ID, "--label", "button"], work), device);
    expectOk(await pkcs11Tool(["--read-object", "--type", "pubkey", "--id", EC_KEY_ID, "-o", "ec.der"], work), device);
    expectOk(await run("openssl", ["pkey", "-pubin", "-inform", "DER", "-in", "ec.der", "-out", "ec.pem"], { cwd: work }), device);

    // Option 0100 (press-to-confirm) is in the high byte, which EXTRAS 06 sets.
    expect(await sendApdus([SELECT_HSM, VERIFY_USER_PIN, "80 64 06 00 01 01"])).toEqual(["9000", "9000", "9000"]);
  });

  afterAll(async () => {
    await device?.stop();
    await rm(work, { recursive: true, force: true });
  });

  test("wrong token rejected, right token signs", async () => {
    const signing = sign("confirmed.sig");
    let first: { id: number; operation: string; keyId?: number } | undefined;
    await waitFor(async () => (first = (await button.pending())[0]) !== undefined, 30_000, "the SIGNATURE to wait for the button");
    expect(first).toMatchObject({ operation: "SIGNATURE", keyId: 1 });

    expect(await button.post("/confirm", "0".repeat(48))).toBe(401);
    expect(await button.post("/deny", "")).toBe(401);
    expect((await button.pending()).map((entry) => entry.id)).toEqual([first!.id]);
    expect(device!.log()).toMatch(/button control request rejected: wrong or missing token/);

    expect(await button.post("/confirm")).toBe(204);
    expectOk(await signing, device);
    expect(await button.pending()).toEqual([]);

    const verified = await run("openssl", ["dgst", "-sha256", "-verify", "ec.pem", "-signature", "confirmed.sig", "msg.txt"], { cwd: work });
    expectOk(verified, device);
    expect(verified.stdout).toContain("Verified OK");
  });

  test("deny fails pkcs11-tool with 6600", async () => {
    let finished = false;
    const signing = sign("denied.sig").finally(() => (finished = true));

    // OpenSC may retry a SIGNATURE that ends in 6600, so every pending request is denied until pkcs11-tool exits.
    let denials = 0;
    while (!finished) {
      if ((await button.pending()).length > 0 && (await button.post("/deny")) === 204) denials++;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    const result = await signing;
    expect(result.status, result.stdout + result.stderr).not.toBe(0);
    expect(denials).toBeGreaterThan(0);
    expect(device!.log()).toMatch(/key use denied/);
    expect(device!.log()).toMatch(/sw=6600/);
  });
});

describe("usage counter across a device restart", () => {
  let device: RunningDevice | undefined;
  let workDir: string;
  const hash = hex(sha256(new TextEncoder().encode("usage counter restart e2e")));
  const sign = `80 68 01 70 20 ${hash} 00`;

  beforeAll(async () => {
    device = await startDevice("e2e-counter", { keepWorkDir: true });
    workDir = device.workDir;
    expectOk(await scHsmTool(["--initialize", "--so-pin", SO_PIN, "--pin", USER_PIN]), device);
  });

  afterAll(async () => {
    await device?.stop();
    await rm(workDir, { recursive: true, force: true });
  });

  test("used-up key rejects after restart", async () => {
    const generate = extended("00 46 01 00", ecKeygenData([tlv(0x90, Uint8Array.of(0, 0, 0, 2))]), true);
    expect(await sendApdus([SELECT_HSM, VERIFY_USER_PIN, generate])).toEqual(["9000", "9000", "9000"]);
    expect(await sendApdus([SELECT_HSM, VERIFY_USER_PIN, sign, sign, sign])).toEqual(["9000", "9000", "9000", "9000", "6A84"]);

    expect(await device!.stop()).toBe(0);
    device = undefined;
    device = await startDevice("e2e-counter", { workDir, keepWorkDir: true });
    expect(device.dataDir).toBe(join(workDir, "data"));

    expect(await sendApdus([SELECT_HSM, VERIFY_USER_PIN, sign])).toEqual(["9000", "9000", "6A84"]);
  });
});
