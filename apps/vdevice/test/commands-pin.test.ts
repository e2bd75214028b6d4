import { describe, expect, test } from "vitest";
import { ascii, openInitializedCard, openTestCard, SO_PIN_HEX, USER_PIN, withLc } from "./hsm-harness.ts";

const WRONG_PIN = "000000";

describe("VERIFY", () => {
  test("status query answers 63C3 and 63CF after INITIALIZE", async () => {
    const card = await openInitializedCard();
    expect(await card.sw("00200081")).toBe("63C3");
    expect(await card.sw("00200088")).toBe("63CF");
  });

  test("references 85 and 86 answer 6A88", async () => {
    const card = await openInitializedCard();
    expect(await card.sw("00200085")).toBe("6A88");
    expect(await card.sw("00200086")).toBe("6A88");
  });

  test("uninitialised device answers 6A88", async () => {
    const card = await openTestCard();
    await card.selectApplet();
    expect(await card.sw("00200081")).toBe("6A88");
    expect(await card.sw("00200088")).toBe("6A88");
    expect(await card.login()).toBe("6A88");
  });

  test("bad P1 and P2 answer 6B00", async () => {
    const card = await openInitializedCard();
    expect(await card.sw("00200181")).toBe("6B00");
    expect(await card.sw("002000A1")).toBe("6B00");
  });

  test("correct PIN answers 9000, then the status query 9000", async () => {
    const card = await openInitializedCard();
    expect(await card.login()).toBe("9000");
    expect(await card.sw("00200081")).toBe("9000");
  });

  test("wrong PINs count 63C2, 63C1, then 6983 and stay blocked", async () => {
    const card = await openInitializedCard();
    expect(await card.login(WRONG_PIN)).toBe("63C2");
    expect(await card.login(WRONG_PIN)).toBe("63C1");
    expect(await card.login(WRONG_PIN)).toBe("6983");
    expect(await card.sw("00200081")).toBe("6983");
    expect(await card.login()).toBe("6983");
    expect(await card.login(WRONG_PIN)).toBe("6983");
  });

  test("correct PIN restores the counter", async () => {
    const card = await openInitializedCard();
    expect(await card.login(WRONG_PIN)).toBe("63C2");
    expect(await card.login()).toBe("9000");
    await card.selectApplet();
    expect(await card.sw("00200081")).toBe("63C3");
  });

  test("wrong PIN logs out", async () => {
    const card = await openInitializedCard();
    expect(await card.login()).toBe("9000");
    expect(await card.login(WRONG_PIN)).toBe("63C2");
    expect(await card.sw("00200081")).toBe("63C2");
    expect(await card.sw(withLc("00D7CF00", "54020000 5300"))).toBe("6982");
  });

  test("SO-PIN verify and its status", async () => {
    const card = await openInitializedCard();
    expect(await card.sw(withLc("00200088", SO_PIN_HEX))).toBe("9000");
    expect(await card.sw("00200088")).toBe("9000");
    expect(await card.sw(withLc("00200088", "3030303030303030"))).toBe("63CE");
    expect(await card.sw("00200088")).toBe("63CE");
  });

  test("transport PIN answers 6984 until the PIN is changed", async () => {
    const card = await openTestCard();
    await card.selectApplet();
    const init = withLc("80500000", `80020003 8106${ascii(USER_PIN)} 8208${SO_PIN_HEX} 910103`);
    expect(await card.sw(init)).toBe("9000");
    await card.selectApplet();
    expect(await card.sw("00200081")).toBe("6984");
    expect(await card.login()).toBe("6984");

    expect(await card.sw(withLc("00240081", ascii(USER_PIN) + ascii("123456")))).toBe("9000");
    await card.selectApplet();
    expect(await card.sw("00200081")).toBe("63C3");
    expect(await card.login("123456")).toBe("9000");
  });
});

describe("CHANGE REFERENCE DATA", () => {
  test("user PIN change, old PIN then fails", async () => {
    const card = await openInitializedCard();
    expect(await card.sw(withLc("00240081", ascii(USER_PIN) + ascii("1234567")))).toBe("9000");
    await card.selectApplet();
    expect(await card.login(USER_PIN)).toBe("63C2");
    expect(await card.login("1234567")).toBe("9000");
  });

  test("SO-PIN change with 16 binary bytes", async () => {
    const card = await openInitializedCard();
    expect(await card.sw(withLc("00240088", SO_PIN_HEX + "0102030405060708"))).toBe("9000");
    await card.selectApplet();
    expect(await card.sw(withLc("00200088", "0102030405060708"))).toBe("9000");
  });

  test("wrong old PIN counts down", async () => {
    const card = await openInitializedCard();
    expect(await card.sw(withLc("00240081", ascii(WRONG_PIN) + ascii("123456")))).toBe("63C2");
    expect(await card.sw("00200081")).toBe("63C2");
  });

  test("lengths and parameters", async () => {
    const card = await openInitializedCard();
    expect(await card.sw(withLc("00240081", ascii(USER_PIN)))).toBe("6700");
    expect(await card.sw(withLc("00240081", ascii(USER_PIN) + "00".repeat(17)))).toBe("6700");
    expect(await card.sw(withLc("00240181", ascii(USER_PIN) + ascii("1")))).toBe("6B00");
    expect(await card.sw(withLc("00240085", ascii(USER_PIN) + ascii("1")))).toBe("6B00");
    expect(await card.sw("00200081")).toBe("63C3");
  });

  test("uninitialised PIN answers 6A88", async () => {
    const card = await openTestCard();
    await card.selectApplet();
    expect(await card.sw(withLc("00240081", ascii(USER_PIN) + ascii("1")))).toBe("6A88");
  });
});

describe("RESET RETRY COUNTER", () => {
  async function blockedCard() {
    const card = await openInitializedCard();
    for (let i = 0; i < 3; i++) await card.login(WRONG_PIN);
    expect(await card.sw("00200081")).toBe("6983");
    return card;
  }

  test("P1 00 with SO-PIN and new PIN unblocks", async () => {
    const card = await blockedCard();
    expect(await card.sw(withLc("002C0081", SO_PIN_HEX + ascii(USER_PIN)))).toBe("9000");
    await card.selectApplet();
    expect(await card.sw("00200088")).toBe("63CF");
    expect(await card.sw("00200081")).toBe("63C3");
    expect(await card.login()).toBe("9000");
  });

  test("P1 00 with a new PIN value sets it", async () => {
    const card = await blockedCard();
    expect(await card.sw(withLc("002C0081", SO_PIN_HEX + ascii("999999")))).toBe("9000");
    await card.selectApplet();
    expect(await card.login("999999")).toBe("9000");
  });

  test("P1 00 with a wrong SO-PIN counts the SO-PIN", async () => {
    const card = await blockedCard();
    expect(await card.sw(withLc("002C0081", "3030303030303030" + ascii(USER_PIN)))).toBe("63CE");
    expect(await card.sw("00200081")).toBe("6983");
  });

  test("P1 02 needs the SO session and 1..16 bytes", async () => {
    const card = await blockedCard();
    expect(await card.sw(withLc("002C0281", ascii(USER_PIN)))).toBe("6985");
    expect(await card.sw(withLc("00200088", SO_PIN_HEX))).toBe("9000");
    expect(await card.sw("002C0281")).toBe("6700");
    expect(await card.sw(withLc("002C0281", "00".repeat(17)))).toBe("6700");
    expect(await card.sw(withLc("002C0281", ascii("112233")))).toBe("9000");
    await card.selectApplet();
    expect(await card.login("112233")).toBe("9000");
  });

  test("P1 01 and 03 need option 0020", async () => {
    const card = await blockedCard();
    expect(await card.sw(withLc("002C0181", SO_PIN_HEX))).toBe("6986");
    expect(await card.sw("002C0381")).toBe("6986");
  });

  test("P2 other than 81 answers 6A88, unknown P1 6A86", async () => {
    const card = await blockedCard();
    expect(await card.sw(withLc("002C0088", SO_PIN_HEX + ascii(USER_PIN)))).toBe("6A88");
    expect(await card.sw(withLc("002C0981", SO_PIN_HEX))).toBe("6A86");
  });

  test("without option 0001 answers 6986", async () => {
    const card = await openTestCard();
    await card.selectApplet();
    expect(await card.sw(withLc("80500000", `80020000 8106${ascii(USER_PIN)} 8208${SO_PIN_HEX}`))).toBe("9000");
    expect(await card.sw(withLc("002C0081", SO_PIN_HEX + ascii(USER_PIN)))).toBe("6986");
  });

  test("P1 01 and 03 with option 0020", async () => {
    const card = await openTestCard();
    await card.selectApplet();
    expect(await card.sw(withLc("80500000", `80020021 8106${ascii(USER_PIN)} 8208${SO_PIN_HEX} 910102`))).toBe("9000");
    await card.selectApplet();
    await card.login(WRONG_PIN);
    expect(await card.login(WRONG_PIN)).toBe("6983");

    expect(await card.sw(withLc("002C0181", SO_PIN_HEX.slice(2)))).toBe("6700");
    expect(await card.sw(withLc("002C0181", SO_PIN_HEX))).toBe("9000");
    expect(await card.sw("00200081")).toBe("63C2");

    await card.login(WRONG_PIN);
    await card.login(WRONG_PIN);
    expect(await card.sw("002C0381")).toBe("6985");
    expect(await card.sw(withLc("00200088", SO_PIN_HEX))).toBe("9000");
    expect(await card.sw("002C0381")).toBe("9000");
    expect(await card.login()).toBe("9000");
  });
});
