/**
 * Elliptic-curve private-key operations of the card: key generation, ECDSA over a digest the
 * caller supplies, and ECDH. All arithmetic is @noble/curves.
 */
import { CardError, SW } from "@hsmkit/apdu";
import { concatBytes } from "@hsmkit/tlv";
import { bigIntToBytes, bytesToBigInt, curveByName, curveByOid, encodeOid, type CurveName } from "./curves.ts";

export interface EcPrivateKey {
  curve: CurveName;
  /** Private scalar, big-endian, exactly orderBytes long. */
  d: Uint8Array;
}

/** Generates a key pair. `publicPoint` is the uncompressed point 04 ‖ x ‖ y. */
export function generateEcKey(curve: CurveName): { privateKey: EcPrivateKey; publicPoint: Uint8Array } {
  const info = curveByName(curve);
  const d = info.curve.utils.randomSecretKey();
  const privateKey = { curve, d };
  return { privateKey, publicPoint: ecPublicPoint(privateKey) };
}

/** Returns the uncompressed public point 04 ‖ x ‖ y of `key`. */
export function ecPublicPoint(key: EcPrivateKey): Uint8Array {
  return curveByName(key.curve).curve.getPublicKey(key.d, false);
}

/**
 * Signs `digest` with ECDSA and returns DER `SEQUENCE { INTEGER r, INTEGER s }`.
 * A digest of any length is accepted: ECDSA keeps its leftmost bits up to the order's length.
 * Nonces follow RFC 6979 with fresh random input mixed in (hedged signatures).
 */
export function ecdsaSignDigest(key: EcPrivateKey, digest: Uint8Array): Uint8Array {
  return signDigest(key, digest, "der");
}

/** Signs `digest` like {@link ecdsaSignDigest} and returns r ‖ s, each orderBytes long (CVC form). */
export function ecdsaSignDigestRaw(key: EcPrivateKey, digest: Uint8Array): Uint8Array {
  return signDigest(key, digest, "compact");
}

function signDigest(key: EcPrivateKey, digest: Uint8Array, format: "der" | "compact"): Uint8Array {
  const { curve } = curveByName(key.curve);
  return curve.sign(digest, key.d, { prehash: false, format, extraEntropy: true });
}

/**
 * Computes the ECDH shared secret with `peerPoint` (uncompressed 04 ‖ x ‖ y on the key's curve)
 * and returns its x-coordinate, fieldBytes long.
 * Throws CardError REFERENCE_DATA_NOT_USABLE (69 84) for a point of the wrong length or form,
 * off the curve, or at infinity.
 */
export function ecdh(key: EcPrivateKey, peerPoint: Uint8Array): Uint8Array {
  const info = curveByName(key.curve);
  const expectedLength = 1 + 2 * info.fieldBytes;
  if (peerPoint.length !== expectedLength || peerPoint[0] !== 0x04) {
    throw new CardError(
      SW.REFERENCE_DATA_NOT_USABLE,
      `invalid ECDH peer point: expected ${expectedLength} bytes 04‖x‖y on ${info.name}, got ${peerPoint.length} bytes`,
    );
  }

  let shared: Uint8Array;
  try {
    shared = info.curve.getSharedSecret(key.d, peerPoint, false);
  } catch (error) {
    throw new CardError(
      SW.REFERENCE_DATA_NOT_USABLE,
      `invalid ECDH peer point on ${info.name}: ${(error as Error).message}`,
    );
  }
  return shared.slice(1, 1 + info.fieldBytes);
}

// ECPrivateKey (RFC 5915, SEC 1 C.4) without the optional public key:
//   SEQUENCE { INTEGER 1, OCTET STRING d, [0] { OBJECT IDENTIFIER namedCurve } }
// Every supported curve keeps the whole structure under 128 bytes, so all DER lengths are one byte.

/** Serializes `key` as a DER ECPrivateKey (RFC 5915) naming its curve by OID. */
export function encodeEcPrivateKey(key: EcPrivateKey): Uint8Array {
  const info = curveByName(key.curve);
  const oid = encodeOid(info.oid);
  const d = bigIntToBytes(bytesToBigInt(key.d), info.orderBytes);
  const parameters = derElement(0xa0, derElement(0x06, oid));
  return derElement(0x30, concatBytes(derElement(0x02, Uint8Array.of(1)), derElement(0x04, d), parameters));
}

/**
 * Parses the output of {@link encodeEcPrivateKey}.
 * Throws a RangeError for any other structure, an unknown curve, or d outside [1, n − 1].
 */
export function decodeEcPrivateKey(bytes: Uint8Array): EcPrivateKey {
  const reader = new DerReader(bytes);
  const body = new DerReader(reader.read(0x30));
  reader.expectEnd();

  const version = body.read(0x02);
  if (version.length !== 1 || version[0] !== 1) throw new RangeError("invalid ECPrivateKey: version must be 1");
  const d = body.read(0x04);
  const parameters = new DerReader(body.read(0xa0));
  body.expectEnd();
  const oid = parameters.read(0x06);
  parameters.expectEnd();

  const info = curveByOid(oid);
  if (info === undefined) throw new RangeError("invalid ECPrivateKey: unsupported curve OID");
  if (d.length !== info.orderBytes) {
    throw new RangeError(`invalid ECPrivateKey: d must be ${info.orderBytes} bytes on ${info.name}, got ${d.length}`);
  }
  if (!info.curve.utils.isValidSecretKey(d)) throw new RangeError("invalid ECPrivateKey: d out of range");
  return { curve: info.name, d: d.slice() };
}

function derElement(tag: number, content: Uint8Array): Uint8Array {
  if (content.length > 0x7f) throw new RangeError("DER content too long for a one-byte length");
  return concatBytes(Uint8Array.of(tag, content.length), content);
}

/** Reads consecutive DER elements with one-byte tags and short-form lengths. */
class DerReader {
  #bytes: Uint8Array;
  #offset = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  read(tag: number): Uint8Array {
    const start = this.#offset;
    if (start + 2 > this.#bytes.length || this.#bytes[start] !== tag) {
      throw new RangeError(`invalid ECPrivateKey: expected tag ${tag.toString(16).padStart(2, "0")} at offset ${start}`);
    }
    const length = this.#bytes[start + 1];
    if (length > 0x7f || start + 2 + length > this.#bytes.length) {
      throw new RangeError(`invalid ECPrivateKey: bad length at offset ${start + 1}`);
    }
    this.#offset = start + 2 + length;
    return this.#bytes.subarray(start + 2, this.#offset);
  }

  expectEnd(): void {
    if (this.#offset !== this.#bytes.length) throw new RangeError("invalid ECPrivateKey: trailing bytes");
  }
}
