import { fromHex, toHex } from "@hsmkit/tlv";
import { describe, expect, it } from "vitest";
import { SW, transmitApdu, type Transmit } from "../src/index.ts";
import { createCard, pattern, SELECT_HSM } from "./helpers.ts";

/** A transmit function that records frames and plays back canned responses. */
function scripted(responses: string[]): { transmit: Transmit; sent: string[] } {
  const sent: string[] = [];
  const transmit: Transmit = async (command) => {
    sent.push(toHex(command));
    const next = responses.shift();
    if (next === undefined) throw new Error("unexpected command");
    return fromHex(next);
  };
  return { transmit, sent };
}

describe("transmitApdu", () => {
  it("follows 61XX against the card runtime", async () => {
    const { runtime } = createCard();
    const transmit: Transmit = (command) => runtime.transmit(command);
    await runtime.transmit(fromHex(SELECT_HSM));

    const response = await transmitApdu(transmit, { cla: 0, ins: 0x12, p1: 0x02, p2: 0x58, ne: 16 });
    expect(response.sw).toBe(SW.OK);
    expect(toHex(response.data)).toBe(toHex(pattern(600)));
  });

  it("collects the data of case 3", async () => {
    const { runtime } = createCard();
    await runtime.transmit(fromHex(SELECT_HSM));
    const response = await transmitApdu((command) => runtime.transmit(command), { cla: 0, ins: 0x10, p1: 0, p2: 0, data: fromHex("0102") });
    expect(toHex(response.data)).toBe("0102");
    expect(response.sw).toBe(SW.OK);
  });

  it("sends GET RESPONSE with SW2 as Le", async () => {
    const { transmit, sent } = scripted(["AA 61 02", "BB CC 90 00"]);
    const response = await transmitApdu(transmit, { cla: 0x80, ins: 0x58, p1: 0, p2: 0, ne: 65536 });
    expect(sent).toEqual(["80580000000000", "00C0000002"]);
    expect(toHex(response.data)).toBe("AABBCC");
    expect(response.sw).toBe(0x9000);
  });

  it("resends once with the Le from 6CXX", async () => {
    const { transmit, sent } = scripted(["6C 08", "0102030405060708 9000"]);
    const response = await transmitApdu(transmit, { cla: 0, ins: 0x84, p1: 0, p2: 0, ne: 256 });
    expect(sent).toEqual(["0084000000", "0084000008"]);
    expect(response.data.length).toBe(8);
  });

  it("returns an error SW unchanged", async () => {
    const { transmit } = scripted(["6A 82"]);
    expect(await transmitApdu(transmit, { cla: 0, ins: 0xa4, p1: 4, p2: 0, data: fromHex("A000") })).toEqual({
      data: new Uint8Array(),
      sw: 0x6a82,
    });
  });

  it("gives up on endless 61XX", async () => {
    const transmit: Transmit = async () => fromHex("61 00");
    await expect(transmitApdu(transmit, { cla: 0, ins: 0xb0, p1: 0, p2: 0, ne: 256 })).rejects.toThrow(/61XX/);
  });

  it("forces the extended form", async () => {
    const { transmit, sent } = scripted(["9000"]);
    await transmitApdu(transmit, { cla: 0, ins: 0xb0, p1: 0, p2: 0, ne: 16 }, { extended: true });
    expect(sent).toEqual(["00B00000000010"]);
  });
});
