/**
 * Per-algorithm throughput of the virtual device in process: APDUs go straight to the device's
 * transmit function, with no PC/SC, vpcd or PKCS#11 in between, so the rows show what each
 * algorithm costs on the card itself.
 *
 * Rows: signatures per second for every curve (SIGNATURE 70 over a SHA-256 digest, PureEdDSA over
 * 32 bytes) and key agreements per second for X25519 and X448. For each RSA size, PKCS#1 v1.5
 * signatures per second and the key generation time. CIPHER SYMMETRIC throughput in MB/s for
 * AES-GCM, AES-CBC, AES-CMAC and ChaCha20-Poly1305 on 4,000-byte inputs.
 *
 *   deno run -A tools/bench/src/algorithms.ts [--duration SECONDS] [--markdown]
 */
import { parseArgs } from "node:util";
import { encodeCommandApdu } from "@hsmkit/apdu";
import { concatBytes, encodeTlv, fromHex } from "@hsmkit/tlv";
import { createDevice, type VirtualDevice } from "../../../apps/vdevice/src/device.ts";
import { rsaEngineName } from "../../../apps/vdevice/src/crypto/rsa.ts";
import { summarizeDurations, summarizeRate } from "./stats.ts";

const USER_PIN = new TextEncoder().encode("648219");
const SO_PIN = Uint8Array.of(0x35, 0x37, 0x36, 0x32, 0x31, 0x38, 0x38, 0x30);
const HSM_AID = Uint8Array.of(0xe8, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x81, 0xc3, 0x1f, 0x02, 0x01);

/** Input of the symmetric rows: the largest that leaves room for a 16-byte tag in one 4,076-byte response. */
const CIPHER_INPUT_BYTES = 4000;

interface Row {
  metric: string;
  unit: string;
  value: number;
  detail: string;
}

/** Encodes an extended APDU with Le 0000, as OpenSC sends key commands. */
function frame(cla: number, ins: number, p1: number, p2: number, data?: Uint8Array): Uint8Array {
  return encodeCommandApdu({ cla, ins, p1, p2, data, ne: 65536 }, { extended: true });
}

class BenchCard {
  constructor(private readonly device: VirtualDevice) {}

  /** Sends one command and returns its data; throws unless the status word is 9000. */
  async send(command: Uint8Array): Promise<Uint8Array> {
    const response = await this.device.transmit(command);
    const sw = (response[response.length - 2] << 8) | response[response.length - 1];
    if (sw !== 0x9000) throw new Error(`INS ${command[1].toString(16)} P2 ${command[3].toString(16)} failed with SW ${sw.toString(16).toUpperCase()}`);
    return response.subarray(0, response.length - 2);
  }
}

async function openCard(): Promise<BenchCard> {
  const device = await createDevice({});
  device.powerOn();
  const card = new BenchCard(device);

  const select = Uint8Array.of(0x00, 0xa4, 0x04, 0x00, HSM_AID.length, ...HSM_AID, 0x00);
  await card.send(select);
  const initialize = concatBytes(encodeTlv(0x80, Uint8Array.of(0x00, 0x01)), encodeTlv(0x81, USER_PIN), encodeTlv(0x82, SO_PIN), encodeTlv(0x91, Uint8Array.of(3)));
  await card.send(frame(0x80, 0x50, 0, 0, initialize));
  await card.send(select);
  await card.send(Uint8Array.of(0x00, 0x20, 0x00, 0x81, USER_PIN.length, ...USER_PIN));
  return card;
}

// --- key templates (the CV-certificate body contents GENERATE ASYMMETRIC KEY PAIR takes) ---------

const ID_TA_ECDSA_SHA_256 = Uint8Array.of(0x04, 0x00, 0x7f, 0x00, 0x07, 0x02, 0x02, 0x02, 0x02, 0x03);
const ID_TA_RSA_V1_5_SHA_256 = Uint8Array.of(0x04, 0x00, 0x7f, 0x00, 0x07, 0x02, 0x02, 0x02, 0x01, 0x02);

/** Field primes of the curves, big-endian hex: the card picks the curve by prime (and base point). */
const PRIMES: Record<string, string> = {
  secp192r1: "fffffffffffffffffffffffffffffffeffffffffffffffff",
  secp256r1: "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff",
  secp384r1: "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff",
  secp521r1: "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
  secp192k1: "fffffffffffffffffffffffffffffffffffffffeffffee37",
  secp256k1: "fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f",
  brainpoolP256r1: "a9fb57dba1eea9bc3e660a909d838d726e3bf623d52620282013481d1f6e5377",
  brainpoolP384r1: "8cb91e82a3386d280f5d6f7e50e641df152f7109ed5456b412b1da197fb71123acd3a729901d1a71874700133107ec53",
  brainpoolP512r1: "aadd9db8dbe9c48b3fd4e6ae33c9fc07cb308db3b3c9d20ed6639cca703308717d4d9b009bc66842aecda12ae6a380e62881ff2f2d82c68528aa6056583a48f3",
  curve25519: "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffed",
  curve448: "fffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
};

function keyPairData(template: Uint8Array): Uint8Array {
  return concatBytes(encodeTlv(0x5f29, Uint8Array.of(0)), encodeTlv(0x42, new TextEncoder().encode("UTCA00001")), template, encodeTlv(0x5f20, new TextEncoder().encode("UTCBENCH00001")));
}

function ecTemplate(prime: string, generator?: Uint8Array): Uint8Array {
  const parts = [encodeTlv(0x06, ID_TA_ECDSA_SHA_256), encodeTlv(0x81, fromHex(prime))];
  if (generator !== undefined) parts.push(encodeTlv(0x83, generator));
  return encodeTlv(0x7f49, concatBytes(...parts));
}

function rsaTemplate(bits: number): Uint8Array {
  return encodeTlv(0x7f49, concatBytes(encodeTlv(0x06, ID_TA_RSA_V1_5_SHA_256), encodeTlv(0x82, Uint8Array.of(1, 0, 1)), encodeTlv(0x02, Uint8Array.of(bits >> 8, bits & 0xff))));
}

/**
 * Length and first byte of the base point 83 that selects each octet curve: u = 9 and u = 5 select
 * X25519 and X448, any other first byte (0x58 starts the encoded Ed25519 base point) Ed25519/Ed448.
 */
const OCTET_GENERATOR = {
  x25519: { length: 32, first: 0x09 },
  x448: { length: 56, first: 0x05 },
  ed25519: { length: 32, first: 0x58 },
  ed448: { length: 57, first: 0x14 },
} as const;

function octetGenerator(kind: keyof typeof OCTET_GENERATOR): Uint8Array {
  const out = new Uint8Array(OCTET_GENERATOR[kind].length);
  out[0] = OCTET_GENERATOR[kind].first;
  return out;
}

// --- measurement ----------------------------------------------------------------------------------

async function measureRate(operation: () => Promise<unknown>, durationMs: number) {
  for (let i = 0; i < 3; i++) await operation();
  const latencies: number[] = [];
  const start = performance.now();
  let end = start;
  while (end - start < durationMs) {
    const before = end;
    await operation();
    end = performance.now();
    latencies.push(end - before);
  }
  return summarizeRate(latencies, end - start);
}

function describeRate(rate: ReturnType<typeof summarizeRate>): string {
  return `${rate.count} in ${rate.seconds.toFixed(2)} s, median ${rate.latencyMs.median.toFixed(3)} ms`;
}

async function run(durationMs: number): Promise<Row[]> {
  const card = await openCard();
  const rows: Row[] = [];
  let keyId = 1;
  const digest = crypto.getRandomValues(new Uint8Array(32));

  const curves = ["secp192r1", "secp256r1", "secp384r1", "secp521r1", "secp192k1", "secp256k1", "brainpoolP256r1", "brainpoolP384r1", "brainpoolP512r1"];
  for (const curve of curves) {
    const id = keyId++;
    await card.send(frame(0x00, 0x46, id, 0x00, keyPairData(ecTemplate(PRIMES[curve]))));
    const rate = await measureRate(() => card.send(frame(0x80, 0x68, id, 0x70, digest)), durationMs);
    rows.push({ metric: `ECDSA ${curve} sign (70, SHA-256 digest)`, unit: "sig/s", value: rate.perSecond, detail: describeRate(rate) });
  }

  for (const [kind, prime] of [["ed25519", "curve25519"], ["ed448", "curve448"]] as const) {
    const id = keyId++;
    await card.send(frame(0x00, 0x46, id, 0x00, keyPairData(ecTemplate(PRIMES[prime], octetGenerator(kind)))));
    const rate = await measureRate(() => card.send(frame(0x80, 0x68, id, 0x70, digest)), durationMs);
    rows.push({ metric: `${kind === "ed25519" ? "Ed25519" : "Ed448"} sign (70, 32-byte message)`, unit: "sig/s", value: rate.perSecond, detail: describeRate(rate) });
  }

  for (const [kind, prime] of [["x25519", "curve25519"], ["x448", "curve448"]] as const) {
    const id = keyId++;
    await card.send(frame(0x00, 0x46, id, 0x00, keyPairData(ecTemplate(PRIMES[prime], octetGenerator(kind)))));
    const peer = crypto.getRandomValues(new Uint8Array(kind === "x25519" ? 32 : 56));
    const rate = await measureRate(() => card.send(frame(0x80, 0x62, id, 0x80, peer)), durationMs);
    rows.push({ metric: `${kind.toUpperCase()} key agreement (DECIPHER 80)`, unit: "ops/s", value: rate.perSecond, detail: describeRate(rate) });
  }

  for (const bits of [1024, 2048, 3072, 4096]) {
    const id = keyId++;
    const runs = bits >= 3072 ? 3 : 5;
    const durations: number[] = [];
    for (let i = 0; i < runs; i++) {
      const start = performance.now();
      await card.send(frame(0x00, 0x46, id, 0x00, keyPairData(rsaTemplate(bits))));
      durations.push(performance.now() - start);
    }
    const keygen = summarizeDurations(durations);
    rows.push({ metric: `RSA-${bits} key generation`, unit: "s median", value: keygen.medianSeconds, detail: `${runs} runs: ${keygen.runsSeconds.map((s) => s.toFixed(3)).join(", ")}` });

    const rate = await measureRate(() => card.send(frame(0x80, 0x68, id, 0x33, digest)), durationMs);
    rows.push({ metric: `RSA-${bits} sign (33, PKCS#1 v1.5 SHA-256)`, unit: "sig/s", value: rate.perSecond, detail: describeRate(rate) });
  }

  rows.push(...(await symmetricRows(card, keyId, durationMs)));
  return rows;
}

async function symmetricRows(card: BenchCard, firstId: number, durationMs: number): Promise<Row[]> {
  const rows: Row[] = [];
  const aesId = firstId;
  await card.send(frame(0x80, 0x48, aesId, 0xb2));
  const input = crypto.getRandomValues(new Uint8Array(CIPHER_INPUT_BYTES));

  const aes256Gcm = Uint8Array.of(0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2e);
  const chachaPoly = Uint8Array.of(0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x03, 0x12);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const extended = (oid: Uint8Array) => concatBytes(encodeTlv(0x06, oid), encodeTlv(0x81, input), encodeTlv(0x82, iv));

  const cases: [string, Uint8Array][] = [
    ["AES-256-GCM encrypt (51)", frame(0x80, 0x78, aesId, 0x51, extended(aes256Gcm))],
    ["AES-256-CBC encrypt (10)", frame(0x80, 0x78, aesId, 0x10, input)],
    ["AES-256-CMAC (18)", frame(0x80, 0x78, aesId, 0x18, input)],
    ["ChaCha20-Poly1305 encrypt (51)", frame(0x80, 0x78, aesId, 0x51, extended(chachaPoly))],
  ];
  for (const [metric, command] of cases) {
    const rate = await measureRate(() => card.send(command), durationMs);
    rows.push({ metric: `${metric}, ${CIPHER_INPUT_BYTES}-byte input`, unit: "MB/s", value: (rate.perSecond * CIPHER_INPUT_BYTES) / 1e6, detail: describeRate(rate) });
  }
  return rows;
}

function format(value: number, unit: string): string {
  if (unit === "s median") return value.toFixed(3);
  if (unit === "MB/s") return value.toFixed(2);
  return Math.round(value).toLocaleString("en-US");
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { duration: { type: "string", default: "1" }, markdown: { type: "boolean", default: false } } });
  const seconds = Number(values.duration);
  if (!(seconds > 0)) throw new Error(`invalid --duration ${values.duration}: give seconds per row, e.g. --duration 2`);

  const rows = await run(seconds * 1000);
  console.log(`RSA engine: ${rsaEngineName()}; each rate counted over ${seconds} s after 3 untimed calls`);
  if (values.markdown) {
    console.log("\n| Metric | Unit | Value | Detail |\n| --- | --- | ---: | --- |");
    for (const row of rows) console.log(`| ${row.metric} | ${row.unit} | ${format(row.value, row.unit)} | ${row.detail} |`);
  } else {
    for (const row of rows) console.log(`${row.metric.padEnd(52)} ${format(row.value, row.unit).padStart(10)} ${row.unit.padEnd(9)} ${row.detail}`);
  }
}

await main();
