import { describe, expect, test } from "vitest";
import { sha256 } from "@noble/hashes/sha2.js";
import { toHex } from "@hsmkit/tlv";
import { ascii, fidList, openCardWithState, openInitializedCard, openTestCard, putTestKey, SO_PIN_HEX, USER_PIN, withLc } from "./hsm-harness.ts";

describe("INITIALIZE", () => {
  test("information query answers 7 bytes with the version", async () => {
    const card = await openTestCard();
    await card.selectApplet();
    const response = await card.send("8050000000");
    expect(response.swHex).toBe("9000");
    expect(response.hex).toBe("00100000000606");
  });

  test("sets UA and both sessions", async () => {
    const card = await openTestCard();
    await card.selectApplet();
    expect((await card.initialize()).swHex).toBe("9000");
    expect(await card.sw("00200081")).toBe("9000");
    expect(await card.sw("00200088")).toBe("9000");
    expect(await card.sw(withLc("00D7CF00", "54020000 5300"))).toBe("9000");
  });

  test("retry counter from tag 91", async () => {
    const card = await openTestCard();
    await card.selectApplet();
    expect(await card.sw(withLc("80500000", `80020001 8106${ascii(USER_PIN)} 8208${SO_PIN_HEX} 910105`))).toBe("9000");
    await card.selectApplet();
    expect(await card.sw("00200081")).toBe("63C5");
  });

  test("invalid tags answer without erasing anything", async () => {
    const card = await openInitializedCard();
    await card.login();
    await card.send(withLc("00D7CF00", "54020000 5301 AA"));
    expect(await card.sw(withLc("80500000", `8102${ascii("12")}`))).toBe("6A80");
    expect(await card.sw(withLc("80500000", `8101${ascii("1")} 8201${ascii("2")} 910110`))).toBe("6A80");
    expect(await card.sw(withLc("80500000", `800101 8101${ascii("1")} 8201${ascii("2")}`))).toBe("6A80");
    expect((await card.send("00B1CF0004 54020000 00")).hex).toBe("AA");
  });

  test("erases keys and files, keeps the identity", async () => {
    const { card, state } = await openCardWithState();
    await card.selectApplet();
    await card.initialize();
    await putTestKey(state, 1);
    await card.send(withLc("00D7CF00", "54020000 5301 AA"));
    expect(fidList((await card.send("80580000000000")).data)).toEqual(["C400", "CC00", "CC01", "C401"]);

    await card.initialize();
    expect(fidList((await card.send("80580000000000")).data)).toEqual(["C400", "CC00"]);
    expect(await card.sw("00A4000002CF0000")).toBe("6A82");
    expect(await card.sw("00A4000002CE0100")).toBe("6A82");
    expect(await card.sw("00A4000002CE0000")).toBe("9000");
  });

  test("re-initializing needs the current SO-PIN", async () => {
    const card = await openInitializedCard();
    await card.login();
    await card.send(withLc("00D7CF00", "54020000 5301 AA"));

    const wrongSoPin = `80020001 8106${ascii(USER_PIN)} 8208${"30".repeat(8)}`;
    expect(await card.sw(withLc("80500000", wrongSoPin))).toBe("63CE");
    expect(await card.sw(withLc("80500000", wrongSoPin))).toBe("63CD");

    await card.login();
    expect((await card.send("00B1CF0004 54020000 00")).hex).toBe("AA");
    expect(await card.sw("00200088")).toBe("63CD");

    expect((await card.initialize()).swHex).toBe("9000");
    expect(await card.sw("00A4000002CF0000")).toBe("6A82");
    expect(await card.sw("00200088")).toBe("9000");
  });

  test("firmware policy re-initializes without SO-PIN", async () => {
    const card = await openTestCard({ reinitializeWithoutSoPin: true });
    await card.selectApplet();
    await card.initialize();

    const otherSoPin = `80020001 8106${ascii(USER_PIN)} 8208${"30".repeat(8)}`;
    expect(await card.sw(withLc("80500000", otherSoPin))).toBe("9000");
  });

  test("new PINs replace the old ones", async () => {
    const card = await openInitializedCard();
    await card.send(withLc("80500000", `80020001 8106${ascii("111111")} 8208${SO_PIN_HEX}`));
    await card.selectApplet();
    expect(await card.login(USER_PIN)).toBe("63C2");
    expect(await card.login("111111")).toBe("9000");
  });

  test("a deleted 2F02 is created again", async () => {
    const card = await openInitializedCard();
    const chrBefore = new TextDecoder().decode((await card.readFile("2F02")).subarray(15, 31));
    await card.login();
    expect(await card.sw("00E40200022F02")).toBe("9000");
    expect(await card.sw("00A40000022F0200")).toBe("6A82");
    await card.initialize();
    const chrAfter = new TextDecoder().decode((await card.readFile("2F02")).subarray(15, 31));
    expect(chrAfter).toBe(chrBefore);
  });
});

describe("IMPORT DKEK SHARE", () => {
  const share = new Uint8Array(32).fill(1);

  test("import without login answers 1, 0 and the true KCV", async () => {
    const card = await openInitializedCard(1);
    const response = await card.send(withLc("80520000", toHex(share)) + "00");
    expect(response.swHex).toBe("9000");
    expect(response.hex).toBe("0100" + "72CD6E8422C407FB");
    expect(toHex(sha256(share).subarray(0, 8)).toUpperCase()).toBe("72CD6E8422C407FB");
  });

  test("status query before and after the import", async () => {
    const card = await openInitializedCard(2);
    expect((await card.send("8052000000")).hex).toBe("0202" + "00".repeat(8));
    await card.send(withLc("80520000", toHex(share)) + "00");
    expect((await card.send("8052000000")).hex).toBe("0201" + "72CD6E8422C407FB");
    await card.send(withLc("80520000", toHex(share)) + "00");
    expect((await card.send("8052000000")).hex).toBe("0200" + "66687AADF862BD77");
  });

  test("complete domain refuses more shares with 6986", async () => {
    const card = await openInitializedCard(1);
    await card.send(withLc("80520000", toHex(share)) + "00");
    expect(await card.sw(withLc("80520000", toHex(share)) + "00")).toBe("6986");
  });

  test("no DKEK configured: status 0000, import 6986", async () => {
    const card = await openInitializedCard();
    expect((await card.send("8052000000")).hex).toBe("0000" + "00".repeat(8));
    expect(await card.sw(withLc("80520000", toHex(share)) + "00")).toBe("6986");
  });

  test("short share 6700, domain out of range 6B00 / 6A86", async () => {
    const card = await openInitializedCard(1);
    expect(await card.sw(withLc("80520000", "0101"))).toBe("6700");
    expect(await card.sw("8052001000")).toBe("6B00");
    expect(await card.sw("8052000100")).toBe("6A86");
  });

  test("tag 92 = 0 makes a random complete DKEK", async () => {
    const card = await openInitializedCard(0);
    const status = await card.send("8052000000");
    expect(status.hex.slice(0, 4)).toBe("0100");
    expect(status.hex.slice(4)).not.toBe("00".repeat(8));
  });

  test("uninitialised device answers 6B00", async () => {
    const card = await openTestCard();
    await card.selectApplet();
    expect(await card.sw("8052000000")).toBe("6B00");
  });

  test("key domains: create, clear and delete need the user PIN", async () => {
    const card = await openTestCard();
    await card.selectApplet();
    expect(await card.sw(withLc("80500000", `80020001 8106${ascii(USER_PIN)} 8208${SO_PIN_HEX} 970102`))).toBe("9000");
    await card.selectApplet();
    expect(await card.sw("8052000100")).toBe("6A88");
    expect(await card.sw(withLc("80520101", "01"))).toBe("6985");

    await card.login();
    expect((await card.send(withLc("80520101", "01") + "00")).hex).toBe("0101" + "00".repeat(8));
    expect(await card.sw(withLc("80520101", "01"))).toBe("6A86");
    expect((await card.send(withLc("80520001", toHex(share)) + "00")).hex).toBe("0100" + "72CD6E8422C407FB");
    expect((await card.send("80520401")).hex).toBe("0101" + "00".repeat(8));
    expect(await card.sw("80520301")).toBe("6A88");
    expect(await card.sw("8052000100")).toBe("6A88");
    expect(await card.sw("80520301")).toBe("6A86");
  });

  test("DKEK completed without a PIN is sealed at the next VERIFY", async () => {
    const { card, state } = await openCardWithState();
    await card.selectApplet();
    await card.initialize(1);
    await card.selectApplet();
    await card.send(withLc("80520000", toHex(share)) + "00");
    expect(state.keystore.unlocked).toBe(false);
    expect((await state.keystore.list()).some((name) => name.startsWith("dkek-acc/"))).toBe(true);

    await card.login();
    const names = await state.keystore.list();
    expect(names).toContain("dkek/00");
    expect(names.some((name) => name.startsWith("dkek-acc/"))).toBe(false);
    expect(toHex((await state.domains.loadDkek(0))!)).toBe(toHex(share));
  });
});

describe("GET CHALLENGE", () => {
  test("returns exactly Le random bytes", async () => {
    const card = await openInitializedCard();
    const eight = await card.send("0084000008");
    expect(eight.swHex).toBe("9000");
    expect(eight.data.length).toBe(8);
    const thirtyTwo = await card.send("0084000020");
    expect(thirtyTwo.data.length).toBe(32);
    expect(thirtyTwo.hex).not.toBe((await card.send("0084000020")).hex);
  });

  test("1024 bytes with extended Le; no Le or more than 1024 answers 6700", async () => {
    const card = await openInitializedCard();
    expect((await card.send("00840000000400")).data.length).toBe(1024);
    expect(await card.sw("00840000000401")).toBe("6700");
    expect(await card.sw("00840000000000")).toBe("6700");
    expect(await card.sw("00840000 01 00")).toBe("6700");
  });

  test("works without an applet session login and with CLA 80", async () => {
    const card = await openTestCard();
    await card.selectApplet();
    expect((await card.send("8084000010")).data.length).toBe(16);
  });
});
