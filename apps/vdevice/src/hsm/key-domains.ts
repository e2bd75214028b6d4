/**
 * Key domains and their DKEKs (device key-encryption keys, which wrap keys for
 * export with WRAP KEY). A DKEK is the XOR of its shares; its KCV (key check
 * value) is the first 8 bytes of SHA-256(DKEK).
 *
 * Records in the keystore:
 *   state/domains  public JSON: per domain { total, imported, kcv, pendingWrap } or null (unset, "FF FF")
 *   dkek-acc/NN    share accumulator of domain NN, sealed under the device secret: share import needs no PIN
 *   dkek/NN        complete DKEK of domain NN, sealed under the MKEK
 *
 * A DKEK completed without a PIN session stays in dkek-acc/NN with pendingWrap
 * set until the next PIN verification moves it under the MKEK.
 */
import { CardError, SW } from "@hsmkit/apdu";
import type { Keystore } from "@hsmkit/keystore";
import { sha256 } from "@noble/hashes/sha2.js";
import { fromHex, toHex } from "@hsmkit/tlv";

export const DOMAINS_RECORD = "state/domains";

/** Highest number of key domains. */
export const MAX_KEY_DOMAINS = 16;

/** Size of a DKEK and of each share, bytes. */
export const DKEK_LENGTH = 32;

export interface DomainState {
  /** Shares expected. */
  total: number;
  /** Shares imported so far. */
  imported: number;
  /** KCV of the accumulator (all zero while no share has arrived). */
  kcv: Uint8Array;
  /** The DKEK is complete but still sealed under the device secret, awaiting a PIN session. */
  pendingWrap: boolean;
}

type DomainTable = (DomainState | null)[];

interface DomainJson {
  total: number;
  imported: number;
  kcv: string;
  pendingWrap: boolean;
}

function accumulatorName(domain: number): string {
  return `dkek-acc/${domain.toString(16).toUpperCase().padStart(2, "0")}`;
}

function dkekName(domain: number): string {
  return `dkek/${domain.toString(16).toUpperCase().padStart(2, "0")}`;
}

const ACCUMULATOR_BINDING = new TextEncoder().encode("hsmkit-dkek-accumulator-v1");
const DKEK_BINDING = new TextEncoder().encode("hsmkit-dkek-v1");

/** Returns SHA-256(dkek)[0..7]. */
export function kcvOf(dkek: Uint8Array): Uint8Array {
  return sha256(dkek).slice(0, 8);
}

export class KeyDomains {
  constructor(
    private readonly keystore: Keystore,
    private readonly random: (length: number) => Uint8Array,
  ) {}

  async table(): Promise<DomainTable> {
    const bytes = await this.keystore.getFile(DOMAINS_RECORD);
    if (!bytes) return [];
    const json = JSON.parse(new TextDecoder().decode(bytes)) as (DomainJson | null)[];
    return json.map((entry) => entry && { ...entry, kcv: fromHex(entry.kcv) });
  }

  private async saveTable(table: DomainTable): Promise<void> {
    const json = table.map((entry) => entry && { ...entry, kcv: toHex(entry.kcv) });
    await this.keystore.putFile(DOMAINS_RECORD, new TextEncoder().encode(JSON.stringify(json)));
  }

  /**
   * Sets up the table at INITIALIZE (the keystore has just been wiped and its
   * MKEK is unlocked). `shares` is tag 92, `domainCount` tag 97, which
   * overrides it: k unset domains. Without either, domain 0 has no DKEK.
   */
  async initialize(shares: number | undefined, domainCount: number | undefined): Promise<void> {
    if (domainCount !== undefined) {
      await this.saveTable(new Array(Math.min(domainCount, MAX_KEY_DOMAINS)).fill(null));
      return;
    }

    if (shares === undefined) {
      await this.saveTable([{ total: 0, imported: 0, kcv: new Uint8Array(8), pendingWrap: false }]);
      return;
    }

    if (shares === 0) {
      const dkek = this.random(DKEK_LENGTH);
      await this.keystore.putSecret(dkekName(0), dkek, DKEK_BINDING);
      await this.saveTable([{ total: 1, imported: 1, kcv: kcvOf(dkek), pendingWrap: false }]);
      dkek.fill(0);
      return;
    }

    await this.saveTable([{ total: shares, imported: 0, kcv: new Uint8Array(8), pendingWrap: false }]);
  }

  /**
   * Returns the domain's state after the common checks of KEY DOMAIN: P2 ≥ 16
   * or an empty table → 6B00, a domain beyond the table → 6A86. Null means unset.
   */
  async checkedDomain(domain: number): Promise<DomainState | null> {
    if (domain >= MAX_KEY_DOMAINS) throw new CardError(SW.WRONG_P1P2, `key domain ${domain} out of range (0..15)`);

    const table = await this.table();
    if (table.length === 0) throw new CardError(SW.WRONG_P1P2, "no key domains are configured");
    if (domain >= table.length) throw new CardError(SW.INCORRECT_P1P2, `key domain ${domain} does not exist`);

    return table[domain];
  }

  /**
   * XORs the first 32 bytes of `share` into the domain's accumulator. Refused
   * with 6986 when the domain is unset or already complete. When the last share
   * arrives, the DKEK is sealed under the MKEK if a PIN session is open, else
   * it waits for sealPending().
   */
  async importShare(domain: number, share: Uint8Array): Promise<DomainState> {
    const table = await this.table();
    const state = table[domain];
    if (!state || state.imported >= state.total) {
      throw new CardError(SW.COMMAND_NOT_ALLOWED, `key domain ${domain} expects no further DKEK share`);
    }

    const previous = await this.keystore.getDeviceSecret(accumulatorName(domain), ACCUMULATOR_BINDING);
    const accumulator = previous ?? new Uint8Array(DKEK_LENGTH);
    for (let i = 0; i < DKEK_LENGTH; i++) accumulator[i] ^= share[i];

    const next: DomainState = { total: state.total, imported: state.imported + 1, kcv: kcvOf(accumulator), pendingWrap: false };
    const complete = next.imported === next.total;

    if (complete && this.keystore.unlocked) {
      await this.keystore.putSecret(dkekName(domain), accumulator, DKEK_BINDING);
      await this.keystore.delete(accumulatorName(domain));
    } else {
      await this.keystore.putDeviceSecret(accumulatorName(domain), accumulator, ACCUMULATOR_BINDING);
      next.pendingWrap = complete;
    }
    accumulator.fill(0);

    table[domain] = next;
    await this.saveTable(table);
    return next;
  }

  /** Sets up an unset domain expecting `total` shares (KEY DOMAIN P1 01). */
  async create(domain: number, total: number): Promise<DomainState> {
    const table = await this.table();
    const state: DomainState = { total, imported: 0, kcv: new Uint8Array(8), pendingWrap: false };
    table[domain] = state;
    await this.saveTable(table);
    return state;
  }

  /** Forgets the DKEK and the imported shares, keeping the number of shares expected (KEY DOMAIN P1 04). */
  async clear(domain: number, state: DomainState | null): Promise<DomainState> {
    await this.deleteSecrets(domain);
    if (!state) return { total: 0xff, imported: 0xff, kcv: new Uint8Array(8), pendingWrap: false };

    const table = await this.table();
    const cleared: DomainState = { total: state.total, imported: 0, kcv: new Uint8Array(8), pendingWrap: false };
    table[domain] = cleared;
    await this.saveTable(table);
    return cleared;
  }

  /** Returns the domain to the unset state and deletes its DKEK (KEY DOMAIN P1 03). */
  async remove(domain: number): Promise<void> {
    await this.deleteSecrets(domain);
    const table = await this.table();
    table[domain] = null;
    await this.saveTable(table);
  }

  private async deleteSecrets(domain: number): Promise<void> {
    await this.keystore.delete(accumulatorName(domain));
    await this.keystore.delete(dkekName(domain));
  }

  /** Moves every completed DKEK still sealed under the device secret under the MKEK (after a PIN verification). */
  async sealPending(): Promise<void> {
    if (!this.keystore.unlocked) return;

    const table = await this.table();
    let changed = false;
    for (const [domain, state] of table.entries()) {
      if (!state?.pendingWrap) continue;
      const dkek = await this.keystore.getDeviceSecret(accumulatorName(domain), ACCUMULATOR_BINDING);
      if (!dkek) continue;
      await this.keystore.putSecret(dkekName(domain), dkek, DKEK_BINDING);
      await this.keystore.delete(accumulatorName(domain));
      dkek.fill(0);
      state.pendingWrap = false;
      changed = true;
    }
    if (changed) await this.saveTable(table);
  }

  /**
   * Returns the complete DKEK of `domain`, or undefined when the domain has
   * none (WRAP returns 6A88 then). Needs a PIN session unless the DKEK is still
   * pending its MKEK seal.
   */
  async loadDkek(domain: number): Promise<Uint8Array | undefined> {
    const table = await this.table();
    const state = table[domain];
    if (!isCompleteState(state)) return undefined;

    if (state.pendingWrap) return this.keystore.getDeviceSecret(accumulatorName(domain), ACCUMULATOR_BINDING);
    return this.keystore.getSecret(dkekName(domain), DKEK_BINDING);
  }

  /** Reports whether `domain` has a complete DKEK: all of its shares (at least one) imported. */
  async isComplete(domain: number): Promise<boolean> {
    const state = (await this.table())[domain];
    return isCompleteState(state);
  }

  /**
   * Returns the lowest domain whose complete DKEK has the KCV `kcv`, or
   * undefined. UNWRAP uses it to pick the DKEK of a key blob.
   */
  async findByKcv(kcv: Uint8Array): Promise<number | undefined> {
    const table = await this.table();
    const index = table.findIndex((state) => isCompleteState(state) && sameBytes(state!.kcv, kcv));
    return index < 0 ? undefined : index;
  }

  /** Encodes the KEY DOMAIN answer: total ‖ outstanding ‖ KCV(8). */
  static statusBytes(state: DomainState): Uint8Array {
    const out = new Uint8Array(10);
    out[0] = state.total;
    out[1] = Math.max(state.total - state.imported, 0);
    out.set(state.imported === 0 ? new Uint8Array(8) : state.kcv, 2);
    return out;
  }
}

function isCompleteState(state: DomainState | null | undefined): state is DomainState {
  return !!state && state.total > 0 && state.total !== 0xff && state.imported === state.total;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
