/**
 * The asymmetric private keys of key ids 1..255 in the form the handlers use,
 * and their sealed encoding: DER RSAPrivateKey (PKCS#1) for RSA, DER
 * ECPrivateKey (RFC 5915) for EC.
 */
import { CardError, SW } from "@hsmkit/apdu";
import { decodeEcPrivateKey, encodeEcPrivateKey, type EcPrivateKey } from "../crypto/ec.ts";
import { decodeRsaPrivateKey, encodeRsaPrivateKey, type RsaPrivateKey } from "../crypto/rsa.ts";
import type { CommandContext, KeyInfo } from "../hsm/context.ts";

export type AsymmetricKey = { type: "rsa"; key: RsaPrivateKey } | { type: "ec"; key: EcPrivateKey };

/** Returns the bytes `storeKey` seals for `key`. */
export function encodeAsymmetricKey(key: AsymmetricKey): Uint8Array {
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
    return { type: "ec", key: decodeEcPrivateKey(sealed) };
  } catch (error) {
    throw new CardError(SW.EXECUTION_ERROR, `key ${info.id}: stored ${info.type} key does not decode: ${(error as Error).message}`);
  } finally {
    sealed.fill(0);
  }
}
