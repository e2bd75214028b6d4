/**
 * @hsmkit/cvc: card-verifiable certificates (CVC) and authenticated requests as
 * BSI TR-03110 defines them and the SmartCard-HSM uses them.
 */
export * from "./errors.ts";
export * from "./oid.ts";
export * from "./tags.ts";
export * from "./ec-domain.ts";
export * from "./public-key.ts";
export * from "./chat.ts";
export * from "./cvc-date.ts";
export * from "./extensions.ts";
export * from "./certificate-body.ts";
export * from "./certificate.ts";
export * from "./authenticated-request.ts";
export * from "./signer.ts";
export * from "./verify.ts";
export * from "./chain.ts";
export * from "./describe.ts";
