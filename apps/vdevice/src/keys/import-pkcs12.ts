/**
 * Host tool: wraps the private key of a PKCS#12 file under the DKEK assembled
 * from sc-hsm-tool DKEK share files. It writes the key and its certificate as
 * a wrapped-key file, which `sc-hsm-tool --unwrap-key FILE --key-reference N`
 * imports into a SmartCard-HSM (or this virtual device) that has the same
 * shares.
 *
 *   deno run --allow-read --allow-write src/keys/import-pkcs12.ts \
 *     --p12 key.p12 --p12-password PASS \
 *     --dkek-share share1.pbe --share-password PASS1 [--dkek-share … --share-password …] \
 *     --out key.wky [--label NAME] [--id HEX]
 *
 * Deciphering one share file takes about 30 s (sc-hsm-tool's 10,000,000
 * MD5 iterations, in JavaScript); --share-iterations changes the count for
 * files made with another one.
 */
import { combineDkekShares, decryptDkekShare, DkekShareError, dkekKcv, encodeKeyBlob } from "@hsmkit/keystore";
import { toHex } from "@hsmkit/tlv";
import { sha1 } from "@noble/hashes/legacy.js";
import { encodeWrappedKeyFile, importedKeyOf, Pkcs12Error, readPkcs12 } from "./pkcs12.ts";

interface DenoIo {
  args: string[];
  readFile(path: string): Promise<Uint8Array>;
  writeFile(path: string, data: Uint8Array, options?: { mode?: number }): Promise<void>;
  exit(code: number): never;
}

const USAGE = `Usage: import-pkcs12 --p12 FILE --p12-password PASS --dkek-share FILE --share-password PASS [...] --out FILE
  --p12 FILE              PKCS#12 file with one private key (RSA or EC) and optionally its certificate
  --p12-password PASS     password of the PKCS#12 file
  --dkek-share FILE       a DKEK share file from sc-hsm-tool --create-dkek-share; repeat once per share
  --share-password PASS   password of the share file given before it
  --share-iterations N    EVP_BytesToKey iterations of the share files (default 10000000, as sc-hsm-tool)
  --out FILE              wrapped-key file to write, for sc-hsm-tool --unwrap-key
  --label NAME            PKCS#15 label of the key (default: the PKCS#12 friendlyName, else "imported")
  --id HEX                PKCS#15 iD of the key (default: SHA-1 of its public key)`;

export interface ImportOptions {
  p12: string;
  p12Password: string;
  shares: { file: string; password: string }[];
  shareIterations?: number;
  out: string;
  label?: string;
  id?: string;
}

/** Parses the command line; throws Error with a message naming the bad option. */
export function parseImportArgs(args: readonly string[]): ImportOptions {
  const options: Partial<ImportOptions> & { shares: { file: string; password: string }[] } = { shares: [] };
  for (let i = 0; i < args.length; i++) {
    const option = args[i];
    const value = args[i + 1];
    if (value === undefined) throw new Error(`missing value after ${option}: see --help`);
    i++;
    switch (option) {
      case "--p12":
        options.p12 = value;
        break;
      case "--p12-password":
        options.p12Password = value;
        break;
      case "--dkek-share":
        options.shares.push({ file: value, password: "" });
        break;
      case "--share-password": {
        const last = options.shares.at(-1);
        if (!last || last.password !== "") throw new Error("--share-password must follow its --dkek-share");
        last.password = value;
        break;
      }
      case "--share-iterations":
        options.shareIterations = Number(value);
        break;
      case "--out":
        options.out = value;
        break;
      case "--label":
        options.label = value;
        break;
      case "--id":
        if (!/^([0-9a-fA-F]{2})+$/.test(value)) throw new Error(`invalid --id "${value}": give hex bytes such as 01 or A1B2`);
        options.id = value;
        break;
      default:
        throw new Error(`unknown option "${option}": see --help`);
    }
  }

  for (const required of ["p12", "p12Password", "out"] as const) {
    if (options[required] === undefined) throw new Error(`missing --${required === "p12Password" ? "p12-password" : required}: see --help`);
  }
  if (options.shares.length === 0) throw new Error("missing --dkek-share: give every DKEK share file of the target device");
  if (options.shares.some((share) => share.password === "")) throw new Error("each --dkek-share needs a --share-password after it");
  return options as ImportOptions;
}

/** Runs the import with `options` and returns the KCV of the DKEK used, in hex. */
export async function importPkcs12(options: ImportOptions, io: Pick<DenoIo, "readFile" | "writeFile">): Promise<string> {
  const contents = await readPkcs12(await io.readFile(options.p12), options.p12Password);
  const key = importedKeyOf(contents.privateKey);

  const shares: Uint8Array[] = [];
  for (const share of options.shares) {
    shares.push(decryptDkekShare(await io.readFile(share.file), share.password, { iterations: options.shareIterations }));
  }
  const dkek = combineDkekShares(shares);
  const blob = encodeKeyBlob(dkek, key.blobKey);
  const kcv = toHex(dkekKcv(dkek)).toUpperCase();
  dkek.fill(0);
  for (const share of shares) share.fill(0);

  const publicPart = key.blobKey.type === "rsa" ? key.blobKey.n : key.blobKey.type === "ec" ? key.blobKey.q : new Uint8Array(0);
  const id = options.id ? Uint8Array.from(options.id.match(/../g)!.map((byte) => parseInt(byte, 16))) : sha1(publicPart);
  const file = encodeWrappedKeyFile(blob, key, options.label ?? contents.friendlyName ?? "imported", id, contents.certificates[0]);
  await io.writeFile(options.out, file, { mode: 0o600 });
  return kcv;
}

async function main(deno: DenoIo): Promise<void> {
  if (deno.args.includes("--help") || deno.args.includes("-h")) {
    console.log(USAGE);
    return;
  }
  try {
    const options = parseImportArgs(deno.args);
    const kcv = await importPkcs12(options, deno);
    console.log(`wrote ${options.out}: key wrapped under the DKEK with KCV ${kcv}; import it with sc-hsm-tool --unwrap-key ${options.out} --key-reference N`);
  } catch (error) {
    if (error instanceof Pkcs12Error || error instanceof DkekShareError || error instanceof Error) {
      console.error(`import-pkcs12: ${error.message}`);
      deno.exit(1);
    }
    throw error;
  }
}

const deno = (globalThis as { Deno?: DenoIo }).Deno;
if (deno && (import.meta as { main?: boolean }).main) await main(deno);
