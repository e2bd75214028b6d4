/**
 * WRAP KEY (INS 72): `80 72 kk 92`, no data. Returns key kk wrapped under the
 * DKEK of its key domain (metadata tag 92, default 0) in the SmartCard-HSM
 * key-blob format: KCV ‖ type ‖ OID ‖ allowed algorithms ‖ 00 00 ‖ 00 00 ‖
 * AES-256-CBC body ‖ AES-256-CMAC.
 *
 * Checks in order: P2 (6B00), login (6982), key 0 (6982), key exists (6A82),
 * the domain has a complete DKEK (6A88), the key's algorithm list, when it has
 * one, contains 92 (6985), key material (6400). Usage counters are neither
 * checked nor decremented.
 */
import { CardError, SW } from "@hsmkit/apdu";
import { encodeKeyBlob, type KeyBlobKey } from "@hsmkit/keystore";
import type { CommandContext, CommandHandler, KeyInfo } from "../hsm/context.ts";
import { loadAsymmetricKey } from "../keys/private-key.ts";
import { confirmPresence } from "../policy/press-to-confirm.ts";
import { ecBlobKey, rsaBlobKey } from "../keys/wrapped-key.ts";

/** P2 of WRAP KEY, and the algorithm identifier a key's tag 91 must list to be wrappable. */
export const ALGORITHM_WRAP = 0x92;

export const wrapKey: CommandHandler = async (ctx) => {
  const keyId = ctx.apdu.p1;
  if (ctx.apdu.p2 !== ALGORITHM_WRAP) throw new CardError(SW.WRONG_P1P2, `WRAP KEY: P2 must be 92, got ${hex(ctx.apdu.p2)}`);
  ctx.requireLogin();
  ctx.refuseDeviceKey(keyId);

  const info = await ctx.findKey(keyId);
  const domain = info.meta.domain ?? 0;
  if (!(await ctx.domains.isComplete(domain))) {
    throw new CardError(SW.REFERENCED_DATA_NOT_FOUND, `WRAP KEY: key domain ${domain} of key ${keyId} has no complete DKEK`);
  }
  if (info.meta.algorithms && !info.meta.algorithms.includes(ALGORITHM_WRAP)) {
    throw new CardError(SW.CONDITIONS_NOT_SATISFIED, `WRAP KEY: key ${keyId} does not allow wrapping (algorithm 92 not in its tag 91)`);
  }
  ctx.requireKeyMaterial();
  await confirmPresence(ctx, { operation: "WRAP KEY", keyId });

  const dkek = await ctx.domains.loadDkek(domain);
  if (!dkek) throw new CardError(SW.REFERENCED_DATA_NOT_FOUND, `WRAP KEY: the DKEK of key domain ${domain} is missing`);
  const blobKey = await blobKeyOf(ctx, info);
  try {
    const blob = encodeKeyBlob(dkek, blobKey, { allowedAlgorithms: info.meta.algorithms, random: ctx.random(8) });
    ctx.log.info("key wrapped", { key: keyId, domain, type: info.type });
    return { data: blob };
  } finally {
    dkek.fill(0);
    wipeBlobKey(blobKey);
  }
};

async function blobKeyOf(ctx: CommandContext, info: KeyInfo): Promise<KeyBlobKey> {
  if (info.type === "aes") return { type: "aes", key: await ctx.objects.loadPrivateKey(info) };

  const loaded = await loadAsymmetricKey(ctx, info);
  if (loaded.type === "rsa") return rsaBlobKey(loaded.key);
  if (loaded.type === "octet") {
    loaded.key.secret.fill(0);
    // TODO: wrap X25519, X448, Ed25519 and Ed448 keys in pypicohsm's raw layout (curve chosen by prime and G).
    throw new CardError(SW.FUNCTION_NOT_SUPPORTED, `WRAP KEY: key ${info.id} on ${info.curve} cannot be wrapped yet`);
  }
  if (!info.publicKey) throw new CardError(SW.EXECUTION_ERROR, `key ${info.id} has no public point in its description`);
  return ecBlobKey(loaded.key, info.publicKey);
}

function wipeBlobKey(key: KeyBlobKey): void {
  if (key.type === "aes") key.key.fill(0);
  else if (key.type === "ec") key.d.fill(0);
  else if (key.type === "rsa") key.d.fill(0);
}

function hex(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, "0");
}
