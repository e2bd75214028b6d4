/**
 * How a command handler sees the card.
 *
 * The dispatcher builds one CommandContext per APDU and calls the handler for
 * its INS. A handler checks, stages writes and returns the response data (or
 * nothing); it reports every rejection by throwing CardError with the status
 * word. Storage is transactional: every write made through `objects`,
 * `keystore` or `device` is staged, the dispatcher commits after the handler
 * returns and rolls back when it throws, so a rejected command changes nothing
 * on disk. Exceptions: the keystore persists a wrong PIN's retry counter inside
 * verifyPin itself, and the session flags below change at once.
 *
 * Typical key handler:
 *
 *   const info = await ctx.beginKeyUse(keyId, algorithm);   // 6982, 6A82, 6A84, 6985, 6400 in spec order
 *   const privateKey = await ctx.objects.loadPrivateKey(info);
 *   const signature = sign(privateKey, ...);
 *   await ctx.finishKeyUse(info);                           // decrements tag 90
 *   return { data: signature };
 *
 * Typical key creation:
 *
 *   ctx.requireLogin();
 *   ctx.refuseDeviceKey(keyId);
 *   const meta = ctx.newKeyMetadata(commandTlvs);
 *   await ctx.storeKey({ info: { id, type: "ec", curve, bits, publicKey, meta }, privateKey, request });
 */
import { CardError, SW, type AppletResponse, type CommandApdu } from "@hsmkit/apdu";
import type { Keystore } from "@hsmkit/keystore";
import type { Logger } from "../log.ts";
import { DEFAULT_KEY_COUNTER, fidOf, MAX_KEY_ID, OPTION, PREFIX } from "./constants.ts";
import type { DeviceState } from "./device-state.ts";
import type { KeyDomains } from "./key-domains.ts";
import type { KeyInfo, KeyMetadata } from "./key-info.ts";
import type { PresenceConfirmer } from "../button/presence.ts";
import { confirmPresence } from "../policy/press-to-confirm.ts";
import { parseCounterTag } from "../policy/usage-counter.ts";
import type { ObjectStore } from "./objects.ts";
import { defaultPrkd } from "./prkd.ts";
import type { SessionState } from "./session.ts";
import { flatTlvs, type FlatTlv } from "./tlv-walk.ts";

export type { KeyInfo, KeyMetadata, KeyType } from "./key-info.ts";
export type { FlatTlv } from "./tlv-walk.ts";

/** Long-lived parts of the applet, shared by every command. */
export interface HsmState {
  readonly keystore: Keystore;
  readonly objects: ObjectStore;
  readonly device: DeviceState;
  readonly domains: KeyDomains;
  readonly session: SessionState;
  /** CSPRNG: `length` random bytes. */
  readonly random: (length: number) => Uint8Array;
  readonly logger: Logger;
  /** Device-wide rules chosen at start-up; absent fields take their defaults. */
  readonly policy?: DevicePolicy;
  /** Source of press-to-confirm answers (option 0100); absent confirms at once. */
  readonly presence?: PresenceConfirmer;
}

export interface DevicePolicy {
  /**
   * Lets INITIALIZE wipe an initialised device without its current SO-PIN, as
   * the Pico HSM firmware does. Default false: like the SmartCard-HSM, tag 82
   * must then match the stored SO-PIN, and a mismatch counts as a wrong SO-PIN.
   */
  reinitializeWithoutSoPin?: boolean;
}

/** Handler of one INS. Returns the response (data, or an SW such as 9001) or nothing for 9000 without data. */
export type CommandHandler = (ctx: CommandContext) => Promise<AppletResponse | void>;

export interface StoreKeyRequest {
  info: KeyInfo;
  /** The crypto module's encoding of the private or secret key; sealed under the MKEK. */
  privateKey: Uint8Array;
  /** Authenticated CV request to store as CE n (RSA and EC keys); AES keys have none. */
  request?: Uint8Array;
}

export class CommandContext {
  constructor(
    /** The parsed command APDU (data already de-chained). */
    readonly apdu: CommandApdu,
    private readonly state: HsmState,
  ) {}

  get session(): SessionState {
    return this.state.session;
  }

  get keystore(): Keystore {
    return this.state.keystore;
  }

  get objects(): ObjectStore {
    return this.state.objects;
  }

  get device(): DeviceState {
    return this.state.device;
  }

  get domains(): KeyDomains {
    return this.state.domains;
  }

  get policy(): DevicePolicy {
    return this.state.policy ?? {};
  }

  get presence(): PresenceConfirmer | undefined {
    return this.state.presence;
  }

  get log(): Logger {
    return this.state.logger;
  }

  random(length: number): Uint8Array {
    return this.state.random(length);
  }

  /** Returns the command data as top-level TLVs, walked the firmware's lenient way (a truncated TLV ends the list). */
  dataTlvs(): FlatTlv[] {
    return flatTlvs(this.apdu.data);
  }

  // --- access checks -----------------------------------------------------

  /** "Login": UA must be set, else 6982. */
  requireLogin(): void {
    if (!this.session.userAuthenticated) {
      throw new CardError(SW.SECURITY_STATUS_NOT_SATISFIED, "user not authenticated: VERIFY the user PIN first");
    }
  }

  /** "Key material": a PIN session (PS or SS) must be open and an enabled secure lock unlocked, else 6400. */
  requireKeyMaterial(): void {
    if (!this.session.hasPinSession || !this.keystore.unlocked) {
      throw new CardError(SW.EXECUTION_ERROR, "no PIN session: stored keys cannot be unsealed");
    }
    if (this.device.hasOption(OPTION.SECURE_LOCK) && !this.session.secureLockOpen) {
      throw new CardError(SW.EXECUTION_ERROR, "secure lock: unlock the device with its host secret (EXTRAS 3A 03) first");
    }
  }

  /** Refuses key id 0 (the device key) as the target or key of a user command with 6982. */
  refuseDeviceKey(keyId: number): void {
    if (keyId === 0) {
      throw new CardError(SW.SECURITY_STATUS_NOT_SATISFIED, "key 0 is the device key and cannot be used or replaced");
    }
    if (keyId > MAX_KEY_ID) throw new CardError(SW.INCORRECT_P1P2, `key id ${keyId} out of range`);
  }

  // --- keys --------------------------------------------------------------

  /** Returns key `keyId`, or throws 6A82. */
  async findKey(keyId: number): Promise<KeyInfo> {
    const info = await this.objects.getKey(keyId);
    if (!info) throw new CardError(SW.FILE_NOT_FOUND, `key ${keyId} not found`);
    return info;
  }

  /**
   * Runs the common key checks of SIGNATURE, DECIPHER, CIPHER SYMMETRIC and
   * DERIVE in their order: login (6982), key 0 (6982), key exists (6A82),
   * usage counter not zero (6A84), algorithm in the allowed list (6985),
   * press-to-confirm (6600), key material (6400). Returns the key's description.
   */
  async beginKeyUse(keyId: number, algorithm: number): Promise<KeyInfo> {
    this.requireLogin();
    this.refuseDeviceKey(keyId);

    const info = await this.findKey(keyId);
    if (info.meta.counter === 0) {
      throw new CardError(SW.NOT_ENOUGH_MEMORY, `key ${keyId}: usage counter exhausted`);
    }
    if (info.meta.algorithms && !info.meta.algorithms.includes(algorithm)) {
      throw new CardError(SW.CONDITIONS_NOT_SATISFIED, `key ${keyId}: algorithm ${hex(algorithm)} not allowed`);
    }

    await confirmPresence(this, { operation: insName(this.apdu.ins), keyId });
    this.requireKeyMaterial();
    return info;
  }

  /** Stages the decrement of the key's usage counter (tag 90) after a successful operation. */
  async finishKeyUse(info: KeyInfo): Promise<void> {
    if (info.meta.counter === undefined) return;
    await this.objects.updateKeyInfo({ ...info, meta: { ...info.meta, counter: info.meta.counter - 1 } });
  }

  /**
   * Reads the metadata tags 90–93 from the top level of `tlvs` (the command
   * data of a key creation). Without tag 90 and with option 0200 set the
   * counter defaults to FFFFFFFE. A tag 90 that is not 4 bytes or is 0, or a tag
   * 92 that is not 1 byte, is 6A80.
   */
  newKeyMetadata(tlvs: FlatTlv[]): KeyMetadata {
    const meta: KeyMetadata = {};

    for (const tlv of tlvs) {
      if (tlv.tag === 0x90) {
        meta.counter = parseCounterTag(tlv.value);
      } else if (tlv.tag === 0x91) {
        meta.algorithms = tlv.value.slice();
      } else if (tlv.tag === 0x92) {
        if (tlv.value.length !== 1) throw new CardError(SW.WRONG_DATA, "tag 92 (key domain) must be 1 byte");
        meta.domain = tlv.value[0];
      } else if (tlv.tag === 0x93) {
        meta.opaque = tlv.value.slice();
      }
    }

    if (meta.counter === undefined && this.device.hasOption(OPTION.KEY_COUNTER_ALL)) meta.counter = DEFAULT_KEY_COUNTER;
    return meta;
  }

  /**
   * Stages a new key under `info.id`, replacing any key there: the sealed
   * private key, its description, the default PRKD in C4 n and, when given,
   * the CV request in CE n. Needs a PIN session (6400).
   */
  async storeKey(request: StoreKeyRequest): Promise<void> {
    const { info } = request;
    this.refuseDeviceKey(info.id);
    this.requireKeyMaterial();

    await this.objects.putKey(info, request.privateKey);
    await this.objects.writeFile(fidOf(PREFIX.PRKD, info.id), defaultPrkd(info.id, info.type, info.bits));
    if (request.request) await this.objects.writeFile(fidOf(PREFIX.EE_CERTIFICATE, info.id), request.request);

    this.log.info("key stored", { key: info.id, type: info.type, curve: info.curve, bits: info.bits });
  }

  // --- device identity ---------------------------------------------------

  /** CHR of the first certificate in EF 2F02: the outer CAR of every CV request the card makes. */
  deviceChr(): Promise<string> {
    return this.device.deviceChr();
  }

  /** Signs `message` with the device key (ECDSA-SHA-256 on secp256r1, raw r‖s): the outer signature of CV requests. */
  signWithDeviceKey(message: Uint8Array): Promise<Uint8Array> {
    return this.device.signWithDeviceKey(message);
  }
}

/** Names the key commands for the press-to-confirm question. */
function insName(ins: number): string {
  const names: Record<number, string> = { 0x62: "DECIPHER", 0x68: "SIGNATURE", 0x76: "DERIVE", 0x78: "CIPHER SYMMETRIC" };
  return names[ins] ?? `INS ${hex(ins)}`;
}

function hex(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, "0");
}
