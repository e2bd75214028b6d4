/**
 * Key usage counter (metadata tag 90) with a sealed high-water mark.
 *
 * The counter is shown in the public `keyinfo/NN` record, which anyone with
 * the data directory can edit. The value that counts is a copy sealed under
 * the device secret in `keyuse/NN`, with the key's binding as associated data,
 * so it opens only for that key and cannot be edited on disk. The effective
 * counter is the lower of the two, so raising the public copy gains nothing.
 * A key with a counter is sealed under a binding marked "counted" (see
 * keyBinding), so deleting both copies leaves a key that no longer unseals.
 *
 * NOTE: replacing the whole data directory (or `keyuse/NN`) with an older copy
 * still restores an older counter; only hardware with monotonic storage can
 * prevent that.
 */
import { CardError, SW } from "@hsmkit/apdu";
import type { Keystore } from "@hsmkit/keystore";
import { keyBinding, type KeyInfo } from "../hsm/key-info.ts";

const COUNTER_PREFIX = "keyuse/";

/** Largest counter tag 90 can carry (u32). */
export const MAX_KEY_COUNTER = 0xffffffff;

export function counterRecordName(id: number): string {
  return COUNTER_PREFIX + id.toString(16).toUpperCase().padStart(2, "0");
}

/** Stages the sealed copy of `info.meta.counter`; removes it for a key without a counter. */
export async function sealCounter(keystore: Keystore, info: KeyInfo): Promise<void> {
  const counter = info.meta.counter;
  if (counter === undefined) {
    await keystore.delete(counterRecordName(info.id));
    return;
  }
  if (!Number.isInteger(counter) || counter < 0 || counter > MAX_KEY_COUNTER) {
    throw new RangeError(`key ${info.id}: usage counter ${counter} is not a u32`);
  }

  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, counter);
  await keystore.putDeviceSecret(counterRecordName(info.id), bytes, keyBinding(info));
}

/**
 * Returns `info` with the counter that counts: the lower of the public and the
 * sealed copy. A key with a public counter but no sealed copy (or one that does
 * not open) gets 0, so every use is refused with 6A84.
 */
export async function applySealedCounter(keystore: Keystore, info: KeyInfo): Promise<KeyInfo> {
  if (info.meta.counter === undefined) return info;

  const sealed = await readSealedCounter(keystore, info);
  const counter = sealed === undefined ? 0 : Math.min(sealed, info.meta.counter);
  return { ...info, meta: { ...info.meta, counter } };
}

async function readSealedCounter(keystore: Keystore, info: KeyInfo): Promise<number | undefined> {
  let bytes: Uint8Array | undefined;
  try {
    bytes = await keystore.getDeviceSecret(counterRecordName(info.id), keyBinding(info));
  } catch {
    return undefined;
  }
  if (bytes === undefined || bytes.length !== 4) return undefined;
  return new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0);
}

/** Checks a tag 90 value from a key creation: 4 bytes, not zero (a key that can never be used). Throws 6A80. */
export function parseCounterTag(value: Uint8Array): number {
  if (value.length !== 4) throw new CardError(SW.WRONG_DATA, `tag 90 (usage counter) must be 4 bytes, got ${value.length}`);
  const counter = new DataView(value.buffer, value.byteOffset, 4).getUint32(0);
  if (counter === 0) throw new CardError(SW.WRONG_DATA, "tag 90 (usage counter) must not be 0: the key could never be used");
  return counter;
}
