// Property tests with a fixed seed, so every run checks the same cases.
import fc from "fast-check";
import { fromHex, toHex } from "@hsmkit/tlv";
import { describe, expect, it } from "vitest";
import { CardError, encodeCommandApdu, parseCommandApdu, SW } from "../src/index.ts";
import { createCard, HSM_AID, INS, RESCUE_AID, SELECT_HSM } from "./helpers.ts";

const SEED = 0x5ca1ab1e;

const byte = fc.integer({ min: 0, max: 255 });
const ne = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 256 }), fc.integer({ min: 257, max: 65536 }));
const data = fc.oneof(
  { weight: 4, arbitrary: fc.uint8Array({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 250, maxLength: 700 }) },
);

describe("codec properties", () => {
  it("encode then parse is the identity", () => {
    fc.assert(
      fc.property(byte, byte, byte, byte, data, ne, fc.boolean(), (cla, ins, p1, p2, body, expectedNe, forceExtended) => {
        const frame = encodeCommandApdu({ cla, ins, p1, p2, data: body, ne: expectedNe }, { extended: forceExtended });
        const parsed = parseCommandApdu(frame);

        const isCase1 = body.length === 0 && expectedNe === 0;
        expect(parsed.cla).toBe(cla);
        expect(parsed.ins).toBe(ins);
        expect(parsed.p1).toBe(p1);
        expect(parsed.p2).toBe(p2);
        expect(toHex(parsed.data)).toBe(toHex(body));
        expect(parsed.ne).toBe(isCase1 ? 256 : expectedNe);
        expect(parsed.extended).toBe(!isCase1 && (forceExtended || body.length > 255 || expectedNe > 256));
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it("random bytes throw only CardError 6700", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (frame) => {
        try {
          const parsed = parseCommandApdu(frame);
          expect(parsed.data.length).toBeLessThan(frame.length);
        } catch (error) {
          if (!(error instanceof CardError)) throw error;
          expect(error.sw).toBe(SW.WRONG_LENGTH);
        }
      }),
      { seed: SEED, numRuns: 3000 },
    );
  });
});

/** Frames biased toward what the runtime branches on: SELECT, chaining, GET RESPONSE, SM bits. */
const frame = fc.oneof(
  fc.uint8Array({ maxLength: 24 }),
  fc
    .record({
      cla: fc.constantFrom(0x00, 0x80, 0x10, 0x90, 0x0c, 0x04, 0xff, 0x01),
      ins: fc.constantFrom(0xa4, 0xc0, INS.ECHO, INS.PATTERN, INS.DENY, INS.WARNING_WITH_DATA, INS.BUG, INS.WHOLE, 0x00),
      p1: fc.constantFrom(0x00, 0x01, 0x04),
      p2: fc.constantFrom(0x00, 0x04, 0x0c, 0x20),
      data: fc.oneof(fc.constant(HSM_AID), fc.constant(RESCUE_AID), fc.uint8Array({ maxLength: 300 })),
      ne,
    })
    .map((fields) => encodeCommandApdu(fields)),
);

describe("runtime properties", () => {
  it("every frame gets a response ending in a SW", async () => {
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.array(frame, { minLength: 1, maxLength: 12 }), async (selectFirst, frames) => {
        const { runtime, errors } = createCard();
        if (selectFirst) await runtime.transmit(fromHex(SELECT_HSM));
        let bugs = 0;

        for (const bytes of frames) {
          if (bytes.length >= 2 && bytes[1] === INS.BUG) bugs++;
          const response = await runtime.transmit(bytes);
          expect(response.length).toBeGreaterThanOrEqual(2);

          const sw1 = response[response.length - 2];
          if (response.length > 2) expect([0x90, 0x61]).toContain(sw1);
          expect(sw1 >> 4).toBeGreaterThanOrEqual(6);
        }
        expect(errors.length).toBeLessThanOrEqual(bugs);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });
});
