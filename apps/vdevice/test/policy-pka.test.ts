// Public key authentication: INITIALIZE tag 93, PUK AUTH, MSE SET AT with a PUK
// CHR, GET CHALLENGE and EXTERNAL AUTHENTICATE, in-process through APDUs.
import { encodeTlv } from "@hsmkit/tlv";
import { ed25519 } from "@noble/curves/ed25519.js";
import { brainpoolP256r1 } from "@noble/curves/misc.js";
import { p256 } from "@noble/curves/nist.js";
import { ecDomainFromNoble, ecdsaSigner, encodeAuthenticatedRequest, ID_RI_ECDH_SHA_256, ID_TA_ECDSA_SHA_256, signCertificate } from "@hsmkit/cvc";
import { beforeEach, describe, expect, test } from "vitest";
import {
  answerChallenge,
  createAuthenticator,
  generateEcKey,
  initializeCard,
  openPolicyCard,
  readDeviceChr,
  signHash,
  toHex,
  type Authenticator,
  type PolicyCard,
  wrapDevice,
} from "./policy-fixture.ts";
import { openCardWithState } from "./hsm-harness.ts";

const KEY_ID = 1;
const PKA_2_OF_3 = encodeTlv(0x93, Uint8Array.of(3, 2));
const OPTION_PKA_REPLACEABLE = 0x0008;
const OPTION_PKA_AND_PIN = 0x0010;

async function status(card: PolicyCard): Promise<string> {
  const response = await card.raw("8054000000");
  return `${toHex(response.data).toUpperCase()} ${response.swHex}`;
}

function register(card: PolicyCard, authenticator: Authenticator, p1 = 0, p2 = 0): Promise<{ data: Uint8Array; sw: number }> {
  return card.send({ cla: 0x80, ins: 0x54, p1, p2, data: authenticator.registration, ne: 256 });
}

function selectPuk(card: PolicyCard, chr: string): Promise<string> {
  const data = encodeTlv(0x83, new TextEncoder().encode(chr));
  return card.sw(Uint8Array.of(0x00, 0x22, 0x81, 0xa4, data.length, ...data));
}

async function challenge(card: PolicyCard): Promise<Uint8Array> {
  const response = await card.raw("0084000008");
  expect(response.swHex).toBe("9000");
  return response.data;
}

function externalAuthenticate(card: PolicyCard, signature: Uint8Array): Promise<string> {
  return card.sw(Uint8Array.of(0x00, 0x82, 0x00, 0x00, signature.length, ...signature));
}

async function authenticate(card: PolicyCard, authenticator: Authenticator, deviceChr: string, nonce: Uint8Array): Promise<string> {
  const selected = await selectPuk(card, authenticator.chr);
  if (selected !== "9000") return selected;
  return externalAuthenticate(card, await answerChallenge(authenticator, deviceChr, nonce));
}

/** Sets up a device with PKA 2-of-3, key 1 and all three PUKs registered, then logs out. */
async function setUp(options = 0x0001): Promise<{ card: PolicyCard; authenticators: Authenticator[]; deviceChr: string }> {
  const card = await openPolicyCard();
  await initializeCard(card, options, [PKA_2_OF_3]);
  expect(await generateEcKey(card, KEY_ID)).toBe("9000");

  const authenticators = await Promise.all(["DEPUKALICE01", "DEPUKBOB0001", "DEPUKCAROL01"].map((chr) => createAuthenticator(chr)));
  for (const authenticator of authenticators) expect((await register(card, authenticator)).sw).toBe(0x9000);

  const deviceChr = await readDeviceChr(card);
  await card.select();
  return { card, authenticators, deviceChr };
}

describe("PKA configuration", () => {
  test("status counts registrations", async () => {
    const card = await openPolicyCard();
    await initializeCard(card, 0x0001, [PKA_2_OF_3]);
    expect(await status(card)).toBe("03030200 9000");

    const alice = await createAuthenticator("DEPUKALICE01");
    const registered = await register(card, alice);
    expect(registered.sw).toBe(0x9000);
    expect(toHex(registered.data).toUpperCase()).toBe("03020200");

    const slot = await card.raw("80540200");
    expect(slot.swHex).toBe("9000");
    expect(new TextDecoder().decode(slot.data)).toBe("DEPUKALICE01");
    expect(await card.sw("80540201")).toBe("6A88");
    expect(await card.sw("80540203")).toBe("6A86");
  });

  test("a fourth PUK finds no slot", async () => {
    const { card } = await setUp();
    expect(await card.verifyUserPin()).toBe("9000");
    const extra = await createAuthenticator("DEPUKDAVE001");
    expect((await register(card, extra)).sw).toBe(0x6a84);
    expect(await status(card)).toBe("03000200 9000");
  });

  test("without tag 93 PUK AUTH is unavailable", async () => {
    const card = await openPolicyCard();
    await initializeCard(card);
    expect(await card.sw("8054000000")).toBe("6A86");
    const alice = await createAuthenticator("DEPUKALICE01");
    expect((await register(card, alice)).sw).toBe(0x6a82);
  });

  test("registration needs no PIN while slots are free", async () => {
    const card = await openPolicyCard();
    await initializeCard(card, 0x0001, [PKA_2_OF_3]);
    await card.select();

    for (const [index, name] of ["DEPUKALICE01", "DEPUKBOB0001", "DEPUKCAROL01"].entries()) {
      const response = await register(card, await createAuthenticator(name));
      expect(response.sw, name).toBe(0x9000);
      expect(await status(card), name).toBe(`03${String(2 - index).padStart(2, "0")}0200 9000`);
    }

    expect((await register(card, await createAuthenticator("DEPUKMALLET1"))).sw).toBe(0x6a84);
    expect(await status(card)).toBe("03000200 9000");
  });

  test("tag 93 out of range is 6A80", async () => {
    const card = await openPolicyCard();
    for (const value of [[3, 4], [0, 0], [2, 0], [3]]) {
      await expect(initializeCard(card, 0x0001, [encodeTlv(0x93, Uint8Array.from(value))])).rejects.toThrow("6A80");
    }
    expect(await card.sw("8054000000")).toBe("6A86");
  });
});

describe("PKA 2-of-3 login", () => {
  let card: PolicyCard;
  let authenticators: Authenticator[];
  let deviceChr: string;

  beforeEach(async () => {
    ({ card, authenticators, deviceChr } = await setUp());
  });

  test("PIN alone does not authenticate", async () => {
    expect(await card.verifyUserPin()).toBe("9000");
    expect(await signHash(card, KEY_ID)).toBe("6982");
  });

  test("one authenticator is not a quorum", async () => {
    expect(await card.verifyUserPin()).toBe("9000");
    const nonce = await challenge(card);
    expect(await authenticate(card, authenticators[0], deviceChr, nonce)).toBe("9000");
    expect(await status(card)).toBe("03000201 9000");
    expect(await signHash(card, KEY_ID)).toBe("6982");
  });

  test("two authenticators and the PIN sign", async () => {
    expect(await card.verifyUserPin()).toBe("9000");
    const nonce = await challenge(card);
    expect(await authenticate(card, authenticators[0], deviceChr, nonce)).toBe("9000");
    expect(await authenticate(card, authenticators[2], deviceChr, nonce)).toBe("9000");
    expect(await status(card)).toBe("03000202 9000");
    expect(await signHash(card, KEY_ID)).toBe("9000");

    const queried = await card.raw("80540202");
    expect(queried.swHex).toBe("9001");
    expect((await card.raw("80540201")).swHex).toBe("9000");
  });

  test("quorum without the PIN has no key material", async () => {
    const nonce = await challenge(card);
    expect(await authenticate(card, authenticators[0], deviceChr, nonce)).toBe("9000");
    expect(await authenticate(card, authenticators[1], deviceChr, nonce)).toBe("9000");
    expect(await signHash(card, KEY_ID)).toBe("6400");
  });

  test("an authenticated PUK cannot be selected again", async () => {
    const nonce = await challenge(card);
    expect(await authenticate(card, authenticators[0], deviceChr, nonce)).toBe("9000");
    expect(await selectPuk(card, authenticators[0].chr)).toBe("6985");
  });

  test("a new challenge resets the progress", async () => {
    expect(await card.verifyUserPin()).toBe("9000");
    const first = await challenge(card);
    expect(await authenticate(card, authenticators[0], deviceChr, first)).toBe("9000");
    const second = await challenge(card);
    expect(await status(card)).toBe("03000200 9000");
    expect(await authenticate(card, authenticators[1], deviceChr, second)).toBe("9000");
    expect(await signHash(card, KEY_ID)).toBe("6982");
  });

  test("SELECT logs out", async () => {
    expect(await card.verifyUserPin()).toBe("9000");
    const nonce = await challenge(card);
    expect(await authenticate(card, authenticators[0], deviceChr, nonce)).toBe("9000");
    expect(await authenticate(card, authenticators[1], deviceChr, nonce)).toBe("9000");
    await card.select();
    expect(await card.verifyUserPin()).toBe("9000");
    expect(await signHash(card, KEY_ID)).toBe("6982");
    expect(await status(card)).toBe("03000200 9000");
  });
});

describe("EXTERNAL AUTHENTICATE bad input", () => {
  let card: PolicyCard;
  let authenticators: Authenticator[];
  let deviceChr: string;

  beforeEach(async () => {
    ({ card, authenticators, deviceChr } = await setUp());
  });

  test("wrong challenge response is 6985", async () => {
    const nonce = await challenge(card);
    expect(await selectPuk(card, authenticators[0].chr)).toBe("9000");
    const wrong = await answerChallenge(authenticators[0], deviceChr, nonce.map((byte) => byte ^ 0xff));
    expect(await externalAuthenticate(card, wrong)).toBe("6985");
    expect(await status(card)).toBe("03000200 9000");
  });

  test("another authenticator's signature is 6985", async () => {
    const nonce = await challenge(card);
    expect(await selectPuk(card, authenticators[0].chr)).toBe("9000");
    expect(await externalAuthenticate(card, await answerChallenge(authenticators[1], deviceChr, nonce))).toBe("6985");
    expect(await status(card)).toBe("03000200 9000");
  });

  test("a consumed challenge cannot be replayed", async () => {
    expect(await card.verifyUserPin()).toBe("9000");
    const nonce = await challenge(card);
    expect(await authenticate(card, authenticators[0], deviceChr, nonce)).toBe("9000");
    expect(await authenticate(card, authenticators[1], deviceChr, nonce)).toBe("9000");
    await card.select();
    expect(await card.verifyUserPin()).toBe("9000");
    expect(await selectPuk(card, authenticators[0].chr)).toBe("9000");
    expect(await externalAuthenticate(card, await answerChallenge(authenticators[0], deviceChr, nonce))).toBe("6985");
  });

  test("order of the checks", async () => {
    expect(await card.sw("0082000102AABB")).toBe("6A86");
    expect(await card.sw("0082000002AABB")).toBe("6A88");
    expect(await selectPuk(card, authenticators[0].chr)).toBe("9000");
    expect(await card.sw("00820000")).toBe("6700");
    expect(await card.sw("0082000002AABB")).toBe("6985");
    expect(await selectPuk(card, "DEPUKNOBODY1")).toBe("6A88");
  });
});

describe("PUK registration bad input", () => {
  let card: PolicyCard;

  beforeEach(async () => {
    card = await openPolicyCard();
    await initializeCard(card, OPTION_PKA_REPLACEABLE | 0x0001, [PKA_2_OF_3]);
  });

  test("a key on the wrong curve is 6A80", async () => {
    // A brainpoolP256r1 point declared as a secp256r1 key is not on the declared curve.
    const brainpoolPoint = brainpoolP256r1.getPublicKey(brainpoolP256r1.utils.randomSecretKey(), false);
    const offCurve = await createAuthenticator("DEPUKWRONG01", { kind: "ec", oid: ID_TA_ECDSA_SHA_256, domain: ecDomainFromNoble(p256), point: brainpoolPoint });
    expect((await register(card, offCurve)).sw).toBe(0x6a80);

    const edwards = await createAuthenticator("DEPUKEDWARD1", { kind: "ed25519", oid: ID_RI_ECDH_SHA_256, publicKey: ed25519.getPublicKey(ed25519.utils.randomSecretKey()) });
    expect((await register(card, edwards)).sw).toBe(0x6a80);
    expect(await status(card)).toBe("03030200 9000");
  });

  test("a forged inner signature is 6985", async () => {
    // Same CHR, another key: its inner request carrying Alice's signature fails the proof of possession.
    const alice = await createAuthenticator("DEPUKALICE01");
    const impostor = await createAuthenticator("DEPUKALICE01");
    const mixed = impostor.registration.slice();
    const aliceSignature = findInnerSignature(alice.registration);
    mixed.set(alice.registration.subarray(aliceSignature, aliceSignature + 64), findInnerSignature(mixed));
    expect((await register(card, { ...impostor, registration: mixed })).sw).toBe(0x6985);
    expect(await status(card)).toBe("03030200 9000");
  });

  test("garbage is 6A80", async () => {
    const junk = { chr: "X", privateKey: new Uint8Array(32), registration: Uint8Array.of(0x7f, 0x21, 0x03, 1, 2, 3) };
    expect((await register(card, junk)).sw).toBe(0x6a80);
  });

  test("replace needs option 0008", async () => {
    const alice = await createAuthenticator("DEPUKALICE01");
    const bob = await createAuthenticator("DEPUKBOB0001");
    expect((await register(card, alice)).sw).toBe(0x9000);
    expect((await register(card, bob, 1, 0)).sw).toBe(0x9000);
    expect(new TextDecoder().decode((await card.raw("80540200")).data)).toBe("DEPUKBOB0001");
    expect((await register(card, bob, 1, 3)).sw).toBe(0x6a86);

    const plain = await openPolicyCard();
    await initializeCard(plain, 0x0001, [PKA_2_OF_3]);
    expect((await register(plain, alice)).sw).toBe(0x9000);
    expect((await register(plain, bob, 1, 0)).sw).toBe(0x6985);
  });
});

test("combined PIN and PKA needs both", async () => {
  const { card, authenticators, deviceChr } = await setUp(0x0001 | OPTION_PKA_AND_PIN);
  const nonce = await challenge(card);
  expect(await authenticate(card, authenticators[0], deviceChr, nonce)).toBe("9000");
  expect(await authenticate(card, authenticators[1], deviceChr, nonce)).toBe("9000");
  expect(await status(card)).toBe("03000202 9000");
  // The quorum alone does not set UA in combined mode, so data-object writes are refused.
  expect(await card.sw("00D7CF0106540200005300")).toBe("6982");
  expect(await card.verifyUserPin()).toBe("9000");
  expect(await signHash(card, KEY_ID)).toBe("9000");
});

/** Returns the offset of the inner signature value (5F37 40 …) inside PUK AUTH data. */
function findInnerSignature(content: Uint8Array): number {
  for (let index = 0; index + 2 < content.length; index++) {
    if (content[index] === 0x5f && content[index + 1] === 0x37 && content[index + 2] === 0x40) return index + 3;
  }
  throw new Error("no inner signature found");
}

describe("PUK outer signature", () => {
  async function stateCard() {
    const { card, state } = await openCardWithState();
    const policyCard = wrapDevice(card.device);
    await initializeCard(policyCard, 0x0001, [PKA_2_OF_3]);
    return { card: policyCard, state };
  }

  async function requestSignedOutside(outerCar: string, sign: (message: Uint8Array) => Promise<Uint8Array>): Promise<Authenticator> {
    const privateKey = p256.utils.randomSecretKey();
    const publicKey = { kind: "ec" as const, oid: ID_TA_ECDSA_SHA_256, domain: ecDomainFromNoble(p256), point: p256.getPublicKey(privateKey, false) };
    const inner = await signCertificate({ car: "DEPUKALICE01", publicKey, chr: "DEPUKALICE01" }, ecdsaSigner(p256, privateKey));
    const outer = await encodeAuthenticatedRequest(inner, outerCar, sign);
    const headerLength = outer[1] < 0x80 ? 2 : 2 + (outer[1] & 0x7f);
    return { chr: "DEPUKALICE01", privateKey, registration: outer.slice(headerLength) };
  }

  test("a known CAR with a valid signature registers", async () => {
    const { card, state } = await stateCard();
    const deviceChr = await readDeviceChr(card);
    const authenticator = await requestSignedOutside(deviceChr, (message) => state.device.signWithDeviceKey(message));
    expect((await register(card, authenticator)).sw).toBe(0x9000);
  });

  test("a known CAR with a forged signature is 6985", async () => {
    const { card } = await stateCard();
    const deviceChr = await readDeviceChr(card);
    const authenticator = await requestSignedOutside(deviceChr, ecdsaSigner(p256, p256.utils.randomSecretKey()));
    expect((await register(card, authenticator)).sw).toBe(0x6985);
    expect(await status(card)).toBe("03030200 9000");
  });
});
