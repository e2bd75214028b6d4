/**
 * The asymmetric private keys of key ids 1..255 in the form the handlers use,
 * and their sealed encoding: DER RSAPrivateKey (PKCS#1) for RSA, DER
 * ECPrivateKey (RFC 5915) for EC, DER PKCS#8 (RFC 8410) for X25519, X448,
 * Ed25519 and Ed448 (stored as EC keys whose curve names the octet curve).
 */
import { CardError, SW } from "@hsmkit/apdu";
import { decodeEcPrivateKey, encodeEcPrivateKey, type EcPrivateKey } from "../crypto/ec.ts";
import { decodeOctetPrivateKey, encodeOctetPrivateKey, isOctetCurve, type OctetPrivateKey } from "../crypto/octet-curves.ts";
import { decodeRsaPrivateKey, encodeRsaPrivateKey, type RsaPrivateKey } from "../crypto/rsa.ts";
import type { CommandContext, KeyInfo } from "../hsm/context.ts";

export type AsymmetricKey = { type: "rsa"; key: RsaPrivateKey } | { type: "ec"; key: EcPrivateKey } | { type: "octet"; key: OctetPrivateKey };

/** Returns the bytes `storeKey` seals for `key`. */
export function encodeAsymmetricKey(key: AsymmetricKey): Uint8Array {
  if (key.type === "octet") return encodeOctetPrivateKey(key.key);
  return key.type === "rsa" ? encodeRsaPrivateKey(key.key) : encodeEcPrivateKey(key.key);
}

/**
 * Unseals and decodes the private key of `info`. Throws CardError 6400 without
 * a PIN session, for an AES key, or when the sealed bytes do not decode.
 */
export async function loadAsymmetricKey(ctx: CommandContext, info: KeyInfo): Promise<AsymmetricKey> {
  if (info.type === "aes") throw new CardError(SW.EXECUTION_ERROR, `key ${info.id} is an AES key, not an RSA or EC key`);

  const sealed = await ctx.objects.loadPrivateKey(info);
  try {
    if (info.type === "rsa") return { type: "rsa", key: decodeRsaPrivateKey(sealed) };
    if (isOctetCurve(info.curve)) return { type: "octet", key: decodeOctetPrivateKey(sealed) };
    return { type: "ec", key: decodeEcPrivateKey(sealed) };
  } catch (error) {
    throw new CardError(SW.EXECUTION_ERROR, `key ${info.id}: stored ${info.type} key does not decode: ${(error as Error).message}`);
  } finally {
    sealed.fill(0);
  }
}
