/**
 * INITIALIZE DEVICE (INS 50). Empty data is an information query. Otherwise the
 * data is TLVs: 80 options (2 bytes), 81 user PIN, 82 SO-PIN, 91 user PIN
 * retries (1..15), 92 DKEK shares of domain 0, 93 public key authentication
 * (total PUKs, required PUKs), 97 number of key domains; other tags are ignored. The first INITIALIZE needs no authentication. On an
 * initialised device tag 82 must match the current SO-PIN (counted like a
 * wrong SO-PIN: 63CX, then 6983), as on the SmartCard-HSM, unless the device
 * policy allows the firmware's unauthenticated re-initialisation.
 *
 * Everything except the device identity (device key, 2F02, CE00, C400), the
 * serial and the options is erased: keys, PRKDs, certificates, data objects,
 * DKEKs, PINs. Afterwards UA is set and both PIN sessions are open.
 */
import { CardError, SW } from "@hsmkit/apdu";
import { DEFAULT_RETRIES } from "@hsmkit/keystore";
import { FID, OPTION, VERSION_MAJOR, VERSION_MINOR } from "../hsm/constants.ts";
import type { CommandHandler, FlatTlv } from "../hsm/context.ts";
import { IDENTITY_RECORD, SETTINGS_RECORD } from "../hsm/device-state.ts";
import { ensureDeviceIdentity } from "../hsm/identity.ts";
import { MAX_KEY_DOMAINS } from "../hsm/key-domains.ts";
import { DEVICE_KEY_RECORD, fileRecordName } from "../hsm/objects.ts";
import { checkPin, MAX_PIN_LENGTH } from "../hsm/pin-check.ts";
import { CLOCK_RECORD } from "../policy/clock.ts";
import { parsePkaTag, writePkaConfig, type PkaConfig } from "../policy/pka.ts";
import { SECURE_LOCK_RECORD } from "../policy/secure-lock.ts";

/** Free memory the information query reports (the firmware's emulation build reports the same). */
const REPORTED_FREE_MEMORY = 0x00100000;

/** Records INITIALIZE keeps: the device identity, the settings (rewritten below), the clock and the secure lock. */
const KEPT_RECORDS = new Set([
  DEVICE_KEY_RECORD,
  IDENTITY_RECORD,
  SETTINGS_RECORD,
  CLOCK_RECORD,
  SECURE_LOCK_RECORD,
  fileRecordName(FID.EF_DEVICE_CERTIFICATES),
  fileRecordName(FID.DEVICE_KEY_REQUEST),
  fileRecordName(FID.DEVICE_KEY_PRKD),
]);

interface InitializeRequest {
  options?: number;
  userPin: Uint8Array;
  soPin: Uint8Array;
  userRetries: number;
  dkekShares?: number;
  keyDomains?: number;
  pka?: PkaConfig;
}

export const initialize: CommandHandler = async (ctx) => {
  if (ctx.apdu.data.length === 0) return { data: informationQuery() };

  if (ctx.device.hasOption(OPTION.SECURE_LOCK) && !ctx.session.secureLockOpen) {
    throw new CardError(SW.SECURITY_STATUS_NOT_SATISFIED, "INITIALIZE: the device is secure-locked; unlock it with its host secret first");
  }

  const request = parseRequest(ctx.dataTlvs());
  if (!ctx.policy.reinitializeWithoutSoPin && ctx.keystore.pinStatus("so").initialized) {
    await checkPin(ctx, "so", request.soPin);
  }

  ctx.session.reset();
  await ctx.keystore.initialize({
    userPin: request.userPin,
    soPin: request.soPin,
    userRetries: request.userRetries,
    keep: (name) => KEPT_RECORDS.has(name),
  });

  // Only EXTRAS 3A changes the secure-lock bit, so tag 80 cannot clear or set it.
  const lockBit = ctx.device.options & OPTION.SECURE_LOCK;
  const options = ((request.options ?? ctx.device.options) & ~OPTION.SECURE_LOCK) | lockBit;
  await ctx.device.updateSettings({ options, transportPinPending: (options & OPTION.TRANSPORT_PIN) !== 0 });
  await ctx.domains.initialize(request.dkekShares, request.keyDomains);
  if (request.pka) await writePkaConfig(ctx.keystore, request.pka);
  await ensureDeviceIdentity(ctx.objects, ctx.device, (length) => ctx.random(length));

  ctx.session.userAuthenticated = true;
  ctx.session.userPinSession = true;
  ctx.session.soPinSession = true;
  ctx.log.info("device initialized", { options: options.toString(16).padStart(4, "0"), userRetries: request.userRetries });
};

/** Returns free memory (u32) ‖ 00 ‖ version major ‖ minor. */
function informationQuery(): Uint8Array {
  const out = new Uint8Array(7);
  new DataView(out.buffer).setUint32(0, REPORTED_FREE_MEMORY);
  out[5] = VERSION_MAJOR;
  out[6] = VERSION_MINOR;
  return out;
}

/** Validates every tag before anything is erased, so a rejected INITIALIZE changes nothing. */
function parseRequest(tlvs: FlatTlv[]): InitializeRequest {
  const find = (tag: number) => tlvs.find((tlv) => tlv.tag === tag)?.value;

  const options = find(0x80);
  if (options !== undefined && options.length !== 2) throw wrongData("tag 80 (options) must be 2 bytes");

  const userPin = find(0x81);
  const soPin = find(0x82);
  // NOTE: the firmware also accepts INITIALIZE without 81 or 82 and leaves that PIN
  // unset; the keystore always seals the MKEK under both, so both are required here.
  if (!userPin || !soPin) throw wrongData("tags 81 (user PIN) and 82 (SO-PIN) are required");
  if (userPin.length === 0 || userPin.length > MAX_PIN_LENGTH || soPin.length === 0 || soPin.length > MAX_PIN_LENGTH) {
    throw new CardError(SW.WRONG_LENGTH, `INITIALIZE: PINs must be 1..${MAX_PIN_LENGTH} bytes`);
  }

  const retries = find(0x91);
  if (retries !== undefined && (retries.length !== 1 || retries[0] < 1 || retries[0] > 15)) {
    throw wrongData("tag 91 (user PIN retries) must be one byte 1..15");
  }

  const shares = find(0x92);
  if (shares !== undefined && shares.length !== 1) throw wrongData("tag 92 (DKEK shares) must be 1 byte");

  const domains = find(0x97);
  if (domains !== undefined && domains.length !== 1) throw wrongData("tag 97 (key domains) must be 1 byte");

  const pka = find(0x93);

  return {
    options: options && (options[0] << 8) | options[1],
    userPin: userPin.slice(),
    soPin: soPin.slice(),
    userRetries: retries?.[0] ?? DEFAULT_RETRIES.user,
    dkekShares: shares?.[0],
    keyDomains: domains && Math.min(domains[0], MAX_KEY_DOMAINS),
    pka: pka && parsePkaTag(pka),
  };
}

function wrongData(message: string): CardError {
  return new CardError(SW.WRONG_DATA, `INITIALIZE: ${message}`);
}
