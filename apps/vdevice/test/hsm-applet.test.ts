import { describe, expect, test } from "vitest";
import { toHex } from "@hsmkit/tlv";
import { HSM_AID_HEX, openInitializedCard, openTestCard, withLc } from "./hsm-harness.ts";

const ATR = "3BFE1800008131FE45803181544853 4D3173802140 8107FA".replace(/\s/g, "");
const FCP_BEFORE_INIT = `6222 81020000 820101 83020000 840B${HSM_AID_HEX} 8A0105 85050000FF0606`.replace(/\s/g, "");

describe("HSM applet", () => {
  test("ATR is the SmartCard-HSM ATR", async () => {
    const card = await openTestCard();
    expect(toHex(card.device.atr).toUpperCase()).toBe(ATR);
  });

  test("CoolKey and MUSCLE probes answer 6A82", async () => {
    const card = await openTestCard();
    expect(await card.sw("00A404000762760 1FF000000".replace(/\s/g, ""))).toBe("6A82");
    expect(await card.sw("00A4040006A00000000101")).toBe("6A82");
  });

  test("SELECT answers the FCP with options 0000 before INITIALIZE", async () => {
    const card = await openTestCard();
    const response = await card.selectApplet();
    expect(response.swHex).toBe("9000");
    expect(response.hex).toBe(FCP_BEFORE_INIT);
  });

  test("SELECT shows options 0001 after INITIALIZE", async () => {
    const card = await openInitializedCard(1);
    const response = await card.selectApplet();
    expect(response.hex.endsWith("85050001FF0606")).toBe(true);
  });

  test("commands before SELECT answer 6A82", async () => {
    const card = await openTestCard();
    expect(await card.sw("80580000000000")).toBe("6A82");
  });

  test("unknown INS answers 6D00, session PIN 5A too", async () => {
    const card = await openInitializedCard();
    expect(await card.sw("00FE0000")).toBe("6D00");
    expect(await card.sw("805A0000")).toBe("6D00");
    expect(await card.sw("80C00000")).toBe("6D00");
  });

  test("secure messaging CLA without a session answers 6987", async () => {
    const card = await openInitializedCard();
    expect(await card.sw("0C200081")).toBe("6987");
  });

  test("secure messaging CLA answers 6E00 when switched off", async () => {
    const card = await openTestCard({ secureMessaging: false });
    await card.selectApplet();
    expect(await card.sw("0C200081")).toBe("6E00");
  });

  test("re-SELECT logs out", async () => {
    const card = await openInitializedCard();
    expect(await card.login()).toBe("9000");
    expect(await card.sw("00200081")).toBe("9000");
    await card.selectApplet();
    expect(await card.sw("00200081")).toBe("63C3");
    expect(await card.sw(withLc("00D7CF00", "54020000 5300"))).toBe("6982");
  });

  test("SELECT P2 0C answers 6A86", async () => {
    const card = await openInitializedCard();
    expect(await card.sw("00A4000C022F02")).toBe("6A86");
  });
});

describe("rescue applet", () => {
  const SELECT_RESCUE = "00A4040408A0583FC19B7E4F2100";

  test("SELECT reports emulation, HSM, version 6.6 and a serial", async () => {
    const card = await openTestCard();
    const response = await card.send(SELECT_RESCUE);
    expect(response.swHex).toBe("9000");
    expect(response.data.length).toBe(12);
    expect(response.hex.slice(0, 8)).toBe("03010606");
  });

  test("CLA other than 80 answers 6E00", async () => {
    const card = await openTestCard();
    await card.send(SELECT_RESCUE);
    expect(await card.sw("001E0200")).toBe("6E00");
  });

  test("flash info is five u32 and PHY is empty", async () => {
    const card = await openTestCard();
    await card.send(SELECT_RESCUE);
    const flash = await card.send("801E0200");
    expect(flash.swHex).toBe("9000");
    expect(flash.data.length).toBe(20);
    const view = new DataView(flash.data.buffer, flash.data.byteOffset);
    expect(view.getUint32(0) + view.getUint32(4)).toBe(view.getUint32(8));
    expect(view.getUint32(12)).toBeGreaterThan(0);

    const phy = await card.send("801E0100");
    expect(phy.swHex).toBe("9000");
    expect(phy.data.length).toBe(0);
  });

  test("clock get before set answers 6985, then follows the set time", async () => {
    const card = await openTestCard();
    await card.send(SELECT_RESCUE);
    expect(await card.sw("801E0402")).toBe("6985");

    expect(await card.sw("801C0202 04 5F5E1000")).toBe("9000");
    const unix = await card.send("801E0402");
    const seconds = new DataView(unix.data.buffer, unix.data.byteOffset).getUint32(0);
    expect(seconds - 0x5f5e1000).toBeGreaterThanOrEqual(0);
    expect(seconds - 0x5f5e1000).toBeLessThan(5);

    expect(await card.sw("801C0201 08 07E8 00 0F 01 0C 00 00")).toBe("9000");
    const calendar = await card.send("801E0401");
    expect(calendar.hex.slice(0, 8)).toBe("07E8000F");
  });

  test("unknown rescue INS answers 6D00", async () => {
    const card = await openTestCard();
    await card.send(SELECT_RESCUE);
    expect(await card.sw("801F0000")).toBe("6D00");
    expect(await card.sw("80100200")).toBe("6D00");
  });

  test("selecting the rescue applet ends the HSM session", async () => {
    const card = await openInitializedCard();
    expect(await card.login()).toBe("9000");
    await card.send(SELECT_RESCUE);
    expect(await card.sw("80580000000000")).toBe("6D00");
    await card.selectApplet();
    expect(await card.sw("00200081")).toBe("63C3");
  });
});
