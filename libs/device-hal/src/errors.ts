/** The one error type of this library: a stable `code` and a message that names the value and what to do. */

export type DeviceHalErrorCode =
  /** No board of the requested kind is attached, or it left the bus. */
  | "NOT_FOUND"
  /** A USB transfer stalled, timed out or returned a malformed reply. */
  | "TRANSFER_FAILED"
  /** The board returned a CCID error or an unexpected CCID message. */
  | "CCID_ERROR"
  /** PICOBOOT rejected a command; `details.status` contains the PICOBOOT status code. */
  | "PICOBOOT_ERROR"
  /** A file (UF2, firmware image) is malformed or does not fit the board. */
  | "INVALID_IMAGE"
  /** An argument is out of range or a guarded operation was not confirmed. */
  | "INVALID_ARGUMENT"
  /** The rescue applet returned a status word other than 9000, found in `details.sw`. */
  | "RESCUE_ERROR"
  /** Read-back after a write differs from what was written. */
  | "VERIFY_FAILED";

export class DeviceHalError extends Error {
  override readonly name = "DeviceHalError";

  constructor(
    readonly code: DeviceHalErrorCode,
    message: string,
    readonly details: { status?: number; sw?: number; address?: number } = {},
  ) {
    super(message);
  }
}

/** Formats `value` as 0x-prefixed upper-case hex of at least `digits` digits. */
export function hex(value: number, digits = 8): string {
  return "0x" + (value >>> 0).toString(16).toUpperCase().padStart(digits, "0");
}
