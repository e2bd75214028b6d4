// A virtual device for the access-policy tests (policy-*.test.ts): INITIALIZE
// with extra tags, raw frames in, data and SW out, and builders for PUK requests.
import { parseResponseApdu, transmitApdu, type CommandApduFields } from "@hsmkit/apdu";
import {
  ecDomainFromNoble,
  ecdsaSigner,
  encodeAuthenticatedRequest,
  ID_TA_ECDSA_SHA_256,
  signCertificate,
  type CvcPublicKey,
} from "@hsmkit/cvc";
import { concatBytes, encodeTlv, fromHex, toHex } from "@hsmkit/tlv";
import { p256 } from "@noble/curves/nist.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { createDevice, type DeviceOptions, type VirtualDevice } from "../src/device.ts";
import { HSM_AID } from "../src/hsm/constants.ts";
import { firstCertificateChr } from "../src/hsm/device-state.ts";
import { ecTemplate, extendedFrame, keyPairData, SO_PIN, USER_PIN } from "./keys-fixture.ts";

export { SO_PIN, USER_PIN };

const TEST_SCRYPT = { N: 16, r: 1, p: 1 };

export interface PolicyCard {
  device: VirtualDevice;
  send(command: CommandApduFields): Promise<{ data: Uint8Array; sw: number }>;
  /** Sends a raw frame (hex, spaces allowed) and returns the SW as 4 upper-case hex digits. */
  sw(frame: string | Uint8Array): Promise<string>;
  raw(frame: string | Uint8Array): Promise<{ data: Uint8Array; sw: number; swHex: string }>;
  select(): Promise<void>;
  verifyUserPin(pin?: Uint8Array): Promise<string>;
}

export async function openPolicyCard(options: DeviceOptions = {}): Promise<PolicyCard> {
  const device = await createDevice({ scrypt: TEST_SCRYPT, ...options });
  device.powerOn();
  return wrapDevice(device);
}

export function wrapDevice(device: VirtualDevice): PolicyCard {
  const raw = async (frame: string | Uint8Array) => {
    const bytes = typeof frame === "string" ? fromHex(frame.replace(/\s+/g, "")) : frame;
    const response = parseResponseApdu(await device.transmit(bytes));
    return { ...response, swHex: swHex(response.sw) };
  };
  const card: PolicyCard = {
    device,
    send: (command) => transmitApdu(device.transmit, command, { extended: true }),
    raw,
    sw: async (frame) => (await raw(frame)).swHex,
    select: async () => {
      const { sw } = await card.send({ cla: 0x00, ins: 0xa4, p1: 0x04, p2: 0x00, data: HSM_AID, ne: 256 });
      if (sw !== 0x9000) throw new Error(`SELECT answered ${swHex(sw)}`);
    },
    verifyUserPin: async (pin = USER_PIN) => swHex((await card.send({ cla: 0x00, ins: 0x20, p1: 0x00, p2: 0x81, data: pin })).sw),
  };
  return card;
}

/** INITIALIZE with the test PINs, 3 retries, `options` and `extra` TLVs; throws unless 9000. */
export async function initializeCard(card: PolicyCard, options = 0x0001, extra: Uint8Array[] = []): Promise<void> {
  await card.select();
  const data = concatBytes(
    encodeTlv(0x80, Uint8Array.of(options >> 8, options & 0xff)),
    encodeTlv(0x81, USER_PIN),
    encodeTlv(0x82, SO_PIN),
    encodeTlv(0x91, Uint8Array.of(3)),
    ...extra,
  );
  const { sw } = await card.send({ cla: 0x80, ins: 0x50, p1: 0x00, p2: 0x00, data });
  if (sw !== 0x9000) throw new Error(`INITIALIZE answered ${swHex(sw)}`);
}

/** Generates P-256 key `keyId` with `extra` metadata TLVs (e.g. tag 90); returns the SW. */
export async function generateEcKey(card: PolicyCard, keyId: number, extra: Uint8Array[] = []): Promise<string> {
  const header = `0046${byteHex(keyId)}00`;
  return card.sw(extendedFrame(header, keyPairData(ecTemplate("secp256r1"), extra), 65536));
}

/** SIGNATURE with ECDSA over a given SHA-256 hash (P2 70); returns the SW. */
export async function signHash(card: PolicyCard, keyId: number): Promise<string> {
  const hash = sha256(new TextEncoder().encode("policy test message"));
  return swHex((await card.send({ cla: 0x80, ins: 0x68, p1: keyId, p2: 0x70, data: hash, ne: 256 })).sw);
}

/** Tag 90 (usage counter) with `counter` as 4 bytes. */
export function counterTag(counter: number): Uint8Array {
  const value = new Uint8Array(4);
  new DataView(value.buffer).setUint32(0, counter);
  return encodeTlv(0x90, value);
}

/** An authenticator for public key authentication: a P-256 key and its registration request. */
export interface Authenticator {
  chr: string;
  privateKey: Uint8Array;
  /** Content of the authenticated CV request (7F21 ‖ 42 ‖ 5F37), the PUK AUTH data. */
  registration: Uint8Array;
}

/** Creates an authenticator whose request is self-signed inside and signed outside by an unrelated key. */
export async function createAuthenticator(chr: string, publicKey?: CvcPublicKey): Promise<Authenticator> {
  const privateKey = p256.utils.randomSecretKey();
  const key: CvcPublicKey = publicKey ?? {
    kind: "ec",
    oid: ID_TA_ECDSA_SHA_256,
    domain: ecDomainFromNoble(p256),
    point: p256.getPublicKey(privateKey, false),
  };
  const inner = await signCertificate({ car: chr, publicKey: key, chr }, ecdsaSigner(p256, privateKey));
  const outerKey = p256.utils.randomSecretKey();
  const authenticated = await encodeAuthenticatedRequest(inner, "DEAUTHORITY01", ecdsaSigner(p256, outerKey));
  return { chr, privateKey, registration: contentOf67(authenticated) };
}

/** Signs SHA-256(device CHR ‖ challenge) with the authenticator's key: the EXTERNAL AUTHENTICATE data. */
export async function answerChallenge(authenticator: Authenticator, deviceChr: string, challenge: Uint8Array): Promise<Uint8Array> {
  const message = concatBytes(new TextEncoder().encode(deviceChr), challenge);
  return ecdsaSigner(p256, authenticator.privateKey)(message);
}

function contentOf67(encoded: Uint8Array): Uint8Array {
  // 67 L... : skip the tag and the length octets.
  const lengthByte = encoded[1];
  const headerLength = lengthByte < 0x80 ? 2 : 2 + (lengthByte & 0x7f);
  return encoded.slice(headerLength);
}

export function swHex(sw: number): string {
  return sw.toString(16).toUpperCase().padStart(4, "0");
}

export function byteHex(value: number): string {
  return value.toString(16).toUpperCase().padStart(2, "0");
}

export { toHex };

/** Returns the device CHR: the CHR of the first certificate in EF 2F02, read as a client would. */
export async function readDeviceChr(card: PolicyCard): Promise<string> {
  const selected = await card.raw("00A40000022F0200");
  if (selected.sw !== 0x9000) throw new Error(`SELECT 2F02 answered ${selected.swHex}`);
  const { data, sw } = await card.send({ cla: 0x00, ins: 0xb1, p1: 0x00, p2: 0x00, data: fromHex("54020000"), ne: 65536 });
  if (sw !== 0x9000) throw new Error(`READ BINARY 2F02 answered ${swHex(sw)}`);
  const chr = firstCertificateChr(data);
  if (!chr) throw new Error("EF 2F02 holds no CV certificate");
  return chr;
}
