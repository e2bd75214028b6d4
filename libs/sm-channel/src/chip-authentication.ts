/**
 * Chip authentication with id-CA-ECDH-AES-CBC-CMAC-128, the way the
 * SmartCard-HSM opens a secure-messaging session:
 *
 *   host → MSE SET AT      00 22 41 A4 0C 80 0A <protocol OID>
 *   host → GENERAL AUTH.   00 86 00 00 Lc 7C L 80 L <PK_PCD> 00
 *   card ← 7C 14 81 08 <nonce> 82 08 <token T>
 *
 * PK_PCD is the host's ephemeral public key (uncompressed, on the curve of the
 * device key), Z the x-coordinate of the ECDH point between it and the device
 * key, and T proves that the card derived the same session keys.
 */
import { SW, transmitApdu, type CommandApdu, type CommandApduFields, type ResponseApdu, type Transmit } from "@hsmkit/apdu";
import { decodeTlvs, encodeTlv, toHex } from "@hsmkit/tlv";
import type { ECDH } from "@noble/curves/abstract/weierstrass.js";
import { p256 } from "@noble/curves/nist.js";
import { SecureMessagingError } from "./errors.ts";
import { constantTimeEqual } from "./protection.ts";
import { SecureChannel } from "./secure-channel.ts";
import { authenticationToken, deriveSessionKeys, ID_CA_ECDH_AES_CBC_CMAC_128, MAC_LENGTH, NONCE_LENGTH } from "./session-keys.ts";

/** Tags inside the dynamic authentication data template 7C. */
const TAG_DYNAMIC_AUTHENTICATION_DATA = 0x7c;
const TAG_EPHEMERAL_PUBLIC_KEY = 0x80;
const TAG_NONCE = 0x81;
const TAG_TOKEN = 0x82;

/** MSE SET AT selecting id-CA-ECDH-AES-CBC-CMAC-128, as pypicohsm and OpenSC send it. */
export function mseSetAtCommand(): CommandApduFields {
  return { cla: 0x00, ins: 0x22, p1: 0x41, p2: 0xa4, data: encodeTlv(0x80, ID_CA_ECDH_AES_CBC_CMAC_128) };
}

/** GENERAL AUTHENTICATE carrying the host's ephemeral public key. */
export function generalAuthenticateCommand(ephemeralPublicKey: Uint8Array): CommandApduFields {
  const data = encodeTlv(TAG_DYNAMIC_AUTHENTICATION_DATA, encodeTlv(TAG_EPHEMERAL_PUBLIC_KEY, ephemeralPublicKey));
  return { cla: 0x00, ins: 0x86, p1: 0x00, p2: 0x00, data, ne: 256 };
}

/** Result of the card side of chip authentication. */
export interface ChipAuthenticationAnswer {
  /** The new session, SSC 0. */
  readonly channel: SecureChannel;
  /** Response data of GENERAL AUTHENTICATE: 7C { 81 nonce, 82 token }. */
  readonly response: Uint8Array;
}

/**
 * Card side: derives the session from Z (computed by the caller with the device
 * key, so that the key stays with the caller) and a fresh 8-byte nonce, and
 * returns the GENERAL AUTHENTICATE response.
 */
export function answerChipAuthentication(ephemeralPublicKey: Uint8Array, sharedSecret: Uint8Array, nonce: Uint8Array): ChipAuthenticationAnswer {
  const keys = deriveSessionKeys(sharedSecret, nonce);
  const token = authenticationToken(keys.kMac, ephemeralPublicKey);
  const response = encodeTlv(TAG_DYNAMIC_AUTHENTICATION_DATA, [encodeTlv(TAG_NONCE, nonce), encodeTlv(TAG_TOKEN, token)]);
  const channel = new SecureChannel(keys);
  keys.kEnc.fill(0);
  keys.kMac.fill(0);
  return { channel, response };
}

/** Options of openSecureChannel. */
export interface OpenSecureChannelOptions {
  /** Curve of the device key; default secp256r1 (noble's `p256`). */
  readonly curve?: ECDH;
  /** Ephemeral private key, for tests that need fixed values; default a fresh random key. */
  readonly ephemeralSecretKey?: Uint8Array;
}

/**
 * Host side: runs MSE SET AT and GENERAL AUTHENTICATE against the card behind
 * `transmit`, checks the card's token and returns a channel whose `transmit`
 * protects each command. `devicePublicKey` is the card's key 0 point, taken
 * from its device certificate (EF 2F02) or its request in CE00 after the
 * caller has checked it.
 */
export async function openSecureChannel(transmit: Transmit, devicePublicKey: Uint8Array, options: OpenSecureChannelOptions = {}): Promise<HostSecureChannel> {
  const curve = options.curve ?? p256;
  const ephemeralSecret = options.ephemeralSecretKey ?? curve.utils.randomSecretKey();
  const ephemeralPublic = curve.getPublicKey(ephemeralSecret, false);

  let sharedPoint: Uint8Array;
  try {
    sharedPoint = curve.getSharedSecret(ephemeralSecret, devicePublicKey, true);
  } catch (error) {
    throw new SecureMessagingError("malformed", `invalid device public key ${toHex(devicePublicKey)}: ${(error as Error).message}`);
  } finally {
    if (options.ephemeralSecretKey === undefined) ephemeralSecret.fill(0);
  }

  expectOk(await transmitApdu(transmit, mseSetAtCommand()), "MSE SET AT");
  const answer = await transmitApdu(transmit, generalAuthenticateCommand(ephemeralPublic));
  expectOk(answer, "GENERAL AUTHENTICATE");

  const { nonce, token } = parseAnswer(answer.data);
  const keys = deriveSessionKeys(sharedPoint.subarray(1), nonce);
  sharedPoint.fill(0);
  if (!constantTimeEqual(authenticationToken(keys.kMac, ephemeralPublic), token)) {
    throw new SecureMessagingError("bad-mac", "chip authentication failed: the card's token does not match; the card does not hold the expected device key");
  }
  return new HostSecureChannel(transmit, new SecureChannel(keys));
}

/** A host's open session: sends plain commands protected and returns plain responses. */
export class HostSecureChannel {
  constructor(
    private readonly link: Transmit,
    /** The underlying session (its SSC, and wrap/unwrap for callers that send frames themselves). */
    readonly channel: SecureChannel,
  ) {}

  /** Protects `command`, sends it (following 61XX), and returns the checked plain response. */
  async transmit(command: CommandApduFields): Promise<ResponseApdu> {
    const wrapped = this.channel.wrapCommand(command);
    const response = await transmitApdu(this.link, wrapped.command, { extended: wrapped.extended });
    return this.channel.unwrapResponse(response);
  }

  /** Ends the session on the host; the card ends it at its next SELECT or SM error. */
  close(): void {
    this.channel.close();
  }
}

/**
 * Reads the ephemeral public key from GENERAL AUTHENTICATE data 7C { 80 PK_PCD }.
 * Returns undefined when 7C or 80 is missing or the objects are malformed.
 */
export function ephemeralKeyOf(command: CommandApdu): Uint8Array | undefined {
  try {
    const [template] = decodeTlvs(command.data);
    if (template === undefined || template.tag !== TAG_DYNAMIC_AUTHENTICATION_DATA) return undefined;
    return decodeTlvs(template.value).find((tlv) => tlv.tag === TAG_EPHEMERAL_PUBLIC_KEY)?.value.slice();
  } catch {
    return undefined;
  }
}

function parseAnswer(data: Uint8Array): { nonce: Uint8Array; token: Uint8Array } {
  try {
    const [template] = decodeTlvs(data);
    if (template?.tag === TAG_DYNAMIC_AUTHENTICATION_DATA) {
      const items = decodeTlvs(template.value);
      const nonce = items.find((tlv) => tlv.tag === TAG_NONCE)?.value;
      const token = items.find((tlv) => tlv.tag === TAG_TOKEN)?.value;
      if (nonce?.length === NONCE_LENGTH && token?.length === MAC_LENGTH) return { nonce, token };
    }
  } catch {
    // Reported below with the data.
  }
  throw new SecureMessagingError("malformed", `invalid GENERAL AUTHENTICATE response ${toHex(data)}: expected 7C { 81 <8-byte nonce>, 82 <8-byte token> }`);
}

function expectOk(response: ResponseApdu, step: string): void {
  if (response.sw !== SW.OK) {
    const sw = toHex(Uint8Array.of(response.sw >> 8, response.sw & 0xff)).toUpperCase();
    throw new SecureMessagingError("card-error", `${step} failed with SW ${sw}`, response.sw);
  }
}
