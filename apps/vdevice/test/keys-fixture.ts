// A virtual device in memory, initialised and logged in, for the key-operation tests
// (keys-*.test.ts): raw APDU frames in, data and SW out.
import { encodeCommandApdu, parseResponseApdu, transmitApdu, type CommandApduFields } from "@hsmkit/apdu";
import { concatBytes, encodeTlv, fromHex, toHex } from "@hsmkit/tlv";
import {
  decodeAuthenticatedRequest,
  ecDomainFromNoble,
  encodeOid,
  ID_TA_ECDSA_SHA_256,
  ID_TA_RSA_V1_5_SHA_256,
  type CvcPublicKey,
} from "@hsmkit/cvc";
import { curveByName, type CurveName } from "../src/crypto/curves.ts";
import { createDevice, type VirtualDevice } from "../src/device.ts";
import { HSM_AID } from "../src/hsm/constants.ts";

export const USER_PIN = new TextEncoder().encode("648219");
export const SO_PIN = fromHex("3537363231383830");

/** scrypt cost low enough for tests; production uses the keystore default. */
const TEST_SCRYPT = { N: 1024, r: 8, p: 1 };

export interface Card {
  device: VirtualDevice;
  /** Sends one command frame and returns the response data and SW, following 61XX. */
  send(command: CommandApduFields, options?: { extended?: boolean }): Promise<{ data: Uint8Array; sw: number }>;
  /** Sends a raw frame (hex, spaces allowed, or bytes) without following 61XX. */
  sendRaw(frame: string | Uint8Array): Promise<{ data: Uint8Array; sw: number }>;
  select(): Promise<void>;
  login(): Promise<void>;
}

/** Opens an in-memory device, initialises it with USER_PIN and SO_PIN and logs the user in. */
export async function openCard(): Promise<Card> {
  const device = await createDevice({ scrypt: TEST_SCRYPT });
  device.powerOn();

  const card: Card = {
    device,
    send: (command, options) => transmitApdu(device.transmit, command, options),
    sendRaw: async (frame) => {
      const bytes = typeof frame === "string" ? fromHex(frame.replace(/\s+/g, "")) : frame;
      return parseResponseApdu(await device.transmit(bytes));
    },
    select: async () => {
      const { sw } = await card.send({ cla: 0x00, ins: 0xa4, p1: 0x04, p2: 0x00, data: HSM_AID, ne: 256 });
      expectOk(sw, "SELECT");
    },
    login: async () => {
      const { sw } = await card.send({ cla: 0x00, ins: 0x20, p1: 0x00, p2: 0x81, data: USER_PIN });
      expectOk(sw, "VERIFY");
    },
  };

  await card.select();
  const initialize = concatBytes(
    encodeTlv(0x80, Uint8Array.of(0x00, 0x01)),
    encodeTlv(0x81, USER_PIN),
    encodeTlv(0x82, SO_PIN),
    encodeTlv(0x91, Uint8Array.of(3)),
  );
  expectOk((await card.send({ cla: 0x80, ins: 0x50, p1: 0x00, p2: 0x00, data: initialize })).sw, "INITIALIZE");
  await card.select();
  await card.login();
  return card;
}

function expectOk(sw: number, what: string): void {
  if (sw !== 0x9000) throw new Error(`${what} failed with SW ${sw.toString(16).toUpperCase()}`);
}

/** Returns the ASCII bytes of `text`. */
export function ascii(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Encodes an extended case-4 frame: header, 3-byte Lc, data, 2-byte Le (as OpenSC sends key commands). */
export function extendedFrame(header: string, data: Uint8Array, ne: number): Uint8Array {
  return encodeCommandApdu({ ...parseHeader(header), data, ne }, { extended: true });
}

function parseHeader(header: string): { cla: number; ins: number; p1: number; p2: number } {
  const [cla, ins, p1, p2] = fromHex(header.replace(/\s+/g, ""));
  return { cla, ins, p1, p2 };
}

export { toHex };

/** Reads EF `fid` completely: SELECT by FID, then odd-INS READ BINARY until a read returns no data. */
export async function readFile(card: Card, fid: number): Promise<{ sw: number; content: Uint8Array }> {
  const fidBytes = Uint8Array.of(fid >> 8, fid & 0xff);
  const selected = await card.send({ cla: 0x00, ins: 0xa4, p1: 0x00, p2: 0x00, data: fidBytes, ne: 256 });
  if (selected.sw !== 0x9000) return { sw: selected.sw, content: new Uint8Array() };

  const parts: Uint8Array[] = [];
  let offset = 0;
  for (;;) {
    const data = concatBytes(Uint8Array.of(0x54, 0x02, offset >> 8, offset & 0xff));
    const read = await card.send({ cla: 0x00, ins: 0xb1, p1: 0x00, p2: 0x00, data, ne: 256 });
    if (read.sw !== 0x9000) return { sw: read.sw, content: concatBytes(...parts) };
    if (read.data.length === 0) return { sw: 0x9000, content: concatBytes(...parts) };
    parts.push(read.data);
    offset += read.data.length;
  }
}

/** CAR and CHR as OpenSC 0.23 sends them in GENERATE ASYMMETRIC KEY PAIR. */
export const OPENSC_CAR = "UTCA00001";
export const OPENSC_CHR = "ESPICOHSMTR00001";

/** Returns `value` big-endian in exactly `length` bytes. */
export function fixedBytes(value: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let rest = value;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return out;
}

/** 7F49 for an EC key the way OpenSC builds it: the OID and 81–85, 87 of the curve, no 86. */
export function ecTemplate(curveName: CurveName): Uint8Array {
  const { curve, fieldBytes } = curveByName(curveName);
  const domain = ecDomainFromNoble(curve);
  return encodeTlv(0x7f49, [
    encodeTlv(0x06, encodeOid(ID_TA_ECDSA_SHA_256)),
    encodeTlv(0x81, fixedBytes(domain.p, fieldBytes)),
    encodeTlv(0x82, fixedBytes(domain.a, fieldBytes)),
    encodeTlv(0x83, fixedBytes(domain.b, fieldBytes)),
    encodeTlv(0x84, domain.G),
    encodeTlv(0x85, fixedBytes(domain.n, Math.max(fieldBytes, Math.ceil(domain.n.toString(16).length / 2)))),
    encodeTlv(0x87, Uint8Array.of(1)),
  ]);
}

/** 7F49 for an RSA key as OpenSC builds it: OID, 82 exponent, 02 size; `bits` undefined leaves 02 out. */
export function rsaTemplate(bits: number | undefined, exponent = Uint8Array.of(0x01, 0x00, 0x01)): Uint8Array {
  const parts = [encodeTlv(0x06, encodeOid(ID_TA_RSA_V1_5_SHA_256)), encodeTlv(0x82, exponent)];
  if (bits !== undefined) parts.push(encodeTlv(0x02, Uint8Array.of(bits >> 8, bits & 0xff)));
  return encodeTlv(0x7f49, parts);
}

/** GENERATE ASYMMETRIC KEY PAIR data: 5F29, 42 CAR, the template, 5F20 CHR, then `extra` (metadata). */
export function keyPairData(template: Uint8Array, extra: Uint8Array[] = []): Uint8Array {
  return concatBytes(
    encodeTlv(0x5f29, Uint8Array.of(0)),
    encodeTlv(0x42, ascii(OPENSC_CAR)),
    template,
    encodeTlv(0x5f20, ascii(OPENSC_CHR)),
    ...extra,
  );
}

/** Sends GENERATE ASYMMETRIC KEY PAIR for key `keyId` with extended Lc and Le 0000, as OpenSC does. */
export async function generateKeyPair(card: Card, keyId: number, data: Uint8Array): Promise<{ data: Uint8Array; sw: number }> {
  const header = `0046${keyId.toString(16).padStart(2, "0")}00`;
  return card.sendRaw(extendedFrame(header, data, 65536));
}

/** Generates key `keyId` and returns the public key from its authenticated request; throws unless 9000. */
export async function generatedPublicKey(card: Card, keyId: number, template: Uint8Array, extra: Uint8Array[] = []): Promise<CvcPublicKey> {
  const { data, sw } = await generateKeyPair(card, keyId, keyPairData(template, extra));
  if (sw !== 0x9000) throw new Error(`GENERATE ASYMMETRIC KEY PAIR of key ${keyId} failed with SW ${sw.toString(16).toUpperCase()}`);
  return decodeAuthenticatedRequest(data).request.body.publicKey;
}
