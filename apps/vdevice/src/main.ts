/**
 * Entry point of the virtual device: parses the command line, opens each device
 * on its own data directory, serves it to its vpcd slot until SIGINT or SIGTERM,
 * then closes both so that the data directories are released.
 *
 * Exit status: 0 after a clean stop, 1 when the device fails, 2 on a usage error.
 */

import process from "node:process";

import { parseCommandLine, USAGE, UsageError } from "./cli.ts";
import type { DeviceSettings } from "./cli.ts";
import { createLogger } from "./log.ts";
import type { Logger } from "./log.ts";
import { VpcdLink } from "./transport/vpcd.ts";

const STOP_SIGNALS = ["SIGINT", "SIGTERM"] as const;

async function main(args: readonly string[]): Promise<number> {
  let devices: DeviceSettings[];
  let printOnly = false;

  try {
    const commandLine = parseCommandLine(args, process.env);
    if (commandLine.kind === "help") {
      process.stdout.write(USAGE);
      return 0;
    }
    devices = commandLine.devices;
    printOnly = commandLine.kind === "print-chain";
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`vdevice: ${error.message}\n`);
    return 2;
  }

  const rootLogger = createLogger({ level: devices[0].logLevel });
  const logger = devices.length === 1 ? rootLogger.child({ device: devices[0].name }) : rootLogger;
  try {
    if (printOnly) {
      const { printChain } = await import("./attestation/print-chain.ts");
      return await printChain(devices[0], logger, (text) => process.stdout.write(text));
    }
    return await serveAll(devices, rootLogger);
  } catch (error) {
    logger.error("vdevice failed", { error: describe(error) });
    return 1;
  }
}

/** A device connected to its vpcd slot; `stop` disconnects it and closes its data directory. */
interface ServedDevice {
  stop(signal: string): Promise<void>;
}

/**
 * Starts every device, each on its own slot with its own data directory, and
 * stops them all at the first SIGINT or SIGTERM. When one fails to start, the
 * ones already started are stopped and the exit status is 1.
 */
async function serveAll(devices: readonly DeviceSettings[], rootLogger: Logger): Promise<number> {
  const served: ServedDevice[] = [];

  for (const settings of devices) {
    const device = await serve(settings, rootLogger.child({ device: settings.name }), devices.length > 1);
    if (device === undefined) {
      await Promise.all(served.map((started) => started.stop("start-up failure")));
      return 1;
    }
    served.push(device);
  }

  const signal = await nextStopSignal();

  // A second signal while closing means the user does not want to wait.
  for (const name of STOP_SIGNALS) process.once(name, () => process.exit(130));

  await Promise.all(served.map((device) => device.stop(signal)));
  return 0;
}

/** Opens one device and connects it to vpcd; logs the failure and returns undefined when it cannot start. */
async function serve(settings: DeviceSettings, logger: Logger, manyDevices: boolean): Promise<ServedDevice | undefined> {
  const vpcd = `${settings.vpcd.host}:${settings.vpcd.port}`;
  logger.info("vdevice starting", { dataDir: settings.dataDir, vpcd, secretFile: settings.secretFile });

  // Loaded here so that --help and usage errors do not load the card and its crypto.
  const { createDevice } = await import("./device.ts");

  const { startButton } = await import("./button/setup.ts");
  const button = await startButton(settings.button ?? {}, `${settings.dataDir}.button-token`, logger, (line) => process.stdout.write(`${line}\n`), {
    deviceName: manyDevices ? settings.name : undefined,
  });

  let device;
  try {
    device = await createDevice({
      dataDir: settings.dataDir,
      name: settings.name,
      logger,
      secretFile: settings.secretFile,
      reinitializeWithoutSoPin: settings.reinitializeWithoutSoPin,
      issuerDir: settings.issuerDir,
      secureMessaging: !settings.noSecureMessaging,
      chipAuthenticationBeforePin: !settings.chipAuthenticationAfterVerify,
      presence: button.presence,
      led: button.led,
    });
  } catch (error) {
    logger.error("device failed to start", { dataDir: settings.dataDir, error: describe(error) });
    await button.close();
    return undefined;
  }

  const { rsaEngineName } = await import("./crypto/rsa.ts");
  logger.info("device ready", { rsaEngine: rsaEngineName() });

  const link = new VpcdLink({ address: settings.vpcd, card: device, logger });
  link.start();

  return {
    stop: async (signal) => {
      logger.info("vdevice stopping", { signal });
      await link.stop();
      await device.close();
      await button.close();
      logger.info("vdevice stopped", { dataDir: settings.dataDir });
    },
  };
}

/** Resolves with the name of the first SIGINT or SIGTERM received. */
function nextStopSignal(): Promise<string> {
  return new Promise((resolve) => {
    const handlers = STOP_SIGNALS.map((name) => {
      const handler = () => {
        for (const [other, otherHandler] of handlers) process.off(other, otherHandler);
        resolve(name);
      };
      process.on(name, handler);
      return [name, handler] as const;
    });
  });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

process.exit(await main(process.argv.slice(2)));
