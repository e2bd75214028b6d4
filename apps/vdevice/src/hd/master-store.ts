/**
 * HD master nodes at rest. Master `id` (0..9) is the keystore record
 * "hd/master/<id>", where the firmware uses EF 1110 + id. The record is 65
 * bytes, type ‖ 64 bytes, sealed under the MKEK with the record name as
 * associated data. The type byte is inside the ciphertext, so it is
 * authenticated and never stored in clear.
 *
 *   type 01/02 (secp256k1 / secp256r1): k_master [32] ‖ chain code [32]
 *   type 03 (SLIP-21):                 N[0..32] (derivation key) ‖ N[32..64] (key)
 *
 * INITIALIZE erases these records with every other dynamic object.
 */
import { CardError, SW } from "@hsmkit/apdu";
import { KeystoreIntegrityError, KeystoreLockedError, type Keystore } from "@hsmkit/keystore";
import { HD_TYPE, type HdType } from "./pending-node.ts";

/** Master ids are 0..9 (P2 of master creation, the first path element). */
export const MAX_MASTER_ID = 9;

const RECORD_PREFIX = "hd/master/";

/** Associated data of a sealed master: binds the format version and the record name. */
const BINDING_PREFIX = "hsmkit-hd-master-v1|";

export interface HdMaster {
  type: HdType;
  /** 64 bytes: key ‖ chain code for curve masters, the whole SLIP-21 node for type 03. */
  node: Uint8Array;
}

export function masterRecordName(id: number): string {
  return RECORD_PREFIX + id;
}

/** Stages master `id`, replacing any master there. Throws 6400 when the MKEK is locked. */
export async function putMaster(keystore: Keystore, id: number, master: HdMaster): Promise<void> {
  const record = new Uint8Array(65);
  record[0] = master.type;
  record.set(master.node, 1);
  try {
    await keystore.putSecret(masterRecordName(id), record, binding(id));
  } catch (error) {
    throw mapKeystoreError(error, `cannot seal HD master ${id}`);
  } finally {
    record.fill(0);
  }
}

/** Returns whether master `id` exists (no PIN needed). */
export async function hasMaster(keystore: Keystore, id: number): Promise<boolean> {
  return (await keystore.list()).includes(masterRecordName(id));
}

/**
 * Unseals master `id`. Throws 6A88 when it does not exist and 6400 when the
 * MKEK is locked or the record does not open.
 */
export async function loadMaster(keystore: Keystore, id: number): Promise<HdMaster> {
  let record: Uint8Array | undefined;
  try {
    record = await keystore.getSecret(masterRecordName(id), binding(id));
  } catch (error) {
    throw mapKeystoreError(error, `cannot unseal HD master ${id}`);
  }
  if (!record) throw new CardError(SW.REFERENCED_DATA_NOT_FOUND, `HD master ${id} does not exist: create it with BIP/SLIP P1 01, 02 or 03`);

  const type = record[0];
  if (record.length !== 65 || !isHdType(type)) {
    record.fill(0);
    throw new CardError(SW.EXECUTION_ERROR, `HD master ${id} has an unknown format`);
  }
  const master = { type, node: record.slice(1) };
  record.fill(0);
  return master;
}

function isHdType(type: number): type is HdType {
  return type === HD_TYPE.SECP256K1 || type === HD_TYPE.SECP256R1 || type === HD_TYPE.SYMMETRIC;
}

function binding(id: number): Uint8Array {
  return new TextEncoder().encode(BINDING_PREFIX + masterRecordName(id));
}

function mapKeystoreError(error: unknown, action: string): unknown {
  if (error instanceof KeystoreLockedError) return new CardError(SW.EXECUTION_ERROR, `${action}: no PIN session (the MKEK is locked)`);
  if (error instanceof KeystoreIntegrityError) return new CardError(SW.EXECUTION_ERROR, `${action}: the sealed record does not open`);
  return error;
}
