// Strict derivation-path parsing: accepted forms, and errors that name the bad segment.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatPath, hardened, HARDENED_OFFSET, HdKeyError, parsePath } from "../src/index.ts";

function errorOf(run: () => unknown): HdKeyError {
  try {
    run();
  } catch (error) {
    if (error instanceof HdKeyError) return error;
    throw error;
  }
  throw new Error("expected an HdKeyError");
}

describe("parsePath", () => {
  it("parses a BIP44 path", () => {
    expect(parsePath("m/44'/0'/0'/0/1")).toEqual([hardened(44), hardened(0), hardened(0), 0, 1]);
  });

  it("accepts h and H as hardened marks", () => {
    expect(parsePath("m/44h/1H/2'")).toEqual([HARDENED_OFFSET + 44, HARDENED_OFFSET + 1, HARDENED_OFFSET + 2]);
  });

  it("parses the master alone", () => {
    expect(parsePath("m")).toEqual([]);
  });

  it("accepts the largest indices", () => {
    expect(parsePath("m/2147483647/2147483647'")).toEqual([0x7fffffff, 0xffffffff]);
  });

  it.each([
    ["", /must start with "m"/],
    ["44'/0'", /must start with "m" \(the master node\), got "44'"/],
    ["M/0", /must start with "m" \(the master node\), got "M"/],
    ["m/", /segment 1 "": it is empty/],
    ["m//1", /segment 1 "": it is empty/],
    ["m/0/", /segment 2 "": it is empty/],
    ["m/44'/x", /segment 2 "x": it is not a decimal index/],
    ["m/01", /segment 1 "01": it has a leading zero/],
    ["m/1''", /segment 1 "1''"/],
    ["m/-1", /segment 1 "-1"/],
    ["m/1 ", /segment 1 "1 "/],
    ["m/0x10", /segment 1 "0x10"/],
  ])("rejects %j as invalid-path", (path, message) => {
    const error = errorOf(() => parsePath(path));
    expect(error.code).toBe("invalid-path");
    expect(error.message).toMatch(message);
  });

  it.each([
    ["m/0/2147483648", /segment 2 "2147483648": index 2147483648 exceeds 2147483647.*so 2147483648 is 0'/],
    ["m/2147483648'", /segment 1 "2147483648'": index 2147483648 exceeds 2147483647 \(2\^31 - 1\)$/],
    ["m/4294967296", /segment 1 "4294967296": index 4294967296 exceeds/],
    ["m/99999999999999999999", /segment 1 "99999999999999999999"/],
  ])("rejects %j as index-out-of-range", (path, message) => {
    const error = errorOf(() => parsePath(path));
    expect(error.code).toBe("index-out-of-range");
    expect(error.message).toMatch(message);
  });

  it("rejects more than 255 levels as path-too-deep", () => {
    const path = "m" + "/0".repeat(256);
    expect(parsePath("m" + "/0".repeat(255))).toHaveLength(255);
    const error = errorOf(() => parsePath(path));
    expect(error.code).toBe("path-too-deep");
    expect(error.message).toMatch(/has 256 levels below the master; at most 255/);
  });

  it("round-trips with formatPath", () => {
    const index = fc.integer({ min: 0, max: 0xffffffff });
    fc.assert(
      fc.property(fc.array(index, { maxLength: 20 }), (indices) => {
        expect(parsePath(formatPath(indices))).toEqual(indices);
      }),
    );
  });
});

describe("hardened", () => {
  it("adds 2^31", () => {
    expect(hardened(0)).toBe(0x80000000);
  });

  it("rejects an index that is already hardened", () => {
    expect(errorOf(() => hardened(0x80000000)).code).toBe("index-out-of-range");
  });
});
