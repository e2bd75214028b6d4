/**
 * The one error type of @hsmkit/hd-keys. `code` is stable and names the kind of
 * failure; the message quotes the offending value (a path segment, an index, a
 * seed length, an extended-key field) and states what is allowed.
 */

export type HdKeyErrorCode =
  /** A derivation path that does not parse: missing "m", empty or non-decimal segment, leading zero. */
  | "invalid-path"
  /** More than 255 levels below the master: the depth no longer fits its one-byte field. */
  | "path-too-deep"
  /** A child index outside 0..2^31-1 before its hardened mark, or outside 0..2^32-1 as a number. */
  | "index-out-of-range"
  /** A hardened child requested from a node that holds only a public key. */
  | "hardened-from-public"
  /** A non-hardened child requested on ed25519, which SLIP-10 defines only for hardened indices. */
  | "non-hardened-unsupported"
  /** A seed shorter than 16 or longer than 64 bytes. */
  | "invalid-seed"
  /** A private key, chain code or public key that is not valid for the curve. */
  | "invalid-key"
  /** An extended key (xprv/xpub) that fails to decode or to validate. */
  | "invalid-extended-key";

export class HdKeyError extends Error {
  override readonly name = "HdKeyError";

  constructor(
    readonly code: HdKeyErrorCode,
    message: string,
  ) {
    super(message);
  }
}
