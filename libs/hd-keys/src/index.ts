/**
 * @hsmkit/hd-keys: hierarchical deterministic keys.
 *
 * - Bip32Node: BIP32 on secp256k1 (on @scure/bip32), with xprv/xpub import and export.
 * - Slip10Node: SLIP-10 on secp256k1, NIST P-256 ("nist256p1") and ed25519.
 * - Slip21Node: SLIP-21 symmetric keys derived by label.
 * - parsePath/formatPath: strict "m/44'/0'/0'/0/1" paths (' or h marks hardened).
 *
 * Every rejection is an HdKeyError with a stable `code`.
 */
export { Bip32Node } from "./bip32.ts";
export { fingerprintOf, hash160 } from "./bytes.ts";
export { HdKeyError, type HdKeyErrorCode } from "./errors.ts";
export {
  decodeExtendedKey,
  decodeExtendedKeyBytes,
  encodeExtendedKey,
  encodeExtendedKeyBytes,
  EXTENDED_KEY_BYTES,
  MAINNET_VERSIONS,
  TESTNET_VERSIONS,
  type ExtendedKeyFields,
  type ExtendedKeyVersions,
  type ValidationCurve,
} from "./extended-key.ts";
export { formatPath, hardened, HARDENED_OFFSET, isHardened, MAX_DEPTH, MAX_INDEX, parsePath } from "./path.ts";
export { checkSeed, MAX_SEED_BYTES, MIN_SEED_BYTES } from "./seed.ts";
export { Slip10Node, SLIP10_CURVES, type Slip10Curve } from "./slip10.ts";
export { Slip21Node } from "./slip21.ts";
