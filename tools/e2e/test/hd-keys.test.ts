// BIP/SLIP (INS 4A) and SIGNATURE A0 as raw APDUs through pcscd: opensc-tool sends them after
// VERIFY in one card session, and the responses are checked against @hsmkit/hd-keys deriving
// from the same seed on the host. OpenSC has no command of its own for these instructions.

import { Bip32Node, decodeExtendedKeyBytes, encodeExtendedKey, Slip10Node } from "@hsmkit/hd-keys";
import { p256 } from "@noble/curves/nist.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

import { openscTool, scHsmTool, SELECT_HSM, SO_PIN, USER_PIN } from "../src/opensc.ts";
import { startDevice } from "../src/vdevice.ts";
import type { RunningDevice } from "../src/vdevice.ts";

const SEED = "000102030405060708090a0b0c0d0e0f";
const MESSAGE = new TextEncoder().encode("hsmkit HD key end-to-end message\n");

/** VERIFY of the user PIN 648219 (ASCII). */
const VERIFY_USER_PIN = `00 20 00 81 06 ${hexOf(new TextEncoder().encode(USER_PIN))}`;

interface CardAnswer {
  sw: string;
  data: Uint8Array;
}

let device: RunningDevice | undefined;

beforeAll(async () => {
  device = await startDevice("e2e-hd-keys");
  const result = await scHsmTool(["--initialize", "--so-pin", SO_PIN, "--pin", USER_PIN]);
  expect(result.status, `sc-hsm-tool --initialize:\n${result.stdout}\n${result.stderr}`).toBe(0);
});

afterAll(async () => {
  await device?.stop();
});

/**
 * Sends SELECT, VERIFY and then `apdus` in one opensc-tool session and returns
 * the responses to `apdus`, each with its status word and response data.
 */
async function session(apdus: readonly string[]): Promise<CardAnswer[]> {
  const all = [SELECT_HSM, VERIFY_USER_PIN, ...apdus];
  const result = await openscTool(all.flatMap((apdu) => ["--send-apdu", apdu]));
  const answers = parseAnswers(result.stdout + result.stderr);
  if (answers.length !== all.length) {
    throw new Error(`opensc-tool returned ${answers.length} answers for ${all.length} APDUs:\n${result.stdout}\n${result.stderr}\n${device?.log().slice(-3000)}`);
  }
  expect(answers[1].sw, "VERIFY").toBe("9000");
  return answers.slice(2);
}

/** Reads opensc-tool's "Received (SW1=0x.., SW2=0x..):" blocks and the hex dump lines after each. */
function parseAnswers(output: string): CardAnswer[] {
  const answers: CardAnswer[] = [];
  for (const line of output.split("\n")) {
    const received = /Received \(SW1=0x([0-9a-f]{2}), SW2=0x([0-9a-f]{2})\)/i.exec(line);
    if (received) {
      answers.push({ sw: (received[1] + received[2]).toUpperCase(), data: new Uint8Array() });
      continue;
    }
    const dump = /^((?:[0-9A-F]{2} )+)/.exec(line);
    if (dump && answers.length > 0 && !line.startsWith("Sending")) {
      const last = answers[answers.length - 1];
      const bytes = dump[1].trim().split(" ").map((byte) => parseInt(byte, 16));
      last.data = Uint8Array.from([...last.data, ...bytes]);
    }
  }
  return answers;
}

/** Returns a short APDU `80 ins p1 p2 Lc data [00]`. */
function apdu(ins: number, p1: number, p2: number, data: Uint8Array, withLe: boolean): string {
  const header = [0x80, ins, p1, p2, data.length].map(byteHex).join(" ");
  return `${header} ${hexOf(data)}${withLe ? " 00" : ""}`;
}

/** 02 01 <master id> followed by 02 04 <child number> per index. */
function pathTlvs(masterId: number, indices: readonly number[]): Uint8Array {
  const out = [0x02, 0x01, masterId];
  for (const index of indices) out.push(0x02, 0x04, index >>> 24, (index >>> 16) & 0xff, (index >>> 8) & 0xff, index & 0xff);
  return Uint8Array.from(out);
}

function fromHex(text: string): Uint8Array {
  return Uint8Array.from(text.match(/../g)!, (byte) => parseInt(byte, 16));
}

function hexOf(bytes: Uint8Array): string {
  return Array.from(bytes, byteHex).join(" ");
}

function byteHex(byte: number): string {
  return byte.toString(16).padStart(2, "0").toUpperCase();
}

const HARDENED = 0x80000000;

describe("BIP/SLIP through pcscd", () => {
  test("creates masters and returns the BIP32 vector-1 xpub", async () => {
    const seed = fromHex(SEED);
    const answers = await session([
      apdu(0x4a, 0x01, 0x00, seed, false),
      apdu(0x4a, 0x02, 0x01, seed, false),
      apdu(0x4a, 0x0a, 0x00, pathTlvs(0, [HARDENED, 1]), true),
    ]);
    expect(answers.map((answer) => answer.sw)).toEqual(["9000", "9000", "9000"]);
    expect(answers[2].data).toHaveLength(78);
    expect(encodeExtendedKey(decodeExtendedKeyBytes(answers[2].data))).toBe(
      "xpub6ASuArnXKPbfEwhqN6e3mwBcDTgzisQN1wXN9BJcM47sSikHjJf3UFHKkNAWbWMiGj7Wf5uMash7SyYq527Hqck2AxYysAA7xmALppuCkwQ",
    );
  });

  test("signs with derived keys that the lib's public keys verify", async () => {
    const digest = sha256(MESSAGE);
    const k1Path = [44 + HARDENED, HARDENED, HARDENED, 0, 7];
    const r1Path = [HARDENED + 3, 5];
    const answers = await session([
      apdu(0x4a, 0x10, 0x00, pathTlvs(0, k1Path), false),
      apdu(0x68, 0x00, 0xa0, digest, true),
      apdu(0x4a, 0x10, 0x00, pathTlvs(1, r1Path), false),
      apdu(0x68, 0x00, 0xa0, digest, true),
      apdu(0x68, 0x00, 0xa0, digest, true),
    ]);
    expect(answers.map((answer) => answer.sw)).toEqual(["9000", "9000", "9000", "9000", "6985"]);

    const k1Key = Bip32Node.fromMasterSeed(fromHex(SEED)).derive(k1Path).publicKey;
    expect(secp256k1.verify(answers[1].data, digest, k1Key, { prehash: false, format: "der" })).toBe(true);

    const r1Key = Slip10Node.fromMasterSeed("nist256p1", fromHex(SEED)).derive(r1Path).publicKey;
    expect(p256.verify(answers[3].data, digest, r1Key, { prehash: false, format: "der" })).toBe(true);
  });

  test("answers bad input with the spec's status words", async () => {
    const answers = await session([
      apdu(0x4a, 0x01, 0x02, new Uint8Array(15), false),
      apdu(0x4a, 0x01, 0x0a, fromHex(SEED), false),
      apdu(0x4a, 0x0a, 0x00, pathTlvs(2, []), true),
      apdu(0x4a, 0x0a, 0x00, Uint8Array.from([0x02, 0x01, 0x00, 0x02, 0x05, 1, 0, 0, 0, 0]), true),
      apdu(0x4a, 0x0a, 0x00, Uint8Array.from([0x02, 0x01, 0x00, 0x04, 0x01, 0x41]), true),
    ]);
    expect(answers.map((answer) => answer.sw)).toEqual(["6700", "6A86", "6A88", "6A80", "6A80"]);
  });
});
