/**
 * Public key authentication (PKA, n-of-m): INITIALIZE tag 93 registers `total`
 * slots for public keys (PUKs) of authenticators, of which `required` must
 * sign a challenge before the user is authenticated (UA).
 *
 * Persistent: `pka/config` (total, required) and `pka/slot/N` (the content of
 * the authenticated CV request a PUK was registered with, 7F21 ‖ 42 ‖ 5F37).
 * INITIALIZE wipes both. Volatile (PkaSession): the selected slot, the slots
 * authenticated since the last GET CHALLENGE and whether the quorum was reached.
 *
 * While PKA is configured a correct PIN opens PS or SS but no longer sets UA;
 * UA comes from the quorum. With option 0x0010 (PIN and PKA combined) UA needs
 * the quorum and a user PIN session together.
 */
import { CardError, SW } from "@hsmkit/apdu";
import {
  CvcError,
  decodeAuthenticatedRequest,
  ecCurveName,
  ID_TA_ECDSA_SHA_256,
  ID_TA_RSA_PSS_SHA_256,
  ID_TA_RSA_V1_5_SHA_256,
  verifyCvSignature,
  verifyProofOfPossession,
  verifySignature,
  type AuthenticatedRequest,
  type CvcPublicKey,
} from "@hsmkit/cvc";
import type { Keystore } from "@hsmkit/keystore";
import { findByChr, inheritedDomain, loadTrustStore } from "../attestation/trust-store.ts";
import type { CommandContext } from "../hsm/context.ts";

/** Most PUK slots INITIALIZE creates (larger totals are capped). */
export const MAX_PUKS = 8;

/** Device option: UA needs both the PKA quorum and the user PIN. */
export const OPTION_PKA_AND_PIN = 0x0010;

const CONFIG_RECORD = "pka/config";

/** Signature OIDs a PUK may carry: EXTERNAL AUTHENTICATE signs a SHA-256 digest. */
const PUK_OIDS = new Set([ID_TA_ECDSA_SHA_256, ID_TA_RSA_V1_5_SHA_256, ID_TA_RSA_PSS_SHA_256]);

export interface PkaConfig {
  /** Number of PUK slots, 1..8. */
  total: number;
  /** PUKs that must authenticate, 1..total. */
  required: number;
}

/** Volatile PKA state, cleared by SELECT of the applet. */
export class PkaSession {
  /** Slot chosen by MSE SET AT (P2 A4) with tag 83 for the next EXTERNAL AUTHENTICATE. */
  selectedSlot: number | undefined = undefined;

  /** Slots that authenticated since the last GET CHALLENGE. */
  readonly authenticated = new Set<number>();

  /** The required number of PUKs authenticated in this session. */
  quorumReached = false;

  reset(): void {
    this.selectedSlot = undefined;
    this.authenticated.clear();
    this.quorumReached = false;
  }
}

export function slotRecordName(slot: number): string {
  return `pka/slot/${slot}`;
}

export async function readPkaConfig(keystore: Keystore): Promise<PkaConfig | undefined> {
  const bytes = await keystore.getFile(CONFIG_RECORD);
  if (bytes === undefined || bytes.length !== 2 || bytes[0] === 0) return undefined;
  return { total: bytes[0], required: bytes[1] };
}

/** Stages the configuration of INITIALIZE tag 93 and empty slots. */
export async function writePkaConfig(keystore: Keystore, config: PkaConfig): Promise<void> {
  await keystore.putFile(CONFIG_RECORD, Uint8Array.of(config.total, config.required));
}

/**
 * Parses INITIALIZE tag 93: total (capped at 8), required. Throws 6A80 for a
 * value that is not 2 bytes, a total of 0, or a required count outside 1..total.
 */
export function parsePkaTag(value: Uint8Array): PkaConfig {
  if (value.length !== 2) throw new CardError(SW.WRONG_DATA, `INITIALIZE: tag 93 (PKA) must be 2 bytes, got ${value.length}`);
  const total = Math.min(value[0], MAX_PUKS);
  const required = value[1];
  if (total === 0 || required === 0 || required > total) {
    throw new CardError(SW.WRONG_DATA, `INITIALIZE: tag 93 (PKA) asks for ${required} of ${value[0]} public keys; give 1..${MAX_PUKS} keys and 1..total required`);
  }
  return { total, required };
}

export async function readSlot(keystore: Keystore, slot: number): Promise<AuthenticatedRequest | undefined> {
  const bytes = await keystore.getFile(slotRecordName(slot));
  return bytes === undefined || bytes.length === 0 ? undefined : decodeAuthenticatedRequest(bytes);
}

/** Returns the number of empty slots. */
export async function countEmptySlots(keystore: Keystore, config: PkaConfig): Promise<number> {
  let empty = 0;
  for (let slot = 0; slot < config.total; slot++) {
    if ((await keystore.getFile(slotRecordName(slot))) === undefined) empty++;
  }
  return empty;
}

/** Returns the 4 status bytes of PUK AUTH: total, not yet registered, required, authenticated now. */
export async function pkaStatus(ctx: CommandContext, config: PkaConfig): Promise<Uint8Array> {
  const empty = await countEmptySlots(ctx.keystore, config);
  return Uint8Array.of(config.total, empty, config.required, ctx.session.pka.authenticated.size);
}

/**
 * Decodes and checks a PUK registration: an authenticated CV request whose
 * inner signature verifies with the key it contains (proof of possession).
 * The key must be RSA or EC on a named curve, with a SHA-256 signature OID.
 * Malformed data or a key of another kind or curve → 6A80; a wrong inner or
 * outer signature → 6985.
 */
export async function checkPukRequest(ctx: CommandContext, content: Uint8Array): Promise<AuthenticatedRequest> {
  let request: AuthenticatedRequest;
  try {
    request = decodeAuthenticatedRequest(content);
  } catch (error) {
    throw new CardError(SW.WRONG_DATA, `PUK AUTH: not an authenticated CV request: ${describe(error)}`);
  }

  const key = request.request.body.publicKey;
  checkPukKey(key);

  let valid: boolean;
  try {
    valid = await verifyProofOfPossession(request);
  } catch (error) {
    throw new CardError(SW.WRONG_DATA, `PUK AUTH: the public key cannot be used: ${describe(error)}`);
  }
  if (!valid) throw new CardError(SW.CONDITIONS_NOT_SATISFIED, "PUK AUTH: the inner signature of the request does not verify with its key");

  await checkOuterSignature(ctx, request);
  return request;
}

/**
 * Verifies the outer signature with the trust-store certificate whose CHR is
 * the outer CAR (6985 when it does not verify). A CAR the trust store does not
 * hold is accepted with a warning, as the firmware accepts every request.
 */
export async function checkOuterSignature(ctx: CommandContext, request: AuthenticatedRequest): Promise<void> {
  const entries = await loadTrustStore(ctx.objects);
  const issuer = findByChr(entries, request.outerCar);
  if (!issuer) {
    // NOTE: rejecting unknown CARs would break clients that register PUKs without first running PSO VERIFY CERTIFICATE.
    ctx.log.warn("authenticated request accepted without a known outer CAR: its origin is unchecked", { car: request.outerCar });
    return;
  }

  let valid: boolean;
  try {
    valid = await verifyCvSignature(request, issuer.certificate.body.publicKey, { domain: inheritedDomain(entries, issuer.certificate) });
  } catch (error) {
    throw new CardError(SW.CONDITIONS_NOT_SATISFIED, `the outer signature cannot be checked: ${describe(error)}`);
  }
  if (!valid) throw new CardError(SW.CONDITIONS_NOT_SATISFIED, `the outer signature does not verify with ${request.outerCar}`);
}

function checkPukKey(key: CvcPublicKey): void {
  if (key.kind !== "ec" && key.kind !== "rsa") {
    throw new CardError(SW.WRONG_DATA, `PUK AUTH: ${key.kind} keys cannot authenticate; use an ECDSA or RSA key`);
  }
  if (!PUK_OIDS.has(key.oid)) {
    throw new CardError(SW.WRONG_DATA, `PUK AUTH: signature OID ${key.oid} is not a SHA-256 scheme (id-TA-ECDSA-SHA-256, id-TA-RSA-v1-5-SHA-256 or id-TA-RSA-PSS-SHA-256)`);
  }
  if (key.kind === "ec" && (key.domain === undefined || ecCurveName(key.domain) === undefined)) {
    throw new CardError(SW.WRONG_DATA, "PUK AUTH: the EC key must carry the domain parameters of a named curve");
  }
}

/** Verifies an EXTERNAL AUTHENTICATE response: a signature over SHA-256(device CHR ‖ challenge). */
export async function verifyPukSignature(key: CvcPublicKey, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
  try {
    return await verifySignature(key, message, signature);
  } catch {
    return false;
  }
}

/**
 * Sets UA from the PKA state while PKA is configured: the quorum, and with
 * option 0x0010 also a user PIN session. Without PKA the PIN check decides UA.
 */
export function refreshPkaAuthentication(ctx: CommandContext): void {
  const { session } = ctx;
  const combined = ctx.device.hasOption(OPTION_PKA_AND_PIN);
  session.userAuthenticated = session.pka.quorumReached && (!combined || session.userPinSession);
}

function describe(error: unknown): string {
  return error instanceof CvcError || error instanceof Error ? error.message : String(error);
}
