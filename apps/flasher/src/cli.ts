/** Command-line parsing and dispatch of the flasher; `runFlasher` returns the exit status. */
import { parseArgs } from "node:util";
import { DeviceHalError } from "@hsmkit/device-hal";
import { flashEsp32s3Command } from "./commands/esp32.ts";
import { flashCommand } from "./commands/flash.ts";
import { infoCommand } from "./commands/info.ts";
import { rescueInfoCommand, rescuePhyCommand, rescueRebootCommand, rescueSecureBootCommand } from "./commands/rescue.ts";
import { uf2ConvertCommand, uf2InfoCommand } from "./commands/uf2.ts";
import { UsageError, type FlasherEnvironment } from "./environment.ts";

export const HELP = `usage: flasher COMMAND [options]

  info                          list attached Pico Keys boards and BOOTSEL drives
  flash FILE.uf2                flash an RP2040/RP2350 in BOOTSEL mode (PICOBOOT, else its drive)
        --serial ID             the board's USB serial, when several are attached
        --drive DIR             copy to this mounted BOOTSEL drive instead of PICOBOOT
        --no-reboot             stay in BOOTSEL after flashing
  flash --esp32s3 FILE.bin      flash an ESP32-S3 in download mode at 0x0 through esptool-js
        --port DEVICE           its serial device, e.g. /dev/ttyACM0
        --vendor-signed         the image is the vendor-signed release (needed on a secure chip)
  uf2 info FILE.uf2             show blocks, family and address range
  uf2 convert IN OUT            .bin to .uf2 (needs --family rp2040|rp2350-arm-s|rp2350-riscv|absolute|data,
                                optional --base ADDRESS, default 0x10000000) or .uf2 to .bin
  rescue info                   identity, PHY record, flash use and secure-boot state
  rescue phy [changes]          show, or change and write, the PHY record:
        --vid-pid VVVV:PPPP | --preset NAME, --product TEXT, --led-gpio N,
        --led-brightness 0-15, --led-driver NAME, --presence-timeout SECONDS,
        --usb-interfaces MASK (0x01 CCID, 0x02 WebCCID)
  rescue reboot [--bootsel]     reboot the firmware, or into BOOTSEL (press the button)
  rescue secure-boot --key-index N [--lock] --confirm-irreversible
                                burn secure boot (RP2350, ESP32-S3); permanent

  --dry-run                     show what would happen and change nothing
  -h, --help                    show this text
`;

const OPTIONS = {
  serial: { type: "string" },
  drive: { type: "string" },
  "no-reboot": { type: "boolean", default: false },
  esp32s3: { type: "boolean", default: false },
  port: { type: "string" },
  "vendor-signed": { type: "boolean", default: false },
  family: { type: "string" },
  base: { type: "string" },
  "dry-run": { type: "boolean", default: false },
  bootsel: { type: "boolean", default: false },
  "key-index": { type: "string" },
  lock: { type: "boolean", default: false },
  "confirm-irreversible": { type: "boolean", default: false },
  "vid-pid": { type: "string" },
  preset: { type: "string" },
  product: { type: "string" },
  "led-gpio": { type: "string" },
  "led-brightness": { type: "string" },
  "led-driver": { type: "string" },
  "presence-timeout": { type: "string" },
  "usb-interfaces": { type: "string" },
  help: { type: "boolean", short: "h", default: false },
} as const;

/** Runs one command; errors are printed as one line on stderr. Returns 0 on success, 2 on bad usage, 1 or 3 on failure. */
export async function runFlasher(argv: string[], env: FlasherEnvironment): Promise<number> {
  try {
    return await dispatch(argv, env);
  } catch (error) {
    if (error instanceof UsageError) {
      env.stderr.write(`flasher: ${error.message}\n`);
      return error.exitCode;
    }
    if (error instanceof DeviceHalError) {
      env.stderr.write(`flasher: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

async function dispatch(argv: string[], env: FlasherEnvironment): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    // Node's parseArgs appends advice about "--" that does not apply to this command line.
    const reason = (error as Error).message.replace(/\. To specify a positional argument.*$/s, "");
    throw new UsageError(`${reason}; run flasher --help`);
  }
  const { values, positionals } = parsed;
  const [command, sub, ...rest] = positionals;

  if (values.help || command === undefined) {
    env.stdout(HELP);
    return command === undefined && !values.help ? 2 : 0;
  }

  const dryRun = values["dry-run"];
  switch (command) {
    case "info":
      return infoCommand(env);
    case "flash": {
      if (sub === undefined) throw new UsageError("flash needs a file: flasher flash FILE.uf2");
      if (values.esp32s3) return flashEsp32s3Command(env, { file: sub, port: values.port, dryRun, vendorSigned: values["vendor-signed"] });
      return flashCommand(env, { file: sub, serial: values.serial, drive: values.drive, dryRun, reboot: !values["no-reboot"] });
    }
    case "uf2":
      if (sub === "info" && rest[0] !== undefined) return uf2InfoCommand(env, rest[0]);
      if (sub === "convert" && rest.length === 2) return uf2ConvertCommand(env, { input: rest[0], output: rest[1], family: values.family, base: values.base });
      throw new UsageError("use `flasher uf2 info FILE.uf2` or `flasher uf2 convert IN OUT [--family NAME]`");
    case "rescue":
      return dispatchRescue(sub, values, env, dryRun);
    default:
      throw new UsageError(`unknown command ${command}; run flasher --help`);
  }
}

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>["values"];

function dispatchRescue(sub: string | undefined, values: Values, env: FlasherEnvironment, dryRun: boolean): Promise<number> {
  switch (sub) {
    case "info":
      return rescueInfoCommand(env, values.serial);
    case "phy": {
      const changes = Object.fromEntries(
        Object.entries({
          vidPid: values["vid-pid"],
          preset: values.preset,
          product: values.product,
          ledGpio: values["led-gpio"],
          ledBrightness: values["led-brightness"],
          ledDriver: values["led-driver"],
          presenceTimeout: values["presence-timeout"],
          usbInterfaces: values["usb-interfaces"],
        }).filter(([, value]) => value !== undefined),
      );
      return rescuePhyCommand(env, { serial: values.serial, dryRun, changes });
    }
    case "reboot":
      return rescueRebootCommand(env, { serial: values.serial, bootsel: values.bootsel, dryRun });
    case "secure-boot":
      return rescueSecureBootCommand(env, { serial: values.serial, keyIndex: values["key-index"], lock: values.lock, confirm: values["confirm-irreversible"], dryRun });
    default:
      throw new UsageError("use `flasher rescue info|phy|reboot|secure-boot`; run flasher --help");
  }
}
