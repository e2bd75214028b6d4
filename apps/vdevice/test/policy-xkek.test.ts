// XKEK: two devices that are members of one key domain derive the same DKEK
// from their exchange keys (KEY DOMAIN P1 02, GENERATE with algorithm 84,
// DECIPHER P2 84), and the bad-input answers.
import { decodeAuthenticatedRequest, decodeCvcChain, ecDomainFromNoble, ecdsaSigner, encodeAuthenticatedRequest, ID_TA_ECDSA_SHA_256, signCertificate } from "@hsmkit/cvc";
import { concatBytes, encodeTlv, fromHex } from "@hsmkit/tlv";
import { p256 } from "@noble/curves/nist.js";
import { beforeEach, describe, expect, test } from "vitest";
import { ecTemplate, extendedFrame, keyPairData } from "./keys-fixture.ts";
import { initializeCard, openPolicyCard, toHex, type PolicyCard } from "./policy-fixture.ts";

const EXCHANGE_KEY = 2;
const ONE_KEY_DOMAIN = encodeTlv(0x97, Uint8Array.of(1));
const XKEK_METADATA = [encodeTlv(0x91, Uint8Array.of(0x84)), encodeTlv(0x92, Uint8Array.of(0))];

interface GroupSigner {
  privateKey: Uint8Array;
  /** Content of the GSK's authenticated request (7F21 ‖ 42 ‖ 5F37). */
  request: Uint8Array;
  uid: Uint8Array;
}

async function createGroupSigner(): Promise<GroupSigner> {
  const privateKey = p256.utils.randomSecretKey();
  const point = p256.getPublicKey(privateKey, false);
  const publicKey = { kind: "ec" as const, oid: ID_TA_ECDSA_SHA_256, domain: ecDomainFromNoble(p256), point };
  const inner = await signCertificate({ car: "DEGSK0000001", publicKey, chr: "DEGSK0000001" }, ecdsaSigner(p256, privateKey));
  const outer = await encodeAuthenticatedRequest(inner, "DEGROUPCA001", ecdsaSigner(p256, p256.utils.randomSecretKey()));
  const headerLength = outer[1] < 0x80 ? 2 : 2 + (outer[1] & 0x7f);
  return { privateKey, request: outer.slice(headerLength), uid: point.slice(1) };
}

/** Returns the device key's public point, from the first certificate in EF 2F02. */
async function devicePoint(card: PolicyCard): Promise<Uint8Array> {
  expect((await card.raw("00A40000022F0200")).swHex).toBe("9000");
  const { data } = await card.send({ cla: 0x00, ins: 0xb1, p1: 0, p2: 0, data: fromHex("54020000"), ne: 65536 });
  const key = decodeCvcChain(data)[0].body.publicKey;
  if (key.kind !== "ec") throw new Error("the device key is not an EC key");
  return key.point;
}

/** Signs the membership of the device whose key point is `point`: ECDSA over SHA-256(54 ‖ X). */
async function membershipData(signer: GroupSigner, point: Uint8Array): Promise<Uint8Array> {
  const x = point.subarray(1, 33);
  const signature = await ecdsaSigner(p256, signer.privateKey)(concatBytes(Uint8Array.of(0x54), x));
  return concatBytes(signer.request, encodeTlv(0x54, signature));
}

async function member(signer: GroupSigner): Promise<PolicyCard> {
  const card = await openPolicyCard();
  await initializeCard(card, 0x0001, [ONE_KEY_DOMAIN]);
  const response = await card.send({ cla: 0x80, ins: 0x52, p1: 0x02, p2: 0x00, data: await membershipData(signer, await devicePoint(card)), ne: 256 });
  expect(response.sw).toBe(0x9000);
  expect(toHex(response.data.subarray(0, 2))).toBe("0101");
  expect(toHex(response.data.subarray(10))).toBe(toHex(signer.uid));
  return card;
}

async function exchangeKeyRequest(card: PolicyCard): Promise<{ sw: string; data: Uint8Array }> {
  const response = await card.raw(extendedFrame(`0046${EXCHANGE_KEY.toString(16).padStart(2, "0")}00`, keyPairData(ecTemplate("secp256r1"), XKEK_METADATA), 65536));
  return { sw: response.swHex, data: response.data };
}

async function derive(card: PolicyCard, peerRequest: Uint8Array): Promise<string> {
  return swOf(await card.send({ cla: 0x80, ins: 0x62, p1: EXCHANGE_KEY, p2: 0x84, data: peerRequest }));
}

async function domainStatus(card: PolicyCard): Promise<string> {
  return toHex((await card.raw("8052000000")).data).toUpperCase();
}

function swOf(response: { sw: number }): string {
  return response.sw.toString(16).toUpperCase().padStart(4, "0");
}

describe("XKEK between two members", () => {
  let signer: GroupSigner;
  let alice: PolicyCard;
  let bob: PolicyCard;

  beforeEach(async () => {
    signer = await createGroupSigner();
    alice = await member(signer);
    bob = await member(signer);
  });

  test("both derive the same DKEK", async () => {
    const aliceRequest = await exchangeKeyRequest(alice);
    const bobRequest = await exchangeKeyRequest(bob);
    expect(aliceRequest.sw).toBe("9000");
    expect(bobRequest.sw).toBe("9000");

    const extensionUid = decodeAuthenticatedRequest(aliceRequest.data).request.body.extensions?.[0].objects[0].value;
    expect(toHex(extensionUid!)).toBe(toHex(signer.uid));

    expect(await derive(alice, bobRequest.data)).toBe("9000");
    expect(await derive(bob, aliceRequest.data)).toBe("9000");

    const aliceStatus = await domainStatus(alice);
    expect(aliceStatus.slice(0, 4)).toBe("0100");
    expect(aliceStatus).toBe(await domainStatus(bob));
    expect(aliceStatus.slice(4)).not.toBe("0000000000000000");
  });

  test("a second derivation is 6985", async () => {
    const bobRequest = await exchangeKeyRequest(bob);
    expect(await exchangeKeyRequest(alice).then((response) => response.sw)).toBe("9000");
    expect(await derive(alice, bobRequest.data)).toBe("9000");
    const before = await domainStatus(alice);
    expect(await derive(alice, bobRequest.data)).toBe("6985");
    expect(await domainStatus(alice)).toBe(before);
  });

  test("a peer of another domain is 6A88", async () => {
    const stranger = await member(await createGroupSigner());
    const strangerRequest = await exchangeKeyRequest(stranger);
    expect((await exchangeKeyRequest(alice)).sw).toBe("9000");
    expect(await derive(alice, strangerRequest.data)).toBe("6A88");
    expect(await domainStatus(alice)).toBe("0101" + "0000000000000000");
  });
});

describe("XKEK bad input", () => {
  test("membership for another device is 6985", async () => {
    const signer = await createGroupSigner();
    const card = await openPolicyCard();
    await initializeCard(card, 0x0001, [ONE_KEY_DOMAIN]);
    const otherPoint = p256.getPublicKey(p256.utils.randomSecretKey(), false);
    const response = await card.send({ cla: 0x80, ins: 0x52, p1: 0x02, p2: 0x00, data: await membershipData(signer, otherPoint), ne: 256 });
    expect(swOf(response)).toBe("6985");
    expect((await exchangeKeyRequest(card)).sw).toBe("6700");
  });

  test("membership needs the user PIN", async () => {
    const signer = await createGroupSigner();
    const card = await openPolicyCard();
    await initializeCard(card, 0x0001, [ONE_KEY_DOMAIN]);
    const data = await membershipData(signer, await devicePoint(card));
    await card.select();
    expect(swOf(await card.send({ cla: 0x80, ins: 0x52, p1: 0x02, p2: 0x00, data, ne: 256 }))).toBe("6985");
  });

  test("missing tag 54 is 6700", async () => {
    const signer = await createGroupSigner();
    const card = await openPolicyCard();
    await initializeCard(card, 0x0001, [ONE_KEY_DOMAIN]);
    expect(swOf(await card.send({ cla: 0x80, ins: 0x52, p1: 0x02, p2: 0x00, data: signer.request, ne: 256 }))).toBe("6700");
  });
});
