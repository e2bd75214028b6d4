/**
 * Board facts as data: chips, flash layouts, UF2 family IDs, the USB
 * identities each mode shows, and the VID:PID presets of the Pico Keys
 * firmware build (`VIDPID=<name>`). None of it was read from a real board.
 */

/** UF2 family IDs, named as in the UF2 project's `uf2families.json`. */
export const UF2_FAMILY = {
  RP2040: 0xe48bff56,
  /** RP2350: written to the given flash address, ignoring partitions. */
  ABSOLUTE: 0xe48bff57,
  /** RP2350: generic data, stored into a partition that accepts "data". */
  DATA: 0xe48bff58,
  RP2350_ARM_S: 0xe48bff59,
  RP2350_RISCV: 0xe48bff5a,
  /** RP2350 Arm Non-secure: not bootable by the bootrom. */
  RP2350_ARM_NS: 0xe48bff5b,
  /** Listed by the UF2 project; Pico HSM ships ESP32-S3 firmware as a raw .bin instead. */
  ESP32_S3: 0xc47e5767,
} as const;

const FAMILY_NAMES = new Map<number, string>([
  [UF2_FAMILY.RP2040, "rp2040"],
  [UF2_FAMILY.ABSOLUTE, "absolute"],
  [UF2_FAMILY.DATA, "data"],
  [UF2_FAMILY.RP2350_ARM_S, "rp2350-arm-s"],
  [UF2_FAMILY.RP2350_RISCV, "rp2350-riscv"],
  [UF2_FAMILY.RP2350_ARM_NS, "rp2350-arm-ns"],
  [0xe48bff55, "cyw43-firmware"],
  [UF2_FAMILY.ESP32_S3, "esp32s3"],
]);

/** Returns the family's name from `uf2families.json`, or its hex ID when unknown. */
export function familyName(familyId: number): string {
  return FAMILY_NAMES.get(familyId) ?? `0x${familyId.toString(16).toUpperCase().padStart(8, "0")}`;
}

/** Returns the family ID for a name such as "rp2040" or "rp2350-arm-s", or undefined. */
export function familyByName(name: string): number | undefined {
  for (const [id, known] of FAMILY_NAMES) if (known === name.toLowerCase()) return id;
  return undefined;
}

export type ChipId = "rp2040" | "rp2350" | "esp32s3";

export interface UsbIdentity {
  vendorId: number;
  productId: number;
}

export interface ChipFacts {
  id: ChipId;
  name: string;
  /** Flash size of the reference board (Pico, Pico 2, ESP32-S3 module), bytes. */
  defaultFlashSize: number;
  /** UF2 families this chip's bootrom boots; empty for ESP32-S3 (raw .bin images). */
  bootableFamilies: readonly number[];
  /** Address where the firmware starts (XIP address on RP chips, flash offset on ESP32-S3). */
  firmwareBase: number;
  /** Largest firmware size that leaves the key/data area untouched, bytes. */
  firmwareMaxSize: number;
  /** USB identity of the mask-ROM loader (BOOTSEL or ESP download mode). */
  bootloaderUsb: UsbIdentity;
  /** MCU byte at the start of the rescue applet's SELECT response. */
  rescueMcuCode: number;
  /** Mass-storage volume label in BOOTSEL; undefined where the ROM has no drive. */
  bootselDriveLabel?: string;
}

const MIB = 1024 * 1024;

/**
 * The chips Pico HSM runs on. On RP2040 the firmware must end below the
 * "PICOKEYS" marker at 0x10100000, and the upper half of flash contains the
 * keys. On RP2350 partition 0 ("PicoKeys Firmware") is 1024 KiB at flash
 * offset 0. On ESP32-S3 the merged image is written at 0x0 and the key store
 * "part0" starts at 0x200000.
 */
export const CHIPS: Record<ChipId, ChipFacts> = {
  rp2040: {
    id: "rp2040",
    name: "RP2040",
    defaultFlashSize: 2 * MIB,
    bootableFamilies: [UF2_FAMILY.RP2040],
    firmwareBase: 0x10000000,
    firmwareMaxSize: 1 * MIB,
    bootloaderUsb: { vendorId: 0x2e8a, productId: 0x0003 },
    rescueMcuCode: 0,
    bootselDriveLabel: "RPI-RP2",
  },
  rp2350: {
    id: "rp2350",
    name: "RP2350",
    defaultFlashSize: 4 * MIB,
    bootableFamilies: [UF2_FAMILY.RP2350_ARM_S, UF2_FAMILY.RP2350_RISCV],
    firmwareBase: 0x10000000,
    firmwareMaxSize: 1 * MIB,
    bootloaderUsb: { vendorId: 0x2e8a, productId: 0x000f },
    rescueMcuCode: 1,
    bootselDriveLabel: "RP2350",
  },
  esp32s3: {
    id: "esp32s3",
    name: "ESP32-S3",
    defaultFlashSize: 4 * MIB,
    bootableFamilies: [],
    firmwareBase: 0x0,
    firmwareMaxSize: 0x200000,
    bootloaderUsb: { vendorId: 0x303a, productId: 0x1001 },
    rescueMcuCode: 2,
  },
};

/** Boards as a user names them: the RP2350 runs either its Arm or its RISC-V cores. */
export interface BoardTarget {
  name: string;
  chip: ChipId;
  /** The UF2 family a Pico HSM release for this target uses. */
  family?: number;
  /** Release artefact name pattern. */
  releaseFile: string;
}

export const BOARD_TARGETS: readonly BoardTarget[] = [
  { name: "rp2040", chip: "rp2040", family: UF2_FAMILY.RP2040, releaseFile: "pico_hsm_pico-<version>.uf2" },
  { name: "rp2350-arm", chip: "rp2350", family: UF2_FAMILY.RP2350_ARM_S, releaseFile: "pico_hsm_pico2-<version>.uf2" },
  { name: "rp2350-riscv", chip: "rp2350", family: UF2_FAMILY.RP2350_RISCV, releaseFile: "(self-built RISC-V image)" },
  { name: "esp32s3", chip: "esp32s3", releaseFile: "pico_hsm_esp32-s3.bin" },
];

/** Returns the chip whose mask-ROM loader has this USB identity, if any. */
export function chipByBootloaderUsb(vendorId: number, productId: number): ChipFacts | undefined {
  return Object.values(CHIPS).find((chip) => chip.bootloaderUsb.vendorId === vendorId && chip.bootloaderUsb.productId === productId);
}

/** Returns the chip for the MCU byte of the rescue SELECT response (3 = desktop emulation: undefined). */
export function chipByRescueMcuCode(code: number): ChipFacts | undefined {
  return Object.values(CHIPS).find((chip) => chip.rescueMcuCode === code);
}

/** USB identity of a Pico Keys board in application mode. */
export const APPLICATION_USB = {
  /** VID:PID of a build without a preset (Raspberry Pi VID; PID granted to the project). */
  defaultId: { vendorId: 0x2e8a, productId: 0x10fd } as UsbIdentity,
  /** iManufacturer of every Pico Keys build; the key to recognising a board whatever its VID:PID. */
  manufacturer: "Pol Henarejos",
  defaultProduct: "Pico Key",
  /** Smart Card class: the CCID interface. */
  ccidInterfaceClass: 0x0b,
  /** Vendor class: the WebCCID interface (same CCID messages; claimable from browsers). */
  webCcidInterfaceClass: 0xff,
} as const;

export interface VidPidPreset extends UsbIdentity {
  /** Value of the firmware's `VIDPID=` build option. */
  name: string;
  /** Whose ID it is. Distributing binaries with an ID you do not own is not allowed. */
  owner: string;
}

/** The `VIDPID=` presets of the Pico Keys build, which borrow IDs that stock CCID drivers already list. */
export const VIDPID_PRESETS: readonly VidPidPreset[] = [
  { name: "NitroHSM", vendorId: 0x20a0, productId: 0x4230, owner: "Nitrokey HSM" },
  { name: "NitroFIDO2", vendorId: 0x20a0, productId: 0x42b1, owner: "Nitrokey FIDO2" },
  { name: "NitroStart", vendorId: 0x20a0, productId: 0x4211, owner: "Nitrokey Start" },
  { name: "NitroPro", vendorId: 0x20a0, productId: 0x4108, owner: "Nitrokey Pro" },
  { name: "Nitro3", vendorId: 0x20a0, productId: 0x42b2, owner: "Nitrokey 3" },
  { name: "Yubikey5", vendorId: 0x1050, productId: 0x0407, owner: "YubiKey 5" },
  { name: "YubikeyNeo", vendorId: 0x1050, productId: 0x0116, owner: "YubiKey NEO" },
  { name: "YubiHSM", vendorId: 0x1050, productId: 0x0030, owner: "YubiHSM" },
  { name: "Gnuk", vendorId: 0x234b, productId: 0x0000, owner: "Gnuk (FSIJ)" },
  { name: "GnuPG", vendorId: 0x1209, productId: 0x2440, owner: "GnuPG/Gnuk tokens (pid.codes VID)" },
];

/** Finds a preset by name, case-insensitively. */
export function vidPidPreset(name: string): VidPidPreset | undefined {
  return VIDPID_PRESETS.find((preset) => preset.name.toLowerCase() === name.toLowerCase());
}

/** Formats a USB identity as `VVVV:PPPP` in upper-case hex. */
export function formatUsbId(id: UsbIdentity): string {
  const four = (value: number) => value.toString(16).toUpperCase().padStart(4, "0");
  return `${four(id.vendorId)}:${four(id.productId)}`;
}
