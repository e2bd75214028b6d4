// Crash safety: the device is killed with SIGKILL at random moments while it
// generates and imports keys and checks PINs, and restarted on the same data
// directory. Every key whose command returned 9000 must still be there and
// sign, and no key may be half there. The user PIN retry counter may never be
// higher than the last response allowed.
//
// The test speaks the vpcd protocol itself on a port of its own (2-byte length,
// then an APDU or a 1-byte control code), so pcscd is not involved and rounds
// stay short.

import { spawn, type ChildProcess } from "node:child_process";
import { createHash, createPublicKey, generateKeyPairSync, verify, type KeyObject } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, test } from "vitest";

import { encodeKeyBlob, type KeyBlobKey } from "@hsmkit/keystore";

const ROUNDS = 50;
/** Upper bound of the random delay before SIGKILL, milliseconds. */
const MAX_KILL_DELAY_MS = 250;
const MAX_OPERATIONS_PER_ROUND = 40;
/** Key ids the loop writes to, so that later rounds replace keys as well as add them. */
const KEY_IDS = 30;
const USER_PIN_RETRIES = 3;

const REPO_ROOT = resolve(fileURLToPath(new URL("../../..", import.meta.url)));
const VDEVICE_DIR = join(REPO_ROOT, "apps", "vdevice");
const DENO = join(REPO_ROOT, "node_modules", ".bin", "deno");

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ""), "hex");
const DKEK = Buffer.alloc(32, 0x5c);
const USER_PIN = Buffer.from("648219");
const WRONG_PIN = Buffer.from("000000");
const SO_PIN = hex("3537363231383830");

// NIST P-256 domain parameters (SEC 2 v2, 2.4.2).
const P256 = {
  p: hex("FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF"),
  a: hex("FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFC"),
  b: hex("5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B"),
  g: hex(
    "04 6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296 4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5",
  ),
  n: hex("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551"),
};
const ID_TA_ECDSA_SHA_256 = hex("04007F00070202020203");

// --- vpcd link -----------------------------------------------------------------

/** One accepted vpcd connection: send a payload, get the next payload back. */
class VpcdLink {
  #buffer = Buffer.alloc(0);
  #waiting: ((payload: Buffer | undefined) => void) | undefined;
  #closed = false;

  constructor(private readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#deliver();
    });
    socket.on("close", () => {
      this.#closed = true;
      this.#waiting?.(undefined);
      this.#waiting = undefined;
    });
    socket.on("error", () => {});
  }

  /** Sends a payload and resolves with the response, or undefined when the device went away. */
  exchange(payload: Buffer): Promise<Buffer | undefined> {
    if (this.#closed) return Promise.resolve(undefined);
    const header = Buffer.from([payload.length >> 8, payload.length & 0xff]);
    return new Promise((resolve) => {
      this.#waiting = resolve;
      this.socket.write(Buffer.concat([header, payload]));
      this.#deliver();
    });
  }

  /** Sends a control code (1 = power on), which gets no response. */
  control(code: number): void {
    this.socket.write(Buffer.from([0, 1, code]));
  }

  close(): void {
    this.socket.destroy();
  }

  #deliver(): void {
    if (!this.#waiting || this.#buffer.length < 2) return;
    const length = this.#buffer.readUInt16BE(0);
    if (this.#buffer.length < 2 + length) return;
    const payload = this.#buffer.subarray(2, 2 + length);
    this.#buffer = this.#buffer.subarray(2 + length);
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting(Buffer.from(payload));
  }
}

interface Response {
  data: Buffer;
  sw: number;
}

/** A running device process and its link. */
class Device {
  constructor(
    readonly child: ChildProcess,
    readonly link: VpcdLink,
    readonly log: () => string,
  ) {}

  /** Sends an APDU (hex or bytes); undefined when the device died before it responded. */
  async send(apdu: string | Buffer): Promise<Response | undefined> {
    const response = await this.link.exchange(typeof apdu === "string" ? hex(apdu) : apdu);
    if (response === undefined || response.length < 2) return undefined;
    return { data: response.subarray(0, -2), sw: response.readUInt16BE(response.length - 2) };
  }

  /** Sends an APDU that must get a response (the device is not being killed). */
  async must(apdu: string | Buffer): Promise<Response> {
    const response = await this.send(apdu);
    if (!response) throw new Error(`device died during ${Buffer.from(apdu).toString("hex")}\n${this.log().slice(-3000)}`);
    return response;
  }

  kill(): void {
    this.child.kill("SIGKILL");
  }

  async exited(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    await new Promise((resolve) => this.child.once("exit", resolve));
  }
}

let server: Server;
let current: Device | undefined;
let port: number;
let pendingLinks: ((link: VpcdLink) => void)[] = [];
let work: string;
let startArgs: string[];

async function startDevice(): Promise<Device> {
  const linked = new Promise<VpcdLink>((resolve) => pendingLinks.push(resolve));
  const args = [
    ...startArgs,
    "--name", "crash-safety",
    "--data-dir", join(work, "data"),
    "--secret-file", join(work, "device.secret"),
    "--vpcd", `127.0.0.1:${port}`,
    "--log-level", "warn",
  ];
  const child = spawn(DENO, args, { cwd: VDEVICE_DIR, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stdout!.on("data", (chunk: Buffer) => (log = (log + chunk.toString()).slice(-20_000)));
  child.stderr!.on("data", (chunk: Buffer) => (log = (log + chunk.toString()).slice(-20_000)));

  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`device did not connect\n${log}`)), 30_000));
  const link = await Promise.race([linked, timeout]);
  link.control(1);
  const device = new Device(child, link, () => log);
  current = device;
  expect((await device.must("00A404000BE82B06010401 81C31F0201 00".replace(/\s/g, ""))).sw).toBe(0x9000);
  return device;
}

// --- APDUs ---------------------------------------------------------------------

function tlv(tag: number, value: Buffer): Buffer {
  const tagBytes = tag > 0xff ? Buffer.from([tag >> 8, tag & 0xff]) : Buffer.from([tag]);
  let length: Buffer;
  if (value.length < 0x80) length = Buffer.from([value.length]);
  else if (value.length < 0x100) length = Buffer.from([0x81, value.length]);
  else length = Buffer.from([0x82, value.length >> 8, value.length & 0xff]);
  return Buffer.concat([tagBytes, length, value]);
}

function extended(header: string, data: Buffer, withLe: boolean): Buffer {
  const lc = Buffer.from([0, data.length >> 8, data.length & 0xff]);
  return Buffer.concat([hex(header), lc, data, withLe ? Buffer.from([0, 0]) : Buffer.alloc(0)]);
}

function short(header: string, data: Buffer, le?: number): Buffer {
  return Buffer.concat([hex(header), Buffer.from([data.length]), data, le === undefined ? Buffer.alloc(0) : Buffer.from([le])]);
}

function verifyApdu(pin: Buffer): Buffer {
  return short("00200081", pin);
}

function generateApdu(keyId: number): Buffer {
  const template = tlv(
    0x7f49,
    Buffer.concat([
      tlv(0x06, ID_TA_ECDSA_SHA_256),
      tlv(0x81, P256.p),
      tlv(0x82, P256.a),
      tlv(0x83, P256.b),
      tlv(0x84, P256.g),
      tlv(0x85, P256.n),
      tlv(0x87, Buffer.from([1])),
    ]),
  );
  const data = Buffer.concat([tlv(0x5f29, Buffer.from([0])), tlv(0x42, Buffer.from("UTCA00001")), template, tlv(0x5f20, Buffer.from("CRASHTEST00001"))]);
  return extended(`0046${keyId.toString(16).padStart(2, "0")}00`, data, true);
}

function unwrapApdu(keyId: number, blob: Uint8Array): Buffer {
  return extended(`8074${keyId.toString(16).padStart(2, "0")}93`, Buffer.from(blob), false);
}

/** Returns the uncompressed point after tag 86 in a GENERATE response. */
function publicPointOf(request: Buffer): Buffer {
  const at = request.indexOf(Buffer.from([0x86, 0x41, 0x04]));
  if (at < 0) throw new Error("no public point in the CV request");
  return request.subarray(at + 2, at + 2 + 65);
}

function publicKeyOf(point: Buffer): KeyObject {
  return createPublicKey({
    key: { kty: "EC", crv: "P-256", x: point.subarray(1, 33).toString("base64url"), y: point.subarray(33).toString("base64url") },
    format: "jwk",
  });
}

/** Makes a P-256 key on the host and returns its blob under DKEK and its public point. */
function importedKey(): { blob: Uint8Array; point: Buffer } {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = privateKey.export({ format: "jwk" }) as Record<string, string>;
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, "base64url"), Buffer.from(jwk.y, "base64url")]);
  const key: KeyBlobKey = { type: "ec", fieldBits: 256, ...P256, d: Buffer.from(jwk.d, "base64url"), q: point };
  return { blob: encodeKeyBlob(DKEK, key), point };
}

const MESSAGE = Buffer.from("crash safety");
const DIGEST = createHash("sha256").update(MESSAGE).digest();

/**
 * Signs with key `keyId` and returns the point of `points` that verifies the
 * signature, null when none does, or undefined when the key is absent (6A82).
 */
async function signingPoint(device: Device, keyId: number, points: Buffer[]): Promise<Buffer | null | undefined> {
  const response = await device.must(short(`8068${keyId.toString(16).padStart(2, "0")}70`, DIGEST, 0));
  if (response.sw === 0x6a82) return undefined;
  if (response.sw !== 0x9000) return null;
  return points.find((point) => verify("sha256", MESSAGE, publicKeyOf(point), response.data)) ?? null;
}

/** Reads EF CE n (the key's CV request) and returns its public point, or undefined when the EF is absent. */
async function requestPoint(device: Device, keyId: number): Promise<Buffer | undefined> {
  const selected = await device.must(short("00A40000", Buffer.from([0xce, keyId]), 0));
  if (selected.sw !== 0x9000) return undefined;

  const parts: Buffer[] = [];
  for (let offset = 0; ; ) {
    const read = await device.must(short("00B10000", Buffer.from([0x54, 0x02, offset >> 8, offset & 0xff]), 0));
    if (read.sw !== 0x9000 || read.data.length === 0) break;
    parts.push(read.data);
    offset += read.data.length;
  }
  return publicPointOf(Buffer.concat(parts));
}

/** Returns the key ids ENUMERATE OBJECTS lists (CC n, n ≥ 1). */
async function listedKeys(device: Device): Promise<number[]> {
  const response = await device.must("805800000000 00".replace(/\s/g, ""));
  const ids: number[] = [];
  for (let i = 0; i + 1 < response.data.length; i += 2) {
    if (response.data[i] === 0xcc && response.data[i + 1] !== 0) ids.push(response.data[i + 1]);
  }
  return ids;
}

/** Returns the user PIN's remaining tries from VERIFY without data (63Cx). */
async function remainingTries(device: Device): Promise<number> {
  const { sw } = await device.must("00200081");
  if ((sw & 0xfff0) !== 0x63c0) throw new Error(`PIN status answered ${sw.toString(16)}`);
  return sw & 0x0f;
}

// --- the loop ------------------------------------------------------------------

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "vdevice-crash-"));
  const manifest = JSON.parse(await readFile(join(VDEVICE_DIR, "package.json"), "utf8")) as { scripts: { start: string } };
  startArgs = manifest.scripts.start.trim().split(/\s+/).slice(1);

  server = createServer((socket) => {
    const resolveLink = pendingLinks.shift();
    if (resolveLink) resolveLink(new VpcdLink(socket));
    else socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  current?.kill();
  current?.link.close();
  pendingLinks = [];
  await new Promise((resolve) => server?.close(resolve));
  if (work) await rm(work, { recursive: true, force: true });
});

test(`${ROUNDS} SIGKILL rounds lose no acknowledged key and no PIN guess`, { timeout: 180_000 }, async () => {
  const started = Date.now();

  // Set-up: INITIALIZE with one DKEK share, import it, and stop cleanly.
  let device = await startDevice();
  const init = Buffer.concat([tlv(0x80, hex("0001")), tlv(0x81, USER_PIN), tlv(0x82, SO_PIN), tlv(0x91, Buffer.from([USER_PIN_RETRIES])), tlv(0x92, Buffer.from([1]))]);
  expect((await device.must(short("80500000", init))).sw).toBe(0x9000);
  expect((await device.must(short("80520000", DKEK, 0))).sw).toBe(0x9000);
  device.kill();
  await device.exited();
  device.link.close();

  /** Public points key id n may hold: the last acknowledged one, and the new one of a command cut off. */
  const candidates = new Map<number, Buffer[]>();
  /** Key ids whose GENERATE was cut off: the key, if stored, is the one its CV request in CE n names. */
  const generateCutOff = new Set<number>();
  const acknowledged = new Map<number, Buffer>();
  let triesBound = USER_PIN_RETRIES;
  let killedMidCommand = 0;
  let killedMidVerify = 0;

  for (let round = 0; round < ROUNDS; round++) {
    device = await startDevice();

    // After the restart: the counter is not above what the last responses allow.
    const tries = await remainingTries(device);
    expect(tries, `round ${round}: retry counter went up`).toBeLessThanOrEqual(triesBound);
    triesBound = tries;
    expect((await device.must(verifyApdu(USER_PIN))).sw, `round ${round}: VERIFY`).toBe(0x9000);
    triesBound = USER_PIN_RETRIES;

    // Every acknowledged key is listed and signs; every other listed key is whole and signs.
    const listed = await listedKeys(device);
    for (const id of acknowledged.keys()) expect(listed, `round ${round}: key ${id} listed`).toContain(id);
    for (const id of new Set([...acknowledged.keys(), ...listed, ...candidates.keys()])) {
      const points = [...(candidates.get(id) ?? [])];
      if (generateCutOff.has(id)) {
        const requested = await requestPoint(device, id);
        if (requested) points.push(requested);
      }
      const point = await signingPoint(device, id, points);
      if (acknowledged.has(id) || listed.includes(id)) {
        expect(point, `round ${round}: key ${id} signs for its public key`).toBeInstanceOf(Buffer);
        // Whatever is stored now is durable: from here on it must stay.
        acknowledged.set(id, point!);
        candidates.set(id, [point!]);
      } else {
        expect(point, `round ${round}: key ${id} is absent`).toBeUndefined();
        candidates.delete(id);
      }
    }
    generateCutOff.clear();

    // Operations on random key ids until the kill; some replace an acknowledged key.
    const delay = Math.floor(Math.random() * MAX_KILL_DELAY_MS);
    const timer = setTimeout(() => device.kill(), delay);
    for (let op = 0; op < MAX_OPERATIONS_PER_ROUND; op++) {
      const kind = Math.random();
      if (kind < 0.1 && triesBound > 1) {
        const response = await device.send(verifyApdu(WRONG_PIN));
        if (!response) {
          killedMidVerify++;
          break;
        }
        expect(response.sw & 0xfff0).toBe(0x63c0);
        triesBound = response.sw & 0x0f;
        const login = await device.send(verifyApdu(USER_PIN));
        triesBound = USER_PIN_RETRIES;
        if (!login) break;
        continue;
      }

      const id = 1 + Math.floor(Math.random() * KEY_IDS);
      const previous = acknowledged.get(id);
      const imported = kind < 0.55 ? importedKey() : undefined;
      candidates.set(id, [...(previous ? [previous] : []), ...(imported ? [imported.point] : [])]);
      if (!imported) generateCutOff.add(id);

      const response = await device.send(imported ? unwrapApdu(id, imported.blob) : generateApdu(id));
      if (!response) {
        killedMidCommand++;
        break;
      }
      expect(response.sw, `round ${round}: key ${id}`).toBe(0x9000);
      const point = imported ? imported.point : publicPointOf(response.data);
      generateCutOff.delete(id);
      candidates.set(id, [point]);
      acknowledged.set(id, point);
    }
    device.kill();
    clearTimeout(timer);
    await device.exited();
    device.link.close();
  }

  const elapsed = Date.now() - started;
  console.log(`crash-safety: ${ROUNDS} rounds, ${acknowledged.size} keys acknowledged, ${killedMidCommand} key commands and ${killedMidVerify} wrong VERIFYs cut off, ${elapsed} ms`);
  expect(acknowledged.size).toBeGreaterThan(0);
});
