// An initialised, logged-in in-memory device for the algo-*.test.ts suites, with a random source
// that can be primed. The next random request of a primed length returns the primed bytes, so a
// test can store a published key with GENERATE SYMMETRIC KEY and replay its vectors on the card.
import { readFileSync } from "node:fs";
import { encodeCommandApdu, parseResponseApdu } from "@hsmkit/apdu";
import { concatBytes, encodeTlv } from "@hsmkit/tlv";
import { createDevice, type VirtualDevice } from "../src/device.ts";
import { HSM_AID } from "../src/hsm/constants.ts";
import { SO_PIN, USER_PIN } from "./keys-fixture.ts";

export interface AlgoCard {
  device: VirtualDevice;
  /** Sends `80 ins p1 p2` (CLA 00 for INS 46) as an extended APDU with Le = `ne` (65536 = Le 0000, 0 leaves Le out). */
  command(ins: number, p1: number, p2: number, data?: Uint8Array, ne?: number): Promise<{ data: Uint8Array; sw: number }>;
  /** GET RESPONSE `00 C0 00 00 Le` after a 61XX. */
  getResponse(length: number): Promise<{ data: Uint8Array; sw: number }>;
  /** The next random request of `bytes.length` bytes returns a copy of `bytes`. */
  primeRandom(bytes: Uint8Array): void;
  login(): Promise<void>;
  select(): Promise<void>;
}

const TEST_SCRYPT = { N: 1024, r: 8, p: 1 };

export async function openAlgoCard(): Promise<AlgoCard> {
  const primed: Uint8Array[] = [];
  const random = (length: number): Uint8Array => {
    const index = primed.findIndex((bytes) => bytes.length === length);
    if (index >= 0) return new Uint8Array(primed.splice(index, 1)[0]);
    return crypto.getRandomValues(new Uint8Array(length));
  };

  const device = await createDevice({ scrypt: TEST_SCRYPT, random });
  device.powerOn();

  const raw = async (frame: Uint8Array) => parseResponseApdu(await device.transmit(frame));
  const card: AlgoCard = {
    device,
    command: (ins, p1, p2, data = new Uint8Array(0), ne = 65536) =>
      raw(encodeCommandApdu({ cla: ins === 0x46 ? 0x00 : 0x80, ins, p1, p2, data, ne }, { extended: true })),
    getResponse: (length) => raw(Uint8Array.of(0x00, 0xc0, 0x00, 0x00, length)),
    primeRandom: (bytes) => primed.push(new Uint8Array(bytes)),
    select: async () => expectOk((await raw(encodeCommandApdu({ cla: 0, ins: 0xa4, p1: 4, p2: 0, data: HSM_AID, ne: 256 }))).sw, "SELECT"),
    login: async () => expectOk((await raw(encodeCommandApdu({ cla: 0, ins: 0x20, p1: 0, p2: 0x81, data: USER_PIN }))).sw, "VERIFY"),
  };

  await card.select();
  const initialize = concatBytes(encodeTlv(0x80, Uint8Array.of(0x00, 0x01)), encodeTlv(0x81, USER_PIN), encodeTlv(0x82, SO_PIN), encodeTlv(0x91, Uint8Array.of(3)));
  expectOk((await card.command(0x50, 0, 0, initialize)).sw, "INITIALIZE");
  await card.select();
  await card.login();
  return card;
}

function expectOk(sw: number, what: string): void {
  if (sw !== 0x9000) throw new Error(`${what} failed with SW ${sw.toString(16).toUpperCase()}`);
}

/** P2 of GENERATE SYMMETRIC KEY for a key of `bytes` bytes. */
export function aesKeyP2(bytes: number): number {
  return ({ 16: 0xb0, 24: 0xb1, 32: 0xb2, 64: 0xb3 } as Record<number, number>)[bytes];
}

/** Stores `key` (16, 24, 32 or 64 bytes) as AES key `keyId` with optional metadata TLVs; throws unless 9000. */
export async function importAesKey(card: AlgoCard, keyId: number, key: Uint8Array, metadata: Uint8Array = new Uint8Array(0)): Promise<void> {
  card.primeRandom(key);
  const { sw } = await card.command(0x48, keyId, aesKeyP2(key.length), metadata);
  if (sw !== 0x9000) throw new Error(`GENERATE SYMMETRIC KEY ${keyId} failed with SW ${sw.toString(16).toUpperCase()}`);
}

/** Extended CIPHER SYMMETRIC data: 06 OID, 81 input, [82 IV], [83 AAD/parameters]. */
export function cipherData(oid: Uint8Array, input: Uint8Array, iv?: Uint8Array, parameters?: Uint8Array): Uint8Array {
  const parts = [encodeTlv(0x06, oid), encodeTlv(0x81, input)];
  if (iv !== undefined) parts.push(encodeTlv(0x82, iv));
  if (parameters !== undefined) parts.push(encodeTlv(0x83, parameters));
  return concatBytes(...parts);
}

/** Reads test/vectors/`name` and checks that it names its source. */
export function loadVectors<T>(name: string): T & { source: string } {
  const json = JSON.parse(readFileSync(new URL(`./vectors/${name}`, import.meta.url), "utf8")) as T & { source: string };
  if (typeof json.source !== "string" || json.source.length < 10) throw new Error(`${name} does not name its source`);
  return json;
}
