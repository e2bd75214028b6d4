/** `flasher info`: lists attached boards, and for each one in application mode its rescue-applet identity. */
import { CcidReader, DeviceHalError, findBoards, RescueClient, type FoundBoard } from "@hsmkit/device-hal";
import { toHex } from "@hsmkit/tlv";
import { findBootselDrives } from "../bootsel-drive.ts";
import type { FlasherEnvironment } from "../environment.ts";

export async function infoCommand(env: FlasherEnvironment): Promise<number> {
  const boards = await findBoards(await env.usb());
  const drives = await findBootselDrives(env.driveRoots);

  if (boards.length === 0 && drives.length === 0) {
    env.stdout("no Pico Keys board found; plug one in (hold BOOTSEL to flash it)\n");
    return 0;
  }
  for (const board of boards) env.stdout(await describeBoard(board));
  for (const drive of drives) env.stdout(`drive ${drive.path}: BOOTSEL drive of ${drive.chip?.name ?? "an unknown chip"} (${drive.boardId ?? "no Board-ID"})\n`);
  return 0;
}

async function describeBoard(board: FoundBoard): Promise<string> {
  const head = `${board.usbId} serial ${board.serial ?? "-"}`;
  if (board.mode === "bootsel") return `${head}: ${board.chip?.name} in BOOTSEL mode (PICOBOOT)\n`;

  try {
    return `${head}: ${await describeFirmware(board)}\n`;
  } catch (error) {
    const reason = error instanceof DeviceHalError ? error.message : String(error);
    return `${head}: ${board.product ?? "Pico Keys board"}, rescue applet not reachable (${reason})\n`;
  }
}

async function describeFirmware(board: FoundBoard): Promise<string> {
  const reader = await CcidReader.open(board.device);
  try {
    const rescue = new RescueClient(reader.transmit);
    const identity = await rescue.select();
    const secure = await rescue.secureBootStatus();
    const chip = identity.chip?.name ?? `MCU code ${identity.mcu}`;
    const secureText = secure.enabled ? `secure boot on (key ${secure.keyIndex}${secure.locked ? ", locked" : ""})` : "secure boot off";
    return `Pico ${identity.product} ${identity.version.major}.${identity.version.minor} on ${chip}, chip ID ${toHex(identity.serial)}, ${secureText}`;
  } finally {
    await reader.close();
  }
}
