/**
 * BIP32 derivation paths: `m/44'/0'/0'/0/1`.
 *
 * Grammar accepted by parsePath: `m` followed by zero or more `/segment`,
 * where a segment is a decimal index 0..2^31-1 without leading zeros,
 * optionally followed by one hardened mark (`'`, `h` or `H`). A hardened
 * segment `n'` stands for the child number n + 2^31. Anything else is an
 * HdKeyError whose message quotes the segment and its position.
 */
import { HdKeyError } from "./errors.ts";

/** First hardened child number, 2^31. */
export const HARDENED_OFFSET = 0x80000000;

/** Largest child number, 2^32 - 1. */
export const MAX_INDEX = 0xffffffff;

/** Deepest node an extended key can describe: the depth is one byte. */
export const MAX_DEPTH = 255;

const SEGMENT = /^(0|[1-9][0-9]*)(['hH]?)$/;

/** Returns whether child number `index` is hardened (≥ 2^31). */
export function isHardened(index: number): boolean {
  return index >= HARDENED_OFFSET;
}

/** Returns the child number of hardened index `index` (index + 2^31); `index` must be below 2^31. */
export function hardened(index: number): number {
  checkIndex(index, HARDENED_OFFSET - 1, `hardened(${index})`);
  return index + HARDENED_OFFSET;
}

/**
 * Parses `path` into child numbers, hardened ones with 2^31 added. Throws
 * HdKeyError "invalid-path", "index-out-of-range" or "path-too-deep" (more than
 * `maxDepth` segments, 255 by default).
 */
export function parsePath(path: string, maxDepth = MAX_DEPTH): number[] {
  if (typeof path !== "string") throw new HdKeyError("invalid-path", "derivation path must be a string such as \"m/44'/0'/0'\"");

  const segments = path.split("/");
  if (segments[0] !== "m") {
    throw new HdKeyError("invalid-path", `invalid path ${JSON.stringify(path)}: it must start with "m" (the master node), got ${JSON.stringify(segments[0])}`);
  }

  const children = segments.slice(1);
  if (children.length > maxDepth) {
    throw new HdKeyError("path-too-deep", `path ${abbreviate(path)} has ${children.length} levels below the master; at most ${maxDepth} are allowed`);
  }

  return children.map((segment, position) => parseSegment(path, segment, position + 1));
}

function parseSegment(path: string, segment: string, position: number): number {
  const where = `path ${JSON.stringify(abbreviate(path))} segment ${position} ${JSON.stringify(segment)}`;
  const match = SEGMENT.exec(segment);
  if (!match) {
    const reason = segment === "" ? "is empty" : /^0[0-9]/.test(segment) ? "has a leading zero" : "is not a decimal index with an optional ' or h mark";
    throw new HdKeyError("invalid-path", `invalid ${where}: it ${reason}`);
  }

  const [, digits, mark] = match;
  const index = digits.length > 10 ? Infinity : Number(digits);
  if (index >= HARDENED_OFFSET) {
    const hint = !mark && index <= MAX_INDEX ? `; a hardened child is written n' with n < 2^31, so ${digits} is ${index - HARDENED_OFFSET}'` : "";
    throw new HdKeyError("index-out-of-range", `${where}: index ${digits} exceeds 2147483647 (2^31 - 1)${hint}`);
  }
  return mark ? index + HARDENED_OFFSET : index;
}

/** Formats child numbers as a path, hardened ones with `'`: [2^31 + 44, 0] → "m/44'/0". */
export function formatPath(indices: readonly number[]): string {
  let out = "m";
  for (const index of indices) {
    checkIndex(index, MAX_INDEX, "child number");
    out += isHardened(index) ? `/${index - HARDENED_OFFSET}'` : `/${index}`;
  }
  return out;
}

/** Throws HdKeyError "index-out-of-range" unless `index` is an integer in 0..`max`. */
export function checkIndex(index: number, max = MAX_INDEX, name = "child number"): void {
  if (!Number.isSafeInteger(index) || index < 0 || index > max) {
    throw new HdKeyError("index-out-of-range", `${name} ${index} is not an integer in 0..${max}`);
  }
}

/** Returns the child numbers of `path` (a string is parsed, an array is checked), at most `maxDepth` of them. */
export function toIndices(path: string | readonly number[], maxDepth = MAX_DEPTH): number[] {
  if (typeof path === "string") return parsePath(path, maxDepth);

  if (path.length > maxDepth) {
    throw new HdKeyError("path-too-deep", `path has ${path.length} levels below this node; at most ${maxDepth} are allowed`);
  }
  path.forEach((index, position) => checkIndex(index, MAX_INDEX, `path element ${position + 1}: child number`));
  return [...path];
}

function abbreviate(path: string): string {
  return path.length <= 80 ? path : `${path.slice(0, 60)}…(${path.length} characters)`;
}
