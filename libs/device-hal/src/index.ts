/**
 * @hsmkit/device-hal: the host side of Pico HSM boards over the WebUSB API.
 * Board facts, UF2 files, a CCID driver whose `transmit` matches the virtual
 * device's, the rescue-applet client, and PICOBOOT flashing. In-memory USB
 * simulators are exported from `@hsmkit/device-hal/simulators`.
 */
export * from "./boards.ts";
export * from "./ccid-message.ts";
export { CcidReader, selectCcidInterface, type CcidReaderOptions } from "./ccid-reader.ts";
export { classifyDevice, findBoards, type BoardMode, type FoundBoard } from "./discovery.ts";
export { DeviceHalError, hex, type DeviceHalErrorCode } from "./errors.ts";
export * from "./phy.ts";
export * from "./picoboot.ts";
export { FLASH_SECTOR_SIZE, flashImage, planFlashBatches, type FlashBatch, type FlashOptions, type FlashProgress } from "./picoboot-flash.ts";
export * from "./rescue.ts";
export * from "./uf2.ts";
export * from "./webusb.ts";
export { OTP_ROW, PICO_KEYS_BOOT_KEY_HASH, readRp2350SecureBoot, type Rp2350SecureBoot } from "./rp2350-secure-boot.ts";
