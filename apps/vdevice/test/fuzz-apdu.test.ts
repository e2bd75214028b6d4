/**
 * Sends 10,000 random and mutated APDUs to one in-process device. Every
 * command must get a status word other than 6F00 (which the runtime sends only
 * for an internal error, i.e. a bug), and the device must keep serving.
 */
import { expect, test } from "vitest";
import fc from "fast-check";
import { fromHex, toHex } from "@hsmkit/tlv";
import { ascii, openInitializedCard, SO_PIN_HEX, USER_PIN, withExtendedLc, withLc } from "./hsm-harness.ts";

const SEED = 0x5eed_2024;
const RUNS = 10_000;

/** One valid command per INS the HSM applet and the runtime know, as clients send them. */
const VALID_COMMANDS = [
  "00A404000BE82B0601040181C31F020100",
  "00A4040408A0583FC19B7E4F2100",
  withLc("00200081", ascii(USER_PIN)),
  "00200081",
  "00200088",
  withLc("00240081", ascii(USER_PIN) + ascii(USER_PIN)),
  withLc("002C0081", SO_PIN_HEX + ascii(USER_PIN)),
  withExtendedLc("00460100", "5F290100 4209555443413030303031 7F490F060A04007F00070202020203 8103FFFFFF") + "0000",
  withLc("80500000", `80020001 8106${ascii(USER_PIN)} 8208${SO_PIN_HEX} 910103 920101`),
  "8050000000",
  withLc("80520000", "01".repeat(32)) + "00",
  "8052000000",
  "80580000000000",
  withExtendedLc("80620121", "00".repeat(32)) + "0200",
  withExtendedLc("80680173", "00".repeat(45)) + "0200",
  "0084000008",
  "00A4000002 2F02 00",
  "00A4080002 2F00 00",
  "00B1000004 54020000 00",
  "00B0000010",
  withLc("00D7CF00", "54020000 5300"),
  withLc("00D70000", "54020000 5303 010203"),
  "00E4020002CF00",
  "00C0000000",
  "801E020000",
  "801C020204 5F5E1000",
].map((hex) => fromHex(hex.replace(/\s+/g, "")));

const randomApdu = fc.uint8Array({ minLength: 0, maxLength: 300 });

/** A valid command with a few bytes overwritten, inserted or removed, or its header changed. */
const mutatedApdu = fc
  .tuple(
    fc.constantFrom(...VALID_COMMANDS),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom("set", "insert", "delete")), { maxLength: 4 }),
    fc.option(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 255 })), { nil: undefined }),
  )
  .map(([command, edits, header]) => {
    const bytes = Array.from(command);
    for (const [position, value, kind] of edits) {
      const index = bytes.length === 0 ? 0 : position % (bytes.length + (kind === "insert" ? 1 : 0));
      if (kind === "set" && bytes.length > 0) bytes[index % bytes.length] = value;
      if (kind === "insert") bytes.splice(index, 0, value);
      if (kind === "delete" && bytes.length > 0) bytes.splice(index % bytes.length, 1);
    }
    if (header && bytes.length > header[0]) bytes[header[0]] = header[1];
    return new Uint8Array(bytes);
  });

const apdu = fc.oneof({ arbitrary: randomApdu, weight: 1 }, { arbitrary: mutatedApdu, weight: 4 }, { arbitrary: fc.constantFrom(...VALID_COMMANDS), weight: 1 });

test("fuzzed APDUs never answer 6F00 and the device keeps serving", { timeout: 120_000 }, async () => {
  const card = await openInitializedCard(1);
  const commands = fc.sample(apdu, { seed: SEED, numRuns: RUNS });
  const failures: string[] = [];

  for (const command of commands) {
    const response = await card.device.transmit(command);
    const sw = response.length >= 2 ? (response[response.length - 2] << 8) | response[response.length - 1] : -1;
    if (sw === -1 || sw === 0x6f00) failures.push(`${toHex(command).toUpperCase()} → ${toHex(response).toUpperCase()}`);
  }

  expect(failures, `APDUs answered 6F00 or without a status word:\n${failures.slice(0, 20).join("\n")}`).toEqual([]);

  const select = await card.send("00A404000BE82B0601040181C31F020100");
  expect(select.swHex).toBe("9000");
  expect((await card.send("80580000000000")).swHex).toBe("9000");
});
