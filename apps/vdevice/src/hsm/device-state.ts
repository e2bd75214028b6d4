/**
 * Persistent device settings (options of EF 100E, the transport-PIN flag) and
 * the device identity (serial, CHR, device key). Settings are cached in memory
 * because the SELECT response needs the options synchronously; a handler's change
 * is staged and only reaches the cache when the dispatcher commits.
 */
import { p256 } from "@noble/curves/nist.js";
import { sha256 } from "@noble/hashes/sha2.js";
import type { Keystore } from "@hsmkit/keystore";
import { findTlvDeep, fromHex, iterateTlvs, toHex, type Tlv } from "@hsmkit/tlv";
import { FID } from "./constants.ts";
import { fileRecordName, type ObjectStore } from "./objects.ts";

/** Keystore name of the settings record (public JSON). */
export const SETTINGS_RECORD = "state/device";

/** Keystore name of the identity record (public JSON: serial, CHR, public key). */
export const IDENTITY_RECORD = "state/identity";

/** Default device CHR when EF 2F02 contains no decodable certificate. */
export const DEFAULT_DEVICE_CHR = "ESPICOHSMTR00001";

export interface DeviceSettings {
  /** Device options, u16 (bits in constants.ts OPTION). */
  options: number;
  /** Set by INITIALIZE with the transport-PIN option; cleared by CHANGE REFERENCE DATA of the user PIN. */
  transportPinPending: boolean;
}

export interface IdentityRecord {
  /** 16 random bytes fixed at first start; EF.TokenInfo shows the first 8. */
  serial: Uint8Array;
  /** CHR of the self-issued device certificate. */
  chr: string;
  /** Device public key, uncompressed secp256r1 point. */
  publicKey: Uint8Array;
}

const FRESH_SETTINGS: DeviceSettings = { options: 0, transportPinPending: false };

export class DeviceState {
  private committed: DeviceSettings = { ...FRESH_SETTINGS };
  private staged: DeviceSettings | undefined;
  private identityCache: IdentityRecord | undefined;

  constructor(
    private readonly keystore: Keystore,
    private readonly objects: ObjectStore,
  ) {}

  /** Loads the settings and identity from the keystore (at start-up). */
  async load(): Promise<void> {
    const bytes = await this.keystore.getFile(SETTINGS_RECORD);
    this.committed = bytes ? { ...FRESH_SETTINGS, ...JSON.parse(new TextDecoder().decode(bytes)) } : { ...FRESH_SETTINGS };
    this.staged = undefined;
    this.identityCache = await this.readIdentity();
  }

  /** The settings as the running command sees them (staged changes included). */
  get settings(): DeviceSettings {
    return this.staged ?? this.committed;
  }

  get options(): number {
    return this.settings.options;
  }

  hasOption(bit: number): boolean {
    return (this.options & bit) !== 0;
  }

  /** Stages new settings; they become visible to later commands after commit. */
  async updateSettings(change: Partial<DeviceSettings>): Promise<void> {
    const next = { ...this.settings, ...change };
    this.staged = next;
    await this.keystore.putFile(SETTINGS_RECORD, new TextEncoder().encode(JSON.stringify(next)));
  }

  /** Called by the dispatcher after the keystore commit succeeded. */
  commitStaged(): void {
    if (this.staged) this.committed = this.staged;
    this.staged = undefined;
  }

  /** Called by the dispatcher when the command failed. */
  discardStaged(): void {
    this.staged = undefined;
  }

  // --- identity ----------------------------------------------------------

  /** The device identity, or undefined before it was created. */
  get identity(): IdentityRecord | undefined {
    return this.identityCache;
  }

  /** Stages the identity record; the cache is updated at once (it only changes at start-up or INITIALIZE). */
  async putIdentity(identity: IdentityRecord): Promise<void> {
    this.identityCache = identity;
    const json = { serial: toHex(identity.serial), chr: identity.chr, publicKey: toHex(identity.publicKey) };
    await this.keystore.putFile(IDENTITY_RECORD, new TextEncoder().encode(JSON.stringify(json)));
  }

  /**
   * Returns the device CHR: the CHR (5F20) of the first certificate in EF 2F02,
   * else the CHR of the identity record, else ESPICOHSMTR00001.
   */
  async deviceChr(): Promise<string> {
    const chain = await this.keystore.getFile(fileRecordName(FID.EF_DEVICE_CERTIFICATES));
    const fromChain = chain && firstCertificateChr(chain);
    return fromChain ?? this.identityCache?.chr ?? DEFAULT_DEVICE_CHR;
  }

  /**
   * Signs `message` with the device key: ECDSA over SHA-256 on secp256r1, raw
   * r‖s (64 bytes), the outer signature of CV requests. Works without a PIN.
   */
  async signWithDeviceKey(message: Uint8Array): Promise<Uint8Array> {
    const privateKey = await this.objects.loadDeviceKey();
    if (!privateKey) throw new Error("the device key is missing; the identity was not created");
    try {
      return p256.sign(sha256(message), privateKey, { prehash: false, lowS: true, format: "compact" });
    } finally {
      privateKey.fill(0);
    }
  }

  private async readIdentity(): Promise<IdentityRecord | undefined> {
    const bytes = await this.keystore.getFile(IDENTITY_RECORD);
    if (!bytes) return undefined;
    const json = JSON.parse(new TextDecoder().decode(bytes)) as { serial: string; chr: string; publicKey: string };
    return { serial: fromHex(json.serial), chr: json.chr, publicKey: fromHex(json.publicKey) };
  }
}

/** Returns the CHR of the first CV certificate or request in `chain`, or undefined when it does not decode. */
export function firstCertificateChr(chain: Uint8Array): string | undefined {
  let first: Tlv | undefined;
  try {
    first = iterateTlvs(chain).next().value ?? undefined;
    if (!first || (first.tag !== 0x7f21 && first.tag !== 0x67)) return undefined;
    const chr = findTlvDeep([first], 0x5f20);
    return chr ? new TextDecoder().decode(chr.value) : undefined;
  } catch {
    return undefined;
  }
}
