/**
 * The virtual device's card core behind a simulated CCID board: host code
 * talks to it through device-hal's CcidReader exactly as it would to a real
 * Pico HSM over USB. Runs under Deno like the virtual device.
 */
import { parseResponseApdu, transmitApdu } from "@hsmkit/apdu";
import { CcidReader, findBoards } from "@hsmkit/device-hal";
import { SimulatedCcidDevice, SimulatedUsb } from "@hsmkit/device-hal/simulators";
import { concatBytes, encodeTlv, fromHex } from "@hsmkit/tlv";
import { p256 } from "@noble/curves/nist.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { afterEach, describe, expect, it } from "vitest";
import { createDevice, type VirtualDevice } from "../../vdevice/src/device.ts";
import { HSM_AID } from "../../vdevice/src/hsm/constants.ts";
import { ecTemplate, generatedPublicKey, type Card } from "../../vdevice/test/keys-fixture.ts";

const USER_PIN = new TextEncoder().encode("648219");
const SO_PIN = fromHex("3537363231383830");
/** SIGNATURE algorithm byte for ECDSA over a hash the host computed. */
const ECDSA_RAW = 0x70;

let device: VirtualDevice | undefined;
afterEach(async () => {
  await device?.close();
  device = undefined;
});

async function expectOk(pending: Promise<{ sw: number }>, step: string): Promise<void> {
  const { sw } = await pending;
  expect(sw.toString(16), step).toBe("9000");
}

describe("vdevice behind simulated CCID", () => {
  it("signs through device-hal, and the signature verifies", async () => {
    device = await createDevice({ scrypt: { N: 1024, r: 8, p: 1 } });
    const usb = new SimulatedUsb();
    usb.attach(new SimulatedCcidDevice({ card: device, timeExtensions: (command) => (command[1] === 0x46 ? 2 : 0) }));

    const [board] = await findBoards(usb);
    expect(board.mode).toBe("application");
    const reader = await CcidReader.open(board.device);
    expect(reader.atr).toEqual(device.atr);

    const card: Card = {
      device,
      send: (command, options) => transmitApdu(reader.transmit, command, options),
      sendRaw: async (frame) => parseResponseApdu(await reader.transmit(typeof frame === "string" ? fromHex(frame) : frame)),
      select: async () => expectOk(card.send({ cla: 0x00, ins: 0xa4, p1: 0x04, p2: 0x00, data: HSM_AID, ne: 256 }), "SELECT"),
      login: async () => expectOk(card.send({ cla: 0x00, ins: 0x20, p1: 0x00, p2: 0x81, data: USER_PIN }), "VERIFY"),
    };

    await card.select();
    const initialize = concatBytes(encodeTlv(0x80, Uint8Array.of(0x00, 0x01)), encodeTlv(0x81, USER_PIN), encodeTlv(0x82, SO_PIN), encodeTlv(0x91, Uint8Array.of(3)));
    await expectOk(card.send({ cla: 0x80, ins: 0x50, p1: 0x00, p2: 0x00, data: initialize }), "INITIALIZE");
    await card.select();
    await card.login();

    const publicKey = await generatedPublicKey(card, 1, ecTemplate("secp256r1"));
    if (!("point" in publicKey)) throw new Error("expected an EC public key");

    const digest = sha256(new TextEncoder().encode("signed over simulated USB"));
    const signature = await card.send({ cla: 0x80, ins: 0x68, p1: 0x01, p2: ECDSA_RAW, data: digest, ne: 256 });
    expect(signature.sw).toBe(0x9000);
    expect(p256.verify(signature.data, digest, publicKey.point, { prehash: false, format: "der", lowS: false })).toBe(true);

    digest[0] ^= 1;
    expect(p256.verify(signature.data, digest, publicKey.point, { prehash: false, format: "der", lowS: false })).toBe(false);
    await reader.close();
  });

  it("answers the rescue SELECT through the same reader", async () => {
    device = await createDevice({ scrypt: { N: 1024, r: 8, p: 1 } });
    const reader = await CcidReader.open(new SimulatedCcidDevice({ card: device }));
    const response = await transmitApdu(reader.transmit, { cla: 0x00, ins: 0xa4, p1: 0x04, p2: 0x04, data: fromHex("A0583FC19B7E4F21"), ne: 256 });
    expect(response.sw).toBe(0x9000);
    expect(response.data[1]).toBe(0x01);
  });
});
