/**
 * OpenSC 0.23 flows recorded against the firmware, replayed at the structure
 * level: the same commands in the same order, with the same status
 * words and data shapes (random values and the order of key reads differ).
 * Flows run in order against one card, as they were recorded; keys 1 and 2,
 * which key generation would create, are put in place before the PKCS#15 flows.
 */
import { beforeAll, describe, expect, test } from "vitest";
import { toHex } from "@hsmkit/tlv";
import type { HsmState } from "../src/hsm/context.ts";
import { ascii, fidList, hex16, openCardWithState, putTestKey, SO_PIN_HEX, USER_PIN, withExtendedLc, withLc, type TestCard } from "./hsm-harness.ts";

const SHARE = new Uint8Array(32).fill(0x5a);

let card: TestCard;
let state: HsmState;

beforeAll(async () => {
  ({ card, state } = await openCardWithState());
});

/** Rows x.1–x.3 of every session: two foreign probes, then the applet SELECT. */
async function startSession(): Promise<Uint8Array> {
  expect(await card.sw("00A40400076276 01FF000000".replace(/\s/g, ""))).toBe("6A82");
  expect(await card.sw("00A4040006A00000000101")).toBe("6A82");
  const select = await card.send("00A404000BE82B0601040181C31F020100");
  expect(select.swHex).toBe("9000");
  expect(select.data[0]).toBe(0x62);
  return select.data;
}

/** SELECT by FID (Le 00) and read until an empty response; checks the FCP size against the bytes read. */
async function selectAndRead(fid: string): Promise<Uint8Array> {
  const fcp = await card.send(`00A4000002${fid}00`);
  expect(fcp.swHex, `SELECT ${fid}`).toBe("9000");
  const content = await card.readCurrentEf();
  expect((fcp.data[4] << 8) | fcp.data[5], `FCP size of ${fid}`).toBe(content.length);
  return content;
}

/** Runs the PKCS#15 binding of every pkcs11-tool / pkcs15-tool session (rows x.4–x.37). */
async function bindPkcs15(withEfDir: boolean): Promise<string[]> {
  if (withEfDir) {
    const fcp = await card.send("00A40800022F0000");
    expect(fcp.swHex).toBe("9000");
    const size = fcp.data[5];
    const dir = await card.send(`00B1000004 54020000 ${size.toString(16).padStart(2, "0")}`);
    expect(dir.swHex).toBe("9000");
    expect(dir.data.length).toBe(size);
  }

  const chain = await selectAndRead("2F02");
  expect(chain[0]).toBe(0x7f);
  expect(chain[1]).toBe(0x21);
  const tokenInfo = await selectAndRead("2F03");
  expect(tokenInfo[0]).toBe(0x30);

  expect(await card.sw("00200085")).toBe("6A88");
  expect(await card.sw("00200086")).toBe("6A88");

  const list = await card.send("80580000000000");
  expect(list.swHex).toBe("9000");
  const fids = fidList(list.data);

  for (const fid of fids) {
    if (fid.startsWith("CC")) {
      const prkd = await selectAndRead(`C4${fid.slice(2)}`);
      expect([0x30, 0xa0, 0xa8]).toContain(prkd[0]);
      const certificate = await selectAndRead(`CE${fid.slice(2)}`);
      expect([0x67, 0x30]).toContain(certificate[0]);
    }
    if (fid.startsWith("C9")) expect((await selectAndRead(fid))[0]).toBe(0x30);
  }
  return fids;
}

describe("OpenSC flows", () => {
  test("01 ATR and card name", async () => {
    expect(toHex(card.device.atr).toUpperCase()).toBe("3BFE1800008131FE458031815448534D31738021408107FA");
    const fcp = await startSession();
    expect(toHex(fcp.subarray(fcp.length - 7)).toUpperCase()).toBe("85050000FF0606");
  });

  test("02 sc-hsm-tool --initialize", async () => {
    await startSession();
    const init = withLc("80500000", `80020001 8106${ascii(USER_PIN)} 8208${SO_PIN_HEX} 910103 920101`);
    expect(await card.sw(init)).toBe("9000");
  });

  test("03 create, import and query a DKEK share", async () => {
    const fcp = await startSession();
    expect(toHex(fcp.subarray(fcp.length - 7)).toUpperCase()).toBe("85050001FF0606");
    expect((await card.send("0084000008")).data.length).toBe(8);
    expect((await card.send("0084000020")).data.length).toBe(32);

    await startSession();
    const imported = await card.send(withLc("80520000", toHex(SHARE)) + "00");
    expect(imported.swHex).toBe("9000");
    expect(imported.data.length).toBe(10);
    expect(imported.hex.slice(0, 4)).toBe("0100");

    await startSession();
    expect(await card.sw("00200088")).toBe("63CF");
    expect(await card.sw("00200081")).toBe("63C3");
    const status = await card.send("8052000000");
    expect(status.swHex).toBe("9000");
    expect(status.hex).toBe(imported.hex);
  });

  test("06 pkcs15-tool -D", async () => {
    await startSession();
    expect(await card.login()).toBe("9000");
    await putTestKey(state, 2);
    await putTestKey(state, 1);

    await startSession();
    const fids = await bindPkcs15(false);
    expect([...fids].sort()).toEqual(["C400", "C401", "C402", "CC00", "CC01", "CC02"]);
  });

  test("07 write, read and delete a data object", async () => {
    const content = new Uint8Array(700).map((_, i) => (i * 7) & 0xff);
    const dcod = "3018" + "3008" + "0C06" + ascii("label1") + "300C" + "0C0A" + ascii("app1app1ap");

    await startSession();
    await bindPkcs15(true);
    expect(await card.sw("00200081")).toBe("63C3");
    expect(await card.login()).toBe("9000");
    expect(await card.sw("00A408000450154946 00".replace(" ", ""))).toBe("6A82");
    expect(fidList((await card.send("80580000000000")).data)).not.toContain("C900");

    expect(await card.sw("00A4000002CF0000")).toBe("6A82");
    expect(await card.sw(withLc("00D7CF00", "54020000 5300"))).toBe("9000");
    for (let offset = 0; offset < content.length; offset += 255) {
      const chunk = content.subarray(offset, offset + 255);
      const body = `5402${hex16(offset)} 5381${chunk.length.toString(16).padStart(2, "0")}${toHex(chunk)}`;
      const apdu = chunk.length === 255 ? withExtendedLc("00D70000", body) : withLc("00D70000", body);
      expect(await card.sw(apdu)).toBe("9000");
    }
    expect(await card.sw("00A4000002C90000")).toBe("6A82");
    expect(await card.sw(withLc("00D7C900", "54020000 5300"))).toBe("9000");
    expect(await card.sw(withLc("00D70000", `54020000 53${(dcod.length / 2).toString(16).padStart(2, "0")}${dcod}`))).toBe("9000");
    expect((await card.send("00A404000BE82B0601040181C31F020100")).swHex).toBe("9000");

    await startSession();
    const fids = await bindPkcs15(true);
    expect(fids).toContain("C900");
    expect(fids).not.toContain("CF00");
    expect(await card.sw("00200081")).toBe("63C3");
    expect(await card.login()).toBe("9000");
    const fcp = await card.send("00A4000002CF0000");
    expect(fcp.swHex).toBe("9000");
    const size = (fcp.data[4] << 8) | fcp.data[5];
    expect(size).toBe(700);
    const first = await card.send("00B1000004 54020000 00");
    const second = await card.send("00B1000004 54020100 00");
    const last = await card.send(`00B1000004 54020200 ${(size - 512).toString(16).padStart(2, "0")}`);
    expect(first.data.length + second.data.length + last.data.length).toBe(700);
    expect(last.swHex).toBe("9000");

    await startSession();
    await bindPkcs15(true);
    expect(await card.sw("00200081")).toBe("63C3");
    expect(await card.login()).toBe("9000");
    expect(await card.sw("00A408000450154946 00".replace(" ", ""))).toBe("6A82");
    expect(await card.sw("00E4020002CF00")).toBe("9000");
    expect(await card.sw("00E4020002C900")).toBe("9000");
    await startSession();
    expect(fidList((await card.send("80580000000000")).data)).not.toContain("C900");
  });

  test("08 block the user PIN and unblock it with the SO-PIN", async () => {
    for (const expected of ["63C2", "63C1", "6983"]) {
      await startSession();
      await bindPkcs15(true);
      expect(await card.login("000000")).toBe(expected);
    }

    await startSession();
    expect(await card.sw("00200088")).toBe("63CF");
    expect(await card.sw("00200081")).toBe("6983");
    expect((await card.send("8052000000")).data.length).toBe(10);

    await startSession();
    await bindPkcs15(true);
    expect(await card.sw("00200081")).toBe("6983");
    expect(await card.sw("00200081")).toBe("6983");
    expect(await card.sw(withLc("002C0081", SO_PIN_HEX + ascii(USER_PIN)))).toBe("9000");
    expect((await card.send("00A404000BE82B0601040181C31F020100")).swHex).toBe("9000");

    await startSession();
    expect(await card.sw("00200088")).toBe("63CF");
    expect(await card.sw("00200081")).toBe("63C3");
    expect((await card.send("8052000000")).data.length).toBe(10);
  });
});
