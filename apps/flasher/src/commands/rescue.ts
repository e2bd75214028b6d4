/**
 * `flasher rescue …`: the rescue applet of a board in application mode.
 * `info` reads identity, PHY, flash statistics and secure-boot status. `phy`
 * changes PHY fields by reading, modifying and writing back the whole record.
 * `reboot` restarts the board, into BOOTSEL with `--bootsel`. `secure-boot`
 * burns the chip's secure boot, and rejects the request without
 * `--confirm-irreversible`.
 */
import { CcidReader, formatUsbId, LED_DRIVERS, RescueClient, vidPidPreset, VIDPID_PRESETS, type PhyData } from "@hsmkit/device-hal";
import { toHex } from "@hsmkit/tlv";
import { selectBoard } from "../boards.ts";
import { UsageError, type FlasherEnvironment } from "../environment.ts";
import { formatBytes } from "../progress.ts";

export interface PhyChanges {
  vidPid?: string;
  preset?: string;
  ledGpio?: string;
  ledBrightness?: string;
  ledDriver?: string;
  product?: string;
  presenceTimeout?: string;
  usbInterfaces?: string;
}

/** Opens the board's CCID interface, runs `action` with a selected rescue client, and closes it. */
async function withRescue<T>(env: FlasherEnvironment, serial: string | undefined, action: (rescue: RescueClient) => Promise<T>): Promise<T> {
  const board = await selectBoard(await env.usb(), "application", serial);
  const reader = await CcidReader.open(board.device);
  try {
    const rescue = new RescueClient(reader.transmit);
    await rescue.select();
    return await action(rescue);
  } finally {
    await reader.close().catch(() => {});
  }
}

export async function rescueInfoCommand(env: FlasherEnvironment, serial: string | undefined): Promise<number> {
  return withRescue(env, serial, async (rescue) => {
    const identity = await rescue.select();
    env.stdout(`chip: ${identity.chip?.name ?? `MCU code ${identity.mcu}`}\nfirmware: Pico ${identity.product} ${identity.version.major}.${identity.version.minor}\nchip ID: ${toHex(identity.serial)}\n`);
    env.stdout(describePhy(await rescue.readPhy()));

    const flash = await rescue.flashStatistics();
    env.stdout(`flash: ${formatBytes(flash.flashSize)}; data area ${formatBytes(flash.used)} used of ${formatBytes(flash.total)}, ${flash.files} files\n`);
    const secure = await rescue.secureBootStatus();
    env.stdout(`secure boot: ${secure.enabled ? `on, key slot ${secure.keyIndex}` : "off"}${secure.locked ? ", locked" : ""}\n`);
    return 0;
  });
}

export async function rescuePhyCommand(env: FlasherEnvironment, options: { serial?: string; dryRun: boolean; changes: PhyChanges }): Promise<number> {
  const apply = parsePhyChanges(options.changes);
  return withRescue(env, options.serial, async (rescue) => {
    const current = await rescue.readPhy();
    const next = apply(current);
    if (Object.keys(options.changes).length === 0 || options.dryRun) {
      env.stdout(describePhy(next));
      if (options.dryRun) env.stdout("dry run, nothing written\n");
      return 0;
    }

    env.stdout("press the button on the board when its LED blinks\n");
    await rescue.writePhy(next);
    env.stdout(describePhy(next) + "written; VID:PID, product and interface changes take effect after a reboot\n");
    return 0;
  });
}

export async function rescueRebootCommand(env: FlasherEnvironment, options: { serial?: string; bootsel: boolean; dryRun: boolean }): Promise<number> {
  return withRescue(env, options.serial, async (rescue) => {
    if (options.dryRun) {
      env.stdout(`would reboot ${options.bootsel ? "into BOOTSEL" : "into the firmware"}; dry run\n`);
      return 0;
    }
    if (options.bootsel) {
      env.stdout("press the button on the board when its LED blinks\n");
      await rescue.rebootToBootloader();
      env.stdout("the board is rebooting into BOOTSEL; run `flasher info` to see it\n");
    } else {
      await rescue.reboot();
      env.stdout("the board is rebooting\n");
    }
    return 0;
  });
}

export async function rescueSecureBootCommand(env: FlasherEnvironment, options: { serial?: string; keyIndex?: string; lock: boolean; confirm: boolean; dryRun: boolean }): Promise<number> {
  const keyIndex = Number(options.keyIndex);
  if (options.keyIndex === undefined || !Number.isInteger(keyIndex)) throw new UsageError("secure-boot needs --key-index: 0 to 3 on RP2350, 0 to 2 on ESP32-S3");

  return withRescue(env, options.serial, async (rescue) => {
    const identity = await rescue.select();
    if (identity.chip === undefined) throw new UsageError(`the board reports MCU code ${identity.mcu}, which has no secure boot`);
    const action = `burn secure boot with the Pico Keys vendor key in slot ${keyIndex}${options.lock ? " and lock the chip (debug off, other key slots revoked)" : ""}`;

    if (options.dryRun) {
      env.stdout(`would ${action} on the ${identity.chip.name}; dry run, nothing burned\n`);
      return 0;
    }
    if (!options.confirm) {
      throw new UsageError(`this would ${action}. It is permanent: the chip will boot only firmware signed by the Pico Keys vendor. Add --confirm-irreversible to proceed`);
    }

    env.stdout("press the button on the board when its LED blinks\n");
    await rescue.enableSecureBoot({ keyIndex, lock: options.lock, confirmIrreversible: true, chip: identity.chip });
    const status = await rescue.secureBootStatus();
    env.stdout(`secure boot: ${status.enabled ? "on" : "off"}${status.locked ? ", locked" : ""}\n`);
    return 0;
  });
}

/** Validates the command-line PHY changes up front and returns the function that applies them. */
function parsePhyChanges(changes: PhyChanges): (phy: PhyData) => PhyData {
  const updates: PhyData = {};

  if (changes.vidPid !== undefined && changes.preset !== undefined) throw new UsageError("give either --vid-pid or --preset, not both");
  if (changes.preset !== undefined) {
    const preset = vidPidPreset(changes.preset);
    if (preset === undefined) throw new UsageError(`unknown preset ${changes.preset}: use one of ${VIDPID_PRESETS.map((known) => known.name).join(", ")}`);
    updates.vidPid = { vendorId: preset.vendorId, productId: preset.productId };
  }
  if (changes.vidPid !== undefined) {
    const match = /^([0-9a-f]{4}):([0-9a-f]{4})$/i.exec(changes.vidPid);
    if (match === null) throw new UsageError(`--vid-pid ${changes.vidPid} is invalid: use four hex digits, a colon, four hex digits, e.g. 2E8A:10FD`);
    updates.vidPid = { vendorId: parseInt(match[1], 16), productId: parseInt(match[2], 16) };
  }
  if (changes.ledGpio !== undefined) updates.ledGpio = integer("--led-gpio", changes.ledGpio, 0, 47);
  if (changes.ledBrightness !== undefined) updates.ledBrightness = integer("--led-brightness", changes.ledBrightness, 0, 15);
  if (changes.presenceTimeout !== undefined) updates.presenceTimeout = integer("--presence-timeout", changes.presenceTimeout, 0, 255);
  if (changes.usbInterfaces !== undefined) updates.enabledUsbInterfaces = integer("--usb-interfaces", changes.usbInterfaces, 0, 0x1f);
  if (changes.product !== undefined) updates.usbProduct = changes.product;
  if (changes.ledDriver !== undefined) {
    const driver = LED_DRIVERS[changes.ledDriver as keyof typeof LED_DRIVERS];
    if (driver === undefined) throw new UsageError(`unknown LED driver ${changes.ledDriver}: use one of ${Object.keys(LED_DRIVERS).join(", ")}`);
    updates.ledDriver = { driver };
  }

  return (phy) => ({ ...phy, ...updates });
}

function integer(option: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) throw new UsageError(`${option} ${text} is invalid: use an integer from ${min} to ${max}`);
  return value;
}

function describePhy(phy: PhyData): string {
  const lines = [
    `VID:PID: ${phy.vidPid ? formatUsbId(phy.vidPid) : "build default"}`,
    `product: ${phy.usbProduct ?? "build default"}`,
    `LED: GPIO ${phy.ledGpio ?? "default"}, brightness ${phy.ledBrightness ?? "default"}, driver ${phy.ledDriver ? `0x${phy.ledDriver.driver.toString(16)}` : "default"}`,
    `presence timeout: ${phy.presenceTimeout ? `${phy.presenceTimeout} s` : "none (granted at once)"}`,
    `USB interfaces: ${phy.enabledUsbInterfaces === undefined ? "all" : `0x${phy.enabledUsbInterfaces.toString(16)}`}`,
  ];
  return lines.map((line) => `${line}\n`).join("");
}
