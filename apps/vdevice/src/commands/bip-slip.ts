/**
 * BIP/SLIP (INS 4A): hierarchical deterministic keys, a Pico HSM extension.
 *
 *   80 4A 01 id [seed]   create master id (0..9) on secp256k1, BIP32 ("Bitcoin seed")
 *   80 4A 02 id [seed]   create master id on secp256r1, SLIP-10 ("Nist256p1 seed")
 *   80 4A 03 id [seed]   create master id for SLIP-21 symmetric keys ("Symmetric key seed")
 *   80 4A 0A 00 path     derive and return the node's public serialisation (78 or 77 bytes)
 *   80 4A 10 00 path     derive and keep the node for the next SIGNATURE A0 / HD CIPHER
 *
 * The seed is 16 to 64 bytes, or absent for 64 random bytes. Masters are
 * sealed under the MKEK; a second creation with the same id replaces the
 * master. Every P1 needs user authentication (6982) and, to open the
 * master, a PIN session (6400). The path encoding is in hd/path-tlv.ts.
 */
import { confirmPresence } from "../policy/press-to-confirm.ts";
import { CardError, SW, type AppletResponse } from "@hsmkit/apdu";
import { MAX_SEED_BYTES, MIN_SEED_BYTES, Slip10Node, Slip21Node } from "@hsmkit/hd-keys";
import type { CommandContext, CommandHandler } from "../hsm/context.ts";
import { deriveHdNode, publicSerialisation, toPendingNode, type DerivedHdNode } from "../hd/derive.ts";
import { hasMaster, loadMaster, MAX_MASTER_ID, putMaster, type HdMaster } from "../hd/master-store.ts";
import { parseHdPath } from "../hd/path-tlv.ts";
import { HD_TYPE, loadPendingNode, takePendingNode, wipePendingNode, type HdType } from "../hd/pending-node.ts";

/** P1 values of BIP/SLIP. */
const FUNCTION = {
  MASTER_SECP256K1: 0x01,
  MASTER_SECP256R1: 0x02,
  MASTER_SYMMETRIC: 0x03,
  DERIVE_PUBLIC: 0x0a,
  LOAD_NODE: 0x10,
} as const;

/** Seed length when the command carries none: 64 bytes from the RNG. */
const RANDOM_SEED_BYTES = 64;

export const bipSlip: CommandHandler = async (ctx) => {
  const { p1, p2 } = ctx.apdu;
  ctx.requireLogin();

  switch (p1) {
    case FUNCTION.MASTER_SECP256K1:
    case FUNCTION.MASTER_SECP256R1:
    case FUNCTION.MASTER_SYMMETRIC:
      return createMaster(ctx, p1, p2);
    case FUNCTION.DERIVE_PUBLIC:
      return { data: publicSerialisation(await deriveFromPath(ctx)) } satisfies AppletResponse;
    case FUNCTION.LOAD_NODE:
      return loadNode(ctx);
    default:
      throw new CardError(SW.INCORRECT_P1P2, `BIP/SLIP function P1 ${hex(p1)} is not defined; use 01, 02, 03, 0A or 10`);
  }
};

/**
 * Creates master `id` from the command's seed or 64 random bytes. Throws 6A86
 * for an id above 9, 6700 for a seed outside 16..64 bytes and 6400 without a
 * PIN session. Nothing is stored when a check fails.
 */
async function createMaster(ctx: CommandContext, type: HdType, id: number): Promise<void> {
  if (id > MAX_MASTER_ID) throw new CardError(SW.INCORRECT_P1P2, `HD master id ${id} is out of range 0..${MAX_MASTER_ID} (P2)`);

  const seed = ctx.apdu.data.length === 0 ? ctx.random(RANDOM_SEED_BYTES) : ctx.apdu.data.slice();
  if (seed.length < MIN_SEED_BYTES || seed.length > MAX_SEED_BYTES) {
    throw new CardError(SW.WRONG_LENGTH, `HD seed must be ${MIN_SEED_BYTES} to ${MAX_SEED_BYTES} bytes, or absent for a random one; got ${seed.length} bytes`);
  }
  ctx.requireKeyMaterial();
  await confirmPresence(ctx, { operation: "BIP/SLIP master creation" });

  const master = masterFromSeed(type, seed);
  seed.fill(0);
  try {
    await putMaster(ctx.keystore, id, master);
  } finally {
    master.node.fill(0);
  }
  ctx.log.info("HD master created", { master: id, type: typeName(type), seed: ctx.apdu.data.length === 0 ? "random" : "supplied" });
}

function masterFromSeed(type: HdType, seed: Uint8Array): HdMaster {
  if (type === HD_TYPE.SYMMETRIC) {
    const node = Slip21Node.fromMasterSeed(seed);
    const master = { type, node: node.data };
    node.wipe();
    return master;
  }

  const node = Slip10Node.fromMasterSeed(type === HD_TYPE.SECP256K1 ? "secp256k1" : "nist256p1", seed);
  const stored = new Uint8Array(64);
  stored.set(node.privateKey!, 0);
  stored.set(node.chainCode, 32);
  node.wipe();
  return { type, node: stored };
}

/** Parses the path (P2 must be 00, data required), opens its master and derives the node. */
async function deriveFromPath(ctx: CommandContext): Promise<DerivedHdNode> {
  if (ctx.apdu.p2 !== 0) throw new CardError(SW.INCORRECT_P1P2, `BIP/SLIP P1 ${hex(ctx.apdu.p1)} needs P2 00, got ${hex(ctx.apdu.p2)}`);
  if (ctx.apdu.data.length === 0) throw new CardError(SW.WRONG_LENGTH, "BIP/SLIP derivation needs a path: 02 01 <master id> followed by child elements");

  const path = parseHdPath(ctx.apdu.data);
  if (!(await hasMaster(ctx.keystore, path.masterId))) {
    throw new CardError(SW.REFERENCED_DATA_NOT_FOUND, `HD master ${path.masterId} does not exist: create it with BIP/SLIP P1 01, 02 or 03`);
  }
  ctx.requireKeyMaterial();
  await confirmPresence(ctx, { operation: "BIP/SLIP derivation" });

  const master = await loadMaster(ctx.keystore, path.masterId);
  try {
    return deriveHdNode(master, path.elements);
  } finally {
    master.node.fill(0);
  }
}

/**
 * P1 = 10: derives the node and keeps its secret in RAM for one SIGNATURE A0
 * or HD CIPHER. The previous pending node is wiped first, so a failed load leaves none.
 */
async function loadNode(ctx: CommandContext): Promise<void> {
  wipePendingNode(takePendingNode(ctx.session));
  const derived = await deriveFromPath(ctx);
  loadPendingNode(ctx.session, toPendingNode(derived));
  derived.node.wipe();
  ctx.log.debug("HD node loaded", { type: typeName(derived.type), depth: derived.depth });
}

function typeName(type: HdType): string {
  if (type === HD_TYPE.SECP256K1) return "secp256k1";
  return type === HD_TYPE.SECP256R1 ? "secp256r1" : "slip21";
}

function hex(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, "0");
}
