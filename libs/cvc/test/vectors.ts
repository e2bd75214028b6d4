/** Loads the certificate vectors in test/vectors: '#' lines name the source, the rest is hex. */

import { readFileSync } from "node:fs";
import { fromHex } from "@hsmkit/tlv";

export function loadVector(name: string): Uint8Array {
  const text = readFileSync(new URL(`./vectors/${name}.hex`, import.meta.url), "utf8");
  const hex = text
    .split("\n")
    .filter((line) => !line.startsWith("#"))
    .join("");
  return fromHex(hex);
}
