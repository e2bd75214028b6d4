/**
 * PKCS#11 v2.40 constants that the bench uses: attribute types (CKA), mechanisms (CKM),
 * flags (CKF), user types (CKU) and return values (CKR).
 */

export const CKA = {
  CLASS: 0x000,
  TOKEN: 0x001,
  PRIVATE: 0x002,
  LABEL: 0x003,
  KEY_TYPE: 0x100,
  ID: 0x102,
  SENSITIVE: 0x103,
  SIGN: 0x108,
  VERIFY: 0x10a,
  MODULUS: 0x120,
  MODULUS_BITS: 0x121,
  PUBLIC_EXPONENT: 0x122,
  EC_PARAMS: 0x180,
  EC_POINT: 0x181,
} as const;

export const CKM = {
  RSA_PKCS_KEY_PAIR_GEN: 0x0000,
  SHA256_RSA_PKCS: 0x0040,
  EC_KEY_PAIR_GEN: 0x1040,
  ECDSA: 0x1041,
} as const;

export const CKF = {
  RW_SESSION: 0x2,
  SERIAL_SESSION: 0x4,
  USER_PIN_INITIALIZED: 0x8,
  TOKEN_INITIALIZED: 0x400,
} as const;

export const CKU = {
  SO: 0,
  USER: 1,
} as const;

export const CKR_OK = 0;
export const CKR_USER_ALREADY_LOGGED_IN = 0x100;

/** Names of the return values a caller is likely to meet, for error messages. */
const RETURN_VALUE_NAMES: Record<number, string> = {
  0x000: "CKR_OK",
  0x002: "CKR_HOST_MEMORY",
  0x003: "CKR_SLOT_ID_INVALID",
  0x005: "CKR_GENERAL_ERROR",
  0x006: "CKR_FUNCTION_FAILED",
  0x007: "CKR_ARGUMENTS_BAD",
  0x012: "CKR_ATTRIBUTE_TYPE_INVALID",
  0x013: "CKR_ATTRIBUTE_VALUE_INVALID",
  0x021: "CKR_DATA_LEN_RANGE",
  0x030: "CKR_DEVICE_ERROR",
  0x031: "CKR_DEVICE_MEMORY",
  0x032: "CKR_DEVICE_REMOVED",
  0x054: "CKR_FUNCTION_NOT_SUPPORTED",
  0x060: "CKR_KEY_HANDLE_INVALID",
  0x063: "CKR_KEY_TYPE_INCONSISTENT",
  0x068: "CKR_KEY_FUNCTION_NOT_PERMITTED",
  0x070: "CKR_MECHANISM_INVALID",
  0x071: "CKR_MECHANISM_PARAM_INVALID",
  0x082: "CKR_OBJECT_HANDLE_INVALID",
  0x090: "CKR_OPERATION_ACTIVE",
  0x091: "CKR_OPERATION_NOT_INITIALIZED",
  0x0a0: "CKR_PIN_INCORRECT",
  0x0a2: "CKR_PIN_LEN_RANGE",
  0x0a4: "CKR_PIN_LOCKED",
  0x0b3: "CKR_SESSION_HANDLE_INVALID",
  0x0b5: "CKR_SESSION_READ_ONLY",
  0x0d0: "CKR_TEMPLATE_INCOMPLETE",
  0x0d1: "CKR_TEMPLATE_INCONSISTENT",
  0x0e0: "CKR_TOKEN_NOT_PRESENT",
  0x0e1: "CKR_TOKEN_NOT_RECOGNIZED",
  0x0e2: "CKR_TOKEN_WRITE_PROTECTED",
  0x100: "CKR_USER_ALREADY_LOGGED_IN",
  0x101: "CKR_USER_NOT_LOGGED_IN",
  0x102: "CKR_USER_PIN_NOT_INITIALIZED",
  0x150: "CKR_BUFFER_TOO_SMALL",
  0x190: "CKR_CRYPTOKI_NOT_INITIALIZED",
  0x191: "CKR_CRYPTOKI_ALREADY_INITIALIZED",
};

/** Returns the CKR_ name of a return value, or its hexadecimal value when it has none here. */
export function returnValueName(code: number): string {
  return RETURN_VALUE_NAMES[code] ?? `vendor or unlisted CKR 0x${code.toString(16).toUpperCase()}`;
}
