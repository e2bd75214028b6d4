/**
 * The applet's object model over the keystore: files by FID and keys by id.
 *
 * Record names in the keystore:
 *   file/XXXX    content of EF XXXX (hex FID), zero bytes for a created, empty EF; public,
 *                except PIN-protected data objects (CD n), sealed under the device secret
 *   key/NN       private or secret key NN (hex id), sealed under the MKEK
 *   keyinfo/NN   public description and metadata of key NN (JSON, see key-info.ts)
 *   keyuse/NN    usage counter of key NN, sealed under the device secret (policy/usage-counter.ts)
 *   device/key   device key (key 0), sealed under the device secret so it works without a PIN
 *
 * Every write is staged in the keystore's open transaction; the dispatcher
 * commits it after the handler succeeds and rolls it back on any error.
 */
import { CardError, SW } from "@hsmkit/apdu";
import { KeystoreIntegrityError, KeystoreLockedError, type Keystore } from "@hsmkit/keystore";
import { formatFid, PREFIX } from "./constants.ts";
import { applySealedCounter, counterRecordName, sealCounter } from "../policy/usage-counter.ts";
import { keyBinding, parseKeyInfo, serializeKeyInfo, type KeyInfo } from "./key-info.ts";

const FILE_PREFIX = "file/";
const KEY_PREFIX = "key/";
const KEY_INFO_PREFIX = "keyinfo/";

/** Keystore name of the sealed device key. */
export const DEVICE_KEY_RECORD = "device/key";

/** Associated data bound to the sealed device key. */
const DEVICE_KEY_BINDING = new TextEncoder().encode("hsmkit-device-key-v1|ec|secp256r1");

export function fileRecordName(fid: number): string {
  return FILE_PREFIX + formatFid(fid);
}

function keyRecordName(id: number): string {
  return KEY_PREFIX + hexByte(id);
}

function keyInfoRecordName(id: number): string {
  return KEY_INFO_PREFIX + hexByte(id);
}

/**
 * PIN-protected data objects (CD n) are sealed at rest, so a copy of the data
 * directory without the device secret does not reveal them. READ still needs
 * only UA, as on the card, which is why the device secret seals them and not the
 * MKEK (public key authentication grants UA without a PIN session).
 */
function isProtectedData(fid: number): boolean {
  return fid >> 8 === PREFIX.PROTECTED_DATA;
}

function hexByte(n: number): string {
  return n.toString(16).toUpperCase().padStart(2, "0");
}

export class ObjectStore {
  constructor(private readonly keystore: Keystore) {}

  // --- files -------------------------------------------------------------

  /** Returns the stored content of EF `fid` (empty for a created, never written EF), or undefined. */
  readFile(fid: number): Promise<Uint8Array | undefined> {
    if (isProtectedData(fid)) return this.keystore.getDeviceSecret(fileRecordName(fid));
    return this.keystore.getFile(fileRecordName(fid));
  }

  async fileExists(fid: number): Promise<boolean> {
    return (await this.readFile(fid)) !== undefined;
  }

  /** Stages the content of EF `fid`, creating it when absent. */
  writeFile(fid: number, content: Uint8Array): Promise<void> {
    if (isProtectedData(fid)) return this.keystore.putDeviceSecret(fileRecordName(fid), content);
    return this.keystore.putFile(fileRecordName(fid), content);
  }

  /** Stages the removal of EF `fid`; a missing file is not an error here. */
  deleteFile(fid: number): Promise<void> {
    return this.keystore.delete(fileRecordName(fid));
  }

  /** Lists the FIDs of every stored EF, ascending. */
  async listFiles(): Promise<number[]> {
    const names = await this.keystore.list();
    return names
      .filter((name) => name.startsWith(FILE_PREFIX))
      .map((name) => parseInt(name.slice(FILE_PREFIX.length), 16))
      .filter((fid) => Number.isInteger(fid))
      .sort((a, b) => a - b);
  }

  // --- keys 1..255 -------------------------------------------------------

  /** Returns the description of key `id`, or undefined when no such key exists. Needs no PIN. */
  async getKey(id: number): Promise<KeyInfo | undefined> {
    const bytes = await this.keystore.getFile(keyInfoRecordName(id));
    return bytes && applySealedCounter(this.keystore, parseKeyInfo(bytes));
  }

  /** Lists the ids of the stored user keys (1..255), ascending. Key 0 is not included. */
  async listKeyIds(): Promise<number[]> {
    const names = await this.keystore.list();
    return names
      .filter((name) => name.startsWith(KEY_INFO_PREFIX))
      .map((name) => parseInt(name.slice(KEY_INFO_PREFIX.length), 16))
      .filter((id) => Number.isInteger(id) && id >= 1)
      .sort((a, b) => a - b);
  }

  /**
   * Stages key `info.id`, replacing any existing key with that id. `privateKey`
   * is the crypto module's encoding of the private or secret key; it is sealed
   * under the MKEK, so a PIN session is required (CardError 6400 otherwise).
   */
  async putKey(info: KeyInfo, privateKey: Uint8Array): Promise<void> {
    try {
      await this.keystore.putSecret(keyRecordName(info.id), privateKey, keyBinding(info));
    } catch (error) {
      throw mapLocked(error, `cannot seal key ${info.id}`);
    }
    await this.keystore.putFile(keyInfoRecordName(info.id), serializeKeyInfo(info));
    await sealCounter(this.keystore, info);
  }

  /** Stages a changed description of an existing key (the usage counter after a use). */
  async updateKeyInfo(info: KeyInfo): Promise<void> {
    await this.keystore.putFile(keyInfoRecordName(info.id), serializeKeyInfo(info));
    await sealCounter(this.keystore, info);
  }

  /**
   * Unseals the private or secret key of `info`. Throws CardError 6400 without
   * a PIN session or when the record is missing or does not open.
   */
  async loadPrivateKey(info: KeyInfo): Promise<Uint8Array> {
    let secret: Uint8Array | undefined;
    try {
      secret = await this.keystore.getSecret(keyRecordName(info.id), keyBinding(info));
    } catch (error) {
      throw mapLocked(error, `cannot unseal key ${info.id}`);
    }
    if (!secret) throw new CardError(SW.EXECUTION_ERROR, `key ${info.id} has no sealed private key`);
    return secret;
  }

  /** Stages the removal of key `id` (private key and description; C4/CE files stay). */
  async deleteKey(id: number): Promise<void> {
    await this.keystore.delete(keyRecordName(id));
    await this.keystore.delete(keyInfoRecordName(id));
    await this.keystore.delete(counterRecordName(id));
  }

  // --- key 0, the device key ---------------------------------------------

  async hasDeviceKey(): Promise<boolean> {
    return (await this.keystore.list()).includes(DEVICE_KEY_RECORD);
  }

  /** Stages the device key's private scalar, sealed under the device secret. */
  putDeviceKey(privateKey: Uint8Array): Promise<void> {
    return this.keystore.putDeviceSecret(DEVICE_KEY_RECORD, privateKey, DEVICE_KEY_BINDING);
  }

  async loadDeviceKey(): Promise<Uint8Array | undefined> {
    return this.keystore.getDeviceSecret(DEVICE_KEY_RECORD, DEVICE_KEY_BINDING);
  }
}

function mapLocked(error: unknown, what: string): unknown {
  if (error instanceof KeystoreLockedError) {
    return new CardError(SW.EXECUTION_ERROR, `${what}: no PIN session (the MKEK is locked)`);
  }
  if (error instanceof KeystoreIntegrityError) {
    return new CardError(SW.EXECUTION_ERROR, `${what}: the sealed record does not match its description (edited on disk?)`);
  }
  return error;
}
