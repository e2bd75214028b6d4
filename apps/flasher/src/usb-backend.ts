/**
 * The USB device list on Deno and Node: the WebUSB class of the npm `usb`
 * package (v3, a Node-API addon with prebuilt binaries per platform).
 * `allowAllDevices` lists every device without a browser-style permission
 * prompt; access still needs OS permission (udev rules on Linux).
 */
import type { UsbBackend } from "@hsmkit/device-hal";
import { UsageError } from "./environment.ts";

/** Loads `usb` and returns its WebUSB instance; the addon is loaded only when a command needs USB. */
export async function openSystemUsb(): Promise<UsbBackend> {
  let module: typeof import("usb");
  try {
    module = await import("usb");
  } catch (error) {
    throw new UsageError(`the usb package failed to load (${describe(error)}); run \`npm ci\` in the repository root`, 3);
  }

  const webusb = new module.WebUSB({ allowAllDevices: true });
  return {
    getDevices: async () => {
      try {
        return (await webusb.getDevices()) as unknown as Awaited<ReturnType<UsbBackend["getDevices"]>>;
      } catch (error) {
        throw new UsageError(
          `listing USB devices failed (${describe(error)}); run the flasher on a machine whose USB bus it can see ` +
            "(on Linux: /sys/bus/usb and /dev/bus/usb, with a udev rule granting access to 2E8A:*)",
          3,
        );
      }
    },
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
