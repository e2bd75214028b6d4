/**
 * The n-of-m threshold scheme of `sc-hsm-tool --pwd-shares-threshold T
 * --pwd-shares-total N` (Shamir secret sharing). The random password of one
 * DKEK share file becomes N points of a polynomial of degree T − 1 over the
 * integers modulo a prime p, and any T of them recover it.
 *
 *   secret s   = the password as a big-endian integer (8 bytes from the card's RNG)
 *   f(x)       = s + a1·x + … + a(T−1)·x^(T−1) mod p,  each ai uniform in [0, p)
 *   share i    = (i, f(i)) for i = 1..N
 *   recovery   = Lagrange interpolation at 0: s = Σ yi · Π_{j≠i} xj / (xj − xi) mod p
 *
 * sc-hsm-tool prints the prime and each share value as hex bytes separated by
 * colons and the share id in decimal, and reads the id back as hexadecimal (so
 * ids from 10 on do not survive a round trip through that tool).
 */

/** One point of the polynomial. */
export interface PasswordShare {
  x: bigint;
  y: bigint;
}

/**
 * Splits `secret` into `total` shares with threshold `threshold` modulo the
 * prime `prime` (which must exceed the secret; sc-hsm-tool draws a 64-bit
 * probable prime). `random` returns uniform bytes.
 */
export function createPasswordShares(
  secret: Uint8Array,
  threshold: number,
  total: number,
  prime: bigint,
  random: (length: number) => Uint8Array = (length) => crypto.getRandomValues(new Uint8Array(length)),
): PasswordShare[] {
  if (!Number.isInteger(threshold) || threshold < 2) throw new RangeError(`threshold must be an integer of at least 2, got ${threshold}`);
  if (!Number.isInteger(total) || total < threshold) throw new RangeError(`total must be an integer of at least the threshold ${threshold}, got ${total}`);
  const s = bytesToBigInt(secret);
  if (s >= prime) throw new RangeError("the prime must be larger than the secret");

  const coefficients = [s];
  for (let i = 1; i < threshold; i++) coefficients.push(uniformBelow(prime, random));

  const shares: PasswordShare[] = [];
  for (let x = 1n; x <= BigInt(total); x++) {
    let y = 0n;
    for (let i = coefficients.length - 1; i >= 0; i--) y = (y * x + coefficients[i]) % prime;
    shares.push({ x, y });
  }
  return shares;
}

/**
 * Recovers the password from `shares` (at least the threshold, distinct ids)
 * and returns its minimal big-endian bytes, as sc-hsm-tool does. With fewer
 * shares than the threshold the result is a wrong password, not an error.
 */
export function recoverPassword(shares: readonly PasswordShare[], prime: bigint): Uint8Array {
  if (shares.length === 0) throw new RangeError("at least one password share is needed");
  const ids = new Set(shares.map((share) => share.x));
  if (ids.size !== shares.length) throw new RangeError("password shares must have distinct share ids");

  let secret = 0n;
  for (const [i, share] of shares.entries()) {
    let numerator = 1n;
    let denominator = 1n;
    for (const [j, other] of shares.entries()) {
      if (i === j) continue;
      numerator = (numerator * other.x) % prime;
      denominator = (denominator * mod(other.x - share.x, prime)) % prime;
    }
    secret = (secret + share.y * numerator * inverse(denominator, prime)) % prime;
  }
  return bigIntToMinimalBytes(secret);
}

/** Parses hex bytes as sc-hsm-tool prints them ("8F:00:1A", spaces and colons ignored) into an integer. */
export function parseColonHex(text: string): bigint {
  const digits = text.replace(/[\s:]/g, "");
  if (digits.length === 0 || !/^[0-9a-fA-F]+$/.test(digits)) throw new RangeError(`invalid hex value ${JSON.stringify(text)}: expected hex bytes like 8F:00:1A`);
  return BigInt(`0x${digits}`);
}

function bytesToBigInt(bytes: Uint8Array): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}

function bigIntToMinimalBytes(value: bigint): Uint8Array {
  const out: number[] = [];
  while (value > 0n) {
    out.unshift(Number(value & 0xffn));
    value >>= 8n;
  }
  return new Uint8Array(out);
}

function mod(value: bigint, modulus: bigint): bigint {
  const r = value % modulus;
  return r < 0n ? r + modulus : r;
}

/** Inverse modulo a prime by Fermat's little theorem: a^(p−2) mod p. */
function inverse(value: bigint, prime: bigint): bigint {
  if (mod(value, prime) === 0n) throw new RangeError("password shares are not valid for this prime (zero denominator)");
  let result = 1n;
  let base = mod(value, prime);
  for (let e = prime - 2n; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * base) % prime;
    base = (base * base) % prime;
  }
  return result;
}

/** Draws a uniform integer in [0, bound) by rejection sampling. */
function uniformBelow(bound: bigint, random: (length: number) => Uint8Array): bigint {
  const length = Math.ceil(bound.toString(16).length / 2);
  for (;;) {
    const candidate = bytesToBigInt(random(length));
    if (candidate < bound) return candidate;
  }
}
