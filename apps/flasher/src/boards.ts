/** Picks the one board a command acts on; when there is none or several, the error names the fix. */
import { findBoards, type BoardMode, type FoundBoard, type UsbBackend } from "@hsmkit/device-hal";
import { UsageError } from "./environment.ts";

/** Returns the only board in `mode` (narrowed by `serial`), or throws UsageError naming the fix. */
export async function selectBoard(usb: UsbBackend, mode: BoardMode, serial: string | undefined): Promise<FoundBoard> {
  const boards = await findBoards(usb, { mode, serial });
  if (boards.length === 1) return boards[0];

  if (boards.length > 1) {
    const list = boards.map((board) => `${board.serial ?? "(no serial)"} ${board.usbId}`).join(", ");
    throw new UsageError(`${boards.length} boards match (${list}); choose one with --serial`);
  }

  const others = await findBoards(usb, { serial });
  if (mode === "application" && others.some((board) => board.mode === "bootsel")) {
    throw new UsageError("the board is in BOOTSEL mode, where the rescue interface does not run; flash a firmware first or replug it without holding BOOTSEL");
  }
  if (mode === "bootsel" && others.some((board) => board.mode === "application")) {
    throw new UsageError(
      "the board is running its firmware, not in BOOTSEL mode; run `flasher rescue reboot --bootsel` and press the button when the LED blinks, " +
        "or unplug it and plug it in while holding BOOTSEL",
    );
  }
  const kind = mode === "bootsel" ? "board in BOOTSEL mode" : "Pico Keys board";
  const narrowed = serial === undefined ? "" : ` with serial ${serial}`;
  throw new UsageError(`no ${kind}${narrowed} found on USB; check the cable and, on Linux, the udev permission for the board's VID:PID`);
}
