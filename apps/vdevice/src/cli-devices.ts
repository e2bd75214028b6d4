/**
 * Several devices in one process: `--slots N` and repeated `--device` turn the
 * parsed options into one DeviceSettings per vpcd slot. vpcd numbers its
 * readers from the port of slot 0: slot N listens on that port + N and is the
 * reader "Virtual PCD 00 0N".
 */

import { defaultDataDir, parseName, UsageError } from "./cli.ts";
import type { DeviceSettings } from "./cli.ts";

/** The options that choose how many devices run and where. */
export interface DeviceOptions {
  /** Value of `--slots`, if given. */
  slots?: string;
  /** Values of each `--device`, in order. */
  devices: readonly string[];
  /** Options given on the command line that name a single device. */
  singleDeviceOptions: readonly string[];
}

const DEVICE_KEYS = ["name", "slot", "data-dir", "secret-file", "issuer"] as const;
type DeviceKey = (typeof DEVICE_KEYS)[number];

export const DEVICE_SPEC_FORMAT = "name=NAME,slot=N[,data-dir=DIR][,secret-file=FILE][,issuer=DIR]";

/**
 * Expands `base` (the settings of slot 0) into the devices to run. Without
 * `--slots` or `--device` that is `base` alone.
 */
export function expandDevices(base: DeviceSettings, options: DeviceOptions, env: Readonly<Record<string, string | undefined>>): DeviceSettings[] {
  if (options.slots !== undefined && options.devices.length > 0) {
    throw new UsageError("--slots and --device both choose the devices: give one of them");
  }

  let devices: DeviceSettings[];
  if (options.slots !== undefined) {
    devices = devicesForSlots(base, parseSlotCount(options.slots), options.singleDeviceOptions, env);
  } else if (options.devices.length > 0) {
    rejectSingleDeviceOptions("--device", options.singleDeviceOptions);
    devices = options.devices.map((spec) => parseDeviceSpec(spec, base, env));
  } else {
    return [base];
  }

  rejectSharedState(devices);
  return devices;
}

/** Slot 0 keeps NAME, so `--slots 2` serves the usual device plus NAME-1 on the next reader. */
function devicesForSlots(base: DeviceSettings, count: number, singleDeviceOptions: readonly string[], env: Readonly<Record<string, string | undefined>>): DeviceSettings[] {
  if (count === 1) return [base];

  rejectSingleDeviceOptions("--slots", singleDeviceOptions.filter((option) => option !== "--name"));
  return Array.from({ length: count }, (_, slot) => {
    const name = slot === 0 ? base.name : `${base.name}-${slot}`;
    return { ...base, name, dataDir: defaultDataDir(name, env), vpcd: slotAddress(base, slot) };
  });
}

function parseSlotCount(value: string): number {
  const count = Number(value);
  if (!/^\d+$/.test(value) || count < 1) {
    throw new UsageError(`invalid --slots "${value}": give the number of devices, 1 or more (Debian's vpcd has 2 slots)`);
  }
  return count;
}

function parseDeviceSpec(spec: string, base: DeviceSettings, env: Readonly<Record<string, string | undefined>>): DeviceSettings {
  const fields = new Map<DeviceKey, string>();

  for (const part of spec.split(",")) {
    const equals = part.indexOf("=");
    const key = part.slice(0, equals);
    const value = part.slice(equals + 1);
    if (equals < 0 || !(DEVICE_KEYS as readonly string[]).includes(key)) {
      throw new UsageError(`invalid --device "${spec}": "${part}" is not one of ${DEVICE_KEYS.map((k) => `${k}=`).join(", ")}; give ${DEVICE_SPEC_FORMAT}`);
    }
    if (fields.has(key as DeviceKey)) throw new UsageError(`invalid --device "${spec}": ${key} given twice`);
    if (value.trim() === "") throw new UsageError(`invalid --device "${spec}": ${key} is empty`);
    fields.set(key as DeviceKey, value);
  }

  const nameValue = fields.get("name");
  const slotValue = fields.get("slot");
  if (nameValue === undefined || slotValue === undefined) {
    throw new UsageError(`invalid --device "${spec}": name and slot are required; give ${DEVICE_SPEC_FORMAT}`);
  }

  const name = parseName(nameValue);
  const slot = parseSlot(slotValue, spec, base);
  const secretFile = fields.get("secret-file");
  const issuerDir = fields.get("issuer");

  // base has no secretFile here (--secret-file is rejected with --device); its issuerDir is the shared --issuer.
  return {
    ...base,
    name,
    dataDir: fields.get("data-dir") ?? defaultDataDir(name, env),
    vpcd: slotAddress(base, slot),
    ...(secretFile === undefined ? {} : { secretFile }),
    ...(issuerDir === undefined ? {} : { issuerDir }),
  };
}

function parseSlot(value: string, spec: string, base: DeviceSettings): number {
  const slot = Number(value);
  if (!/^\d+$/.test(value) || base.vpcd.port + slot > 65535) {
    throw new UsageError(`invalid slot in --device "${spec}": give 0, 1, … (slot N is vpcd port ${base.vpcd.port} + N)`);
  }
  return slot;
}

function slotAddress(base: DeviceSettings, slot: number): DeviceSettings["vpcd"] {
  const port = base.vpcd.port + slot;
  if (port > 65535) throw new UsageError(`too many slots: slot ${slot} would be port ${port}, above 65535`);
  return { host: base.vpcd.host, port };
}

function rejectSingleDeviceOptions(by: string, options: readonly string[]): void {
  if (options.length === 0) return;
  throw new UsageError(`${options[0]} names one device and cannot be combined with ${by}: give it per device with --device ${DEVICE_SPEC_FORMAT}`);
}

/** Two devices must not share a reader, a name, a data directory or a secret file. */
function rejectSharedState(devices: readonly DeviceSettings[]): void {
  const seen = new Map<string, string>();
  for (const device of devices) {
    const claims = [
      `slot on port ${device.vpcd.port}`,
      `name ${device.name}`,
      `data directory ${device.dataDir}`,
      ...(device.secretFile === undefined ? [] : [`secret file ${device.secretFile}`]),
    ];
    for (const claim of claims) {
      const owner = seen.get(claim);
      if (owner === undefined) {
        seen.set(claim, device.name);
        continue;
      }
      if (owner === device.name) throw new UsageError(`two devices are named ${device.name}: give each device its own name`);
      throw new UsageError(`devices ${owner} and ${device.name} share the ${claim}: give each device its own`);
    }
  }
}
