/**
 * The HD node that BIP/SLIP P1 = 10 loads into RAM for exactly one later use:
 * SIGNATURE with algorithm A0 (curve nodes) or CIPHER SYMMETRIC with the HD
 * OID (SLIP-21 nodes). The session keeps it; SELECT, applet unload and
 * INITIALIZE wipe it, and the command that takes it wipes it when done.
 */
import type { SessionState } from "../hsm/session.ts";

/** Master and node types as the firmware numbers them (the P1 that created the master). */
export const HD_TYPE = {
  /** BIP32 / SLIP-10 on secp256k1. */
  SECP256K1: 0x01,
  /** SLIP-10 on secp256r1 ("nist256p1"). */
  SECP256R1: 0x02,
  /** SLIP-21 symmetric node. */
  SYMMETRIC: 0x03,
} as const;

export type HdType = (typeof HD_TYPE)[keyof typeof HD_TYPE];

export type PendingHdNode =
  /** A curve node: its 32-byte private scalar. */
  | { type: typeof HD_TYPE.SECP256K1 | typeof HD_TYPE.SECP256R1; privateKey: Uint8Array }
  /** A SLIP-21 node: its 32-byte key N[32..64], the only part the HD cipher uses. */
  | { type: typeof HD_TYPE.SYMMETRIC; key: Uint8Array };

/** Overwrites the secret bytes of `node`. */
export function wipePendingNode(node: PendingHdNode | undefined): void {
  if (!node) return;
  if (node.type === HD_TYPE.SYMMETRIC) node.key.fill(0);
  else node.privateKey.fill(0);
}

/** Replaces the session's pending node with `node`, wiping the previous one. */
export function loadPendingNode(session: SessionState, node: PendingHdNode): void {
  wipePendingNode(session.hdNode);
  session.hdNode = node;
}

/**
 * Removes the pending node from the session and returns it; the caller wipes
 * it after use. Taking it first means any later error also leaves no node.
 */
export function takePendingNode(session: SessionState): PendingHdNode | undefined {
  const node = session.hdNode;
  session.hdNode = undefined;
  return node;
}
