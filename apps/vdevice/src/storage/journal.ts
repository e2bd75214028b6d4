/**
 * The commit journal: a batch of record changes written to one file before any
 * of them is applied. A crash in the middle of a batch is then finished on the
 * next open instead of leaving half a batch behind.
 *
 * Layout: "HSMJ" || count [4] || entries || SHA-256 of all preceding bytes [32].
 * Entry: name length [2] || UTF-8 name || kind [1] (1 write, 0 delete) ||
 * for a write, data length [4] || data. Integers are big-endian.
 */

import { concatBytes } from "@hsmkit/tlv";
import { sha256 } from "@noble/hashes/sha2.js";

export type Batch = ReadonlyMap<string, Uint8Array | null>;

const MAGIC = new TextEncoder().encode("HSMJ");
const DIGEST_LENGTH = 32;

export function encodeJournal(batch: Batch): Uint8Array {
  const parts: Uint8Array[] = [MAGIC, u32(batch.size)];
  for (const [name, value] of batch) {
    const nameBytes = new TextEncoder().encode(name);
    parts.push(u16(nameBytes.length), nameBytes);
    if (value === null) {
      parts.push(Uint8Array.of(0));
    } else {
      parts.push(Uint8Array.of(1), u32(value.length), value);
    }
  }
  const body = concatBytes(...parts);
  return concatBytes(body, sha256(body));
}

/** Decodes a journal; returns undefined when it is truncated or its digest does not match. */
export function decodeJournal(bytes: Uint8Array): Map<string, Uint8Array | null> | undefined {
  if (bytes.length < MAGIC.length + 4 + DIGEST_LENGTH) return undefined;
  const body = bytes.subarray(0, bytes.length - DIGEST_LENGTH);
  const digest = sha256(body);
  if (!digest.every((b, i) => b === bytes[body.length + i])) return undefined;
  if (!MAGIC.every((b, i) => b === body[i])) return undefined;

  try {
    return parseEntries(body);
  } catch {
    return undefined;
  }
}

function parseEntries(body: Uint8Array): Map<string, Uint8Array | null> | undefined {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const batch = new Map<string, Uint8Array | null>();
  let offset = MAGIC.length;
  const count = view.getUint32(offset);
  offset += 4;
  for (let i = 0; i < count; i++) {
    const nameLength = view.getUint16(offset);
    const name = new TextDecoder().decode(body.subarray(offset + 2, offset + 2 + nameLength));
    offset += 2 + nameLength;
    const kind = body[offset];
    offset += 1;
    if (kind === 0) {
      batch.set(name, null);
      continue;
    }
    const length = view.getUint32(offset);
    batch.set(name, body.slice(offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  return offset === body.length ? batch : undefined;
}

function u16(value: number): Uint8Array {
  return Uint8Array.of(value >> 8, value & 0xff);
}

function u32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value);
  return out;
}
