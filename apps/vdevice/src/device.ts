/**
 * The virtual SmartCard-HSM: storage, keystore, the HSM and rescue applets and
 * the card runtime that carries APDUs to them. The transport (vpcd) and tests
 * talk to it only through `transmit` and the power calls.
 */
import { CardRuntime, formatStatusWord, type CommandApdu } from "@hsmkit/apdu";
import { createIssuerMaterial, DeviceIssuer } from "./attestation/issuer.ts";
import { defaultIssuerDirectory, loadOrCreateIssuer } from "./attestation/issuer-store.ts";
import { MemoryBackend, openKeystore, type StorageBackend } from "@hsmkit/keystore";
import type { LedStatus } from "./button/led.ts";
import type { PresenceConfirmer } from "./button/presence.ts";
import { HsmApplet } from "./hsm/applet.ts";
import { HSM_ATR } from "./hsm/constants.ts";
import type { HsmState } from "./hsm/context.ts";
import { DeviceState } from "./hsm/device-state.ts";
import { ensureDeviceIdentity, useIssuer } from "./hsm/identity.ts";
import { KeyDomains } from "./hsm/key-domains.ts";
import { ObjectStore } from "./hsm/objects.ts";
import { SessionState } from "./hsm/session.ts";
import { silentLogger, type Logger } from "./log.ts";
import { secureMessagingHandler } from "./sm/secure-messaging-handler.ts";
import { RescueApplet } from "./rescue/rescue-applet.ts";
import { defaultSecretPath, loadOrCreateDeviceSecret } from "./storage/device-secret.ts";
import { openDirectoryBackend } from "./storage/directory-backend.ts";

export interface DeviceOptions {
  /** Data directory; undefined keeps everything in memory (lost on close). */
  dataDir?: string;
  /** Name used in log records. */
  name?: string;
  logger?: Logger;
  /** File of the device secret; default: beside the data directory. Ignored in memory. */
  secretFile?: string;
  /** scrypt cost of the PIN derivation; tests lower it. */
  scrypt?: { N: number; r: number; p: number };
  /** Random source; defaults to crypto.getRandomValues. */
  random?: (length: number) => Uint8Array;
  /** Let INITIALIZE wipe an initialised device without its current SO-PIN, as the Pico HSM firmware does (default false). */
  reinitializeWithoutSoPin?: boolean;
  /** Accept secure-messaging APDUs after chip authentication (default true); false rejects them with 6E00, as the firmware does. */
  secureMessaging?: boolean;
  /** Allow chip authentication (GENERAL AUTHENTICATE) before VERIFY (default true, as OpenSC needs); false rejects it with 6400 without a PIN session. */
  chipAuthenticationBeforePin?: boolean;
  /** Issuer directory (root and DV that certify the device key); default `<dataDir>.issuer`. Ignored when `issuer` is given. */
  issuerDir?: string;
  /** Issuer to use instead of a directory; in memory without either, a new issuer is made for this device. */
  issuer?: DeviceIssuer;
  /** Answers press-to-confirm requests (option 0100); absent confirms them at once. */
  presence?: PresenceConfirmer;
  /** Receives the LED states (idle, active, processing, press-to-confirm). */
  led?: LedStatus;
}

export interface VirtualDevice {
  /** Answer to reset: the 24-byte ATR of the SmartCard-HSM. */
  readonly atr: Uint8Array;
  powerOn(): void;
  powerOff(): void;
  reset(): void;
  /** Processes one command APDU and returns the response APDU (data ‖ SW1 SW2). */
  transmit(command: Uint8Array): Promise<Uint8Array>;
  /** Releases the data directory; the device cannot be used afterwards. */
  close(): Promise<void>;
}

/** Opens the device on its storage, creating the device identity at first start. */
export async function createDevice(options: DeviceOptions = {}): Promise<VirtualDevice> {
  const logger = options.logger ?? silentLogger;
  const random = options.random ?? randomBytes;

  const directory = options.dataDir === undefined ? undefined : await openDirectoryBackend(options.dataDir, { log: logger });
  const backend: StorageBackend = directory ?? new MemoryBackend();

  try {
    const deviceSecret =
      options.dataDir === undefined
        ? random(32)
        : await loadOrCreateDeviceSecret(options.secretFile ?? defaultSecretPath(options.dataDir), {
            log: logger,
            create: (await backend.list()).length === 0,
          });

    const keystore = await openKeystore(backend, { deviceSecret, random, scrypt: options.scrypt });
    deviceSecret.fill(0);

    const objects = new ObjectStore(keystore);
    const device = new DeviceState(keystore, objects);
    await device.load();

    useIssuer(device, await openIssuer(options, logger, random));
    if (await ensureDeviceIdentity(objects, device, random)) {
      await keystore.commit();
      logger.info("device identity created", { chr: device.identity?.chr });
    }

    const state: HsmState = {
      keystore,
      objects,
      device,
      domains: new KeyDomains(keystore, random),
      session: new SessionState(),
      random,
      logger,
      policy: { reinitializeWithoutSoPin: options.reinitializeWithoutSoPin ?? false },
      presence: options.presence,
    };

    state.session.secureMessaging.allowBeforePin = options.chipAuthenticationBeforePin ?? true;
    const endSecureMessaging = () => state.session.secureMessaging.close();

    const hsm = new HsmApplet(state);
    const rescue = new RescueApplet({ keystore, serial: () => device.identity?.serial ?? new Uint8Array(8) });
    const runtime = new CardRuntime({
      atr: HSM_ATR,
      applets: [hsm, rescue],
      onCommand: (command, sw, detail) => logCommand(logger, command, sw, detail),
      ...(options.secureMessaging === false ? {} : { secureMessaging: secureMessagingHandler(state.session.secureMessaging, logger) }),
      onError: (error, command) => {
        logger.error("command failed with an internal error", { ins: command && hexByte(command.ins), error: describe(error) });
      },
    });

    const led = options.led;
    return {
      atr: runtime.atr,
      powerOn: () => {
        runtime.powerOn();
        led?.set("active");
      },
      powerOff: () => {
        endSecureMessaging();
        state.session.sessionPin.clear();
        runtime.powerOff();
        led?.set("idle");
      },
      reset: () => {
        endSecureMessaging();
        state.session.sessionPin.clear();
        runtime.reset();
      },
      transmit: async (command) => {
        led?.set("processing");
        try {
          return await runtime.transmit(command);
        } finally {
          led?.set("active");
        }
      },
      close: async () => {
        endSecureMessaging();
        keystore.lock();
        await directory?.close();
      },
    };
  } catch (error) {
    await directory?.close();
    throw error;
  }
}

/** Returns the issuer of the device certificate: the given one, the issuer directory's, or a new one in memory. */
async function openIssuer(options: DeviceOptions, logger: Logger, random: (length: number) => Uint8Array): Promise<DeviceIssuer> {
  if (options.issuer !== undefined) return options.issuer;

  const directory = options.issuerDir ?? (options.dataDir === undefined ? undefined : defaultIssuerDirectory(options.dataDir));
  if (directory !== undefined) return loadOrCreateIssuer(directory, { log: logger, random });
  return new DeviceIssuer(await createIssuerMaterial(random, new Date()));
}

function logCommand(logger: Logger, command: CommandApdu | undefined, sw: number, detail: string | undefined): void {
  if (logger.level !== "debug") return;
  logger.debug("apdu", { ins: command ? hexByte(command.ins) : undefined, sw: formatStatusWord(sw), detail });
}

function randomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += 65536) crypto.getRandomValues(out.subarray(offset, Math.min(length, offset + 65536)));
  return out;
}

function hexByte(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, "0");
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
