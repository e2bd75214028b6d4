/**
 * RP2350 secure-boot state as PICOBOOT reads it from OTP in BOOTSEL. CRIT1 is
 * at row 0x40 with 8 copies, and BOOT_FLAGS1 at row 0x4B with 3 copies. Four
 * boot-key hashes of 16 ECC rows each start at row 0x80. The bootloader can
 * read these rows even after the Pico Keys firmware locks the chip.
 */
import { toHex } from "@hsmkit/tlv";
import type { PicobootConnection } from "./picoboot.ts";

/** SHA-256 of the Pico Keys vendor public key, the boot key the rescue SECURE command installs. */
export const PICO_KEYS_BOOT_KEY_HASH = "E1D16BA764ABD712D4EF6E3EDD744ED5638C260B771CF98151110BAFAC9BC871";

export const OTP_ROW = { CRIT1: 0x40, BOOT_FLAGS1: 0x4b, BOOTKEY0: 0x80 } as const;
const CRIT1_COPIES = 8;
const BOOT_FLAGS1_COPIES = 3;
const BOOT_KEY_SLOTS = 4;
const BOOT_KEY_ROWS = 16;

const CRIT1_SECURE_BOOT_ENABLE = 0x01;
const CRIT1_DEBUG_DISABLE = 0x04;

export interface Rp2350SecureBoot {
  enabled: boolean;
  debugDisabled: boolean;
  /** Boot-key slots marked KEY_VALID and not KEY_INVALID. */
  validSlots: number[];
  /** Hex SHA-256 of the public key in each valid slot. */
  keyHashes: Map<number, string>;
  /** Whether a valid slot holds the Pico Keys vendor key, so vendor-signed releases boot. */
  trustsPicoKeys: boolean;
}

/**
 * Reads the secure-boot rows. A bit counts as set when any redundant copy has
 * it.
 * NOTE: the bootrom votes over the copies; "any copy" can report secure boot on
 * a chip whose vote says off, which errs on the side of warning.
 */
export async function readRp2350SecureBoot(connection: PicobootConnection): Promise<Rp2350SecureBoot> {
  const crit1 = orRows(await connection.otpRead(OTP_ROW.CRIT1, CRIT1_COPIES, false));
  const flags1 = orRows(await connection.otpRead(OTP_ROW.BOOT_FLAGS1, BOOT_FLAGS1_COPIES, false));

  const validSlots: number[] = [];
  for (let slot = 0; slot < BOOT_KEY_SLOTS; slot++) {
    const valid = (flags1 >> slot) & 1;
    const invalid = (flags1 >> (8 + slot)) & 1;
    if (valid && !invalid) validSlots.push(slot);
  }

  const keyHashes = new Map<number, string>();
  for (const slot of validSlots) {
    const hash = await connection.otpRead(OTP_ROW.BOOTKEY0 + slot * BOOT_KEY_ROWS, BOOT_KEY_ROWS, true);
    keyHashes.set(slot, toHex(hash));
  }

  return {
    enabled: (crit1 & CRIT1_SECURE_BOOT_ENABLE) !== 0,
    debugDisabled: (crit1 & CRIT1_DEBUG_DISABLE) !== 0,
    validSlots,
    keyHashes,
    trustsPicoKeys: [...keyHashes.values()].includes(PICO_KEYS_BOOT_KEY_HASH),
  };
}

/** ORs raw OTP rows (4 bytes each, little endian, 24 bits used). */
function orRows(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let value = 0;
  for (let offset = 0; offset + 4 <= bytes.length; offset += 4) value |= view.getUint32(offset, true) & 0xffffff;
  return value;
}
