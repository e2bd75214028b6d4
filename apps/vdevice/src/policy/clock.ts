/**
 * The device's real-time clock: the host clock plus an offset that EXTRAS 0A
 * sets, kept in the record `state/clock` so it survives restarts and INITIALIZE.
 *
 * Calendar form (8 bytes), as the Pico HSM firmware used it: year (2 bytes,
 * big-endian), month 0..11, day 1..31, weekday 0..6 (0 = Sunday), hours,
 * minutes, seconds. Reading returns the weekday of the date; writing checks it
 * is in range and otherwise ignores it.
 */
import { CardError, SW } from "@hsmkit/apdu";
import type { Keystore } from "@hsmkit/keystore";

export const CLOCK_RECORD = "state/clock";

/** Years the clock accepts. */
export const MIN_YEAR = 1970;
export const MAX_YEAR = 2099;

export const CALENDAR_LENGTH = 8;

/** Returns the clock offset to the host clock, milliseconds (0 when never set). */
export async function readClockOffset(keystore: Keystore): Promise<number> {
  const bytes = await keystore.getFile(CLOCK_RECORD);
  if (bytes === undefined) return 0;
  const offset = Number(new TextDecoder().decode(bytes));
  return Number.isFinite(offset) ? offset : 0;
}

export async function writeClockOffset(keystore: Keystore, offsetMs: number): Promise<void> {
  await keystore.putFile(CLOCK_RECORD, new TextEncoder().encode(String(Math.round(offsetMs))));
}

/** Encodes `time` (milliseconds since the epoch, UTC) in the calendar form. */
export function encodeCalendar(time: number): Uint8Array {
  const date = new Date(time);
  const year = date.getUTCFullYear();
  return Uint8Array.of(
    year >> 8,
    year & 0xff,
    date.getUTCMonth(),
    date.getUTCDate(),
    date.getUTCDay(),
    date.getUTCHours(),
    date.getUTCMinutes(),
    date.getUTCSeconds(),
  );
}

/** Decodes the calendar form to milliseconds since the epoch (UTC). A field out of range is 6A80. */
export function decodeCalendar(data: Uint8Array): number {
  if (data.length !== CALENDAR_LENGTH) throw new CardError(SW.WRONG_LENGTH, `the clock takes ${CALENDAR_LENGTH} bytes, got ${data.length}`);

  const year = (data[0] << 8) | data[1];
  const [month, day, weekday, hours, minutes, seconds] = data.subarray(2);
  const checks: [string, number, number, number][] = [
    ["year", year, MIN_YEAR, MAX_YEAR],
    ["month (0..11)", month, 0, 11],
    ["day", day, 1, daysInMonth(year, month)],
    ["weekday (0..6)", weekday, 0, 6],
    ["hours", hours, 0, 23],
    ["minutes", minutes, 0, 59],
    ["seconds", seconds, 0, 59],
  ];
  for (const [name, value, min, max] of checks) {
    if (value < min || value > max) throw new CardError(SW.WRONG_DATA, `clock: ${name} ${value} out of range ${min}..${max}`);
  }
  return Date.UTC(year, month, day, hours, minutes, seconds);
}

function daysInMonth(year: number, month: number): number {
  return month > 11 ? 31 : new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
}
