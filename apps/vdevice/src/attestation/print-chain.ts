/**
 * `vdevice --print-chain`: opens the device on its data directory and reads EF
 * 2F02 through the card as a client would. It prints each certificate and the
 * result of checking the chain against the root of the issuer directory. It
 * also prints that root in hex, so users can install it as a trust anchor
 * (OpenSC's OpenPACE expects a binary file named after the CHR in its eac/cvc
 * directory).
 */
import { encodeCommandApdu, parseResponseApdu, transmitApdu } from "@hsmkit/apdu";
import { CvcError, decodeCvcChain, describeCvc, verifyChain } from "@hsmkit/cvc";
import { toHex } from "@hsmkit/tlv";
import type { DeviceSettings } from "../cli.ts";
import { HSM_AID } from "../hsm/constants.ts";
import type { Logger } from "../log.ts";
import { denoFs, isNotFound } from "../storage/deno-fs.ts";
import { defaultIssuerDirectory, loadOrCreateIssuer } from "./issuer-store.ts";

/** Prints the chain; returns the exit status: 0 when it verifies, 1 otherwise. */
export async function printChain(settings: DeviceSettings, logger: Logger, write: (text: string) => void): Promise<number> {
  if (!(await exists(settings.dataDir))) {
    logger.error("no device data directory: start the device once, or give --name or --data-dir", { dataDir: settings.dataDir });
    return 1;
  }

  const { createDevice } = await import("../device.ts");
  const issuerDir = settings.issuerDir ?? defaultIssuerDirectory(settings.dataDir);
  const device = await createDevice({ dataDir: settings.dataDir, secretFile: settings.secretFile, issuerDir, logger, name: settings.name });

  let content: Uint8Array;
  try {
    content = await readDeviceCertificates((frame) => device.transmit(frame));
  } finally {
    await device.close();
  }

  const chain = decodeCvcChain(content);
  chain.forEach((certificate, index) => write(`[${index}] ${describeCvc(certificate).toString()}\n\n`));

  const issuer = await loadOrCreateIssuer(issuerDir, { log: logger, random: (length) => crypto.getRandomValues(new Uint8Array(length)) });
  issuer.destroy();
  try {
    const { path } = await verifyChain(chain, { trustAnchors: [issuer.root], now: new Date() });
    write(`chain verified: ${path.map((certificate) => certificate.body.chr).join(" -> ")}\n`);
  } catch (error) {
    if (!(error instanceof CvcError)) throw error;
    write(`chain NOT verified against the root ${issuer.root.body.chr} of ${issuerDir}: ${error.message}\n`);
    return 1;
  } finally {
    write(`root ${issuer.root.body.chr} (${issuerDir}):\n${toHex(issuer.root.encoded)}\n`);
  }
  return 0;
}

/** Selects the applet and reads EF 2F02 with one extended READ BINARY. */
async function readDeviceCertificates(transmit: (frame: Uint8Array) => Promise<Uint8Array>): Promise<Uint8Array> {
  const selected = parseResponseApdu(await transmit(encodeCommandApdu({ cla: 0x00, ins: 0xa4, p1: 0x04, p2: 0x00, data: HSM_AID, ne: 256 })));
  if (selected.sw !== 0x9000) throw new Error(`SELECT of the HSM applet failed with SW ${selected.sw.toString(16)}`);

  const read = await transmitApdu(transmit, { cla: 0x00, ins: 0xb1, p1: 0x2f, p2: 0x02, data: Uint8Array.of(0x54, 0x02, 0x00, 0x00), ne: 65536 }, { extended: true });
  if (read.sw !== 0x9000) throw new Error(`READ BINARY of EF 2F02 failed with SW ${read.sw.toString(16)}`);
  return read.data;
}

async function exists(path: string): Promise<boolean> {
  try {
    await denoFs().stat(path);
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}
