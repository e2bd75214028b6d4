/**
 * The issuer directory: a keystore on its own directory, sealed under its own
 * secret file `<issuer-dir>.secret`, holding the DV private key and the root
 * and DV certificates. By default each device has one beside its data
 * directory (`<data-dir>.issuer`); devices started with the same `--issuer DIR`
 * share one root. A device opens the directory only at start-up, for as long
 * as it takes to read or create the issuer.
 */
import { openKeystore, type Keystore } from "@hsmkit/keystore";
import type { Logger } from "../log.ts";
import { loadOrCreateDeviceSecret } from "../storage/device-secret.ts";
import { DirectoryLockedError, openDirectoryBackend } from "../storage/directory-backend.ts";
import { createIssuerMaterial, DeviceIssuer, type IssuerMaterial } from "./issuer.ts";

const DV_KEY_RECORD = "issuer/dv-key";
const ROOT_CERTIFICATE_RECORD = "issuer/root-certificate";
const DV_CERTIFICATE_RECORD = "issuer/dv-certificate";

/** Attempts and pause while another device holds the issuer directory's lock. */
const LOCK_ATTEMPTS = 50;
const LOCK_RETRY_MS = 100;

/** Returns the default issuer directory of a data directory: `<data-dir>.issuer` beside it. */
export function defaultIssuerDirectory(dataDirectory: string): string {
  return `${dataDirectory.replace(/\/+$/, "")}.issuer`;
}

export interface IssuerStoreOptions {
  log: Logger;
  random: (length: number) => Uint8Array;
  /** Creation time of a new root and DV; defaults to the current time. */
  now?: Date;
}

/** Reads the issuer in `directory`, creating the directory, its secret and a new root and DV when it has none. */
export async function loadOrCreateIssuer(directory: string, options: IssuerStoreOptions): Promise<DeviceIssuer> {
  const secret = await loadOrCreateDeviceSecret(`${directory.replace(/\/+$/, "")}.secret`, { log: options.log });
  const backend = await openLocked(directory, options.log);
  try {
    const keystore = await openKeystore(backend, { deviceSecret: secret, random: options.random });
    secret.fill(0);

    const stored = await readMaterial(keystore);
    if (stored !== undefined) return issuerFrom(stored);

    const created = await createIssuerMaterial(options.random, options.now ?? new Date());
    await keystore.putFile(ROOT_CERTIFICATE_RECORD, created.rootCertificate);
    await keystore.putFile(DV_CERTIFICATE_RECORD, created.dvCertificate);
    await keystore.putDeviceSecret(DV_KEY_RECORD, created.dvKey, created.dvCertificate);
    await keystore.commit();

    const issuer = issuerFrom(created);
    options.log.info("issuer created", { directory, root: issuer.root.body.chr, dv: issuer.dv.body.chr });
    return issuer;
  } finally {
    secret.fill(0);
    await backend.close();
  }
}

/** Returns the stored material, or undefined for an empty issuer directory. */
async function readMaterial(keystore: Keystore): Promise<IssuerMaterial | undefined> {
  const rootCertificate = await keystore.getFile(ROOT_CERTIFICATE_RECORD);
  const dvCertificate = await keystore.getFile(DV_CERTIFICATE_RECORD);
  if (rootCertificate === undefined && dvCertificate === undefined) return undefined;
  if (rootCertificate === undefined || dvCertificate === undefined) {
    throw new Error("invalid issuer directory: the root or DV certificate is missing; restore it from a backup or give another --issuer");
  }

  // The DV certificate is the sealed key's associated data, so a swapped certificate fails to open the key.
  const dvKey = await keystore.getDeviceSecret(DV_KEY_RECORD, dvCertificate);
  if (dvKey === undefined) throw new Error("invalid issuer directory: the DV key is missing; restore it from a backup or give another --issuer");
  return { rootCertificate, dvCertificate, dvKey };
}

function issuerFrom(material: IssuerMaterial): DeviceIssuer {
  const issuer = new DeviceIssuer(material);
  material.dvKey.fill(0);
  return issuer;
}

async function openLocked(directory: string, log: Logger) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await openDirectoryBackend(directory, { log });
    } catch (error) {
      if (!(error instanceof DirectoryLockedError) || attempt === LOCK_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, LOCK_RETRY_MS));
    }
  }
}
