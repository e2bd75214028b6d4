// GENERATE ASYMMETRIC KEY PAIR through the device's transmit: the authenticated request must
// decode with @hsmkit/cvc, both of its signatures must verify, and C4/CE must hold what the
// card stored. Rejected commands must return the SW and leave no key, PRKD or request behind.
import { beforeAll, describe, expect, it } from "vitest";
import {
  decodeAuthenticatedRequest,
  decodeCvcChain,
  ecCurveName,
  encodeOid,
  ID_TA_ECDSA_SHA_256,
  ID_TA_ECDSA_SHA_384,
  ID_TA_RSA_V1_5_SHA_256,
  verifyCvSignature,
  verifyProofOfPossession,
  type AuthenticatedRequest,
  type CvcPublicKey,
} from "@hsmkit/cvc";
import { concatBytes, encodeTlv, toHex } from "@hsmkit/tlv";
import { SUPPORTED_CURVES, curveByName } from "../src/crypto/curves.ts";
import { defaultPrkd } from "../src/hsm/prkd.ts";
import {
  ecTemplate,
  extendedFrame,
  fixedBytes,
  generateKeyPair,
  keyPairData,
  OPENSC_CAR,
  OPENSC_CHR,
  openCard,
  readFile,
  rsaTemplate,
  type Card,
} from "./keys-fixture.ts";

const SW_OK = 0x9000;
const ECDSA_OID = encodeTlv(0x06, encodeOid(ID_TA_ECDSA_SHA_256));
const SW_FILE_NOT_FOUND = 0x6a82;

let card: Card;
let devicePublicKey: CvcPublicKey;
let deviceChr: string;

beforeAll(async () => {
  card = await openCard();
  const chain = decodeCvcChain((await readFile(card, 0x2f02)).content);
  devicePublicKey = chain[0].body.publicKey;
  deviceChr = chain[0].body.chr;
});

/** Decodes a 9000 response and checks both signatures, the outer CAR and the stored C4/CE files. */
async function checkGenerated(keyId: number, response: { data: Uint8Array; sw: number }): Promise<AuthenticatedRequest> {
  expect(response.sw).toBe(SW_OK);
  const request = decodeAuthenticatedRequest(response.data);

  expect(request.outerCar).toBe(deviceChr);
  expect(await verifyProofOfPossession(request)).toBe(true);
  expect(await verifyCvSignature(request, devicePublicKey)).toBe(true);

  const stored = await readFile(card, 0xce00 | keyId);
  expect(stored.sw).toBe(SW_OK);
  expect(toHex(stored.content)).toBe(toHex(response.data));

  const prkd = await readFile(card, 0xc400 | keyId);
  expect(prkd.sw).toBe(SW_OK);
  expect(prkd.content.length).toBeGreaterThan(0);
  return request;
}

describe("GENERATE ASYMMETRIC KEY PAIR, OpenSC shapes", () => {
  it("P-256 request of 490 bytes", async () => {
    // OpenSC 0.23 sends 256 data bytes for P-256, with extended Lc and Le 0000.
    const data = keyPairData(ecTemplate("secp256r1"));
    expect(data.length).toBe(256);

    const response = await generateKeyPair(card, 1, data);
    expect(response.data.length).toBe(490);
    const request = await checkGenerated(1, response);

    const body = request.request.body;
    expect(body.car).toBe(OPENSC_CAR);
    expect(body.chr).toBe(OPENSC_CHR);
    expect(body.publicKey.kind).toBe("ec");
    expect(body.publicKey.oid).toBe(ID_TA_ECDSA_SHA_256);
    if (body.publicKey.kind !== "ec" || body.publicKey.domain === undefined) throw new Error("expected EC domain parameters");
    expect(ecCurveName(body.publicKey.domain)).toBe("secp256r1");
    expect(body.publicKey.point.length).toBe(65);

    expect(toHex((await readFile(card, 0xc401)).content)).toBe(toHex(defaultPrkd(1, "ec", 256)));
    expect((await readFile(card, 0xc401)).content.length).toBe(28);
  });

  it("RSA-2048 request of 676 bytes", async () => {
    // OpenSC 0.23 sends 58 data bytes for RSA-2048: exponent 65537 and size 0800.
    const data = keyPairData(rsaTemplate(2048));
    expect(data.length).toBe(58);

    const response = await generateKeyPair(card, 2, data);
    expect(response.data.length).toBe(676);
    const request = await checkGenerated(2, response);

    const key = request.request.body.publicKey;
    expect(key.oid).toBe(ID_TA_RSA_V1_5_SHA_256);
    if (key.kind !== "rsa") throw new Error("expected an RSA key");
    expect(key.modulus.length).toBe(256);
    expect(key.modulus[0] & 0x80).toBe(0x80);
    expect(toHex(key.exponent)).toBe("010001");
    expect((await readFile(card, 0xc402)).content.length).toBe(27);
  });

  it("no Le returns the whole request", async () => {
    const frame = extendedFrame("00460300", keyPairData(ecTemplate("secp256r1")), 0);
    const response = await card.sendRaw(frame);
    expect(response.sw).toBe(SW_OK);
    expect(response.data.length).toBe(490);
  });

  it("short Le 00 chains with 61XX", async () => {
    const response = await card.send({ cla: 0x00, ins: 0x46, p1: 0x03, p2: 0x00, data: keyPairData(ecTemplate("secp256r1")), ne: 256 });
    expect(response.sw).toBe(SW_OK);
    expect(response.data.length).toBe(490);
    await checkGenerated(3, response);
  });
});

describe("GENERATE ASYMMETRIC KEY PAIR, key types", () => {
  for (const [index, curve] of SUPPORTED_CURVES.entries()) {
    it(`EC ${curve}`, async () => {
      const keyId = 0x10 + index;
      const request = await checkGenerated(keyId, await generateKeyPair(card, keyId, keyPairData(ecTemplate(curve))));

      const key = request.request.body.publicKey;
      if (key.kind !== "ec" || key.domain === undefined) throw new Error("expected EC domain parameters");
      expect(key.domain.p).toBe(curveByName(curve).prime);
      expect(key.point.length).toBe(1 + 2 * curveByName(curve).fieldBytes);
      // The inner signature is r ‖ s, each the field length.
      expect(request.request.signature.length).toBe(2 * curveByName(curve).fieldBytes);

      const bits = 8 * curveByName(curve).orderBytes;
      expect(toHex((await readFile(card, 0xc400 | keyId)).content)).toBe(toHex(defaultPrkd(keyId, "ec", bits)));
    });
  }

  it("RSA-1024", async () => {
    const request = await checkGenerated(0x20, await generateKeyPair(card, 0x20, keyPairData(rsaTemplate(1024))));
    const key = request.request.body.publicKey;
    if (key.kind !== "rsa") throw new Error("expected an RSA key");
    expect(key.modulus.length).toBe(128);
    expect(request.request.signature.length).toBe(128);
  });

  it("RSA without size defaults to 2048", async () => {
    const request = await checkGenerated(0x21, await generateKeyPair(card, 0x21, keyPairData(rsaTemplate(undefined))));
    const key = request.request.body.publicKey;
    if (key.kind !== "rsa") throw new Error("expected an RSA key");
    expect(key.modulus.length).toBe(256);
  });

  it("replaces an existing key", async () => {
    const first = await checkGenerated(0x22, await generateKeyPair(card, 0x22, keyPairData(ecTemplate("secp256r1"))));
    const second = await checkGenerated(0x22, await generateKeyPair(card, 0x22, keyPairData(ecTemplate("secp384r1"))));

    const firstKey = first.request.body.publicKey;
    const secondKey = second.request.body.publicKey;
    if (firstKey.kind !== "ec" || secondKey.kind !== "ec") throw new Error("expected EC keys");
    expect(secondKey.point.length).toBe(97);
    expect(toHex(secondKey.point)).not.toBe(toHex(firstKey.point));
  });

  it("CAR and CHR default to the device CHR", async () => {
    const data = ecTemplate("secp256r1");
    const request = await checkGenerated(0x23, await generateKeyPair(card, 0x23, data));
    expect(request.request.body.car).toBe(deviceChr);
    expect(request.request.body.chr).toBe(deviceChr);
  });
});

describe("GENERATE ASYMMETRIC KEY PAIR, rejected", () => {
  const KEY_ID = 0x30;

  async function expectRejected(data: Uint8Array, sw: number, keyId = KEY_ID): Promise<void> {
    const response = await generateKeyPair(card, keyId, data);
    expect(response.sw.toString(16)).toBe(sw.toString(16));
    expect(response.data.length).toBe(0);

    expect((await readFile(card, 0xce00 | keyId)).sw).toBe(SW_FILE_NOT_FOUND);
    expect((await readFile(card, 0xc400 | keyId)).sw).toBe(SW_FILE_NOT_FOUND);
  }

  it("key 0 with 6982", async () => {
    const response = await generateKeyPair(card, 0, keyPairData(ecTemplate("secp256r1")));
    expect(response.sw.toString(16)).toBe("6982");

    // The device key's request in CE00 stays as it was.
    const request = decodeAuthenticatedRequest((await readFile(card, 0xce00)).content);
    expect(request.request.body.chr).toBe(deviceChr);
  });

  it("missing 7F49 with 6700", async () => {
    const data = concatBytes(encodeTlv(0x5f29, Uint8Array.of(0)), encodeTlv(0x5f20, new TextEncoder().encode(OPENSC_CHR)));
    await expectRejected(data, 0x6700);
  });

  it("empty 7F49 with 6700", async () => {
    await expectRejected(keyPairData(encodeTlv(0x7f49, new Uint8Array())), 0x6700);
  });

  it("EC without prime with 6700", async () => {
    await expectRejected(keyPairData(encodeTlv(0x7f49, ECDSA_OID)), 0x6700);
  });

  it("unknown prime with 6A81", async () => {
    // secp224r1: p = 2^224 − 2^96 + 1.
    const p = (1n << 224n) - (1n << 96n) + 1n;
    const prime = Uint8Array.from(p.toString(16).match(/../g)!.map((byte) => parseInt(byte, 16)));
    await expectRejected(keyPairData(encodeTlv(0x7f49, [ECDSA_OID, encodeTlv(0x81, prime)])), 0x6a81);
  });

  it("other OID with 6A81", async () => {
    // id-TA-ECDSA-SHA-384 is not what the card generates.
    const oid = encodeTlv(0x06, encodeOid(ID_TA_ECDSA_SHA_384));
    const prime = encodeTlv(0x81, fixedBytes(curveByName("secp256r1").prime, 32));
    await expectRejected(keyPairData(encodeTlv(0x7f49, [oid, prime])), 0x6a81);
  });

  it("RSA exponent 3 with 6A80", async () => {
    await expectRejected(keyPairData(rsaTemplate(2048, Uint8Array.of(3))), 0x6a80);
  });

  it("RSA sizes outside 1024–4096 with 6400", async () => {
    await expectRejected(keyPairData(rsaTemplate(512)), 0x6400);
    await expectRejected(keyPairData(rsaTemplate(8192)), 0x6400);
    await expectRejected(keyPairData(rsaTemplate(2047)), 0x6400);
  });

  it("XKEK key without domain with 6700", async () => {
    await expectRejected(keyPairData(ecTemplate("secp256r1"), [encodeTlv(0x91, Uint8Array.of(0x84))]), 0x6700);
  });

  it("metadata tag 90 of 3 bytes with 6A80", async () => {
    await expectRejected(keyPairData(ecTemplate("secp256r1"), [encodeTlv(0x90, Uint8Array.of(0, 0, 1))]), 0x6a80);
  });

  it("not logged in with 6982", async () => {
    const other = await openCard();
    await other.select();
    const response = await generateKeyPair(other, KEY_ID, keyPairData(ecTemplate("secp256r1")));
    expect(response.sw.toString(16)).toBe("6982");
    await other.login();
    expect((await readFile(other, 0xce00 | KEY_ID)).sw).toBe(SW_FILE_NOT_FOUND);
  });
});
