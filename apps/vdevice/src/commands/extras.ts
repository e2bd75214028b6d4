/**
 * EXTRAS (INS 64), the Pico HSM vendor commands; P1 selects the sub-command.
 *
 *   06  device options. No data returns them (2 bytes, no login needed). One
 *       byte replaces their high byte (0100 press-to-confirm, 0200 usage counter
 *       for all keys, …). Bit 0400 (secure lock) changes only through 3A (6985).
 *   0A  real-time clock: no data returns it, 8 bytes set it (policy/clock.ts)
 *   05  memory: free, used, total, number of files, flash size (u32 each)
 *   3A  secure lock: P2 01 key agreement, 02 enable, 03 unlock, 04 disable
 *   1B (PHY, LED), 4C (OTP, secure boot), FB (reboot) and any other P1: 6A86,
 *       because they need the hardware board
 *
 * Every sub-command except reading the options needs UA (6982) and then passes
 * press-to-confirm (6600).
 *
 * NOTE: the current Pico HSM firmware returns 6A86 for 0A and 05 because it
 * moved them to the rescue applet. The virtual device keeps them here, where the
 * pypicohsm helpers send them.
 */
import { CardError, SW, type AppletResponse } from "@hsmkit/apdu";
import { KeystoreSecureLockError } from "@hsmkit/keystore";
import { OPTION } from "../hsm/constants.ts";
import type { CommandContext, CommandHandler } from "../hsm/context.ts";
import { CALENDAR_LENGTH, decodeCalendar, encodeCalendar, readClockOffset, writeClockOffset } from "../policy/clock.ts";
import { confirmPresence } from "../policy/press-to-confirm.ts";
import { hashSecret, openLockSecret, readLockHash, startAgreement, SECURE_LOCK_RECORD, writeLockHash } from "../policy/secure-lock.ts";

const DYNAMIC_OPTIONS = 0x06;
const DATE_TIME = 0x0a;
const MEMORY = 0x05;
const SECURE_LOCK = 0x3a;

/** Flash size reported by the memory sub-command (the size of a Pico board's flash). */
export const REPORTED_FLASH_SIZE = 4 * 1024 * 1024;

/** The host clock; tests replace it. */
export const hostClock = { now: () => Date.now() };

export const extras: CommandHandler = async (ctx) => {
  const { p1, p2, data } = ctx.apdu;
  if (p1 === DYNAMIC_OPTIONS && p2 === 0x00 && data.length === 0) return { data: optionBytes(ctx.device.options) };

  const known = [DYNAMIC_OPTIONS, DATE_TIME, MEMORY, SECURE_LOCK].includes(p1);
  if (!known) throw new CardError(SW.INCORRECT_P1P2, `EXTRAS: P1 ${hex(p1)} is not supported (hardware-only or unknown)`);

  ctx.requireLogin();
  await confirmPresence(ctx, { operation: `EXTRAS ${hex(p1)}` });

  if (p1 === DYNAMIC_OPTIONS) return setOptions(ctx);
  if (p1 === DATE_TIME) return dateTime(ctx);
  if (p1 === MEMORY) return memory(ctx);
  return secureLock(ctx);
};

async function setOptions(ctx: CommandContext): Promise<AppletResponse> {
  const { p2, data } = ctx.apdu;
  if (p2 !== 0x00) throw new CardError(SW.INCORRECT_P1P2, "EXTRAS options: P2 must be 00");
  if (data.length > 1) throw new CardError(SW.WRONG_LENGTH, "EXTRAS options: give one byte, the new high byte of the options");

  const current = ctx.device.options;
  const next = (data[0] << 8) | (current & 0xff);
  if ((next & OPTION.SECURE_LOCK) !== (current & OPTION.SECURE_LOCK)) {
    throw new CardError(SW.CONDITIONS_NOT_SATISFIED, "EXTRAS options: bit 0400 (secure lock) changes only through EXTRAS 3A");
  }

  await ctx.device.updateSettings({ options: next });
  ctx.log.info("device options changed", { options: hex16(next) });
  return {};
}

async function dateTime(ctx: CommandContext): Promise<AppletResponse> {
  const { data } = ctx.apdu;
  if (data.length === 0) {
    const offset = await readClockOffset(ctx.keystore);
    return { data: encodeCalendar(hostClock.now() + offset) };
  }
  if (data.length !== CALENDAR_LENGTH) throw new CardError(SW.WRONG_LENGTH, `EXTRAS clock: give ${CALENDAR_LENGTH} bytes or none`);

  const time = decodeCalendar(data);
  await writeClockOffset(ctx.keystore, time - hostClock.now());
  ctx.log.info("clock set", { time: new Date(time).toISOString() });
  return {};
}

async function memory(ctx: CommandContext): Promise<AppletResponse> {
  const names = await ctx.keystore.list();
  let used = 0;
  for (const name of names) used += (await ctx.keystore.getFile(name).catch(() => undefined))?.length ?? 0;

  const out = new Uint8Array(20);
  const view = new DataView(out.buffer);
  view.setUint32(0, Math.max(0, REPORTED_FLASH_SIZE - used));
  view.setUint32(4, used);
  view.setUint32(8, REPORTED_FLASH_SIZE);
  view.setUint32(12, names.length);
  view.setUint32(16, REPORTED_FLASH_SIZE);
  return { data: out };
}

async function secureLock(ctx: CommandContext): Promise<AppletResponse> {
  const { p2, data } = ctx.apdu;
  if (data.length === 0) throw new CardError(SW.WRONG_LENGTH, "EXTRAS secure lock: data missing");
  if (p2 === 0x01) return { data: startAgreement(ctx.session, data) };
  if (p2 < 0x02 || p2 > 0x04) throw new CardError(SW.INCORRECT_P1P2, `EXTRAS secure lock: P2 ${hex(p2)} is not 01..04`);

  const secret = openLockSecret(ctx.session, data);
  try {
    const stored = await readLockHash(ctx.keystore);
    if (p2 === 0x02) await enableLock(ctx, stored, secret);
    else if (p2 === 0x03) await unlock(ctx, stored, secret);
    else await disableLock(ctx, stored, secret);
  } catch (error) {
    if (error instanceof KeystoreSecureLockError) throw new CardError(SW.WRONG_LENGTH, `secure lock: ${error.message}`);
    throw error;
  } finally {
    secret.fill(0);
  }
  return {};
}

/** Seals both MKEK copies under the secret and sets the option bit; the lock stays closed in this session until 3A 03. */
async function enableLock(ctx: CommandContext, stored: string | undefined, secret: Uint8Array): Promise<void> {
  if (stored !== undefined) return;
  await ctx.keystore.enableLock(secret);
  await writeLockHash(ctx.keystore, secret);
  await ctx.device.updateSettings({ options: ctx.device.options | OPTION.SECURE_LOCK });
  ctx.log.info("secure lock enabled");
}

/**
 * Gives the keystore the secret for this session, which opens the MKEK of a
 * PIN verified before. A lock enabled before the MKEK copies were sealed under
 * the secret gets that seal now.
 */
async function unlock(ctx: CommandContext, stored: string | undefined, secret: Uint8Array): Promise<void> {
  if (stored === undefined) return;
  checkSecret(stored, secret);
  if (ctx.keystore.secureLocked) ctx.keystore.setLockSecret(secret);
  else await ctx.keystore.enableLock(secret);

  ctx.session.secureLockOpen = true;
  if (ctx.keystore.unlocked) await ctx.domains.sealPending();
  ctx.log.info("secure lock unlocked for this session");
}

async function disableLock(ctx: CommandContext, stored: string | undefined, secret: Uint8Array): Promise<void> {
  if (stored === undefined) return;
  checkSecret(stored, secret);
  ctx.keystore.setLockSecret(secret);
  await ctx.keystore.disableLock();
  await ctx.keystore.delete(SECURE_LOCK_RECORD);
  await ctx.device.updateSettings({ options: ctx.device.options & ~OPTION.SECURE_LOCK });
  ctx.log.info("secure lock disabled");
}

/** Throws 6700 unless `secret` is the one the lock was enabled with. */
function checkSecret(stored: string, secret: Uint8Array): void {
  if (stored !== hashSecret(secret)) throw new CardError(SW.WRONG_LENGTH, "secure lock: wrong host secret");
}

function optionBytes(options: number): Uint8Array {
  return Uint8Array.of(options >> 8, options & 0xff);
}

function hex(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, "0");
}

function hex16(value: number): string {
  return value.toString(16).toUpperCase().padStart(4, "0");
}
