/**
 * DECIPHER / ECDH (INS 62): `80 62 kk alg`.
 *   21  RSA raw: k-byte ciphertext (a shorter one is zero-padded on the right) → all k bytes
 *   22  RSA PKCS#1 v1.5 → plaintext
 *   23  RSA-OAEP, SHA-256 for the hash and MGF1, empty label → plaintext
 *   80  ECDH with the peer point 04‖x‖y → 04 ‖ shared x-coordinate; X25519/X448
 *       with the peer's raw u-coordinate → 04 ‖ the RFC 7748 shared secret
 *   84  ECDH with a peer CV certificate carrying a key-domain UID (XKEK) → no data
 * Any other P2 is 6B00. Padding failures are 6400, and a bad peer point is 6984.
 */
import { CardError, SW, type AppletResponse } from "@hsmkit/apdu";
import { encodeOid, ID_KEY_DOMAIN_UID } from "@hsmkit/cvc";
import { concatBytes } from "@hsmkit/tlv";
import { ecdh } from "../crypto/ec.ts";
import { octetAgree } from "../crypto/octet-curves.ts";
import { rsaDecrypt } from "../crypto/rsa.ts";
import type { CommandContext, CommandHandler, KeyInfo } from "../hsm/context.ts";
import { firstTlv, flatTlvs } from "../hsm/tlv-walk.ts";
import { decipherScheme, type DecipherScheme } from "../keys/algorithms.ts";
import { findDeep, TAG_PUBLIC_KEY_TEMPLATE } from "../keys/key-template.ts";
import { loadAsymmetricKey } from "../keys/private-key.ts";
import { deriveDomainDkek } from "../policy/xkek.ts";

/** The uncompressed-point marker the SmartCard-HSM puts before the ECDH result (OpenSC strips it). */
const POINT_MARKER = 0x04;

export const decipher: CommandHandler = async (ctx) => {
  const { p1: keyId, p2: algorithm } = ctx.apdu;
  const info = await ctx.beginKeyUse(keyId, algorithm);

  const scheme = decipherScheme(algorithm);
  if (scheme === undefined) throw new CardError(SW.WRONG_P1P2, `DECIPHER algorithm ${hex(algorithm)} is not defined`);

  if (scheme.kind === "rsa") return decryptRsa(ctx, info, scheme);
  if (scheme.kind === "ecdh") return agreeEcdh(ctx, info);
  return agreeXkek(ctx, info);
};

async function decryptRsa(ctx: CommandContext, info: KeyInfo, scheme: Extract<DecipherScheme, { kind: "rsa" }>): Promise<AppletResponse> {
  if (info.type !== "rsa") {
    throw new CardError(SW.EXECUTION_ERROR, `key ${info.id} is ${info.type.toUpperCase()}, algorithm ${hex(ctx.apdu.p2)} needs RSA`);
  }

  const key = await loadAsymmetricKey(ctx, info);
  if (key.type !== "rsa") throw new TypeError(`key ${info.id} decoded as ${key.type}`);
  const plaintext = await rsaDecrypt(key.key, scheme.scheme, ctx.apdu.data);

  await ctx.finishKeyUse(info);
  return { data: plaintext };
}

async function agreeEcdh(ctx: CommandContext, info: KeyInfo): Promise<AppletResponse> {
  const shared = await sharedSecret(ctx, info, ctx.apdu.data);
  await ctx.finishKeyUse(info);
  return { data: concatBytes(Uint8Array.of(POINT_MARKER), shared) };
}

/**
 * Algorithm 84: ECDH with the public key (7F49/86) of a peer CV certificate
 * whose extension 65 carries the key-domain UID; the result would become that
 * key domain's DKEK (policy/xkek.ts). The usage counter is decremented.
 */
async function agreeXkek(ctx: CommandContext, info: KeyInfo): Promise<AppletResponse> {
  const tlvs = flatTlvs(ctx.apdu.data);
  const publicKey = findDeep(tlvs, TAG_PUBLIC_KEY_TEMPLATE);
  const point = publicKey && firstTlv(publicKey, 0x86);
  if (point === undefined) throw new CardError(SW.REFERENCE_DATA_NOT_USABLE, "algorithm 84 needs a CV certificate with public point 7F49/86");

  const uid = keyDomainUid(findDeep(tlvs, 0x65));
  if (uid === undefined) throw new CardError(SW.WRONG_LENGTH, "the peer certificate has no key-domain UID extension");

  const shared = await sharedSecret(ctx, info, point);
  try {
    await deriveDomainDkek(ctx, info, uid, shared);
  } finally {
    shared.fill(0);
  }
  await ctx.finishKeyUse(info);
  return {};
}

/** Runs ECDH with `peerPoint`. An RSA or AES key is 6984, like a point that is not on the key's curve. */
async function sharedSecret(ctx: CommandContext, info: KeyInfo, peerPoint: Uint8Array): Promise<Uint8Array> {
  if (info.type !== "ec") throw new CardError(SW.REFERENCE_DATA_NOT_USABLE, `key ${info.id} is ${info.type.toUpperCase()}, ECDH needs an EC key`);

  const key = await loadAsymmetricKey(ctx, info);
  if (key.type === "octet") return octetAgree(key.key, peerPoint);
  if (key.type !== "ec") throw new TypeError(`key ${info.id} decoded as ${key.type}`);
  return ecdh(key.key, peerPoint);
}

const KEY_DOMAIN_UID_OID = encodeOid(ID_KEY_DOMAIN_UID);

/** Returns the value of 80 in the extension template 73 whose OID is id-key-domain-UID, or undefined. */
function keyDomainUid(extensions: Uint8Array | undefined): Uint8Array | undefined {
  if (extensions === undefined) return undefined;

  for (const template of flatTlvs(extensions)) {
    if (template.tag !== 0x73) continue;
    const items = flatTlvs(template.value);
    const oid = firstTlv(items, 0x06);
    if (oid !== undefined && equalBytes(oid, KEY_DOMAIN_UID_OID)) return firstTlv(items, 0x80);
  }
  return undefined;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function hex(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, "0");
}
