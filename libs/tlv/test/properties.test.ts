// Property tests with a fixed seed, so every run checks the same cases.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  children,
  concatBytes,
  decodeTlv,
  decodeTlvs,
  encodeTlv,
  isConstructedTag,
  TlvError,
  type Tlv,
} from "../src/index.ts";

const SEED = 0x7c0de;
const RUNS = 400;

interface Node {
  tag: number;
  value?: Uint8Array;
  children?: Node[];
}

const multiByteFirst = fc.constantFrom(0x1f, 0x3f, 0x5f, 0x7f, 0x9f, 0xbf, 0xdf);
const anyTag = fc.oneof(
  fc.integer({ min: 0x01, max: 0xfe }).filter((byte) => (byte & 0x1f) !== 0x1f),
  fc.tuple(multiByteFirst, fc.integer({ min: 0x00, max: 0x7f })).map(([a, b]) => (a << 8) | b),
  fc
    .tuple(multiByteFirst, fc.integer({ min: 0x81, max: 0xff }), fc.integer({ min: 0x00, max: 0x7f }))
    .map(([a, b, c]) => (a << 16) | (b << 8) | c),
);
const primitiveTag = anyTag.filter((tag) => !isConstructedTag(tag));
const constructedTag = anyTag.filter((tag) => isConstructedTag(tag));

const value = fc.oneof(
  { weight: 4, arbitrary: fc.uint8Array({ maxLength: 20 }) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 120, maxLength: 300 }) },
);

const { node } = fc.letrec<{ node: Node }>((tie) => ({
  node: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.record({ tag: primitiveTag, value }),
    fc.record({ tag: constructedTag, children: fc.array(tie("node"), { maxLength: 4 }) }),
  ),
}));

function encodeNode(n: Node): Uint8Array {
  return n.children ? encodeTlv(n.tag, n.children.map(encodeNode)) : encodeTlv(n.tag, n.value!);
}

function toNode(tlv: Tlv): Node {
  return tlv.constructed ? { tag: tlv.tag, children: children(tlv).map(toNode) } : { tag: tlv.tag, value: tlv.value };
}

/** Decodes everything, descending into every constructed value. */
function walk(tlvs: Tlv[]): number {
  let count = 0;
  for (const tlv of tlvs) count += 1 + (tlv.constructed ? walk(children(tlv)) : 0);
  return count;
}

function expectOnlyTlvError(run: () => unknown): void {
  try {
    run();
  } catch (error) {
    if (!(error instanceof TlvError)) throw error;
  }
}

describe("properties", () => {
  it("encode then decode is the identity", () => {
    fc.assert(
      fc.property(fc.array(node, { minLength: 1, maxLength: 4 }), (trees) => {
        const encoded = concatBytes(...trees.map(encodeNode));
        const decoded = decodeTlvs(encoded);
        expect(decoded.map(toNode)).toEqual(trees.map((tree) => ({ ...tree, value: tree.value && Uint8Array.from(tree.value) })));
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it("offsets locate each object's encoding", () => {
    fc.assert(
      fc.property(node, (tree) => {
        const encoded = encodeNode(tree);
        const check = (tlv: Tlv): void => {
          const slice = encoded.subarray(tlv.offset, tlv.offset + tlv.encodedLength);
          expect(slice).toEqual(encodeTlv(tlv.tag, tlv.value));
          if (tlv.constructed) children(tlv).forEach(check);
        };
        check(decodeTlv(encoded));
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it("random bytes throw only TlvError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 48 }), (bytes) => {
        expectOnlyTlvError(() => walk(decodeTlvs(bytes)));
        expectOnlyTlvError(() => walk(decodeTlvs(bytes, { allowPadding: true })));
        expectOnlyTlvError(() => walk([decodeTlv(bytes)]));
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });

  it("truncated encodings throw TlvError", () => {
    fc.assert(
      fc.property(node, fc.nat(), (tree, cut) => {
        const encoded = encodeNode(tree);
        const truncated = encoded.subarray(0, cut % encoded.length);
        expect(() => decodeTlv(truncated)).toThrow(TlvError);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it("corrupted encodings throw only TlvError", () => {
    fc.assert(
      fc.property(node, fc.nat(), fc.integer({ min: 0, max: 255 }), (tree, at, byte) => {
        const encoded = Uint8Array.from(encodeNode(tree));
        encoded[at % encoded.length] = byte;
        expectOnlyTlvError(() => walk([decodeTlv(encoded)]));
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });
});
