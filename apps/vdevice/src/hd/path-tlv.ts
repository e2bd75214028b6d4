/**
 * The path of BIP/SLIP P1 = 0A / 10, a sequence of BER-TLVs:
 *
 *   02 01 <id>          first: master id 0..9
 *   02 04 <ser32(i)>    BIP32 / SLIP-10 child number (hardened when ≥ 2^31)
 *   04 L  <label>       SLIP-21 child label
 *
 * Example, m/44'/0'/0'/0/5 on master 0:
 * 02 01 00  02 04 8000002C  02 04 80000000  02 04 80000000  02 04 00000000  02 04 00000005.
 */
import { CardError, SW } from "@hsmkit/apdu";
import { MAX_DEPTH } from "@hsmkit/hd-keys";
import { decodeTlvs, TlvError, type Tlv } from "@hsmkit/tlv";
import { MAX_MASTER_ID } from "./master-store.ts";

const TAG_INTEGER = 0x02;
const TAG_LABEL = 0x04;

export type PathElement = { kind: "index"; index: number } | { kind: "label"; label: Uint8Array };

export interface HdPath {
  masterId: number;
  /** Elements below the master, at most 255 (the depth byte of the response). */
  elements: PathElement[];
}

/**
 * Parses the path TLVs. Throws 6A80 for malformed TLVs, a first element that
 * is not `02 01`, a `02` of another length than 4, an unknown tag or more than
 * 255 elements below the master, and 6A88 for a master id above 9.
 */
export function parseHdPath(data: Uint8Array): HdPath {
  const tlvs = decodePathTlvs(data);
  if (tlvs.length === 0) throw new CardError(SW.WRONG_LENGTH, "the path is empty: it needs at least the master id 02 01 <id>");

  const [first, ...rest] = tlvs;
  if (first.tag !== TAG_INTEGER || first.value.length !== 1) {
    throw new CardError(SW.WRONG_DATA, `the path must start with the master id 02 01 <id>, got tag ${hex(first.tag)} of ${first.value.length} bytes`);
  }
  const masterId = first.value[0];
  if (masterId > MAX_MASTER_ID) throw new CardError(SW.REFERENCED_DATA_NOT_FOUND, `HD master id ${masterId} is out of range 0..${MAX_MASTER_ID}`);

  if (rest.length > MAX_DEPTH) {
    throw new CardError(SW.WRONG_DATA, `the path has ${rest.length} elements below the master; at most ${MAX_DEPTH} fit the depth byte`);
  }
  return { masterId, elements: rest.map((tlv, position) => parseElement(tlv, position + 1)) };
}

function decodePathTlvs(data: Uint8Array): Tlv[] {
  try {
    return decodeTlvs(data);
  } catch (error) {
    if (error instanceof TlvError) throw new CardError(SW.WRONG_DATA, `malformed path TLV: ${error.message}`);
    throw error;
  }
}

function parseElement(tlv: Tlv, position: number): PathElement {
  if (tlv.tag === TAG_INTEGER) {
    if (tlv.value.length !== 4) {
      throw new CardError(SW.WRONG_DATA, `path element ${position}: a child number is 02 04 <4 bytes>, got ${tlv.value.length} bytes`);
    }
    return { kind: "index", index: new DataView(tlv.value.buffer, tlv.value.byteOffset, 4).getUint32(0) };
  }
  if (tlv.tag === TAG_LABEL) return { kind: "label", label: tlv.value.slice() };

  throw new CardError(SW.WRONG_DATA, `path element ${position}: unknown tag ${hex(tlv.tag)}; expected 02 (child number) or 04 (SLIP-21 label)`);
}

function hex(value: number): string {
  return value.toString(16).toUpperCase().padStart(2, "0");
}
