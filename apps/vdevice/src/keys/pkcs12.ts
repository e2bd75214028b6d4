/**
 * Reads a private key and its certificates from a PKCS#12 file (RFC 7292) and
 * turns them into what `sc-hsm-tool --unwrap-key` imports: a wrapped-key file
 *
 *   30 { 04 <key blob under the DKEK>, <PRKD>, <certificate> }
 *
 * The SmartCard-HSM has no command that takes PKCS#12 or PKCS#8: importing is
 * done on the host, which wraps the key under the custodians' DKEK and sends
 * the blob with UNWRAP KEY. This module runs on the host (Deno or Node).
 *
 * Supported encryption: PBES2 (PBKDF2 with HMAC-SHA-1/256/384/512, AES-CBC),
 * the default of `openssl pkcs12 -export` since OpenSSL 3.0, and unencrypted
 * bags. PBKDF2 and AES-CBC run on WebCrypto; the ASN.1 structures are parsed
 * with @peculiar/asn1-pfx, asn1-cms and asn1-pkcs8.
 */
import { createPrivateKey } from "node:crypto";
import { ContentInfo, id_data, id_encryptedData } from "@peculiar/asn1-cms";
import {
  AuthenticatedSafe,
  CertBag,
  id_certBag,
  id_keyBag,
  id_pkcs8ShroudedKeyBag,
  id_x509Certificate,
  PFX,
  PKCS8ShroudedKeyBag,
  SafeContents,
} from "@peculiar/asn1-pfx";
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import type { KeyBlobKey } from "@hsmkit/keystore";
import { decodeTlv, children, encodeTlv, concatBytes, type Tlv } from "@hsmkit/tlv";
import { bigIntToBytes, bytesToBigInt, curveByName, curveDomain, type CurveName } from "../crypto/curves.ts";
import { encodePrkd } from "../hsm/prkd.ts";
import type { KeyType } from "../hsm/key-info.ts";

/** Thrown for a PKCS#12 file that does not parse, does not decrypt, or contains no usable key. */
export class Pkcs12Error extends Error {
  constructor(message: string) {
    super(message);
    this.name = "Pkcs12Error";
  }
}

export interface Pkcs12Contents {
  /** DER PrivateKeyInfo (PKCS#8) of the first key bag. */
  privateKey: Uint8Array;
  /** DER X.509 certificates, in file order. */
  certificates: Uint8Array[];
  /** friendlyName of the key bag, when present. */
  friendlyName?: string;
}

const OID = {
  pbes2: "1.2.840.113549.1.5.13",
  pbkdf2: "1.2.840.113549.1.5.12",
  friendlyName: "1.2.840.113549.1.9.20",
};

const PRF_HASH: Record<string, string> = {
  "1.2.840.113549.2.7": "SHA-1",
  "1.2.840.113549.2.9": "SHA-256",
  "1.2.840.113549.2.10": "SHA-384",
  "1.2.840.113549.2.11": "SHA-512",
};

const AES_CBC_KEY_BYTES: Record<string, number> = {
  "2.16.840.1.101.3.4.1.2": 16,
  "2.16.840.1.101.3.4.1.22": 24,
  "2.16.840.1.101.3.4.1.42": 32,
};

/**
 * Parses `file` and decrypts its bags with `password`. Throws Pkcs12Error.
 * NOTE: the PKCS#12 MAC is not checked (its key derivation is not in
 * WebCrypto); a wrong password still fails at the CBC padding of the bags.
 */
export async function readPkcs12(file: Uint8Array, password: string): Promise<Pkcs12Contents> {
  const pfx = parse(file, PFX, "PKCS#12 file");
  const safes = parse(contentOctets(pfx.authSafe), AuthenticatedSafe, "PKCS#12 authenticated safe");

  const contents: Pkcs12Contents = { privateKey: new Uint8Array(0), certificates: [] };
  for (const safe of safes) {
    for (const bag of await safeBags(safe, password)) {
      if (bag.bagId === id_certBag) {
        const cert = parse(new Uint8Array(bag.bagValue), CertBag, "certificate bag");
        if (cert.certId === id_x509Certificate) contents.certificates.push(new Uint8Array(parse(new Uint8Array(cert.certValue), OctetString, "certificate").buffer));
      } else if ((bag.bagId === id_pkcs8ShroudedKeyBag || bag.bagId === id_keyBag) && contents.privateKey.length === 0) {
        contents.privateKey =
          bag.bagId === id_keyBag ? new Uint8Array(bag.bagValue) : await decryptShroudedKey(new Uint8Array(bag.bagValue), password);
        contents.friendlyName = friendlyNameOf(bag.bagAttributes);
      }
    }
  }

  if (contents.privateKey.length === 0) throw new Pkcs12Error("the PKCS#12 file contains no private key");
  return contents;
}

async function safeBags(safe: ContentInfo, password: string): Promise<SafeContents> {
  if (safe.contentType === id_data) return parse(contentOctets(safe), SafeContents, "safe contents");
  if (safe.contentType !== id_encryptedData) throw new Pkcs12Error(`unsupported PKCS#12 safe of content type ${safe.contentType}`);

  // EncryptedData ::= SEQUENCE { version INTEGER, encryptedContentInfo EncryptedContentInfo, ... }
  // EncryptedContentInfo ::= SEQUENCE { contentType OID, contentEncryptionAlgorithm AlgorithmIdentifier,
  //                                     encryptedContent [0] IMPLICIT OCTET STRING OPTIONAL }
  const info = children(decodeTlv(new Uint8Array(safe.content)))[1];
  const [, algorithm, content] = info ? children(info) : [];
  if (!algorithm || !content || (content.tag !== 0x80 && content.tag !== 0xa0)) {
    throw new Pkcs12Error("encrypted PKCS#12 safe has no encrypted content");
  }
  const ciphertext = content.tag === 0x80 ? content.value : concatBytes(...children(content).map((part) => part.value));

  const [algorithmOid, parameters] = children(algorithm);
  const plain = await pbes2Decrypt(decodeOid(algorithmOid.value), encodedBytes(parameters), ciphertext, password);
  return parse(plain, SafeContents, "decrypted safe contents");
}

async function decryptShroudedKey(bytes: Uint8Array, password: string): Promise<Uint8Array> {
  const bag = parse(bytes, PKCS8ShroudedKeyBag, "shrouded key bag");
  const { algorithm, parameters } = bag.encryptionAlgorithm;
  return pbes2Decrypt(algorithm, new Uint8Array(parameters ?? new ArrayBuffer(0)), new Uint8Array(bag.encryptedData.buffer), password);
}

/**
 * Decrypts PBES2 (RFC 8018 §6.2): PBKDF2-params { salt, iterationCount,
 * keyLength?, prf? } and AES-CBC with its IV.
 */
async function pbes2Decrypt(algorithm: string, parameters: Uint8Array, ciphertext: Uint8Array, password: string): Promise<Uint8Array> {
  if (algorithm !== OID.pbes2) {
    throw new Pkcs12Error(
      `unsupported PKCS#12 encryption ${algorithm}: only PBES2 with AES-CBC is read; re-export with OpenSSL 3 (openssl pkcs12 -export without -legacy)`,
    );
  }
  const [kdf, scheme] = children(decodeTlv(parameters));
  const [kdfOid, kdfParams] = children(kdf);
  if (decodeOid(kdfOid.value) !== OID.pbkdf2) throw new Pkcs12Error("unsupported PBES2 key derivation: only PBKDF2 is read");

  const fields = children(kdfParams);
  const salt = fields[0].value;
  const iterations = Number(bytesToBigInt(fields[1].value));
  const prfField = fields.find((field, i) => i >= 2 && field.tag === 0x30);
  const hash = prfField ? PRF_HASH[decodeOid(children(prfField)[0].value)] : "SHA-1";
  if (!hash) throw new Pkcs12Error("unsupported PBKDF2 pseudo-random function");

  const [cipherOid, iv] = children(scheme);
  const keyBytes = AES_CBC_KEY_BYTES[decodeOid(cipherOid.value)];
  if (!keyBytes) throw new Pkcs12Error("unsupported PBES2 cipher: only AES-128/192/256-CBC are read");

  const subtle = globalThis.crypto.subtle;
  const base = await subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, ["deriveKey"]);
  const key = await subtle.deriveKey(
    { name: "PBKDF2", salt: salt.slice(), iterations, hash },
    base,
    { name: "AES-CBC", length: keyBytes * 8 },
    false,
    ["decrypt"],
  );
  try {
    return new Uint8Array(await subtle.decrypt({ name: "AES-CBC", iv: iv.value.slice() }, key, ciphertext.slice()));
  } catch {
    throw new Pkcs12Error("the PKCS#12 file does not decrypt: wrong password");
  }
}

// --- key conversion ------------------------------------------------------------

/** A private key as the key blob and the PRKD need it. */
export interface ImportedKey {
  blobKey: KeyBlobKey;
  type: KeyType;
  /** RSA modulus bits or 8 × EC scalar bytes, as the PRKD states them. */
  bits: number;
}

const JWK_CURVES: Record<string, CurveName> = { "P-256": "secp256r1", "P-384": "secp384r1", "P-521": "secp521r1", secp256k1: "secp256k1" };

/** Converts a DER PrivateKeyInfo into key-blob components (RSA type 05, or EC on a supported curve). */
export function importedKeyOf(privateKeyInfo: Uint8Array): ImportedKey {
  let jwk: Record<string, string>;
  try {
    jwk = createPrivateKey({ key: Buffer.from(privateKeyInfo), format: "der", type: "pkcs8" }).export({ format: "jwk" }) as Record<string, string>;
  } catch (error) {
    throw new Pkcs12Error(`the private key in the PKCS#12 file does not parse: ${(error as Error).message}`);
  }
  const bytes = (field: string) => new Uint8Array(Buffer.from(jwk[field], "base64url"));

  if (jwk.kty === "RSA") {
    const n = bytes("n");
    return { blobKey: { type: "rsa", n, e: bytes("e"), d: bytes("d") }, type: "rsa", bits: bytesToBigInt(n).toString(2).length };
  }

  const curve = jwk.kty === "EC" ? JWK_CURVES[jwk.crv] : undefined;
  if (!curve) throw new Pkcs12Error(`unsupported key in the PKCS#12 file: ${jwk.kty} ${jwk.crv ?? ""}; RSA and EC on P-256, P-384, P-521 or secp256k1 are supported`);
  const info = curveByName(curve);
  const point = concatBytes(Uint8Array.of(4), bytes("x"), bytes("y"));
  const d = bigIntToBytes(bytesToBigInt(bytes("d")), info.orderBytes);
  const domain = curveDomain(curve);
  const blobKey: KeyBlobKey = { type: "ec", fieldBits: 8 * info.fieldBytes, a: domain.a, b: domain.b, p: domain.p, n: domain.n, g: domain.G, d, q: point };
  return { blobKey, type: "ec", bits: 8 * info.orderBytes };
}

/**
 * Encodes the wrapped-key file of sc-hsm-tool: the blob, a PRKD with `label`
 * and the PKCS#15 iD `id`, and the certificate when given.
 */
export function encodeWrappedKeyFile(blob: Uint8Array, key: ImportedKey, label: string, id: Uint8Array, certificate?: Uint8Array): Uint8Array {
  const prkd = encodePrkd({ type: key.type, bits: key.bits, id, label });
  return encodeTlv(0x30, [encodeTlv(0x04, blob), prkd, ...(certificate ? [certificate] : [])]);
}

// --- ASN.1 helpers -------------------------------------------------------------

function parse<T>(bytes: Uint8Array, type: new () => T, what: string): T {
  try {
    return AsnConvert.parse(bytes, type);
  } catch (error) {
    throw new Pkcs12Error(`invalid ${what}: ${(error as Error).message}`);
  }
}

function contentOctets(info: ContentInfo): Uint8Array {
  if (info.contentType !== id_data) throw new Pkcs12Error(`unsupported PKCS#12 content type ${info.contentType}: only password integrity (id-data) is read`);
  return new Uint8Array(parse(new Uint8Array(info.content), OctetString, "PKCS#12 content").buffer);
}

/** Returns the tag, length and value bytes of a decoded data object. */
function encodedBytes(tlv: Tlv): Uint8Array {
  const headerLength = tlv.encodedLength - tlv.value.length;
  return new Uint8Array(tlv.value.buffer, tlv.value.byteOffset - headerLength, tlv.encodedLength);
}

function friendlyNameOf(attributes: { attrId: string; attrValues: ArrayBuffer[] }[] | undefined): string | undefined {
  const value = attributes?.find((attribute) => attribute.attrId === OID.friendlyName)?.attrValues[0];
  if (!value) return undefined;
  const tlv: Tlv = decodeTlv(new Uint8Array(value));
  // BMPString: UTF-16 big-endian.
  let text = "";
  for (let i = 0; i + 1 < tlv.value.length; i += 2) text += String.fromCharCode((tlv.value[i] << 8) | tlv.value[i + 1]);
  return text;
}

function decodeOid(bytes: Uint8Array): string {
  const parts: number[] = [];
  let value = 0;
  for (const byte of bytes) {
    value = value * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      parts.push(value);
      value = 0;
    }
  }
  const first = parts.shift() ?? 0;
  const head = first < 80 ? [Math.floor(first / 40), first % 40] : [2, first - 80];
  return [...head, ...parts].join(".");
}
