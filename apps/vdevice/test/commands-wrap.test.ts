// WRAP KEY (INS 72) and UNWRAP KEY (INS 74) in-process: the key-blob format, the
// domain checks and every rejection with its status word and no stored change.
import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";

import { decodeKeyBlob, dkekKcv, encodeKeyBlob, type KeyBlobKey } from "@hsmkit/keystore";
import { encodeTlv, fromHex, toHex } from "@hsmkit/tlv";
import { p256 } from "@noble/curves/nist.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { decodeAuthenticatedRequest } from "@hsmkit/cvc";

import { byte, openCardWithState, openInitializedCard, TestCard, USER_PIN, withExtendedLc, withLc } from "./hsm-harness.ts";
import { ecTemplate, keyPairData } from "./keys-fixture.ts";
import type { HsmState } from "../src/hsm/context.ts";

const ONES = new Uint8Array(32).fill(1);
const TWOS = new Uint8Array(32).fill(2);

/** AES-128 key 00..0F wrapped under DKEK 01×32 (random A0..A7, allowed algorithms 10 11 18 99 51 52). */
const AES_BLOB = `72CD6E8422C407FB 0F 00086086480165030401 0006101118995152 0000 0000
  FFC9AA7A25B857B93C11C2BDF10C7781987D6CB99346D7C2C6C8B68787DD1C38 9ED8EA275518FF597E3128B1729654D2`;

function importShare(card: TestCard, share: Uint8Array, domain = 0) {
  return card.send(withLc(`805200${byte(domain)}`, toHex(share)) + "00");
}

function wrap(card: TestCard, keyId: number, p2 = 0x92) {
  return card.send(`8072${byte(keyId)}${byte(p2)}000000`);
}

function unwrap(card: TestCard, keyId: number, blob: Uint8Array | string) {
  const body = typeof blob === "string" ? blob.replace(/\s+/g, "") : toHex(blob);
  return card.send(withExtendedLc(`8074${byte(keyId)}93`, body));
}

async function generateEc(card: TestCard, keyId: number, extra: Uint8Array[] = []): Promise<Uint8Array> {
  const data = toHex(keyPairData(ecTemplate("secp256r1"), extra));
  const response = await card.send(`0046${byte(keyId)}00 00${toHex(Uint8Array.of(data.length / 2 >> 8, (data.length / 2) & 0xff))}${data}0000`);
  expect(response.swHex).toBe("9000");
  const key = decodeAuthenticatedRequest(response.data).request.body.publicKey;
  if (key.kind !== "ec") throw new Error("expected an EC key");
  return key.point;
}

/** A card initialized with one DKEK share expected, share 01×32 imported, user logged in. */
async function cardWithDkek(): Promise<TestCard> {
  const card = await openInitializedCard(1);
  expect((await importShare(card, ONES)).hex).toBe(`0100${toHex(dkekKcv(ONES)).toUpperCase()}`);
  expect(await card.login()).toBe("9000");
  return card;
}

function rsaBlobKey(): { key: KeyBlobKey; jwk: { n: bigint; e: bigint; d: bigint } } {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const jwk = privateKey.export({ format: "jwk" }) as Record<string, string>;
  const bytes = (field: string) => new Uint8Array(Buffer.from(jwk[field], "base64url"));
  const big = (field: string) => BigInt(`0x${Buffer.from(jwk[field], "base64url").toString("hex")}`);
  return { key: { type: "rsa", n: bytes("n"), e: bytes("e"), d: bytes("d") }, jwk: { n: big("n"), e: big("e"), d: big("d") } };
}

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  base %= modulus;
  for (; exponent > 0n; exponent >>= 1n) {
    if (exponent & 1n) result = (result * base) % modulus;
    base = (base * base) % modulus;
  }
  return result;
}

describe("UNWRAP KEY", () => {
  it("accepts the AES-128 example blob", async () => {
    const card = await cardWithDkek();

    expect((await unwrap(card, 5, AES_BLOB)).swHex).toBe("9000");

    const wrapped = await wrap(card, 5);
    expect(wrapped.swHex).toBe("6985");
  });

  it("stores the blob's algorithms and domain", async () => {
    const { card, state } = await openCardWithState();
    await card.selectApplet();
    await card.initialize(1);
    await card.selectApplet();
    await importShare(card, ONES);
    await card.login();

    expect((await unwrap(card, 5, AES_BLOB)).swHex).toBe("9000");

    const info = await state.objects.getKey(5);
    expect(info?.type).toBe("aes");
    expect(info?.bits).toBe(128);
    expect(toHex(info!.meta.algorithms!).toUpperCase()).toBe("101118995152");
    expect(info?.meta.domain).toBe(0);
  });

  it("restores an RSA-2048 key that signs", async () => {
    const card = await cardWithDkek();
    const { key, jwk } = rsaBlobKey();

    expect((await unwrap(card, 3, encodeKeyBlob(ONES, key))).swHex).toBe("9000");

    const block = new Uint8Array(256);
    block[1] = 0x01;
    block.fill(0x5a, 2);
    const signed = await card.send(withExtendedLc("80680320", toHex(block)) + "0000");
    expect(signed.swHex).toBe("9000");
    const signature = BigInt(`0x${toHex(signed.data)}`);
    expect(modPow(signature, jwk.e, jwk.n)).toBe(BigInt(`0x${toHex(block)}`));

    const rewrapped = await wrap(card, 3);
    expect(rewrapped.swHex).toBe("9000");
    const decoded = decodeKeyBlob(ONES, rewrapped.data);
    expect(decoded.key).toEqual(key);
  });

  it("takes the blob from EF 2F10 when the command has no data", async () => {
    const card = await cardWithDkek();
    const blob = fromHex(AES_BLOB.replace(/\s+/g, ""));

    const staged = await card.send(withLc("00D72F10", `540200 00 53${byte(blob.length)}${toHex(blob)}`));
    expect(staged.swHex).toBe("9000");
    expect((await card.send("80740693")).swHex).toBe("9000");
    expect((await card.send("80740793")).swHex).toBe("9000");
  });
});

describe("WRAP KEY", () => {
  it("wraps a generated EC key that unwraps and signs under another id", async () => {
    const card = await cardWithDkek();
    const publicPoint = await generateEc(card, 1);

    const wrapped = await wrap(card, 1);
    expect(wrapped.swHex).toBe("9000");
    expect(toHex(wrapped.data.subarray(0, 9)).toUpperCase()).toBe("72CD6E8422C407FB0C");
    const decoded = decodeKeyBlob(ONES, wrapped.data);
    expect(decoded.key.type).toBe("ec");
    if (decoded.key.type === "ec") expect(decoded.key.q).toEqual(publicPoint);

    expect((await unwrap(card, 2, wrapped.data)).swHex).toBe("9000");
    const digest = sha256(new TextEncoder().encode("restored key"));
    const signed = await card.send(withLc("80680270", toHex(digest)) + "00");
    expect(signed.swHex).toBe("9000");
    expect(p256.verify(signed.data, digest, publicPoint, { prehash: false, format: "der" })).toBe(true);
  });

  it("checks P2, login, key 0, key presence, domain and tag 91 in order", async () => {
    const card = await cardWithDkek();
    await generateEc(card, 1, [encodeTlv(0x91, Uint8Array.of(0x70))]);
    await generateEc(card, 4, [encodeTlv(0x91, Uint8Array.of(0x70, 0x92))]);

    expect((await wrap(card, 1, 0x93)).swHex).toBe("6B00");
    expect((await wrap(card, 0)).swHex).toBe("6982");
    expect((await wrap(card, 9)).swHex).toBe("6A82");
    expect((await wrap(card, 1)).swHex).toBe("6985");
    expect((await wrap(card, 4)).swHex).toBe("9000");

    await card.selectApplet();
    expect((await wrap(card, 4)).swHex).toBe("6982");
  });

  it("answers 6A88 while the domain's DKEK is incomplete", async () => {
    const card = await openInitializedCard(2);
    await importShare(card, ONES);
    await card.login();
    await generateEc(card, 1);

    expect((await wrap(card, 1)).swHex).toBe("6A88");

    await importShare(card, TWOS);
    expect((await wrap(card, 1)).swHex).toBe("9000");
  });
});

describe("key domains", () => {
  async function cardWithTwoDomains(): Promise<{ card: TestCard; state: HsmState }> {
    const { card, state } = await openCardWithState();
    await card.selectApplet();
    const init = `80020001 8106${toHex(new TextEncoder().encode(USER_PIN))} 82083537363231383830 910103 970102`;
    expect((await card.send(withLc("80500000", init))).swHex).toBe("9000");
    await card.selectApplet();
    expect(await card.login()).toBe("9000");
    expect((await card.send("8052010001 01 00")).swHex).toBe("9000");
    expect((await card.send("8052010101 01 00")).swHex).toBe("9000");
    await importShare(card, ONES, 0);
    await importShare(card, TWOS, 1);
    return { card, state };
  }

  it("wrap a key with its own domain's DKEK and unwrap it into that domain", async () => {
    const { card, state } = await cardWithTwoDomains();
    await generateEc(card, 1, [encodeTlv(0x92, Uint8Array.of(1))]);

    const wrapped = await wrap(card, 1);
    expect(toHex(wrapped.data.subarray(0, 8))).toBe(toHex(dkekKcv(TWOS)));
    expect((await unwrap(card, 2, wrapped.data)).swHex).toBe("9000");
    expect((await state.objects.getKey(2))?.meta.domain).toBe(1);
  });

  it("refuse a blob once its domain's DKEK is cleared", async () => {
    const { card, state } = await cardWithTwoDomains();
    await generateEc(card, 1, [encodeTlv(0x92, Uint8Array.of(1))]);
    const wrapped = await wrap(card, 1);

    expect((await card.send("8052040100")).swHex).toBe("9000");
    expect((await unwrap(card, 2, wrapped.data)).swHex).toBe("6A80");
    expect(await state.objects.getKey(2)).toBeUndefined();
  });

  it("delete only a domain without keys", async () => {
    const { card } = await cardWithTwoDomains();
    await generateEc(card, 1, [encodeTlv(0x92, Uint8Array.of(1))]);

    expect((await card.send("80520301")).swHex).toBe("6A89");
    expect((await card.send("80520300")).swHex).toBe("6A88");
    expect((await card.send("8052000000")).swHex).toBe("6A88");
    expect((await card.send("80520300")).swHex).toBe("6A86");
  });
});

describe("UNWRAP KEY rejections", () => {
  async function snapshot(state: HsmState): Promise<Map<string, string>> {
    const names = (await state.keystore.list()).sort();
    const out = new Map<string, string>();
    for (const name of names) out.set(name, toHex((await state.keystore.getFile(name)) ?? new Uint8Array()));
    return out;
  }

  it("answer the spec's status word and change nothing", async () => {
    const { card, state } = await openCardWithState();
    await card.selectApplet();
    await card.initialize(1);
    await card.selectApplet();
    await importShare(card, ONES);
    await card.login();
    const good = fromHex(AES_BLOB.replace(/\s+/g, ""));
    const before = await snapshot(state);

    const unknownType = good.slice();
    unknownType[8] = 0x07;
    const altered = good.slice();
    altered[40] ^= 0x80;
    const otherDkek = encodeKeyBlob(TWOS, { type: "aes", key: new Uint8Array(16) });
    const unknownCurve = encodeKeyBlob(ONES, {
      type: "ec",
      fieldBits: 256,
      a: new Uint8Array(32),
      b: Uint8Array.of(7),
      p: new Uint8Array(32).fill(0xfd),
      n: new Uint8Array(32).fill(0xfb),
      g: Uint8Array.of(4, ...new Uint8Array(64).fill(1)),
      d: Uint8Array.of(5),
      q: new Uint8Array(0),
    });
    const { key: rsa } = rsaBlobKey();
    const wrongD = encodeKeyBlob(ONES, { ...(rsa as Extract<KeyBlobKey, { type: "rsa" }>), d: Uint8Array.of(0x01, 0x23, 0x45) });
    const cases: [string, Uint8Array | string, string][] = [
      ["unknown key type", unknownType, "6984"],
      ["altered body", altered, "6984"],
      ["truncated", good.subarray(0, good.length - 5), "6984"],
      ["too short", good.subarray(0, 20), "6984"],
      ["another DKEK", otherDkek, "6A80"],
      ["EC blob on an unknown curve", unknownCurve, "6984"],
      ["RSA blob whose d does not fit e", wrongD, "6984"],
    ];
    for (const [what, blob, sw] of cases) {
      expect((await unwrap(card, 5, blob)).swHex, what).toBe(sw);
    }
    expect((await card.send(withExtendedLc("80740592", toHex(good)))).swHex).toBe("6B00");
    expect((await unwrap(card, 0, good)).swHex).toBe("6982");
    expect((await card.send("80740593")).swHex).toBe("6A82");

    expect(await snapshot(state)).toEqual(before);
  });

  it("needs a login", async () => {
    const card = await openInitializedCard(1);
    await importShare(card, ONES);

    expect((await unwrap(card, 5, AES_BLOB)).swHex).toBe("6982");
  });
});
