import { fromHex, toHex } from "@hsmkit/tlv";
import { brainpoolP256r1 } from "@noble/curves/misc.js";
import { p256, p384, p521 } from "@noble/curves/nist.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { ed448, x448 } from "@noble/curves/ed448.js";
import { describe, expect, it } from "vitest";
import {
  CvcError,
  decodeCvcPublicKey,
  ecCurveName,
  ecDomainFromNoble,
  encodeCvcPublicKey,
  ID_RI_ECDH_SHA_256,
  ID_TA_ECDSA_SHA_256,
  ID_TA_RSA_V1_5_SHA_256,
  type CvcEcPublicKey,
} from "../src/index.ts";

const P256_TEMPLATE_HEAD =
  "7F4982011D060A04007F0007020202020381" +
  "20FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF" +
  "8220FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFC" +
  "83205AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B" +
  "8441046B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C2964FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5" +
  "8520FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551" +
  "8641";

describe("encodeCvcPublicKey", () => {
  it("writes P-256 with every domain parameter", () => {
    const point = p256.getPublicKey(p256.utils.randomSecretKey(), false);
    const key: CvcEcPublicKey = { kind: "ec", oid: ID_TA_ECDSA_SHA_256, domain: ecDomainFromNoble(p256), point };

    const encoded = toHex(encodeCvcPublicKey(key));

    expect(encoded).toBe(P256_TEMPLATE_HEAD + toHex(point) + "870101");
  });

  it("pads secp256k1 a to the field length", () => {
    const point = secp256k1.getPublicKey(secp256k1.utils.randomSecretKey(), false);
    const encoded = toHex(encodeCvcPublicKey({ kind: "ec", oid: ID_TA_ECDSA_SHA_256, domain: ecDomainFromNoble(secp256k1), point }));

    expect(encoded).toContain("8220" + "00".repeat(32));
    expect(encoded).toContain("8320" + "00".repeat(31) + "07");
  });

  it("writes P-521 parameters as 66 bytes", () => {
    const point = p521.getPublicKey(p521.utils.randomSecretKey(), false);
    const encoded = encodeCvcPublicKey({ kind: "ec", oid: ID_TA_ECDSA_SHA_256, domain: ecDomainFromNoble(p521), point });
    const decoded = decodeCvcPublicKey(encoded) as CvcEcPublicKey;

    expect(toHex(encoded)).toContain("8142" + "01" + "FF".repeat(65));
    expect(toHex(encoded)).toContain("8542" + "01FF");
    expect(decoded.domain?.p).toBe(p521.Point.CURVE().p);
  });

  it("writes RSA as minimal integers", () => {
    const encoded = encodeCvcPublicKey({
      kind: "rsa",
      oid: ID_TA_RSA_V1_5_SHA_256,
      modulus: fromHex("00C0FFEE"),
      exponent: fromHex("00010001"),
    });

    expect(toHex(encoded)).toBe("7F4916060A04007F000702020201028103C0FFEE8203010001");
  });

  it("writes only 86 without domain parameters", () => {
    const point = p384.getPublicKey(p384.utils.randomSecretKey(), false);
    const encoded = encodeCvcPublicKey({ kind: "ec", oid: ID_TA_ECDSA_SHA_256, point });

    expect(toHex(encoded)).toBe("7F496F060A04007F000702020202038661" + toHex(point));
  });

  it("writes the X25519 layout", () => {
    const publicKey = x25519.getPublicKey(x25519.utils.randomSecretKey());
    const encoded = toHex(encodeCvcPublicKey({ kind: "x25519", oid: ID_RI_ECDH_SHA_256, publicKey }));

    expect(encoded).toBe(
      "7F498194060A04007F000702020502038120" +
        "7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFED" +
        "82201000000000000000000000000000000014DEF9DEA2F79CD65812631A5CF5D3ED" +
        "8320" + "09" + "00".repeat(31) +
        "8420" + toHex(publicKey),
    );
  });

  it("rejects a point of the wrong length", () => {
    const point = p256.getPublicKey(p256.utils.randomSecretKey(), true);
    const encode = () => encodeCvcPublicKey({ kind: "ec", oid: ID_TA_ECDSA_SHA_256, domain: ecDomainFromNoble(p256), point });

    expect(encode).toThrow(CvcError);
    expect(encode).toThrow(/publicKey.point: expected an uncompressed point 04‖x‖y of 65 bytes, got 33/);
  });
});

describe("decodeCvcPublicKey", () => {
  const cases = [
    ["secp256r1", p256],
    ["secp384r1", p384],
    ["secp521r1", p521],
    ["secp256k1", secp256k1],
    ["brainpoolP256r1", brainpoolP256r1],
  ] as const;

  for (const [name, curve] of cases) {
    it(`round-trips ${name}`, () => {
      const point = curve.getPublicKey(curve.utils.randomSecretKey(), false);
      const encoded = encodeCvcPublicKey({ kind: "ec", oid: ID_TA_ECDSA_SHA_256, domain: ecDomainFromNoble(curve), point });

      const decoded = decodeCvcPublicKey(encoded) as CvcEcPublicKey;

      expect(decoded.kind).toBe("ec");
      expect(ecCurveName(decoded.domain!)).toBe(name);
      expect(toHex(encodeCvcPublicKey(decoded))).toBe(toHex(encoded));
    });
  }

  const octetCases = [
    ["x25519", x25519.getPublicKey(x25519.utils.randomSecretKey())],
    ["x448", x448.getPublicKey(x448.utils.randomSecretKey())],
    ["ed25519", ed25519.getPublicKey(ed25519.utils.randomSecretKey())],
    ["ed448", ed448.getPublicKey(ed448.utils.randomSecretKey())],
  ] as const;

  for (const [kind, publicKey] of octetCases) {
    it(`round-trips ${kind}`, () => {
      const encoded = encodeCvcPublicKey({ kind, oid: ID_RI_ECDH_SHA_256, publicKey });

      const decoded = decodeCvcPublicKey(encoded);

      expect(decoded).toEqual({ kind, oid: ID_RI_ECDH_SHA_256, publicKey });
    });
  }

  it("accepts the template content without 7F49", () => {
    const decoded = decodeCvcPublicKey(fromHex("060A04007F000702020201028103C0FFEE8203010001"));

    expect(decoded.kind).toBe("rsa");
  });

  it("names a missing point", () => {
    const decode = () => decodeCvcPublicKey(fromHex("7F490C060A04007F00070202020203"));

    expect(decode).toThrow(/7F49: cannot decode an id-TA-ECDSA key without public point 86/);
  });

  it("names incomplete domain parameters", () => {
    const decode = () => decodeCvcPublicKey(fromHex("7F4912060A04007F00070202020203810101860104"));

    expect(decode).toThrow(/incomplete EC domain parameters: missing 82, 83, 84, 85, 87/);
  });
});
