import { formatTag } from "./tag.ts";

/**
 * Malformed BER-TLV input. `offset` is the position, within the decoded buffer, of
 * the first tag byte of the data object at fault (for trailing bytes, of the first
 * extra byte). `tag` is that object's tag, set once the tag could be read.
 */
export class TlvError extends Error {
  readonly offset: number;
  readonly tag?: number;

  constructor(detail: string, offset: number, tag?: number) {
    const subject = tag === undefined ? "BER-TLV" : `BER-TLV tag ${formatTag(tag)}`;
    super(`${subject} at offset ${offset}: ${detail}`);
    this.name = "TlvError";
    this.offset = offset;
    if (tag !== undefined) this.tag = tag;
  }
}
