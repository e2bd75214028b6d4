/**
 * ISO/IEC 7816-4 status words (SW1 SW2, the last two bytes of every response
 * APDU), named as ISO names them. The SmartCard-HSM uses the subset listed in
 * its firmware; the others are here so hosts can name what they receive.
 */
export const SW = {
  /** 9000: normal processing. */
  OK: 0x9000,
  /** 9001: success with extra status; PUK AUTH query: the PUK is authenticated in this session. */
  OK_AUTHENTICATED: 0x9001,
  /** 61XX: XX more response bytes are available with GET RESPONSE (00 for 256 or more). */
  BYTES_REMAINING: 0x6100,

  /** 6281: part of the returned data may be corrupted. */
  DATA_MAY_BE_CORRUPTED: 0x6281,
  /** 6282: end of file reached before reading Ne bytes. */
  END_OF_FILE: 0x6282,
  /** 6283: selected file deactivated. */
  SELECTED_FILE_DEACTIVATED: 0x6283,
  /** 6284: file control information not formatted as ISO 7816-4 requires. */
  FCI_NOT_FORMATTED: 0x6284,
  /** 6285: selected file in termination state. */
  SELECTED_FILE_TERMINATED: 0x6285,
  /** 6300: verification failed, no further information. */
  VERIFICATION_FAILED: 0x6300,
  /** 6381: file filled up by the last write. */
  FILE_FILLED_UP: 0x6381,
  /** 63CX: verification failed, X retries left (see `retriesLeftSw`). */
  RETRIES_LEFT: 0x63c0,

  /** 6400: execution error, state of non-volatile memory unchanged. */
  EXECUTION_ERROR: 0x6400,
  /** 6581: memory failure. */
  MEMORY_FAILURE: 0x6581,
  /** 6600: security-related issue; the SmartCard-HSM firmware uses it for a press-to-confirm timeout. */
  SECURE_MESSAGING_EXEC_ERROR: 0x6600,
  /** 6700: wrong length (the SmartCard-HSM firmware also uses it for wrong data). */
  WRONG_LENGTH: 0x6700,

  /** 6881: logical channel not supported. */
  LOGICAL_CHANNEL_NOT_SUPPORTED: 0x6881,
  /** 6882: secure messaging not supported. */
  SECURE_MESSAGING_NOT_SUPPORTED: 0x6882,
  /** 6883: last command of the chain expected. */
  LAST_COMMAND_OF_CHAIN_EXPECTED: 0x6883,

  /** 6981: command incompatible with file structure. */
  COMMAND_INCOMPATIBLE: 0x6981,
  /** 6982: security status not satisfied. */
  SECURITY_STATUS_NOT_SATISFIED: 0x6982,
  /** 6983: authentication method blocked. */
  AUTHENTICATION_METHOD_BLOCKED: 0x6983,
  /** 6984: reference data not usable. */
  REFERENCE_DATA_NOT_USABLE: 0x6984,
  /** 6985: conditions of use not satisfied. */
  CONDITIONS_NOT_SATISFIED: 0x6985,
  /** 6986: command not allowed (no current EF). */
  COMMAND_NOT_ALLOWED: 0x6986,
  /** 6987: expected secure messaging data objects missing. */
  SM_DATA_OBJECTS_MISSING: 0x6987,
  /** 6988: incorrect secure messaging data objects. */
  SM_DATA_OBJECTS_INCORRECT: 0x6988,
  /** 6999: applet selection failed (Java Card). */
  APPLET_SELECT_FAILED: 0x6999,

  /** 6A80: incorrect parameters in the command data field. */
  WRONG_DATA: 0x6a80,
  /** 6A81: function not supported. */
  FUNCTION_NOT_SUPPORTED: 0x6a81,
  /** 6A82: file or application not found. */
  FILE_NOT_FOUND: 0x6a82,
  /** 6A83: record not found. */
  RECORD_NOT_FOUND: 0x6a83,
  /** 6A84: not enough memory space in the file. */
  NOT_ENOUGH_MEMORY: 0x6a84,
  /** 6A85: Nc inconsistent with TLV structure. */
  NC_INCONSISTENT_WITH_TLV: 0x6a85,
  /** 6A86: incorrect parameters P1-P2. */
  INCORRECT_P1P2: 0x6a86,
  /** 6A87: Nc inconsistent with parameters P1-P2. */
  NC_INCONSISTENT_WITH_P1P2: 0x6a87,
  /** 6A88: referenced data or reference data not found. */
  REFERENCED_DATA_NOT_FOUND: 0x6a88,
  /** 6A89: file already exists. */
  FILE_ALREADY_EXISTS: 0x6a89,

  /** 6B00: wrong parameters P1-P2. */
  WRONG_P1P2: 0x6b00,
  /** 6CXX: wrong Le field; XX is the exact number of available bytes. */
  WRONG_LE: 0x6c00,
  /** 6D00: instruction code not supported or invalid. */
  INS_NOT_SUPPORTED: 0x6d00,
  /** 6E00: class not supported. */
  CLA_NOT_SUPPORTED: 0x6e00,
  /** 6F00: no precise diagnosis. */
  UNKNOWN: 0x6f00,
} as const;

/** One of the named status words. */
export type StatusWord = (typeof SW)[keyof typeof SW];

/** Returns 63CX: verification failed with `retries` (0 to 15) tries left. */
export function retriesLeftSw(retries: number): number {
  if (!Number.isInteger(retries) || retries < 0 || retries > 15) {
    throw new RangeError(`invalid retry count ${retries}: must be an integer from 0 to 15`);
  }
  return SW.RETRIES_LEFT | retries;
}

/** Returns 61XX for `remaining` bytes still pending; XX is 00 for 256 bytes or more. */
export function bytesRemainingSw(remaining: number): number {
  return SW.BYTES_REMAINING | (remaining > 0xff ? 0 : remaining);
}

const DESCRIPTIONS = new Map<number, string>([
  [SW.OK, "success"],
  [SW.OK_AUTHENTICATED, "success, authenticated"],
  [SW.DATA_MAY_BE_CORRUPTED, "part of the returned data may be corrupted"],
  [SW.END_OF_FILE, "end of file reached before reading Ne bytes"],
  [SW.SELECTED_FILE_DEACTIVATED, "selected file deactivated"],
  [SW.FCI_NOT_FORMATTED, "file control information not formatted"],
  [SW.SELECTED_FILE_TERMINATED, "selected file in termination state"],
  [SW.VERIFICATION_FAILED, "verification failed"],
  [SW.FILE_FILLED_UP, "file filled up by the last write"],
  [SW.EXECUTION_ERROR, "execution error"],
  [SW.MEMORY_FAILURE, "memory failure"],
  [SW.SECURE_MESSAGING_EXEC_ERROR, "security-related issue (SmartCard-HSM: confirmation timed out)"],
  [SW.WRONG_LENGTH, "wrong length"],
  [SW.LOGICAL_CHANNEL_NOT_SUPPORTED, "logical channel not supported"],
  [SW.SECURE_MESSAGING_NOT_SUPPORTED, "secure messaging not supported"],
  [SW.LAST_COMMAND_OF_CHAIN_EXPECTED, "last command of the chain expected"],
  [SW.COMMAND_INCOMPATIBLE, "command incompatible with file structure"],
  [SW.SECURITY_STATUS_NOT_SATISFIED, "security status not satisfied"],
  [SW.AUTHENTICATION_METHOD_BLOCKED, "authentication method blocked"],
  [SW.REFERENCE_DATA_NOT_USABLE, "reference data not usable"],
  [SW.CONDITIONS_NOT_SATISFIED, "conditions of use not satisfied"],
  [SW.COMMAND_NOT_ALLOWED, "command not allowed"],
  [SW.SM_DATA_OBJECTS_MISSING, "expected secure messaging data objects missing"],
  [SW.SM_DATA_OBJECTS_INCORRECT, "incorrect secure messaging data objects"],
  [SW.APPLET_SELECT_FAILED, "applet selection failed"],
  [SW.WRONG_DATA, "incorrect parameters in the command data field"],
  [SW.FUNCTION_NOT_SUPPORTED, "function not supported"],
  [SW.FILE_NOT_FOUND, "file or application not found"],
  [SW.RECORD_NOT_FOUND, "record not found"],
  [SW.NOT_ENOUGH_MEMORY, "not enough memory space in the file"],
  [SW.NC_INCONSISTENT_WITH_TLV, "Nc inconsistent with TLV structure"],
  [SW.INCORRECT_P1P2, "incorrect parameters P1-P2"],
  [SW.NC_INCONSISTENT_WITH_P1P2, "Nc inconsistent with parameters P1-P2"],
  [SW.REFERENCED_DATA_NOT_FOUND, "referenced data or reference data not found"],
  [SW.FILE_ALREADY_EXISTS, "file already exists"],
  [SW.WRONG_P1P2, "wrong parameters P1-P2"],
  [SW.INS_NOT_SUPPORTED, "instruction code not supported or invalid"],
  [SW.CLA_NOT_SUPPORTED, "class not supported"],
  [SW.UNKNOWN, "no precise diagnosis"],
]);

/** Formats a status word as four upper-case hex digits, e.g. `6A82`. */
export function formatStatusWord(sw: number): string {
  return (sw & 0xffff).toString(16).toUpperCase().padStart(4, "0");
}

/** Describes a status word for logs and messages, e.g. `6A82 file or application not found`. */
export function describeStatusWord(sw: number): string {
  const hex = formatStatusWord(sw);
  const known = DESCRIPTIONS.get(sw);
  if (known !== undefined) return `${hex} ${known}`;

  const sw1 = (sw >> 8) & 0xff;
  const sw2 = sw & 0xff;
  if (sw1 === 0x61) return `${hex} ${sw2 === 0 ? "256 or more" : sw2} response bytes remaining`;
  if (sw1 === 0x6c) return `${hex} wrong Le field, ${sw2 === 0 ? 256 : sw2} bytes available`;
  if (sw1 === 0x63 && (sw2 & 0xf0) === 0xc0) return `${hex} verification failed, ${sw2 & 0x0f} retries left`;
  if (sw1 === 0x90) return `${hex} success`;
  return `${hex} unknown status word`;
}
