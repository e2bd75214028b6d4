/**
 * The PKCS#11 workloads, run with the same code against every module: ECDSA P-256 and RSA-2048
 * signatures per second, and RSA-2048 key generation time.
 */

import { createHash } from "node:crypto";
import { Buffer } from "node:buffer";
import { measureRate, measureRuns, type RateLoop } from "./measure.ts";
import { CKA, CKM, CKU } from "./pkcs11-constants.ts";
import { Pkcs11Module, type Attribute, type KeyPairHandles, type SlotDescription } from "./pkcs11.ts";
import type { DurationSummary, RateSummary } from "./stats.ts";

/** DER encoding of the OID of the P-256 curve (prime256v1, 1.2.840.10045.3.1.7), for CKA_EC_PARAMS. */
const P256_EC_PARAMS = Uint8Array.of(0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07);
const RSA_PUBLIC_EXPONENT = Uint8Array.of(0x01, 0x00, 0x01);
const LABEL_PREFIX = "hsmkit-bench";

/** The message every signature covers; ECDSA signs its SHA-256 digest. */
const MESSAGE = new TextEncoder().encode("hsmkit bench: one signature over a fixed message");

export interface Pkcs11BenchSettings {
  modulePath: string;
  /** Picks the slot to use from the slots that have a token; throws when none fits. */
  selectSlot(slots: SlotDescription[]): SlotDescription;
  userPin: string;
  loop: RateLoop;
  keygenRuns: number;
  /** Progress output (never receives a PIN or key material). */
  log(line: string): void;
}

export interface Pkcs11BenchResults {
  slot: SlotDescription;
  ecdsaP256Sign: RateSummary;
  rsa2048Sign: RateSummary;
  rsa2048Keygen: DurationSummary;
}

/**
 * Loads the module, logs in to the selected slot once, generates one P-256 and one RSA-2048 key
 * pair, checks one signature of each with WebCrypto, then measures. Every key pair it generated
 * is destroyed before it returns.
 */
export async function runPkcs11Bench(settings: Pkcs11BenchSettings): Promise<Pkcs11BenchResults> {
  const module = Pkcs11Module.load(settings.modulePath);
  try {
    module.initialize();
    const slot = settings.selectSlot(module.slotsWithToken());
    settings.log(`slot ${slot.slot} "${slot.description}", token "${slot.tokenLabel}"`);

    const session = module.openSession(slot.slot);
    try {
      module.login(session, CKU.USER, settings.userPin);
      return { slot, ...(await measureWithKeys(module, session, settings)) };
    } finally {
      module.closeSession(session);
    }
  } finally {
    module.close();
  }
}

async function measureWithKeys(
  module: Pkcs11Module,
  session: number,
  settings: Pkcs11BenchSettings,
): Promise<Omit<Pkcs11BenchResults, "slot">> {
  const generated: KeyPairHandles[] = [];
  try {
    settings.log("generating the P-256 and RSA-2048 signing keys");
    const ecKey = generateEcP256(module, session, "ecdsa");
    generated.push(ecKey);
    const rsaKey = generateRsa2048(module, session, "rsa");
    generated.push(rsaKey);

    const digest = new Uint8Array(createHash("sha256").update(MESSAGE).digest());
    const ecSigner = module.signer(session, CKM.ECDSA, ecKey.privateKey, digest);
    ecSigner.sign();
    await verifyEcdsaP256(readEcPoint(module, session, ecKey.publicKey), ecSigner.lastSignature());
    settings.log("measuring ECDSA P-256 signatures (CKM_ECDSA over a SHA-256 digest)");
    const ecdsaP256Sign = measureRate(ecSigner.sign, settings.loop);

    const rsaSigner = module.signer(session, CKM.SHA256_RSA_PKCS, rsaKey.privateKey, MESSAGE);
    rsaSigner.sign();
    await verifyRsaSha256(module, session, rsaKey.publicKey, rsaSigner.lastSignature());
    settings.log("measuring RSA-2048 signatures (CKM_SHA256_RSA_PKCS)");
    const rsa2048Sign = measureRate(rsaSigner.sign, settings.loop);

    settings.log(`measuring RSA-2048 key generation (${settings.keygenRuns} runs)`);
    let run = 0;
    const rsa2048Keygen = measureRuns(
      () => generateRsa2048(module, session, `keygen-${++run}`),
      settings.keygenRuns,
      (pair) => destroyKeyPair(module, session, pair),
    );

    return { ecdsaP256Sign, rsa2048Sign, rsa2048Keygen };
  } finally {
    for (const pair of generated) {
      try {
        destroyKeyPair(module, session, pair);
      } catch (error) {
        // Reported, not thrown, so that an earlier error is not replaced.
        settings.log(`failed to destroy a signing key pair: ${(error as Error).message}`);
      }
    }
  }
}

function generateEcP256(module: Pkcs11Module, session: number, name: string): KeyPairHandles {
  const { publicTemplate, privateTemplate } = keyTemplates(name);
  publicTemplate.push({ type: CKA.EC_PARAMS, value: P256_EC_PARAMS });
  return module.generateKeyPair(session, CKM.EC_KEY_PAIR_GEN, publicTemplate, privateTemplate);
}

function generateRsa2048(module: Pkcs11Module, session: number, name: string): KeyPairHandles {
  const { publicTemplate, privateTemplate } = keyTemplates(name);
  publicTemplate.push(
    { type: CKA.MODULUS_BITS, value: 2048 },
    { type: CKA.PUBLIC_EXPONENT, value: RSA_PUBLIC_EXPONENT },
  );
  return module.generateKeyPair(session, CKM.RSA_PKCS_KEY_PAIR_GEN, publicTemplate, privateTemplate);
}

/** Token objects with a fresh random CKA_ID, so several runs never collide on one token. */
function keyTemplates(name: string): { publicTemplate: Attribute[]; privateTemplate: Attribute[] } {
  const id = crypto.getRandomValues(new Uint8Array(8));
  const label = new TextEncoder().encode(`${LABEL_PREFIX} ${name}`);
  return {
    publicTemplate: [
      { type: CKA.TOKEN, value: true },
      { type: CKA.VERIFY, value: true },
      { type: CKA.ID, value: id },
      { type: CKA.LABEL, value: label },
    ],
    privateTemplate: [
      { type: CKA.TOKEN, value: true },
      { type: CKA.PRIVATE, value: true },
      { type: CKA.SENSITIVE, value: true },
      { type: CKA.SIGN, value: true },
      { type: CKA.ID, value: id },
      { type: CKA.LABEL, value: label },
    ],
  };
}

function destroyKeyPair(module: Pkcs11Module, session: number, pair: KeyPairHandles): void {
  module.destroyObject(session, pair.privateKey);
  module.destroyObject(session, pair.publicKey);
}

/** Reads CKA_EC_POINT as an uncompressed point, unwrapping the DER OCTET STRING most modules return. */
function readEcPoint(module: Pkcs11Module, session: number, publicKey: number): Uint8Array<ArrayBuffer> {
  const value = module.getAttribute(session, publicKey, CKA.EC_POINT);
  if (value.length === 67 && value[0] === 0x04 && value[1] === 0x41) return value.subarray(2);
  if (value.length === 65 && value[0] === 0x04) return value;
  throw new Error(`unexpected CKA_EC_POINT for a P-256 key: ${Buffer.from(value).toString("hex")}`);
}

async function verifyEcdsaP256(point: Uint8Array<ArrayBuffer>, signature: Uint8Array<ArrayBuffer>): Promise<void> {
  const algorithm = { name: "ECDSA", namedCurve: "P-256" };
  const key = await crypto.subtle.importKey("raw", point, algorithm, false, ["verify"]);
  const valid = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, signature, MESSAGE);
  if (!valid) throw new Error("the ECDSA P-256 signature from the module does not verify with its public key");
}

async function verifyRsaSha256(
  module: Pkcs11Module,
  session: number,
  publicKey: number,
  signature: Uint8Array<ArrayBuffer>,
): Promise<void> {
  const jwk = {
    kty: "RSA",
    n: base64Url(withoutLeadingZeros(module.getAttribute(session, publicKey, CKA.MODULUS))),
    e: base64Url(withoutLeadingZeros(module.getAttribute(session, publicKey, CKA.PUBLIC_EXPONENT))),
  };
  const algorithm = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
  const key = await crypto.subtle.importKey("jwk", jwk, algorithm, false, ["verify"]);
  const valid = await crypto.subtle.verify(algorithm, key, signature, MESSAGE);
  if (!valid) throw new Error("the RSA-2048 signature from the module does not verify with its public key");
}

function withoutLeadingZeros(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  return bytes.subarray(start);
}

function base64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64url");
}
