/**
 * GENERATE ASYMMETRIC KEY PAIR (INS 46): `00 46 kk 00`, data = CV-certificate
 * body contents (5F29, 42 CAR, 7F49 key template, 5F20 CHR) plus optional
 * metadata tags 90–93. Generates an RSA or EC key under id kk (replacing any
 * key there), writes the default PRKD to C4 kk and the authenticated CV
 * request to CE kk, and returns that request. CAR and CHR default to the
 * device CHR.
 */
import { CardError, SW, type AppletResponse } from "@hsmkit/apdu";
import { bigIntToBytes, curveByName } from "../crypto/curves.ts";
import { generateEcKey } from "../crypto/ec.ts";
import { generateOctetKey, octetKeyBits } from "../crypto/octet-curves.ts";
import { generateRsaKey, rsaModulusBytes } from "../crypto/rsa.ts";
import type { CommandContext, CommandHandler, FlatTlv, KeyInfo, KeyMetadata } from "../hsm/context.ts";
import { ALGORITHM } from "../keys/algorithms.ts";
import { cvcPublicKeyOf } from "../keys/cvc-public-key.ts";
import { findReference, parseKeyPairSpec, TAG_CAR, TAG_CHR, type KeyPairSpec } from "../keys/key-template.ts";
import { encodeAsymmetricKey, type AsymmetricKey } from "../keys/private-key.ts";
import { buildAuthenticatedRequest } from "../keys/request.ts";
import { readDomainUid } from "../policy/xkek.ts";
import { keyDomainUidExtension, type CvcExtension } from "@hsmkit/cvc";

export const generateAsymmetricKeyPair: CommandHandler = async (ctx) => {
  const keyId = ctx.apdu.p1;
  ctx.requireLogin();
  ctx.refuseDeviceKey(keyId);

  const tlvs = ctx.dataTlvs();
  const spec = parseKeyPairSpec(tlvs);
  const meta = ctx.newKeyMetadata(tlvs);
  const extensions = spec.type === "rsa" ? undefined : await xkekExtensions(ctx, tlvs, meta);
  ctx.requireKeyMaterial();

  const { key, info } = await generate(keyId, spec, meta);

  const deviceChr = await ctx.deviceChr();
  const request = await buildAuthenticatedRequest(
    {
      car: findReference(tlvs, TAG_CAR) ?? deviceChr,
      chr: findReference(tlvs, TAG_CHR) ?? deviceChr,
      publicKey: cvcPublicKeyOf(info),
      extensions,
    },
    key,
    { chr: deviceChr, sign: (message) => ctx.signWithDeviceKey(message) },
  );

  await storeGeneratedKey(ctx, info, key, request);
  return responseOf(ctx, request);
};

async function generate(keyId: number, spec: KeyPairSpec, meta: KeyMetadata): Promise<{ key: AsymmetricKey; info: KeyInfo }> {
  if (spec.type === "rsa") {
    const rsa = await generateRsaKey(spec.bits);
    const info: KeyInfo = {
      id: keyId,
      type: "rsa",
      bits: spec.bits,
      publicKey: bigIntToBytes(rsa.n, rsaModulusBytes(rsa)),
      publicExponent: minimalBytes(rsa.e),
      meta,
    };
    return { key: { type: "rsa", key: rsa }, info };
  }

  if (spec.type === "octet") {
    const { privateKey, publicKey } = generateOctetKey(spec.curve);
    const info: KeyInfo = { id: keyId, type: "ec", curve: spec.curve, bits: octetKeyBits(spec.curve), publicKey, meta };
    return { key: { type: "octet", key: privateKey }, info };
  }

  const { privateKey, publicPoint } = generateEcKey(spec.curve);
  const { orderBytes } = curveByName(spec.curve);
  const info: KeyInfo = { id: keyId, type: "ec", curve: spec.curve, bits: 8 * orderBytes, publicKey: publicPoint, meta };
  return { key: { type: "ec", key: privateKey }, info };
}

async function storeGeneratedKey(ctx: CommandContext, info: KeyInfo, key: AsymmetricKey, request: Uint8Array): Promise<void> {
  const sealed = encodeAsymmetricKey(key);
  try {
    await ctx.storeKey({ info, privateKey: sealed, request });
  } finally {
    sealed.fill(0);
  }
}

/** Returns the whole request when the command carried no Le (Ne = 0), as the firmware does. */
function responseOf(ctx: CommandContext, request: Uint8Array): AppletResponse {
  return ctx.apdu.ne === 0 ? { data: request, ne: request.length } : { data: request };
}

/** Largest key-domain number a tag 92 may name. */
const MAX_KEY_DOMAIN = 16;

/**
 * Returns the extension of an XKEK exchange key's request (tag 91 lists
 * algorithm 84): the UID of the key domain in tag 92, which must be up to 16
 * and have an XKEK UID, else 6700. Other keys get no extension.
 */
async function xkekExtensions(ctx: CommandContext, tlvs: FlatTlv[], meta: KeyMetadata): Promise<CvcExtension[] | undefined> {
  if (!meta.algorithms?.includes(ALGORITHM.EC_DH_XKEK)) return undefined;

  const domain = tlvs.find((tlv) => tlv.tag === 0x92)?.value;
  if (domain === undefined || domain.length === 0) {
    throw new CardError(SW.WRONG_LENGTH, "an XKEK exchange key (algorithm 84 in tag 91) needs its key domain in tag 92");
  }
  if (domain[0] > MAX_KEY_DOMAIN) throw new CardError(SW.WRONG_LENGTH, `key domain ${domain[0]} out of range 0..${MAX_KEY_DOMAIN}`);

  const uid = await readDomainUid(ctx, domain[0]);
  if (uid === undefined) throw new CardError(SW.WRONG_LENGTH, `key domain ${domain[0]} has no XKEK UID`);
  return [keyDomainUidExtension(uid)];
}

function minimalBytes(value: bigint): Uint8Array {
  return bigIntToBytes(value, Math.max(1, Math.ceil(value.toString(16).length / 2)));
}
