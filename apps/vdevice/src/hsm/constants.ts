/**
 * Fixed identifiers of the SmartCard-HSM applet: AIDs, FIDs, FID prefixes,
 * device option bits and the version the applet reports.
 */

/** AID (application identifier) of the SmartCard-HSM applet: E8 2B 06 01 04 01 81 C3 1F 02 01. */
export const HSM_AID = new Uint8Array([0xe8, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x81, 0xc3, 0x1f, 0x02, 0x01]);

/** AID of the rescue (management) applet of the Pico firmware SDK. */
export const RESCUE_AID = new Uint8Array([0xa0, 0x58, 0x3f, 0xc1, 0x9b, 0x7e, 0x4f, 0x21]);

/**
 * ATR (answer to reset) of the genuine SmartCard-HSM, byte for byte; OpenSC's
 * sc-hsm driver matches exactly these 24 bytes.
 */
export const HSM_ATR = new Uint8Array([
  0x3b, 0xfe, 0x18, 0x00, 0x00, 0x81, 0x31, 0xfe, 0x45, 0x80, 0x31, 0x81, 0x54, 0x48, 0x53, 0x4d, 0x31, 0x73, 0x80, 0x21,
  0x40, 0x81, 0x07, 0xfa,
]);

/** Firmware version reported in the SELECT FCP, INITIALIZE query, EF.TokenInfo and rescue SELECT. */
export const VERSION_MAJOR = 6;
export const VERSION_MINOR = 6;

/** Static file identifiers (FIDs). */
export const FID = {
  MF: 0x3f00,
  EF_DIR: 0x2f00,
  EF_ATR: 0x2f01,
  /** EF.C_DevAut: the device certificate chain. */
  EF_DEVICE_CERTIFICATES: 0x2f02,
  EF_TOKEN_INFO: 0x2f03,
  /** Staging file for UNWRAP without data. */
  EF_UNWRAP_STAGING: 0x2f10,
  DF_PKCS15: 0x5015,
  /** Device options (2 bytes, internal). */
  DEVICE_OPTIONS: 0x100e,
  DEVICE_KEY: 0xcc00,
  DEVICE_KEY_PRKD: 0xc400,
  DEVICE_KEY_REQUEST: 0xce00,
} as const;

/** High byte of dynamic FIDs: prefix ‖ n. */
export const PREFIX = {
  /** PRKD: PKCS#15 private/secret key description of key n. */
  PRKD: 0xc4,
  /** PKCS#15 certificate description of CA certificate n. */
  CD: 0xc8,
  /** PKCS#15 data-object description (DCOD) n. */
  DCOD: 0xc9,
  CA_CERTIFICATE: 0xca,
  /** Key n itself: never readable. */
  KEY: 0xcc,
  /** PIN-protected data object n. */
  PROTECTED_DATA: 0xcd,
  /** End-entity certificate (or CV request) of key n. */
  EE_CERTIFICATE: 0xce,
  /** Public data object n. */
  DATA: 0xcf,
  /** Firmware-internal physical key record: reserved. */
  KEY_CONTAINER: 0xc7,
} as const;

/** Device option bits (EF 100E, big-endian u16). */
export const OPTION = {
  RESET_RETRY_COUNTER: 0x0001,
  TRANSPORT_PIN: 0x0002,
  SESSION_PIN: 0x0004,
  PKA_REPLACEABLE: 0x0008,
  RESET_RETRY_COUNTER_ONLY: 0x0020,
  PRESS_TO_CONFIRM: 0x0100,
  KEY_COUNTER_ALL: 0x0200,
  SECURE_LOCK: 0x0400,
} as const;

/** Usage counter given to new keys without tag 90 while OPTION.KEY_COUNTER_ALL is set. */
export const DEFAULT_KEY_COUNTER = 0xfffffffe;

/** Largest response data of one command (the firmware's MAX_APDU_DATA in emulation builds). */
export const MAX_RESPONSE_DATA = 4076;

/** Highest key id; key 0 is the device key. */
export const MAX_KEY_ID = 255;

export function fidOf(prefix: number, n: number): number {
  return (prefix << 8) | (n & 0xff);
}

export function formatFid(fid: number): string {
  return fid.toString(16).toUpperCase().padStart(4, "0");
}
