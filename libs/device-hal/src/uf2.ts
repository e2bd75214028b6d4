/**
 * UF2 (USB Flashing Format, microsoft/uf2): a file of independent 512-byte
 * blocks, each carrying up to 476 payload bytes for one target address. All
 * integers are 32-bit little endian:
 *
 *   0 magicStart0 0x0A324655 | 4 magicStart1 0x9E5D5157 | 8 flags | 12 targetAddr
 *   16 payloadSize | 20 blockNo | 24 numBlocks | 28 familyID (flag 0x2000) or file size
 *   32..507 data (payload, then optional extension tags) | 508 magicEnd 0x0AB16F30
 */
import { CHIPS, familyName, UF2_FAMILY, type ChipFacts } from "./boards.ts";
import { DeviceHalError, hex } from "./errors.ts";

export const UF2_BLOCK_SIZE = 512;
/** Payload size the RP2040 and RP2350 bootroms require. */
export const UF2_RP_PAYLOAD_SIZE = 256;

const MAGIC_START0 = 0x0a324655;
const MAGIC_START1 = 0x9e5d5157;
const MAGIC_END = 0x0ab16f30;
const MAX_PAYLOAD = 476;
const DATA_OFFSET = 32;

export const UF2_FLAG = {
  /** Block is not for main flash: writers skip it. */
  NOT_MAIN_FLASH: 0x00000001,
  FILE_CONTAINER: 0x00001000,
  FAMILY_ID_PRESENT: 0x00002000,
  MD5_PRESENT: 0x00004000,
  EXTENSION_TAGS_PRESENT: 0x00008000,
} as const;

/** Type of the extension tag (word 0x9957E304: size 4, type 0x9957E3) that marks the RP2350-E10 workaround block. */
export const UF2_TAG_RP2_IGNORE_BLOCK = 0x9957e3;
const E10_TARGET_ADDRESS = 0x10ffff00;

export interface Uf2Block {
  flags: number;
  targetAddr: number;
  payloadSize: number;
  blockNo: number;
  numBlocks: number;
  /** Family ID when flag 0x2000 is set; otherwise the file-size field. */
  familyId: number;
  payload: Uint8Array;
  /** Extension tags after the payload (flag 0x8000), as type and data. */
  extensionTags: { type: number; data: Uint8Array }[];
}

/**
 * Parses every block of a UF2 file. Throws DeviceHalError("INVALID_IMAGE")
 * naming the block index and field when the size is not a multiple of 512, a
 * magic number is wrong, payloadSize exceeds 476, or blockNo ≥ numBlocks.
 */
export function parseUf2(file: Uint8Array): Uf2Block[] {
  if (file.length === 0 || file.length % UF2_BLOCK_SIZE !== 0) {
    throw invalid(`file of ${file.length} bytes is not UF2: its size must be a non-zero multiple of 512`);
  }

  const blocks: Uf2Block[] = [];
  for (let offset = 0; offset < file.length; offset += UF2_BLOCK_SIZE) {
    blocks.push(parseBlock(file.subarray(offset, offset + UF2_BLOCK_SIZE), offset / UF2_BLOCK_SIZE));
  }
  return blocks;
}

function parseBlock(bytes: Uint8Array, index: number): Uf2Block {
  const view = new DataView(bytes.buffer, bytes.byteOffset, UF2_BLOCK_SIZE);
  const word = (offset: number) => view.getUint32(offset, true);

  if (word(0) !== MAGIC_START0 || word(4) !== MAGIC_START1 || word(508) !== MAGIC_END) {
    throw invalid(`block ${index} has a wrong magic number: the file is not UF2 or is corrupt`);
  }

  const block = {
    flags: word(8),
    targetAddr: word(12),
    payloadSize: word(16),
    blockNo: word(20),
    numBlocks: word(24),
    familyId: word(28),
  };
  if (block.payloadSize > MAX_PAYLOAD) throw invalid(`block ${index} has payloadSize ${block.payloadSize}; the maximum is ${MAX_PAYLOAD}`);
  if (block.blockNo >= block.numBlocks) throw invalid(`block ${index} has blockNo ${block.blockNo}, not below numBlocks ${block.numBlocks}`);

  const payload = bytes.slice(DATA_OFFSET, DATA_OFFSET + block.payloadSize);
  const extensionTags = block.flags & UF2_FLAG.EXTENSION_TAGS_PRESENT ? parseExtensionTags(bytes, DATA_OFFSET + block.payloadSize) : [];
  return { ...block, payload, extensionTags };
}

/** Reads tags from `start` (rounded up to 4): byte 0 = size including the 4-byte header, bytes 1–3 = type. */
function parseExtensionTags(bytes: Uint8Array, start: number): { type: number; data: Uint8Array }[] {
  const tags: { type: number; data: Uint8Array }[] = [];
  let offset = (start + 3) & ~3;

  while (offset + 4 <= 508) {
    const size = bytes[offset];
    const type = bytes[offset + 1] | (bytes[offset + 2] << 8) | (bytes[offset + 3] << 16);
    if (size === 0 || (size === 0xff && type === 0xffffff) || offset + size > 508 || size < 4) break;

    tags.push({ type, data: bytes.slice(offset + 4, offset + size) });
    offset += (size + 3) & ~3;
  }
  return tags;
}

/**
 * Returns whether `block` is the RP2350-E10 workaround block that SDK tools put
 * first: family absolute, numBlocks 2, address 0x10FFFF00, tagged "RP2 ignore
 * block". It is not part of the image and is never written.
 */
export function isE10WorkaroundBlock(block: Uf2Block): boolean {
  if (block.extensionTags.some((tag) => tag.type === UF2_TAG_RP2_IGNORE_BLOCK)) return true;
  return block.familyId === UF2_FAMILY.ABSOLUTE && block.targetAddr === E10_TARGET_ADDRESS && block.numBlocks === 2;
}

export interface BuildUf2Options {
  familyId: number;
  /** Address of the first byte; default 0x10000000 (start of XIP flash on RP chips). */
  baseAddress?: number;
  /** Payload bytes per block; default 256 (what RP bootroms accept). */
  payloadSize?: number;
}

/** Builds a UF2 file from a binary: one block per page, last page zero-padded, flag 0x2000 and the family. */
export function buildUf2(binary: Uint8Array, options: BuildUf2Options): Uint8Array {
  const payloadSize = options.payloadSize ?? UF2_RP_PAYLOAD_SIZE;
  const baseAddress = options.baseAddress ?? 0x10000000;
  if (payloadSize <= 0 || payloadSize > MAX_PAYLOAD || payloadSize % 4 !== 0) {
    throw new DeviceHalError("INVALID_ARGUMENT", `payload size ${payloadSize} is invalid: use a multiple of 4 up to ${MAX_PAYLOAD}`);
  }
  if (binary.length === 0) throw new DeviceHalError("INVALID_ARGUMENT", "the binary is empty: there is nothing to put in a UF2 file");

  const numBlocks = Math.ceil(binary.length / payloadSize);
  const out = new Uint8Array(numBlocks * UF2_BLOCK_SIZE);
  const view = new DataView(out.buffer);

  for (let blockNo = 0; blockNo < numBlocks; blockNo++) {
    const offset = blockNo * UF2_BLOCK_SIZE;
    const set = (field: number, value: number) => view.setUint32(offset + field, value >>> 0, true);
    set(0, MAGIC_START0);
    set(4, MAGIC_START1);
    set(8, UF2_FLAG.FAMILY_ID_PRESENT);
    set(12, baseAddress + blockNo * payloadSize);
    set(16, payloadSize);
    set(20, blockNo);
    set(24, numBlocks);
    set(28, options.familyId);
    out.set(binary.subarray(blockNo * payloadSize, (blockNo + 1) * payloadSize), offset + DATA_OFFSET);
    set(508, MAGIC_END);
  }
  return out;
}

/** A flash image taken from UF2 blocks: 256-byte pages by address. */
export interface Uf2Image {
  familyId: number;
  /** Page address → payload, in ascending address order. */
  pages: Map<number, Uint8Array>;
  /** Lowest and one-past-highest address covered by a page. */
  start: number;
  end: number;
  /** Whether an RP2350-E10 workaround block was present and dropped. */
  droppedE10Block: boolean;
}

/**
 * Collects the blocks of the main family into an image. It applies the checks
 * a flasher must make before touching a board: one family besides the E10
 * block, payloadSize 256, 256-aligned addresses, and a constant numBlocks equal
 * to the block count. Every blockNo must be present once, and no two pages may
 * share an address.
 */
export function uf2ToImage(blocks: Uf2Block[]): Uf2Image {
  let droppedE10Block = false;
  const main = blocks.filter((block) => {
    if (block.flags & UF2_FLAG.NOT_MAIN_FLASH) return false;
    if (isE10WorkaroundBlock(block)) {
      droppedE10Block = true;
      return false;
    }
    return true;
  });
  if (main.length === 0) throw invalid("the UF2 file has no main-flash blocks");

  const familyId = checkFamily(main);
  checkNumbering(main);

  const pages = new Map<number, Uint8Array>();
  for (const block of main) {
    if (block.payloadSize !== UF2_RP_PAYLOAD_SIZE) throw invalid(`block ${block.blockNo} has payloadSize ${block.payloadSize}; RP bootroms accept only 256`);
    if (block.targetAddr % UF2_RP_PAYLOAD_SIZE !== 0) throw invalid(`block ${block.blockNo} targets ${hex(block.targetAddr)}, which is not 256-byte aligned`);
    if (pages.has(block.targetAddr)) throw invalid(`blocks overlap at ${hex(block.targetAddr)}`);
    pages.set(block.targetAddr, block.payload);
  }

  const addresses = [...pages.keys()].sort((a, b) => a - b);
  const sorted = new Map(addresses.map((address) => [address, pages.get(address)!]));
  return { familyId, pages: sorted, start: addresses[0], end: addresses[addresses.length - 1] + UF2_RP_PAYLOAD_SIZE, droppedE10Block };
}

function checkFamily(blocks: Uf2Block[]): number {
  const families = new Set(blocks.map((block) => (block.flags & UF2_FLAG.FAMILY_ID_PRESENT ? block.familyId : -1)));
  if (families.has(-1)) throw invalid("a block has no family ID (flag 0x2000): RP bootroms ignore such blocks");
  if (families.size > 1) throw invalid(`the file mixes families ${[...families].map(familyName).join(", ")}; flash one family at a time`);
  return [...families][0];
}

function checkNumbering(blocks: Uf2Block[]): void {
  const numBlocks = blocks[0].numBlocks;
  const seen = new Set<number>();
  for (const block of blocks) {
    if (block.numBlocks !== numBlocks) throw invalid(`block ${block.blockNo} has numBlocks ${block.numBlocks} but the first block has ${numBlocks}`);
    if (seen.has(block.blockNo)) throw invalid(`blockNo ${block.blockNo} appears twice`);
    seen.add(block.blockNo);
  }
  if (seen.size !== numBlocks) {
    const missing = [...Array(numBlocks).keys()].find((blockNo) => !seen.has(blockNo));
    throw invalid(`the file has ${seen.size} of ${numBlocks} blocks; blockNo ${missing} is missing (truncated or corrupt file)`);
  }
}

/**
 * Checks that `image` boots on `chip` and stays inside its firmware region, so
 * the key/data area is never erased. Throws DeviceHalError("INVALID_IMAGE")
 * with what to do.
 */
export function checkImageForChip(image: Uf2Image, chip: ChipFacts): void {
  if (!chip.bootableFamilies.includes(image.familyId)) {
    const expected = chip.bootableFamilies.map(familyName).join(" or ") || "none (use a .bin image)";
    throw invalid(
      `the UF2 family is ${familyName(image.familyId)} but the attached ${chip.name} boots ${expected}; ` +
        `download the release built for ${chip.name} (for example ${chip.id === "rp2040" ? "pico_hsm_pico-*.uf2" : "pico_hsm_pico2-*.uf2"})`,
    );
  }

  const regionEnd = chip.firmwareBase + chip.firmwareMaxSize;
  if (image.start < chip.firmwareBase || image.end > regionEnd) {
    throw invalid(
      `the image spans ${hex(image.start)}–${hex(image.end)}, outside the ${chip.name} firmware region ${hex(chip.firmwareBase)}–${hex(regionEnd)}; ` +
        "writing it would erase the key storage, so this is not a Pico HSM firmware image",
    );
  }
}

/** Returns the image as one contiguous binary from `image.start`, holes filled with `fill`. */
export function imageToBinary(image: Uf2Image, fill = 0x00): Uint8Array {
  const out = new Uint8Array(image.end - image.start).fill(fill);
  for (const [address, page] of image.pages) out.set(page, address - image.start);
  return out;
}

/** Returns the chip of the family, or undefined when the family belongs to none (absolute, data). */
export function chipForFamily(familyId: number): ChipFacts | undefined {
  return Object.values(CHIPS).find((chip) => chip.bootableFamilies.includes(familyId));
}

function invalid(message: string): DeviceHalError {
  return new DeviceHalError("INVALID_IMAGE", message);
}
