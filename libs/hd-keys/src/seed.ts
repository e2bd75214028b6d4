/** Seed length rule shared by BIP32, SLIP-10 and SLIP-21. */
import { HdKeyError } from "./errors.ts";

/** Shortest seed BIP32 and SLIP-10 allow: 128 bits. */
export const MIN_SEED_BYTES = 16;

/** Longest seed BIP32 and SLIP-10 allow: 512 bits (a BIP39 seed). */
export const MAX_SEED_BYTES = 64;

/** Throws HdKeyError "invalid-seed" unless `seed` has 16 to 64 bytes. */
export function checkSeed(seed: Uint8Array): void {
  if (!(seed instanceof Uint8Array)) throw new HdKeyError("invalid-seed", "seed must be a Uint8Array");
  if (seed.length < MIN_SEED_BYTES || seed.length > MAX_SEED_BYTES) {
    throw new HdKeyError(
      "invalid-seed",
      `invalid seed length: ${seed.length} bytes; BIP32 and SLIP-10 seeds have ${MIN_SEED_BYTES} to ${MAX_SEED_BYTES} bytes (128 to 512 bits)`,
    );
  }
}
