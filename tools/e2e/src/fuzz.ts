/**
 * Bad input for the device over vpcd: seeded random and mutated command APDUs,
 * written as a script for pcsc-tools' `scriptor`, which sends them through pcscd
 * in one PC/SC session, and the parser for its output.
 *
 * Every APDU is at least 2 bytes long: vpcd frames a 1-byte APDU exactly like a
 * control code (power off, power on, ...), so no card could tell them apart.
 */

import fc from "fast-check";

/** Command APDUs a working card accepts (user PIN 648219, SO-PIN 3537363231383830); mutated below. */
const VALID_APDUS = [
  "00A404000BE82B0601040181C31F020100", // SELECT the SmartCard-HSM applet
  "00A4040008A0583FC19B7E4F2100", // SELECT the rescue applet
  "00A40000022F0200", // SELECT EF 2F02 (device certificate)
  "00A40800022F0000", // SELECT by path from the MF
  "00B10000045402000000", // READ BINARY (odd INS) of the current EF, offset 0
  "00B12F02045402000000", // READ BINARY of EF 2F02
  "00D7CF0109540200005303010203", // UPDATE BINARY (odd INS): create EF CF01 with 3 bytes
  "00E4020002CF01", // DELETE FILE CF01
  "00200081", // VERIFY: status of the user PIN
  "0020008106363438323139", // VERIFY the user PIN
  "002C00810E3537363231383830363438323139", // RESET RETRY COUNTER with SO-PIN || new PIN
  "002400810C363438323139363438323139", // CHANGE REFERENCE DATA: old PIN || new PIN
  "80580000000000", // ENUMERATE OBJECTS (extended Le)
  "0084000008", // GET CHALLENGE, 8 bytes
  "8052000000", // IMPORT DKEK SHARE without data: DKEK status
  "8052000020" + "00".repeat(32), // IMPORT DKEK SHARE
  "80680173" + "00002D" + "41".repeat(45) + "0200", // SIGNATURE, key 1, ECDSA-SHA256, extended
  "80620221" + "000100" + "5A".repeat(256) + "0200", // DECIPHER, key 2, raw RSA, extended
  "8072019200000000", // WRAP KEY, key 1
  "00C0000000", // GET RESPONSE
  "00CA000000", // GET DATA
  "FFCA000000", // PC/SC get UID pseudo-APDU
];

/** Instruction bytes of the SmartCard-HSM and ISO 7816-4 commands, to hit handlers more often than random bytes do. */
const KNOWN_INS = [
  0x0e, 0x1c, 0x1e, 0x20, 0x22, 0x24, 0x2a, 0x2c, 0x3a, 0x44, 0x46, 0x50, 0x52, 0x54, 0x58, 0x5a,
  0x62, 0x64, 0x68, 0x70, 0x72, 0x74, 0x78, 0x82, 0x84, 0x86, 0x88, 0xa4, 0xb0, 0xb1, 0xc0, 0xca,
  0xd6, 0xd7, 0xe4,
];

const COMMON_CLA = [0x00, 0x80, 0x0c, 0x10, 0x90, 0xff, 0x84, 0x01];
const COMMON_P = [0x00, 0x01, 0x02, 0x04, 0x08, 0x81, 0x88, 0x92, 0x93, 0xff];

const byte = fc.integer({ min: 0, max: 255 });

function bytes(minLength: number, maxLength: number): fc.Arbitrary<number[]> {
  return fc.array(byte, { minLength, maxLength });
}

const header = fc.tuple(
  fc.oneof(fc.constantFrom(...COMMON_CLA), byte),
  fc.oneof(fc.constantFrom(...KNOWN_INS), byte),
  fc.oneof(fc.constantFrom(...COMMON_P), byte),
  fc.oneof(fc.constantFrom(...COMMON_P), byte),
);

/** Bodies of the ISO 7816-4 cases 1 to 4, short and extended, with right and wrong lengths. */
const body: fc.Arbitrary<number[]> = fc.oneof(
  fc.constant<number[]>([]),
  byte.map((le) => [le]),
  bytes(1, 255).map((data) => [data.length, ...data]),
  fc.tuple(bytes(1, 255), byte).map(([data, le]) => [data.length, ...data, le]),
  fc.tuple(byte, byte).map(([high, low]) => [0, high, low]),
  bytes(1, 600).map((data) => [0, data.length >> 8, data.length & 0xff, ...data]),
  fc.tuple(bytes(1, 600), byte, byte).map(([data, high, low]) => [0, data.length >> 8, data.length & 0xff, ...data, high, low]),
  fc.tuple(byte, bytes(0, 300)).map(([lc, data]) => [lc, ...data]),
  fc.tuple(byte, byte, bytes(0, 300)).map(([high, low, data]) => [0, high, low, ...data]),
);

const structured = fc.tuple(header, body).map(([head, rest]) => [...head, ...rest]);

const random = bytes(2, 300);

type Mutation = (apdu: number[], position: number, value: number) => number[];

const MUTATIONS: Mutation[] = [
  (apdu, position, value) => apdu.map((old, index) => (index === position % apdu.length ? value : old)),
  (apdu, position, value) => apdu.map((old, index) => (index === position % apdu.length ? old ^ (1 << (value & 7)) : old)),
  (apdu, position) => apdu.slice(0, Math.max(2, position % apdu.length)),
  (apdu, position, value) => [...apdu, ...Array.from({ length: 1 + (position % 40) }, (_, i) => (value + i * 37) & 0xff)],
  (apdu, position) => [...apdu.slice(0, 4), ...apdu.slice(5 + (position % 3))],
  (apdu, _position, value) => [apdu[0], apdu[1], apdu[2], apdu[3], value, ...apdu.slice(5)],
  (apdu, _position, value) => [value, ...apdu.slice(1)],
];

const VALID = VALID_APDUS.map((hex) => Array.from(Buffer.from(hex, "hex")));

const mutated = fc
  .tuple(
    fc.constantFrom(...VALID),
    fc.array(fc.tuple(fc.integer({ min: 0, max: MUTATIONS.length - 1 }), fc.nat(), byte), { minLength: 1, maxLength: 3 }),
  )
  .map(([apdu, steps]) =>
    steps.reduce((current, [kind, position, value]) => {
      const next = MUTATIONS[kind](current, position, value);
      return next.length >= 2 ? next : current;
    }, apdu)
  );

const apduArbitrary = fc.oneof(
  { arbitrary: mutated, weight: 5 },
  { arbitrary: structured, weight: 4 },
  { arbitrary: random, weight: 1 },
);

/** Returns `count` command APDUs, the same ones for the same seed. */
export function generateApdus(seed: number, count: number): Uint8Array[] {
  return fc.sample(apduArbitrary, { seed, numRuns: count }).map((apdu) => Uint8Array.from(apdu));
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (value) => value.toString(16).toUpperCase().padStart(2, "0")).join(" ");
}

/** Formats APDUs as a scriptor script: one APDU per line, hex bytes separated by spaces. */
export function toScriptorScript(apdus: readonly Uint8Array[]): string {
  return apdus.map((apdu) => toHex(apdu) + "\n").join("");
}

/**
 * Returns the response APDUs in scriptor's output, in order. scriptor echoes each
 * command as `> hex` and prints each response as `< hex : meaning of the SW`,
 * with 16 bytes per line, so a long response continues on unprefixed lines.
 */
export function parseScriptorResponses(output: string): Uint8Array[] {
  const responses: Uint8Array[] = [];
  let pending: string | undefined;

  for (const line of output.split("\n")) {
    if (pending === undefined && !line.startsWith("< ")) continue;

    pending = (pending ?? "") + (pending === undefined ? line.slice(2) : line);
    const end = pending.indexOf(" : ");
    if (end < 0) continue;

    const hex = pending.slice(0, end).replace(/\s+/g, "");
    responses.push(Uint8Array.from(Buffer.from(hex, "hex")));
    pending = undefined;
  }
  return responses;
}
