import { fromHex, toHex } from "@hsmkit/tlv";
import { describe, expect, it } from "vitest";
import { CardError, CardRuntime, SW, type CommandApdu } from "../src/index.ts";
import { ATR, createCard, HSM_AID, INS, pattern, SELECT_HSM, SELECT_RESCUE, TestApplet } from "./helpers.ts";

const HSM_NAME_HEX = toHex(new TextEncoder().encode("hsm"));
const RESCUE_NAME_HEX = toHex(new TextEncoder().encode("rescue"));

describe("frame parsing", () => {
  it("answers 6700 to malformed frames and keeps serving", async () => {
    const { send, log } = createCard();
    expect(await send("")).toBe("6700");
    expect(await send("00 A4")).toBe("6700");
    expect(await send("00 A4 04 00 0B E8 2B")).toBe("6700");
    expect(log[0]).toEqual({ ins: undefined, sw: 0x6700, detail: "command APDU of 0 byte(s) is shorter than the 4-byte header" });
    expect(await send(SELECT_HSM)).toBe(`${HSM_NAME_HEX} 9000`);
  });

  it("rejects frames above maxCommandLength", async () => {
    const { send } = createCard({ maxCommandLength: 16 });
    expect(await send(`00 10 00 00 0C ${"11".repeat(12)}`)).toBe("6700");
    expect(await send(`00 10 00 00 0B ${"11".repeat(11)}`)).toBe("6A82");
  });

  it("accepts a 65544-byte frame by default", async () => {
    const { runtime, send } = createCard();
    await send(SELECT_HSM);
    const frame = new Uint8Array(65544);
    frame.set([0x00, INS.ECHO, 0x00, 0x00, 0x00, 0xff, 0xff]);
    const response = await runtime.transmit(frame);
    expect(response.length).toBe(65535 + 2);
    expect(toHex(response.subarray(-2))).toBe("9000");
  });

  it("malformed frame keeps pending data", async () => {
    const { send } = createCard();
    await send(SELECT_HSM);
    expect(await send("00 12 00 20 10")).toBe(`${toHex(pattern(16))} 6110`);
    expect(await send("00 12")).toBe("6700");
    expect(await send("00 C0 00 00 10")).toBe(`${toHex(pattern(32).subarray(16))} 9000`);
  });
});

describe("applet selection", () => {
  it("answers 6A82 with no applet selected", async () => {
    const { send, hsm } = createCard();
    expect(await send("00 10 00 00 01 AA")).toBe("6A82");
    expect(await send("00 C0 00 00 00")).toBe("6A82");
    expect(hsm.commands).toHaveLength(0);
  });

  it("answers OpenSC's foreign probes with 6A82", async () => {
    const { send, hsm } = createCard();
    expect(await send("00 A4 04 00 07 62 76 01 FF 00 00 00")).toBe("6A82");
    expect(await send("00 A4 04 00 06 A0 00 00 00 01 01")).toBe("6A82");
    expect(await send(SELECT_HSM)).toBe(`${HSM_NAME_HEX} 9000`);
    expect(hsm.selects).toHaveLength(1);
    expect(toHex(hsm.selects[0].data)).toBe(toHex(HSM_AID));
    expect(hsm.selects[0].ne).toBe(256);
  });

  it("keeps the applet selected after a failed SELECT", async () => {
    const { send, runtime, hsm } = createCard();
    await send(SELECT_HSM);
    expect(await send("00 A4 04 00 06 A0 00 00 00 01 01")).toBe("6A82");
    expect(runtime.selectedApplet).toBe(hsm);
    expect(hsm.deselectCount).toBe(0);
    expect(await send("00 10 00 00 01 AA 00")).toBe("AA 9000");
  });

  it("matches a longer AID with the right prefix", async () => {
    const { send, runtime, hsm } = createCard();
    expect(await send(`00 A4 04 00 0D ${toHex(HSM_AID)} 01 02 00`)).toBe(`${HSM_NAME_HEX} 9000`);
    expect(runtime.selectedApplet).toBe(hsm);
  });

  it("rejects a truncated AID", async () => {
    const { send, runtime } = createCard();
    expect(await send(`00 A4 04 00 0A ${toHex(HSM_AID.subarray(0, 10))} 00`)).toBe("6A82");
    expect(await send("00 A4 04 00 00")).toBe("6A82");
    expect(runtime.selectedApplet).toBeUndefined();
  });

  it("deselects the previous applet", async () => {
    const { send, runtime, hsm, rescue } = createCard();
    await send(SELECT_HSM);
    expect(await send(SELECT_RESCUE)).toBe(`${RESCUE_NAME_HEX} 9000`);
    expect(hsm.deselectCount).toBe(1);
    expect(runtime.selectedApplet).toBe(rescue);
    expect(rescue.deselectCount).toBe(0);
  });

  it("re-selecting runs select without deselect", async () => {
    const { send, hsm } = createCard();
    await send(SELECT_HSM);
    await send(SELECT_HSM);
    expect(hsm.selects).toHaveLength(2);
    expect(hsm.deselectCount).toBe(0);
  });

  it("passes SELECT with P2 0C to the applet", async () => {
    const { send, hsm } = createCard();
    expect(await send(`00 A4 04 0C 0B ${toHex(HSM_AID)}`)).toBe("6A82");
    await send(SELECT_HSM);
    expect(await send(`00 A4 04 0C 0B ${toHex(HSM_AID)}`)).toBe("6D00");
    expect(hsm.commands.map((command) => command.p2)).toEqual([0x0c]);
    expect(hsm.selects).toHaveLength(1);
  });

  it("passes SELECT by FID to the applet", async () => {
    const { send, hsm } = createCard();
    await send(SELECT_HSM);
    await send("00 A4 00 00 02 2F 02 00");
    expect(hsm.commands).toHaveLength(1);
  });

  it("failing select leaves no applet selected", async () => {
    const failing = new TestApplet(HSM_AID, "hsm");
    failing.select = () => {
      throw new Error("storage unreadable");
    };
    const errors: unknown[] = [];
    const runtime = new CardRuntime({ atr: ATR, applets: [failing], onError: (error) => errors.push(error) });
    expect(toHex(await runtime.transmit(fromHex(SELECT_HSM)))).toBe("6F00");
    expect(runtime.selectedApplet).toBeUndefined();
    expect(errors).toHaveLength(1);
  });

  it("rejects an applet with an empty AID", () => {
    expect(() => new CardRuntime({ atr: ATR, applets: [new TestApplet(new Uint8Array(), "x")] })).toThrow(RangeError);
  });

  it("returns the ATR", () => {
    const { runtime } = createCard();
    expect(toHex(runtime.atr)).toBe(toHex(ATR));
  });
});

describe("status words", () => {
  it("sends a CardError's SW without data", async () => {
    const { send, log } = createCard();
    await send(SELECT_HSM);
    expect(await send("00 14 00 00 00")).toBe("6982");
    expect(log.at(-1)).toEqual({ ins: INS.DENY, sw: 0x6982, detail: "PIN not verified" });
  });

  it("drops data of a non-90XX SW", async () => {
    const { send } = createCard();
    await send(SELECT_HSM);
    expect(await send("00 16 00 00 00")).toBe("6282");
  });

  it("answers 6F00 to a non-CardError", async () => {
    const { send, errors } = createCard();
    await send(SELECT_HSM);
    expect(await send("00 18 00 00 00")).toBe("6F00");
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe("simulated bug");
    expect(await send("00 10 00 00 01 AA 00")).toBe("AA 9000");
  });

  it("answers 6F00 to an invalid applet response", async () => {
    const { runtime, send, hsm, errors } = createCard();
    await send(SELECT_HSM);
    hsm.process = async () => ({ sw: 0x12345 });
    expect(await send("00 10 00 00 00")).toBe("6F00");
    expect(errors[0]).toBeInstanceOf(TypeError);
    expect(runtime.selectedApplet).toBe(hsm);
  });

  it("treats an undefined applet response as 9000", async () => {
    const { send, hsm } = createCard();
    await send(SELECT_HSM);
    hsm.process = async () => undefined as never;
    expect(await send("00 10 00 00 00")).toBe("9000");
  });

  it("survives a throwing onCommand", async () => {
    const errors: unknown[] = [];
    const runtime = new CardRuntime({
      atr: ATR,
      applets: [new TestApplet(HSM_AID, "hsm")],
      onCommand: () => {
        throw new Error("logger down");
      },
      onError: (error) => errors.push(error),
    });
    expect(toHex(await runtime.transmit(fromHex(SELECT_HSM)))).toBe(`${HSM_NAME_HEX}9000`);
    expect(errors).toHaveLength(1);
  });
});

describe("CLA handling", () => {
  it("accepts CLA 80 and logical channel bits", async () => {
    const { send } = createCard();
    await send(SELECT_HSM);
    expect(await send("80 10 00 00 01 AA 00")).toBe("AA 9000");
    expect(await send("03 10 00 00 01 BB 00")).toBe("BB 9000");
  });

  it("rejects secure-messaging CLA with 6E00", async () => {
    const { send, hsm } = createCard();
    await send(SELECT_HSM);
    for (const cla of ["04", "08", "0C", "8C"]) {
      expect(await send(`${cla} 10 00 00 01 AA 00`), `CLA ${cla}`).toBe("6E00");
    }
    expect(await send(`0C A4 04 00 0B ${toHex(HSM_AID)} 00`)).toBe("6E00");
    expect(hsm.commands).toHaveLength(0);
  });

  it("routes secure messaging through the hook", async () => {
    const seen: CommandApdu[] = [];
    const { send, hsm } = createCard({
      // A toy protection: the plain command is the protected one with CLA bits
      // 0x0C cleared, and the response data is wrapped in tag 99.
      secureMessaging: async (command, execute) => {
        seen.push(command);
        const plain = await execute({ ...command, cla: command.cla & ~0x0c });
        return { data: Uint8Array.of(0x99, plain.data.length, ...plain.data, plain.sw >> 8, plain.sw & 0xff) };
      },
    });
    await send(SELECT_HSM);
    expect(await send("0C 10 00 00 02 AA BB 00")).toBe("9902AABB9000 9000");
    expect(hsm.commands[0].cla).toBe(0x00);
    expect(await send("0C 14 00 00 00")).toBe("99006982 9000");
    expect(await send("0C 12 00 10 04")).toBe("99100001 6110");
    expect(await send("00 C0 00 00 00")).toBe(`${toHex(pattern(16).subarray(2))}9000 9000`);
    expect(seen).toHaveLength(3);
  });

  it("sends a CardError from the hook as its SW", async () => {
    const { send } = createCard({
      secureMessaging: () => {
        throw new CardError(SW.REFERENCE_DATA_NOT_USABLE, "MAC mismatch");
      },
    });
    expect(await send("0C 10 00 00 01 AA")).toBe("6984");
  });
});

describe("response chaining", () => {
  it("splits beyond Ne with 61XX", async () => {
    const { send } = createCard();
    await send(SELECT_HSM);
    const data = pattern(40);
    expect(await send("00 12 00 28 10")).toBe(`${toHex(data.subarray(0, 16))} 6118`);
    expect(await send("00 C0 00 00 00")).toBe(`${toHex(data.subarray(16))} 9000`);
  });

  it("answers case 3 with 61XX only", async () => {
    const { send, log } = createCard();
    await send(SELECT_HSM);
    expect(await send("00 10 00 00 03 01 02 03")).toBe("6103");
    expect(log.at(-1)?.sw).toBe(0x6103);
    expect(await send("00 C0 00 00 03")).toBe("010203 9000");
  });

  it("uses 6100 for 256 bytes or more", async () => {
    const { send } = createCard();
    await send(SELECT_HSM);
    const data = pattern(600);
    expect(await send("00 12 02 58 00")).toBe(`${toHex(data.subarray(0, 256))} 6100`);
    expect(await send("00 C0 00 00 00")).toBe(`${toHex(data.subarray(256, 512))} 6158`);
    expect(await send("00 C0 00 00 20")).toBe(`${toHex(data.subarray(512, 544))} 6138`);
    expect(await send("00 C0 00 00 38")).toBe(`${toHex(data.subarray(544))} 9000`);
  });

  it("GET RESPONSE ignores CLA, P1, P2 and data", async () => {
    const { send } = createCard();
    await send(SELECT_HSM);
    await send("00 12 00 20 10");
    expect(await send("80 C0 12 34 01 FF 00")).toBe(`${toHex(pattern(32).subarray(16))} 9000`);
  });

  it("extended GET RESPONSE takes everything", async () => {
    const { send } = createCard();
    await send(SELECT_HSM);
    await send("00 12 01 F4 00");
    expect(await send("00 C0 00 00 00 00 00")).toBe(`${toHex(pattern(500).subarray(256))} 9000`);
  });

  it("another command discards pending data", async () => {
    const { send, hsm } = createCard();
    await send(SELECT_HSM);
    expect(await send("00 12 00 20 10")).toBe(`${toHex(pattern(16))} 6110`);
    expect(await send("00 10 00 00 01 AA 00")).toBe("AA 9000");
    expect(await send("00 C0 00 00 00")).toBe("6D00");
    expect(hsm.commands.at(-1)?.ins).toBe(0xc0);
  });

  it("GET RESPONSE with nothing pending reaches the applet", async () => {
    const { send, hsm } = createCard();
    await send(SELECT_HSM);
    expect(await send("00 C0 00 00 00")).toBe("6D00");
    expect(hsm.commands).toHaveLength(1);
  });

  it("applet Ne override returns everything", async () => {
    const { send } = createCard();
    await send(SELECT_HSM);
    expect(await send("00 1A 01 00 10")).toBe(`${toHex(pattern(256))} 9000`);
    expect(await send("00 1A 01 00")).toBe(`${toHex(pattern(256))} 9000`);
  });

  it("case 1 behaves like Le 00", async () => {
    const { send } = createCard();
    await send(SELECT_HSM);
    expect(await send("00 12 01 01")).toBe(`${toHex(pattern(256))} 6101`);
  });
});

describe("command chaining", () => {
  it("combines the parts", async () => {
    const { send, hsm } = createCard();
    await send(SELECT_HSM);
    expect(await send("10 10 00 00 02 01 02")).toBe("9000");
    expect(await send("10 10 00 00 01 03")).toBe("9000");
    expect(await send("00 10 00 00 02 04 05 00")).toBe("0102030405 9000");
    expect(hsm.commands).toHaveLength(1);
    expect(hsm.commands[0].cla).toBe(0x00);
    expect(hsm.commands[0].ne).toBe(256);
  });

  it("uses the final part's Le", async () => {
    const { send } = createCard();
    await send(SELECT_HSM);
    await send("90 10 00 00 02 01 02");
    expect(await send("80 10 00 00 01 03")).toBe("6103");
  });

  it("rejects a part with another header", async () => {
    const { send, hsm } = createCard();
    await send(SELECT_HSM);
    await send("10 10 00 00 01 01");
    expect(await send("10 10 00 01 01 02")).toBe("6883");
    expect(await send("00 10 00 00 01 03 00")).toBe("03 9000");
    expect(hsm.commands).toHaveLength(1);
  });

  it("rejects another command during a chain", async () => {
    const { send, hsm } = createCard();
    await send(SELECT_HSM);
    await send("10 10 00 00 01 01");
    expect(await send("00 12 00 01 00")).toBe("6883");
    expect(hsm.commands).toHaveLength(0);
    expect(await send("00 10 00 00 01 03 00")).toBe("03 9000");
  });

  it("SELECT by AID discards the chain", async () => {
    const { send, hsm } = createCard();
    await send(SELECT_HSM);
    await send("10 10 00 00 01 01");
    expect(await send(SELECT_RESCUE)).toBe(`${RESCUE_NAME_HEX} 9000`);
    await send(SELECT_HSM);
    expect(await send("00 10 00 00 01 03 00")).toBe("03 9000");
    expect(hsm.selects).toHaveLength(2);
  });

  it("rejects 2038 bytes of chained data", async () => {
    const { send } = createCard();
    await send(SELECT_HSM);
    const part = "AB".repeat(255);
    for (let i = 0; i < 7; i++) expect(await send(`10 10 00 00 FF ${part}`)).toBe("9000");
    expect(await send(`10 10 00 00 FC ${"AB".repeat(252)}`)).toBe("9000");
    expect(await send("10 10 00 00 01 AB")).toBe("6700");
    expect(await send("00 10 00 00 01 CD 00")).toBe("CD 9000");
  });

  it("rejects a final part reaching the limit", async () => {
    const { send } = createCard();
    await send(SELECT_HSM);
    await send(`10 10 00 00 00 07 F5 ${"AB".repeat(2037)}`);
    expect(await send("00 10 00 00 01 AB 00")).toBe("6700");
  });

  it("answers the PC/SC get UID escape with empty 9000", async () => {
    const { send } = createCard();
    expect(await send("FF CA 00 00 00")).toBe("9000");
  });

  it("chains SELECT by AID parts", async () => {
    const { send, hsm } = createCard();
    await send(`10 A4 04 00 05 ${toHex(HSM_AID.subarray(0, 5))}`);
    expect(await send(`00 A4 04 00 06 ${toHex(HSM_AID.subarray(5))} 00`)).toBe(`${HSM_NAME_HEX} 9000`);
    expect(hsm.selects[0].data).toEqual(HSM_AID);
  });
});

describe("sequencing and power", () => {
  it("processes transmits strictly in order", async () => {
    const { runtime, send } = createCard();
    await send(SELECT_HSM);
    const slow = runtime.transmit(fromHex("00 1C 14 00 01 01 00"));
    const fast = runtime.transmit(fromHex("00 10 00 00 01 02 00"));
    const order: string[] = [];
    await Promise.all([slow.then(() => order.push("slow")), fast.then(() => order.push("fast"))]);
    expect(order).toEqual(["slow", "fast"]);
    expect(toHex(await slow)).toBe("019000");
    expect(toHex(await fast)).toBe("029000");
  });

  it("power off and reset keep state", async () => {
    const { runtime, send, hsm } = createCard();
    await send(SELECT_HSM);
    await send("00 12 00 20 10");
    runtime.powerOff();
    runtime.powerOn();
    runtime.reset();
    expect(runtime.selectedApplet).toBe(hsm);
    expect(await send("00 C0 00 00 00")).toBe(`${toHex(pattern(32).subarray(16))} 9000`);
  });
});
