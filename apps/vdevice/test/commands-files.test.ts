import { describe, expect, test } from "vitest";
import { decodeAuthenticatedRequest, decodeCvcChain } from "@hsmkit/cvc";
import { toHex } from "@hsmkit/tlv";
import { fidList, hex16, openCardWithState, openInitializedCard, openTestCard, putTestKey, withExtendedLc, withLc } from "./hsm-harness.ts";

/** Reads the FCP size (tag 81) from a SELECT response. */
function fcpSize(fcp: Uint8Array): number {
  expect(fcp[0]).toBe(0x62);
  expect(fcp[2]).toBe(0x81);
  return (fcp[4] << 8) | fcp[5];
}

async function cardWithKey(id = 1) {
  const { card, state } = await openCardWithState();
  await card.selectApplet();
  expect((await card.initialize()).swHex).toBe("9000");
  await putTestKey(state, id);
  await card.selectApplet();
  return { card, state };
}

describe("device identity files", () => {
  test("2F02 holds the device CVC, its DV and root", async () => {
    const card = await openInitializedCard();
    const [device, dv, root] = decodeCvcChain(await card.readFile("2F02"));
    expect(device.body.chr).toMatch(/^ESPICOHSMTR\d{5}$/);
    expect(device.body.car).toBe(dv.body.chr);
    expect(dv.body.car).toBe(root.body.chr);
    expect(root.body.car).toBe(root.body.chr);
  });

  test("CE00 is an authenticated request and C400 the device PRKD", async () => {
    const card = await openInitializedCard();
    const request = decodeAuthenticatedRequest(await card.readFile("CE00"));
    expect(request.outerCar).toMatch(/^ESPICOHSMTR/);

    const prkd = await card.readFile("C400");
    expect(prkd.length).toBe(58);
    expect(toHex(prkd.subarray(0, 4)).toUpperCase()).toBe("A038300D");
  });

  test("identity survives INITIALIZE", async () => {
    const card = await openInitializedCard();
    const before = await card.readFile("2F02");
    await card.initialize();
    await card.selectApplet();
    expect(toHex(await card.readFile("2F02"))).toBe(toHex(before));
  });

  test("CE00 and C400 are FDB 08", async () => {
    const card = await openInitializedCard();
    const fcp = await card.send("00A4000002CE0000");
    expect(fcp.hex).toContain("820108");
  });
});

describe("SELECT", () => {
  test("EF.DIR by path with its exact size, read with Le = size", async () => {
    const card = await openInitializedCard();
    const fcp = await card.send("00A40800022F0000");
    expect(fcp.swHex).toBe("9000");
    const size = fcpSize(fcp.data);
    const read = await card.send(`00B1000004 54020000 ${size.toString(16).padStart(2, "0")}`);
    expect(read.data.length).toBe(size);
    expect(read.hex.startsWith("61")).toBe(true);
    expect(read.hex).toContain("4F0BE82B0601040181C31F0201");
  });

  test("5015/4946 and DFs by FID answer 6A82", async () => {
    const card = await openInitializedCard();
    expect(await card.sw("00A408000450154946 00".replace(" ", ""))).toBe("6A82");
    expect(await card.sw("00A40000023F0000")).toBe("6A82");
    expect(await card.sw("00A4000002501500")).toBe("6A82");
    expect(await card.sw("00A4000002CF0100")).toBe("6A82");
  });

  test("MF by P1 00 without data", async () => {
    const card = await openInitializedCard();
    const fcp = await card.send("00A4000000");
    expect(fcp.swHex).toBe("9000");
    expect(fcp.hex).toContain("820138");
  });

  test("P1 03 answers 6A86", async () => {
    const card = await openInitializedCard();
    expect(await card.sw("00A4030000")).toBe("6A86");
  });

  test("C7 n answers 6A82", async () => {
    const card = await openInitializedCard();
    expect(await card.sw("00A4000002C70100")).toBe("6A82");
  });

  test("key files show their metadata in A5", async () => {
    const { card, state } = await openCardWithState();
    await card.selectApplet();
    await card.initialize();
    await putTestKey(state, 3, { counter: 5, algorithms: new Uint8Array([0x73]) });
    const fcp = await card.send("00A4000002CC0300");
    expect(fcp.swHex).toBe("9000");
    expect(fcp.hex).toContain("A58109900400000005910173");
  });
});

describe("READ BINARY", () => {
  test("read at offset = size answers no data and 9000, past it 6282", async () => {
    const card = await openInitializedCard();
    const fcp = await card.send("00A40000022F0200");
    const size = fcpSize(fcp.data);
    const atEnd = await card.send(`00B1000004 5402${hex16(size)} 00`);
    expect(atEnd.swHex).toBe("9000");
    expect(atEnd.data.length).toBe(0);
    const atEndWithLe = await card.send(`00B1000004 5402${hex16(size)} D7`);
    expect(atEndWithLe.swHex).toBe("9000");
    expect(await card.sw(`00B1000004 5402${hex16(size + 1)} 00`)).toBe("6282");
  });

  test("B0 reads the current EF", async () => {
    const card = await openInitializedCard();
    await card.send("00A40000022F0200");
    const read = await card.send("00B0000010");
    expect(read.swHex).toBe("9000");
    expect(read.hex.slice(0, 4)).toBe("7F21");
    expect(await card.sw("00B0810010")).toBe("6A82");
  });

  test("B1 with an explicit FID and 4-byte offsets", async () => {
    const card = await openInitializedCard();
    const read = await card.send("00B12F0206 540400000000 00");
    expect(read.hex.slice(0, 4)).toBe("7F21");
    expect(await card.sw("00B12F0207 54050000000000 00")).toBe("6700");
    expect(await card.sw("00B12F0200")).toBe("6700");
  });

  test("generated file past its end answers 6B00", async () => {
    const card = await openInitializedCard();
    const fcp = await card.send("00A40000022F0300");
    const size = fcpSize(fcp.data);
    expect((await card.send(`00B1000004 5402${hex16(size)} 00`)).swHex).toBe("9000");
    expect(await card.sw(`00B1000004 5402${hex16(size + 1)} 00`)).toBe("6B00");
  });

  test("keys, internal files and C7 are unreadable", async () => {
    const { card } = await cardWithKey(1);
    expect(await card.sw("00B1CC0004 54020000 00")).toBe("6982");
    expect(await card.sw("00B1CC0104 54020000 00")).toBe("6982");
    expect(await card.sw("00B1CC0504 54020000 00")).toBe("6A82");
    expect(await card.sw("00B1C70104 54020000 00")).toBe("6982");
    expect(await card.sw("00B1C70004 54020000 00")).toBe("6A82");
    for (const fid of ["1081", "100E", "100A", "100B", "1090", "1110"]) {
      expect(await card.sw(`00B1${fid}04 54020000 00`)).toBe("6982");
    }
  });

  test("CD n needs login, CF n does not", async () => {
    const card = await openInitializedCard();
    await card.login();
    expect(await card.sw(withLc("00D7CD01", "54020000 5303 010203"))).toBe("9000");
    expect(await card.sw(withLc("00D7CF01", "54020000 5303 010203"))).toBe("9000");
    await card.selectApplet();
    expect(await card.sw("00B1CD0104 54020000 00")).toBe("6982");
    expect((await card.send("00B1CF0104 54020000 00")).hex).toBe("010203");
  });

  test("short FIDs answer 6A82", async () => {
    const card = await openInitializedCard();
    expect(await card.sw("00B10001 04 54020000 00")).toBe("6A82");
  });
});

describe("UPDATE BINARY", () => {
  test("create form makes an empty current EF, not listed", async () => {
    const card = await openInitializedCard();
    await card.login();
    expect(await card.sw("00A4000002CF0000")).toBe("6A82");
    expect(await card.sw(withLc("00D7CF00", "54020000 5300"))).toBe("9000");
    const fcp = await card.send("00A4000002CF0000");
    expect(fcp.swHex).toBe("9000");
    expect(fcpSize(fcp.data)).toBe(0);
    expect((await card.send("00B1000004 54020000 00")).data.length).toBe(0);
  });

  test("255-byte chunks with extended Lc, then the tail", async () => {
    const card = await openInitializedCard();
    await card.login();
    const content = new Uint8Array(700).map((_, i) => i & 0xff);
    await card.send(withLc("00D7CF00", "54020000 5300"));
    let offset = 0;
    while (offset < content.length) {
      const chunk = content.subarray(offset, offset + 255);
      const body = `5402${hex16(offset)} 53${chunk.length > 127 ? "81" : ""}${chunk.length.toString(16).padStart(2, "0")}${toHex(chunk)}`;
      const apdu = body.replace(/\s/g, "").length / 2 > 255 ? withExtendedLc("00D70000", body) : withLc("00D70000", body);
      expect(await card.sw(apdu)).toBe("9000");
      offset += chunk.length;
    }
    const fcp = await card.send("00A4000002CF0000");
    expect(fcpSize(fcp.data)).toBe(700);
    expect(toHex(await card.readCurrentEf())).toBe(toHex(content));
  });

  test("offset-0 write replaces the whole content", async () => {
    const card = await openInitializedCard();
    await card.login();
    await card.send(withLc("00D7C901", "54020000 5305 0102030405"));
    await card.send(withLc("00D7C901", "54020000 5302 AABB"));
    expect((await card.send("00B1C90104 54020000 00")).hex).toBe("AABB");
  });

  test("create form leaves an existing file unchanged", async () => {
    const card = await openInitializedCard();
    await card.login();
    await card.send(withLc("00D7C901", "54020000 5302 AABB"));
    await card.send(withLc("00D7C901", "54020000 5300"));
    expect((await card.send("00B1C90104 54020000 00")).hex).toBe("AABB");
  });

  test("patch rules: empty file 6984, past the end 6581", async () => {
    const card = await openInitializedCard();
    await card.login();
    await card.send(withLc("00D7C902", "54020000 5300"));
    expect(await card.sw(withLc("00D7C902", "54020001 5301 AA"))).toBe("6984");
    await card.send(withLc("00D7C902", "54020000 5302 0102"));
    expect(await card.sw(withLc("00D7C902", "54020003 5301 AA"))).toBe("6581");
    expect(await card.sw(withLc("00D7C902", "54020002 5301 03"))).toBe("9000");
    expect((await card.send("00B1C90204 54020000 00")).hex).toBe("010203");
  });

  test("needs login; keys, C7, C400 and internal files are refused", async () => {
    const card = await openInitializedCard();
    expect(await card.sw(withLc("00D7CF00", "54020000 5300"))).toBe("6982");
    await card.login();
    for (const fid of ["CC01", "C701", "C400", "1081", "100E"]) {
      expect(await card.sw(withLc(`00D7${fid}`, "54020000 5301 00"))).toBe("6982");
    }
    expect(await card.sw(withLc("00D70000", "54020000 5301 00"))).toBe("6A82");
    expect(await card.sw(withLc("00D7CF00", "5405 0000000000 5300"))).toBe("6700");
  });

  test("2F03 write is an override until INITIALIZE", async () => {
    const card = await openInitializedCard();
    const generated = await card.readFile("2F03");
    await card.login();
    expect(await card.sw(withLc("00D72F03", "54020000 5304 30020500"))).toBe("9000");
    const fcp = await card.send("00A40000022F0300");
    expect(fcpSize(fcp.data)).toBe(4);
    expect(toHex(await card.readCurrentEf()).toUpperCase()).toBe("30020500");
    await card.initialize();
    await card.selectApplet();
    expect(toHex(await card.readFile("2F03"))).toBe(toHex(generated));
  });

  test("a key's CE n can be deleted, re-created and rewritten; the key stays", async () => {
    const { card } = await cardWithKey(1);
    await card.login();
    expect(await card.sw("00A4000002CE0100")).toBe("9000");
    expect(await card.sw("00E4020002CE01")).toBe("9000");
    expect(await card.sw("00A4000002CE0100")).toBe("6A82");
    expect(await card.sw(withLc("00D7CE01", "54020000 5300"))).toBe("9000");
    expect(await card.sw(withLc("00D70000", "54020000 5303 300100"))).toBe("9000");
    expect((await card.send("00B1CE0104 54020000 00")).hex).toBe("300100");
    expect(fidList((await card.send("80580000000000")).data)).toContain("CC01");
  });

  test("a key's C4 n offset-0 write replaces the card's PRKD", async () => {
    const { card } = await cardWithKey(1);
    expect((await card.readFile("C401")).length).toBe(28);
    await card.login();
    const prkd = "A0" + "27" + "00".repeat(0x27);
    await card.send("00A4000002C40100");
    expect(await card.sw(withLc("00D70000", `54020000 5329 ${prkd}`))).toBe("9000");
    expect((await card.readFile("C401")).length).toBe(41);
  });
});

describe("DELETE FILE", () => {
  test("deletes by FID without SELECT, 6A82 when absent", async () => {
    const card = await openInitializedCard();
    await card.login();
    await card.send(withLc("00D7CF00", "54020000 5301 00"));
    await card.selectApplet();
    await card.login();
    expect(await card.sw("00E4020002CF00")).toBe("9000");
    expect(await card.sw("00E4020002CF00")).toBe("6A82");
  });

  test("needs login", async () => {
    const card = await openInitializedCard();
    expect(await card.sw("00E4020002CF00")).toBe("6982");
  });

  test("generated files 6986, device files 6982, C7 6A82", async () => {
    const card = await openInitializedCard();
    await card.login();
    expect(await card.sw("00E40200022F03")).toBe("6986");
    expect(await card.sw("00E40200022F00")).toBe("6986");
    expect(await card.sw("00E4020002CC00")).toBe("6982");
    expect(await card.sw("00E4020002C400")).toBe("6982");
    expect(await card.sw("00E4020002CE00")).toBe("6982");
    expect(await card.sw("00E4020002C701")).toBe("6A82");
  });

  test("CC n deletes the key and leaves C4 n and CE n", async () => {
    const { card } = await cardWithKey(2);
    await card.login();
    expect(await card.sw("00E4020002CC02")).toBe("9000");
    expect(await card.sw("00E4020002CC02")).toBe("6A82");
    const list = fidList((await card.send("80580000000000")).data);
    expect(list).not.toContain("CC02");
    expect(list).toContain("C402");
    expect(await card.sw("00A4000002CE0200")).toBe("9000");
  });

  test("empty data deletes the current EF", async () => {
    const card = await openInitializedCard();
    await card.login();
    await card.send(withLc("00D7CF05", "54020000 5301 00"));
    expect(await card.sw("00E40200")).toBe("9000");
    expect(await card.sw("00A4000002CF0500")).toBe("6A82");
    expect(await card.sw("00E40200")).toBe("6A82");
  });
});

describe("ENUMERATE OBJECTS", () => {
  test("fresh device lists C400 only", async () => {
    const { card, state } = await openCardWithState();
    await state.keystore.delete("device/key");
    await state.keystore.commit();
    await card.selectApplet();
    expect((await card.send("80580000000000")).hex).toBe("C400");
  });

  test("lists groups in order, no CE or CF", async () => {
    const { card, state } = await openCardWithState();
    await card.selectApplet();
    await card.initialize();
    await putTestKey(state, 2);
    await putTestKey(state, 1);
    await card.send(withLc("00D7C900", "54020000 5301 30"));
    await card.send(withLc("00D7C801", "54020000 5301 30"));
    await card.send(withLc("00D7CF00", "54020000 5301 30"));
    await card.send(withLc("00D7C903", "54020000 5300"));
    const list = fidList((await card.send("80580000000000")).data);
    expect(list).toEqual(["C400", "CC00", "CC01", "CC02", "C401", "C402", "C801", "C900"]);
  });

  test("short Le works too", async () => {
    const card = await openInitializedCard();
    const response = await card.send("8058000000");
    expect(response.hex).toBe("C400CC00");
  });

  test("uninitialised device with identity lists C400 and CC00", async () => {
    const card = await openTestCard();
    await card.selectApplet();
    expect((await card.send("80580000000000")).hex).toBe("C400CC00");
  });
});
