/**
 * CVC dates (tags 5F25 and 5F24): six bytes YYMMDD, one decimal digit per byte
 * (unpacked BCD), years 2000 to 2099. 2023-03-21 is 02 03 00 03 02 01.
 */

import { CvcError } from "./errors.ts";

/** Encodes the UTC calendar day of `date`. Throws for years outside 2000..2099. */
export function encodeCvcDate(date: Date, field = "date"): Uint8Array {
  if (Number.isNaN(date.getTime())) throw new CvcError("invalid-argument", field, "invalid Date");

  const year = date.getUTCFullYear();
  if (year < 2000 || year > 2099) throw new CvcError("invalid-argument", field, `year ${year} cannot be encoded; CVC dates cover 2000 to 2099`);

  const digits = [year % 100, date.getUTCMonth() + 1, date.getUTCDate()].flatMap((part) => [Math.floor(part / 10), part % 10]);
  return Uint8Array.from(digits);
}

/** Decodes six digit bytes into midnight UTC of that day. */
export function decodeCvcDate(bytes: Uint8Array, field = "date"): Date {
  if (bytes.length !== 6) throw new CvcError("malformed", field, `a date has 6 bytes (YYMMDD), got ${bytes.length}`);
  const bad = bytes.findIndex((digit) => digit > 9);
  if (bad >= 0) throw new CvcError("malformed", field, `byte ${bad} is ${bytes[bad]}, not a decimal digit 0..9`);

  const year = 2000 + bytes[0] * 10 + bytes[1];
  const month = bytes[2] * 10 + bytes[3];
  const day = bytes[4] * 10 + bytes[5];
  const date = new Date(Date.UTC(year, month - 1, day));
  if (month < 1 || month > 12 || date.getUTCDate() !== day) {
    throw new CvcError("malformed", field, `${year}-${pad(month)}-${pad(day)} is not a calendar date`);
  }
  return date;
}

function pad(value: number): string {
  return String(value).padStart(2, "0");
}
