/** The README's first example, kept runnable. */

import { p256 } from "@noble/curves/nist.js";
import { expect, it } from "vitest";
import {
  decodeAuthenticatedRequest,
  describeCvc,
  ecDomainFromNoble,
  ecdsaSigner,
  encodeAuthenticatedRequest,
  ID_TA_ECDSA_SHA_256,
  signCertificate,
  verifyCvSignature,
  verifyProofOfPossession,
} from "@hsmkit/cvc";

it("README first example runs", async () => {
  const deviceSecret = p256.utils.randomSecretKey();
  const deviceKey = {
    kind: "ec",
    oid: ID_TA_ECDSA_SHA_256,
    domain: ecDomainFromNoble(p256),
    point: p256.getPublicKey(deviceSecret, false),
  } as const;

  const newSecret = p256.utils.randomSecretKey();
  const newKey = { ...deviceKey, point: p256.getPublicKey(newSecret, false) };

  const request = await signCertificate({ car: "UTCA00001", publicKey: newKey, chr: "ESPICOHSMTR00001" }, ecdsaSigner(p256, newSecret));
  const response = await encodeAuthenticatedRequest(request, "ESPICOHSMTR00001", ecdsaSigner(p256, deviceSecret));

  const decoded = decodeAuthenticatedRequest(response);
  expect(response.length).toBe(490);
  expect(await verifyProofOfPossession(decoded)).toBe(true);
  expect(await verifyCvSignature(decoded, deviceKey)).toBe(true);
  expect(describeCvc(decoded).toString()).toContain("outer CAR");
});
