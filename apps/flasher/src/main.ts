/** Entry point: runs the flasher with the system's USB devices and the usual drive mount points. */
import process from "node:process";
import { userInfo } from "node:os";
import { runFlasher } from "./cli.ts";
import { TtyPort } from "./esp32/tty-port.ts";
import { openSystemUsb } from "./usb-backend.ts";

const user = safeUserName();
const exitCode = await runFlasher(process.argv.slice(2), {
  usb: openSystemUsb,
  serialPort: async (path) => new TtyPort(path),
  driveRoots: [`/media/${user}`, `/run/media/${user}`, "/media", "/Volumes"].filter((root) => !root.endsWith("/")),
  stdout: (text) => process.stdout.write(text),
  stderr: { write: (text) => void process.stderr.write(text), isTerminal: process.stderr.isTTY === true },
});
process.exit(exitCode);

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return "";
  }
}
