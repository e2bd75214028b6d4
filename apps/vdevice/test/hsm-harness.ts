/**
 * Test harness for the HSM applet: an in-process device with a fast scrypt
 * cost, and helpers that send APDUs as hex and split the response.
 */
import { CardRuntime } from "@hsmkit/apdu";
import { MemoryBackend, openKeystore } from "@hsmkit/keystore";
import { fromHex, toHex } from "@hsmkit/tlv";
import { createDevice, type DeviceOptions, type VirtualDevice } from "../src/device.ts";
import { HsmApplet } from "../src/hsm/applet.ts";
import { HSM_ATR } from "../src/hsm/constants.ts";
import type { HsmState } from "../src/hsm/context.ts";
import { DeviceState } from "../src/hsm/device-state.ts";
import { ensureDeviceIdentity } from "../src/hsm/identity.ts";
import { KeyDomains } from "../src/hsm/key-domains.ts";
import type { KeyInfo } from "../src/hsm/key-info.ts";
import { ObjectStore } from "../src/hsm/objects.ts";
import { SessionState } from "../src/hsm/session.ts";
import { silentLogger } from "../src/log.ts";

/** scrypt cost low enough for tests (the production default takes ~100 ms per PIN check). */
export const TEST_SCRYPT = { N: 16, r: 1, p: 1 };

export const HSM_AID_HEX = "E82B0601040181C31F0201";
export const USER_PIN = "648219";
export const SO_PIN_HEX = "3537363231383830";

export interface Response {
  data: Uint8Array;
  sw: number;
  /** Data as upper-case hex without spaces. */
  hex: string;
  /** SW as four upper-case hex digits. */
  swHex: string;
}

export class TestCard {
  constructor(readonly device: VirtualDevice) {}

  /** Sends `apdu` (hex, spaces allowed) and returns the split response. */
  async send(apdu: string | Uint8Array): Promise<Response> {
    const bytes = typeof apdu === "string" ? fromHex(apdu.replace(/\s+/g, "")) : apdu;
    const response = await this.device.transmit(bytes);
    const data = response.subarray(0, response.length - 2);
    const sw = (response[response.length - 2] << 8) | response[response.length - 1];
    return { data, sw, hex: toHex(data).toUpperCase(), swHex: sw.toString(16).toUpperCase().padStart(4, "0") };
  }

  /** Sends `apdu` and returns its SW as hex. */
  async sw(apdu: string | Uint8Array): Promise<string> {
    return (await this.send(apdu)).swHex;
  }

  async selectApplet(): Promise<Response> {
    return this.send(`00A404000B${HSM_AID_HEX}00`);
  }

  /** OpenSC's opening: the CoolKey and MUSCLE probes, then the applet SELECT. */
  async openSession(): Promise<Response> {
    await this.send("00A404000762760 1FF000000".replace(/\s/g, ""));
    await this.send("00A4040006A00000000101");
    return this.selectApplet();
  }

  /** INITIALIZE as sc-hsm-tool sends it: options 0001, user PIN 648219, SO-PIN, 3 retries, optional DKEK shares. */
  async initialize(dkekShares?: number): Promise<Response> {
    const pin = ascii(USER_PIN);
    let body = `80020001 8106${pin} 8208${SO_PIN_HEX} 910103`;
    if (dkekShares !== undefined) body += ` 9201${byte(dkekShares)}`;
    return this.send(withLc("80500000", body));
  }

  async login(pin = USER_PIN): Promise<string> {
    return this.sw(withLc("00200081", ascii(pin)));
  }

  /** Reads the current EF the way OpenSC does: B1 with Le 00 until an empty response. */
  async readCurrentEf(): Promise<Uint8Array> {
    const chunks: Uint8Array[] = [];
    let offset = 0;
    for (;;) {
      const response = await this.send(`00B10000 04 5402${hex16(offset)} 00`);
      if (response.sw !== 0x9000) throw new Error(`READ at ${offset} answered ${response.swHex}`);
      if (response.data.length === 0) break;
      chunks.push(response.data);
      offset += response.data.length;
    }
    const out = new Uint8Array(offset);
    let position = 0;
    for (const chunk of chunks) {
      out.set(chunk, position);
      position += chunk.length;
    }
    return out;
  }

  /** SELECTs `fid` and reads it like OpenSC. */
  async readFile(fid: string): Promise<Uint8Array> {
    const selected = await this.send(`00A40000 02 ${fid} 00`);
    if (selected.sw !== 0x9000) throw new Error(`SELECT ${fid} answered ${selected.swHex}`);
    return this.readCurrentEf();
  }
}

export async function openTestCard(options: DeviceOptions = {}): Promise<TestCard> {
  return new TestCard(await createDevice({ scrypt: TEST_SCRYPT, ...options }));
}

/** Returns a fresh device that went through INITIALIZE (and, with `shares`, tag 92). */
export async function openInitializedCard(shares?: number): Promise<TestCard> {
  const card = await openTestCard();
  await card.selectApplet();
  const response = await card.initialize(shares);
  if (response.sw !== 0x9000) throw new Error(`INITIALIZE answered ${response.swHex}`);
  await card.selectApplet();
  return card;
}

export function ascii(text: string): string {
  return toHex(new TextEncoder().encode(text));
}

export function byte(value: number): string {
  return value.toString(16).padStart(2, "0");
}

export function hex16(value: number): string {
  return value.toString(16).padStart(4, "0");
}

/** Returns header ‖ Lc ‖ body (short Lc), spaces in `body` ignored. */
export function withLc(header: string, body: string): string {
  const data = body.replace(/\s+/g, "");
  return header + byte(data.length / 2) + data;
}

/** Returns header ‖ 00 Lc1 Lc2 ‖ body (extended Lc, no Le). */
export function withExtendedLc(header: string, body: string): string {
  const data = body.replace(/\s+/g, "");
  return header + "00" + hex16(data.length / 2) + data;
}

/** Splits a concatenation of 2-byte FIDs into hex strings. */
export function fidList(data: Uint8Array): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < data.length; i += 2) out.push(toHex(data.subarray(i, i + 2)).toUpperCase());
  return out;
}

function randomBytes(length: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(length));
}

/**
 * Returns a card whose HSM state the test can reach, for setting up keys that
 * only key generation (another command) would create.
 */
export async function openCardWithState(): Promise<{ card: TestCard; state: HsmState }> {
  const backend = new MemoryBackend();
  const keystore = await openKeystore(backend, { deviceSecret: randomBytes(32), scrypt: TEST_SCRYPT });
  const objects = new ObjectStore(keystore);
  const device = new DeviceState(keystore, objects);
  await device.load();
  await ensureDeviceIdentity(objects, device, randomBytes);
  await keystore.commit();

  const state: HsmState = {
    keystore,
    objects,
    device,
    domains: new KeyDomains(keystore, randomBytes),
    session: new SessionState(),
    random: randomBytes,
    logger: silentLogger,
  };
  const runtime = new CardRuntime({ atr: HSM_ATR, applets: [new HsmApplet(state)] });
  const transport: VirtualDevice = {
    atr: runtime.atr,
    powerOn: () => runtime.powerOn(),
    powerOff: () => runtime.powerOff(),
    reset: () => runtime.reset(),
    transmit: (command) => runtime.transmit(command),
    close: async () => {},
  };
  return { card: new TestCard(transport), state };
}

/**
 * Stores EC key `id` as key generation would (sealed key, C4 n default PRKD,
 * CE n request stand-in); needs the MKEK unlocked, e.g. right after INITIALIZE.
 */
export async function putTestKey(state: HsmState, id: number, meta: KeyInfo["meta"] = {}): Promise<void> {
  const info: KeyInfo = { id, type: "ec", curve: "secp256r1", bits: 256, publicKey: new Uint8Array(65).fill(4), meta };
  await state.objects.putKey(info, randomBytes(33));
  const { defaultPrkd } = await import("../src/hsm/prkd.ts");
  await state.objects.writeFile(0xc400 | id, defaultPrkd(id, "ec", 256));
  await state.objects.writeFile(0xce00 | id, fromHex("67037F2100"));
  await state.keystore.commit();
}
