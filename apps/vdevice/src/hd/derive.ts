/**
 * Derivation of a device HD node from a stored master and a parsed path, and
 * its public serialisation (the response to BIP/SLIP P1 = 0A).
 *
 * Curve masters derive with the SLIP-10 rules on both curves (an invalid
 * child is retried with 01 ‖ I_R, as the firmware does). SLIP-21 masters
 * derive by label. Each step records the parent's fingerprint: HASH160 of the
 * compressed public key for curve nodes, HASH160 of the node key N[32..64]
 * for SLIP-21 nodes (a firmware extension; SLIP-21 defines none).
 */
import { CardError, SW } from "@hsmkit/apdu";
import { encodeExtendedKeyBytes, hash160, MAINNET_VERSIONS, Slip10Node, Slip21Node } from "@hsmkit/hd-keys";
import { sha256 } from "@noble/hashes/sha2.js";
import type { HdMaster } from "./master-store.ts";
import type { PathElement } from "./path-tlv.ts";
import { HD_TYPE, type PendingHdNode } from "./pending-node.ts";

/** A derived node with the header fields of its public serialisation. */
export type DerivedHdNode = {
  depth: number;
  /** Fingerprint of the last parent, 0 for the master. */
  parentFingerprint: number;
  /** Last child number of the path, 0 for the master and for SLIP-21 nodes. */
  childNumber: number;
} & ({ type: typeof HD_TYPE.SECP256K1 | typeof HD_TYPE.SECP256R1; node: Slip10Node } | { type: typeof HD_TYPE.SYMMETRIC; node: Slip21Node });

/**
 * Derives `elements` below `master`. Throws 6A80 when an element does not fit
 * the master: a label below a curve master or a child number below a SLIP-21 master.
 */
export function deriveHdNode(master: HdMaster, elements: readonly PathElement[]): DerivedHdNode {
  if (master.type === HD_TYPE.SYMMETRIC) return deriveSymmetric(master.node, elements);

  const curve = master.type === HD_TYPE.SECP256K1 ? "secp256k1" : "nist256p1";
  let node = Slip10Node.fromMasterKey(curve, master.node.subarray(0, 32), master.node.subarray(32, 64));
  let childNumber = 0;

  for (const [position, element] of elements.entries()) {
    if (element.kind !== "index") {
      throw new CardError(SW.WRONG_DATA, `path element ${position + 1}: a SLIP-21 label (tag 04) cannot follow a ${curve} master; use 02 04 <child number>`);
    }
    const child = node.deriveChild(element.index);
    node.wipe();
    node = child;
    childNumber = element.index;
  }
  return { type: master.type, node, depth: elements.length, parentFingerprint: node.parentFingerprint, childNumber };
}

function deriveSymmetric(data: Uint8Array, elements: readonly PathElement[]): DerivedHdNode {
  let node = Slip21Node.fromNodeData(data);
  let parentFingerprint = 0;

  for (const [position, element] of elements.entries()) {
    if (element.kind !== "label") {
      throw new CardError(SW.WRONG_DATA, `path element ${position + 1}: a child number (tag 02) cannot follow a SLIP-21 master; use 04 L <label>`);
    }
    parentFingerprint = fingerprint(hash160(node.key));
    const child = node.deriveChild(element.label);
    node.wipe();
    node = child;
  }
  return { type: HD_TYPE.SYMMETRIC, node, depth: elements.length, parentFingerprint, childNumber: 0 };
}

/**
 * Returns the public serialisation of `derived`. A curve node gives the
 * 78-byte BIP32 layout with version 0488B21E ("xpub", used for both curves).
 * A SLIP-21 node gives the same 13-byte header followed by SHA256d(N[0..32]) ‖
 * SHA256d(N[32..64]) (77 bytes), so nothing secret leaves the device.
 */
export function publicSerialisation(derived: DerivedHdNode): Uint8Array {
  const header = {
    version: MAINNET_VERSIONS.public,
    depth: derived.depth,
    parentFingerprint: derived.parentFingerprint,
    index: derived.childNumber,
  };

  if (derived.type !== HD_TYPE.SYMMETRIC) {
    return encodeExtendedKeyBytes({ ...header, chainCode: derived.node.chainCode, key: derived.node.publicKey });
  }

  const full = encodeExtendedKeyBytes({ ...header, chainCode: new Uint8Array(32), key: new Uint8Array(33) });
  const out = new Uint8Array(77);
  out.set(full.subarray(0, 13), 0);
  out.set(sha256d(derived.node.derivationKey), 13);
  out.set(sha256d(derived.node.key), 45);
  return out;
}

/** Returns the part of `derived` that P1 = 10 keeps in RAM. */
export function toPendingNode(derived: DerivedHdNode): PendingHdNode {
  if (derived.type === HD_TYPE.SYMMETRIC) return { type: HD_TYPE.SYMMETRIC, key: derived.node.key };
  return { type: derived.type, privateKey: derived.node.privateKey! };
}

function sha256d(data: Uint8Array): Uint8Array {
  return sha256(sha256(data));
}

function fingerprint(hash: Uint8Array): number {
  return new DataView(hash.buffer, hash.byteOffset, 4).getUint32(0);
}
