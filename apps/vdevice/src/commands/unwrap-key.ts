/**
 * UNWRAP KEY (INS 74): `80 74 kk 93`, data = a key blob, or no data to take the
 * blob from EF 2F10 (where newer OpenSC stages it with UPDATE BINARY). Stores
 * the key under id kk and replaces any key there. Its metadata are the blob's
 * allowed algorithms as tag 91 (when non-empty) and the matching key domain as
 * tag 92. Writes the default PRKD to C4 kk and, for RSA and EC keys, an
 * authenticated CV request with the device CHR as CAR and CHR to CE kk.
 * Answers 9000 with no data.
 *
 * Status words: P2 (6B00), login (6982), key 0 (6982), empty EF 2F10 (6A82),
 * unknown key type (6984), no key domain whose DKEK has the blob's KCV (6A80,
 * which sc-hsm-tool reports as "Wrapped key does not match DKEK"), CMAC,
 * structure or key-consistency failure (6984), no PIN session (6400).
 */
import { CardError, SW } from "@hsmkit/apdu";
import { decodeKeyBlob, KeyBlobError, keyBlobKcv, keyBlobType, type KeyBlob } from "@hsmkit/keystore";
import type { CommandContext, CommandHandler, KeyInfo } from "../hsm/context.ts";
import { FID } from "../hsm/constants.ts";
import { cvcPublicKeyOf } from "../keys/cvc-public-key.ts";
import { encodeAsymmetricKey } from "../keys/private-key.ts";
import { buildAuthenticatedRequest } from "../keys/request.ts";
import { keyInfoOf, unwrappedKeyOf, type UnwrappedKey } from "../keys/wrapped-key.ts";

/** P2 of UNWRAP KEY. */
export const ALGORITHM_UNWRAP = 0x93;

export const unwrapKey: CommandHandler = async (ctx) => {
  const keyId = ctx.apdu.p1;
  if (ctx.apdu.p2 !== ALGORITHM_UNWRAP) throw new CardError(SW.WRONG_P1P2, `UNWRAP KEY: P2 must be 93, got ${hex(ctx.apdu.p2)}`);
  ctx.requireLogin();
  ctx.refuseDeviceKey(keyId);

  const blob = await blobOf(ctx);
  checkKeyType(blob);
  const domain = await ctx.domains.findByKcv(keyBlobKcv(blob));
  if (domain === undefined) throw new CardError(SW.WRONG_DATA, "UNWRAP KEY: no key domain has a DKEK with the blob's KCV");
  ctx.requireKeyMaterial();

  const decoded = await decode(ctx, domain, blob);
  const key = unwrappedKeyOf(decoded.key);
  try {
    const meta = ctx.newKeyMetadata([]);
    if (decoded.allowedAlgorithms.length > 0) meta.algorithms = decoded.allowedAlgorithms;
    meta.domain = domain;
    const info: KeyInfo = { ...keyInfoOf(keyId, key), meta };

    await store(ctx, info, key);
    ctx.log.info("key unwrapped", { key: keyId, domain, type: info.type, bits: info.bits });
  } finally {
    wipeKey(key);
  }
};

async function blobOf(ctx: CommandContext): Promise<Uint8Array> {
  if (ctx.apdu.data.length > 0) return ctx.apdu.data;

  const staged = await ctx.objects.readFile(FID.EF_UNWRAP_STAGING);
  if (!staged || staged.length === 0) throw new CardError(SW.FILE_NOT_FOUND, "UNWRAP KEY: no data and EF 2F10 contains no key blob");
  return staged;
}

function checkKeyType(blob: Uint8Array): void {
  try {
    keyBlobType(blob);
  } catch (error) {
    if (error instanceof KeyBlobError) throw new CardError(SW.REFERENCE_DATA_NOT_USABLE, `UNWRAP KEY: ${error.message}`);
    throw error;
  }
}

async function decode(ctx: CommandContext, domain: number, blob: Uint8Array): Promise<KeyBlob> {
  const dkek = await ctx.domains.loadDkek(domain);
  if (!dkek) throw new CardError(SW.EXECUTION_ERROR, `UNWRAP KEY: the DKEK of key domain ${domain} cannot be loaded`);
  try {
    return decodeKeyBlob(dkek, blob);
  } catch (error) {
    if (error instanceof KeyBlobError) throw new CardError(SW.REFERENCE_DATA_NOT_USABLE, `UNWRAP KEY: ${error.message}`);
    throw error;
  } finally {
    dkek.fill(0);
  }
}

async function store(ctx: CommandContext, info: KeyInfo, key: UnwrappedKey): Promise<void> {
  if (key.type === "aes") {
    await ctx.storeKey({ info, privateKey: key.key });
    return;
  }

  const asymmetric = key.type === "rsa" ? { type: "rsa" as const, key: key.key } : { type: "ec" as const, key: key.key };
  const deviceChr = await ctx.deviceChr();
  const request = await buildAuthenticatedRequest(
    { car: deviceChr, chr: deviceChr, publicKey: cvcPublicKeyOf(info) },
    asymmetric,
    { chr: deviceChr, sign: (message) => ctx.signWithDeviceKey(message) },
  );

  const sealed = encodeAsymmetricKey(asymmetric);
  try {
    await ctx.storeKey({ info, privateKey: sealed, request });
  } finally {
    sealed.fill(0);
  }
}

function wipeKey(key: UnwrappedKey): void {
  if (key.type === "aes") key.key.fill(0);
  else if (key.type === "ec") key.key.d.fill(0);
}

function hex(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, "0");
}
