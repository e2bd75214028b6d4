/**
 * SIGNATURE (INS 68): `80 68 kk alg`, data = message, hash or padded block as
 * the algorithm byte P2 selects (keys/algorithms.ts). RSA returns exactly k
 * bytes (the modulus length), all in one response whatever Le requested; ECDSA
 * returns DER `SEQUENCE { INTEGER r, INTEGER s }`; Ed25519/Ed448 return the raw
 * PureEdDSA signature (of the data for 70, of its on-card hash for 71–75).
 */
import { CardError, SW, type AppletResponse } from "@hsmkit/apdu";
import { ecdsaSignDigest, type EcPrivateKey } from "../crypto/ec.ts";
import { eddsaSign, isEdwards, type OctetPrivateKey } from "../crypto/octet-curves.ts";
import { encodeDigestInfo, hash, hashByLength, parseDigestInfo, type HashName } from "../crypto/hash.ts";
import { rsaPkcs1Sign, rsaPssSign, rsaRaw, type RsaPrivateKey } from "../crypto/rsa.ts";
import type { CommandHandler } from "../hsm/context.ts";
import { signWithPendingHdNode } from "../hd/sign.ts";
import { isRsaSignature, signatureScheme, type SignatureScheme } from "../keys/algorithms.ts";
import { matchDigestInfo } from "../keys/digest-info.ts";
import { loadAsymmetricKey } from "../keys/private-key.ts";

export const signature: CommandHandler = async (ctx) => {
  const { p1: keyId, p2: algorithm } = ctx.apdu;
  const scheme = signatureScheme(algorithm);
  if (scheme?.kind === "hd-ecdsa") return signWithPendingHdNode(ctx);

  const info = await ctx.beginKeyUse(keyId, algorithm);
  if (scheme === undefined) throw new CardError(SW.INCORRECT_P1P2, `SIGNATURE algorithm ${hex(algorithm)} is not defined`);

  const wantsRsa = isRsaSignature(scheme);
  if (info.type !== (wantsRsa ? "rsa" : "ec")) {
    throw new CardError(SW.EXECUTION_ERROR, `key ${keyId} is ${info.type.toUpperCase()}, algorithm ${hex(algorithm)} needs ${wantsRsa ? "RSA" : "EC"}`);
  }

  const key = await loadAsymmetricKey(ctx, info);
  const response: AppletResponse =
    key.type === "rsa"
      ? rsaResponse(await signRsa(key.key, scheme, ctx.apdu.data))
      : { data: key.type === "octet" ? signOctet(key.key, scheme, ctx.apdu.data) : signEc(key.key, scheme, ctx.apdu.data) };

  await ctx.finishKeyUse(info);
  ctx.log.debug("signed", { key: keyId, algorithm: hex(algorithm) });
  return response;
};

/** RSA results go out whole (Ne forced to k), as OpenSC expects them in one response. */
function rsaResponse(signature: Uint8Array): AppletResponse {
  return { data: signature, ne: signature.length };
}

async function signRsa(key: RsaPrivateKey, scheme: SignatureScheme, data: Uint8Array): Promise<Uint8Array> {
  switch (scheme.kind) {
    case "rsa-raw":
      // OpenSC pads on the host and sends the whole k-byte block: no padding and no DigestInfo parsing here.
      return rsaRaw(key, data);
    case "rsa-pkcs1-digest-info":
      if (matchDigestInfo(data) === undefined) {
        throw new CardError(SW.EXECUTION_ERROR, "algorithm 30 needs a DER DigestInfo of MD5, SHA-1, SHA-2 or RIPEMD-160");
      }
      return rsaPkcs1Sign(key, data);
    case "rsa-pkcs1":
      return rsaPkcs1Sign(key, encodeDigestInfo(scheme.hash, hash(scheme.hash, data)));
    case "rsa-pss-digest": {
      const supplied = suppliedPssHash(data);
      return rsaPssSign(key, supplied.hash, supplied.digest);
    }
    case "rsa-pss":
      return rsaPssSign(key, scheme.hash, hash(scheme.hash, data));
    default:
      throw new TypeError(`not an RSA signature scheme: ${scheme.kind}`);
  }
}

/**
 * Reads the hash of algorithm 40: a DER DigestInfo (its OID names the hash, the
 * form OpenSC sends) or a raw SHA-1/SHA-2 digest recognised by its length.
 */
function suppliedPssHash(data: Uint8Array): { hash: HashName; digest: Uint8Array } {
  const digestInfo = parseDigestInfo(data);
  if (digestInfo !== undefined) return digestInfo;

  const name = hashByLength(data.length);
  if (name !== undefined) return { hash: name, digest: data };

  // NOTE: the firmware falls back to a raw RSA operation here; the device rejects the input instead.
  throw new CardError(SW.EXECUTION_ERROR, `algorithm 40 needs a SHA-1/SHA-2 hash (20, 28, 32, 48 or 64 bytes) or its DigestInfo, got ${data.length} bytes`);
}

function signEc(key: EcPrivateKey, scheme: SignatureScheme, data: Uint8Array): Uint8Array {
  if (scheme.kind === "ecdsa") return ecdsaSignDigest(key, hash(scheme.hash, data));
  if (scheme.kind !== "ecdsa-digest") throw new TypeError(`not an ECDSA signature scheme: ${scheme.kind}`);

  if (data.length === 0) throw new CardError(SW.WRONG_LENGTH, "algorithm 70 needs the hash to sign, got no data");
  return ecdsaSignDigest(key, data);
}

/** EdDSA for 70 (over the data) and 71–75 (over its hash); X25519/X448 keys cannot sign (6400, a key type mismatch). */
function signOctet(key: OctetPrivateKey, scheme: SignatureScheme, data: Uint8Array): Uint8Array {
  if (!isEdwards(key.curve)) throw new CardError(SW.EXECUTION_ERROR, `${key.curve} keys agree on secrets and cannot sign`);
  if (scheme.kind === "ecdsa") return eddsaSign(key, hash(scheme.hash, data));
  if (scheme.kind !== "ecdsa-digest") throw new TypeError(`not an EdDSA signature scheme: ${scheme.kind}`);
  return eddsaSign(key, data);
}

function hex(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, "0");
}
