/**
 * The host-side error of this library. The card side reports its failures as
 * CardError from @hsmkit/apdu, because the card sends them as a status word.
 */

/** Stable error codes of SecureMessagingError. */
export type SecureMessagingErrorCode =
  /** A data object or argument does not have the expected structure or length. */
  | "malformed"
  /** A MAC or authentication token does not match: the data was altered or the keys differ. */
  | "bad-mac"
  /** The card returned a status word other than the one the protocol step needs. */
  | "card-error"
  /** The channel was closed after an earlier failure and cannot be used again. */
  | "closed";

/** Chip authentication or a protected exchange failed on the host side. */
export class SecureMessagingError extends Error {
  readonly code: SecureMessagingErrorCode;
  /** The status word the card returned, for code "card-error". */
  readonly sw: number | undefined;

  constructor(code: SecureMessagingErrorCode, message: string, sw?: number) {
    super(message);
    this.name = "SecureMessagingError";
    this.code = code;
    this.sw = sw;
  }
}
