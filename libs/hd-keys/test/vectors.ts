// Loads the official test vectors stored beside this file as JSON.
import bip32 from "./vectors/bip32.json" with { type: "json" };
import slip10 from "./vectors/slip10.json" with { type: "json" };
import slip21 from "./vectors/slip21.json" with { type: "json" };

export const BIP32_VECTORS = bip32;
export const SLIP10_VECTORS = slip10;
export const SLIP21_VECTORS = slip21;

export function fromHex(text: string): Uint8Array {
  if (text.length % 2 !== 0) throw new Error(`odd-length hex: ${text}`);
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

export function hex32(value: number): string {
  return value.toString(16).padStart(8, "0");
}
