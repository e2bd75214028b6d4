/**
 * The one error type of this library. Its `code` is stable and meant for programs.
 * Its `field` names the data object or argument at fault (for example `7F49/86`
 * or `chr`), and the message starts with that field.
 */

/** Stable error codes. */
export type CvcErrorCode =
  /** The bytes do not have the structure BSI TR-03110 defines. */
  | "malformed"
  /** An argument passed by the caller is out of range or inconsistent. */
  | "invalid-argument"
  /** The structure is valid but uses an algorithm or layout this library does not handle. */
  | "unsupported"
  /** A signature does not verify. */
  | "bad-signature"
  /** No certificate in the chain or trust anchors has the CHR a CAR refers to. */
  | "issuer-not-found"
  /** The effective date lies after the time of the check. */
  | "not-yet-valid"
  /** The expiration date lies before the time of the check. */
  | "expired";

/** A CVC could not be encoded, decoded or verified. */
export class CvcError extends Error {
  readonly code: CvcErrorCode;
  readonly field: string;

  constructor(code: CvcErrorCode, field: string, problem: string) {
    super(`${field}: ${problem}`);
    this.name = "CvcError";
    this.code = code;
    this.field = field;
  }
}
