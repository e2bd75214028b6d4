// Secure messaging between the host side of @hsmkit/sm-channel and the device:
// chip authentication, VERIFY, key generation and a signature under SM, and the
// failures that must close the session.
import { encodeCommandApdu, parseResponseApdu, type CommandApduFields } from "@hsmkit/apdu";
import { decodeAuthenticatedRequest, decodeCvcChain, type CvcEcPublicKey } from "@hsmkit/cvc";
import { generalAuthenticateCommand, mseSetAtCommand, openSecureChannel, type HostSecureChannel } from "@hsmkit/sm-channel";
import { p256 } from "@noble/curves/nist.js";
import { sha256 } from "@noble/hashes/sha2.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createDevice, type DeviceOptions, type VirtualDevice } from "../src/device.ts";
import { HSM_AID } from "../src/hsm/constants.ts";
import { ecTemplate, keyPairData, SO_PIN, USER_PIN } from "./keys-fixture.ts";
import { TEST_SCRYPT } from "./hsm-harness.ts";

const SELECT: CommandApduFields = { cla: 0x00, ins: 0xa4, p1: 0x04, p2: 0x00, data: HSM_AID, ne: 256 };
const VERIFY: CommandApduFields = { cla: 0x00, ins: 0x20, p1: 0x00, p2: 0x81, data: USER_PIN };

async function send(device: VirtualDevice, command: CommandApduFields, extended = false): Promise<{ data: Uint8Array; sw: number }> {
  return parseResponseApdu(await device.transmit(encodeCommandApdu(command, { extended })));
}

/** Opens an initialised in-memory device (user not logged in) and returns it with its device key point from EF 2F02. */
async function openDevice(options: DeviceOptions = {}): Promise<{ device: VirtualDevice; devicePoint: Uint8Array }> {
  const device = await createDevice({ scrypt: TEST_SCRYPT, ...options });
  expect((await send(device, SELECT)).sw).toBe(0x9000);
  const initialize = Uint8Array.from([0x81, USER_PIN.length, ...USER_PIN, 0x82, SO_PIN.length, ...SO_PIN]);
  expect((await send(device, { cla: 0x80, ins: 0x50, p1: 0, p2: 0, data: initialize })).sw).toBe(0x9000);
  expect((await send(device, SELECT)).sw).toBe(0x9000);

  const chain = await readEf(device, 0x2f02);
  const key = decodeCvcChain(chain)[0].body.publicKey as CvcEcPublicKey;
  return { device, devicePoint: key.point };
}

async function readEf(device: VirtualDevice, fid: number): Promise<Uint8Array> {
  const data = Uint8Array.of(0x54, 0x02, 0x00, 0x00);
  const response = await send(device, { cla: 0x00, ins: 0xb1, p1: fid >> 8, p2: fid & 0xff, data, ne: 65536 }, true);
  expect(response.sw).toBe(0x9000);
  return response.data;
}

async function openChannel(): Promise<{ device: VirtualDevice; host: HostSecureChannel }> {
  const { device, devicePoint } = await openDevice();
  const host = await openSecureChannel((frame) => device.transmit(frame), devicePoint);
  return { device, host };
}

describe("secure messaging session", () => {
  it("runs VERIFY, key generation and a signature", async () => {
    const { host } = await openChannel();
    expect(host.channel.ssc).toBe(0n);

    expect((await host.transmit({ ...VERIFY })).sw).toBe(0x9000);
    expect(host.channel.ssc).toBe(2n);

    const generated = await host.transmit({ cla: 0x00, ins: 0x46, p1: 0x05, p2: 0x00, data: keyPairData(ecTemplate("secp256r1")), ne: 65536 });
    expect(generated.sw).toBe(0x9000);
    const publicKey = decodeAuthenticatedRequest(generated.data).request.body.publicKey as CvcEcPublicKey;

    const message = new TextEncoder().encode("signed under secure messaging");
    const signed = await host.transmit({ cla: 0x80, ins: 0x68, p1: 0x05, p2: 0x73, data: message, ne: 256 });
    expect(signed.sw).toBe(0x9000);
    expect(p256.verify(signed.data, sha256(message), publicKey.point, { prehash: false, format: "der", lowS: false })).toBe(true);
    expect(host.channel.ssc).toBe(6n);
  });

  it("returns the inner status word protected", async () => {
    const { host } = await openChannel();
    const wrong = await host.transmit({ ...VERIFY, data: new TextEncoder().encode("000000") });
    expect(wrong.sw).toBe(0x63c2);
    expect(host.channel.isOpen).toBe(true);
  });

  it("closes the session on a flipped bit in a command", async () => {
    const { device, devicePoint } = await openDevice();
    const transmit = (frame: Uint8Array) => device.transmit(frame);

    // Header, the tag and padding indicator of DO 87, its ciphertext, DO 8E and the MAC; each flip needs a new session.
    for (const index of [0, 1, 2, 3, 5, 7, 12, 24, 30, 33]) {
      const host = await openSecureChannel(transmit, devicePoint);
      const frame = encodeCommandApdu(host.channel.wrapCommand({ ...VERIFY }).command);
      const tampered = frame.slice();
      tampered[index] ^= index === 0 ? 0x04 : 0x01;

      expect(parseResponseApdu(await device.transmit(tampered)).sw, `byte ${index}`).toBe(0x6984);
      // The device ended the session, so the intact command fails as well.
      expect(parseResponseApdu(await device.transmit(frame)).sw, `byte ${index}`).toBe(0x6987);
    }
  });

  it("rejects a flipped bit in a response on the host", async () => {
    const { device, devicePoint } = await openDevice();
    let flip = false;
    const host = await openSecureChannel(async (frame) => {
      const response = await device.transmit(frame);
      if (flip) response[3] ^= 0x80;
      return response;
    }, devicePoint);

    flip = true;
    await expect(host.transmit({ ...VERIFY })).rejects.toThrow(/MAC does not match/);
    expect(host.channel.isOpen).toBe(false);
  });

  it("rejects a replayed command", async () => {
    const { device, host } = await openChannel();
    const wrapped = host.channel.wrapCommand({ ...VERIFY });
    const frame = encodeCommandApdu(wrapped.command);

    const first = parseResponseApdu(await device.transmit(frame));
    expect(host.channel.unwrapResponse(first).sw).toBe(0x9000);

    expect(parseResponseApdu(await device.transmit(frame)).sw).toBe(0x6984);
  });

  it("ends the session on SELECT", async () => {
    const { device, host } = await openChannel();
    const selected = await host.transmit({ ...SELECT });
    expect(selected.sw).toBe(0x9000);

    const wrapped = host.channel.wrapCommand({ ...VERIFY });
    expect(parseResponseApdu(await device.transmit(encodeCommandApdu(wrapped.command))).sw).toBe(0x6987);
  });

  it("ends the session on power-off", async () => {
    const { device, host } = await openChannel();
    device.powerOff();
    device.powerOn();
    const wrapped = host.channel.wrapCommand({ ...VERIFY });
    expect(parseResponseApdu(await device.transmit(encodeCommandApdu(wrapped.command))).sw).toBe(0x6987);
  });
});

describe("random protected commands", () => {
  it("answer 6984 and end the session", async () => {
    const { device, devicePoint } = await openDevice();
    const transmit = (frame: Uint8Array) => device.transmit(frame);

    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 300 }), fc.integer({ min: 0, max: 255 }), async (data, ins) => {
        const host = await openSecureChannel(transmit, devicePoint);
        const frame = encodeCommandApdu({ cla: 0x0c, ins, p1: 0, p2: 0, data, ne: 256 }, { extended: data.length > 255 });

        const response = parseResponseApdu(await device.transmit(frame));
        expect(response.sw).toBe(0x6984);
        expect(parseResponseApdu(await device.transmit(encodeCommandApdu(host.channel.wrapCommand({ ...VERIFY }).command))).sw).toBe(0x6987);
      }),
      { numRuns: 100 },
    );
  });
});

describe("chip authentication", () => {
  it("answers 6985 without MSE SET AT", async () => {
    const { device } = await openDevice();
    const ephemeral = p256.getPublicKey(p256.utils.randomSecretKey(), false);
    expect((await send(device, generalAuthenticateCommand(ephemeral))).sw).toBe(0x6985);
  });

  it("answers 6984 for a point off the curve", async () => {
    const { device } = await openDevice();
    expect((await send(device, mseSetAtCommand())).sw).toBe(0x9000);
    const bad = new Uint8Array(65).fill(0x22);
    bad[0] = 0x04;
    expect((await send(device, generalAuthenticateCommand(bad))).sw).toBe(0x6984);
  });

  it("answers 6700 for malformed data", async () => {
    const { device } = await openDevice();
    expect((await send(device, mseSetAtCommand())).sw).toBe(0x9000);
    expect((await send(device, { cla: 0, ins: 0x86, p1: 0, p2: 0, data: Uint8Array.of(0x7c) })).sw).toBe(0x6700);
    expect((await send(device, { cla: 0, ins: 0x86, p1: 0, p2: 0, data: Uint8Array.of(0x7c, 0x05, 0x80, 0x01, 0x04) })).sw).toBe(0x6700);
    expect((await send(device, { cla: 0, ins: 0x86, p1: 0, p2: 0, data: Uint8Array.of(0x7c, 0x03, 0x81, 0x01, 0x04) })).sw).toBe(0x6700);
  });

  it("needs a PIN session when switched off before VERIFY", async () => {
    const { device, devicePoint } = await openDevice({ chipAuthenticationBeforePin: false });
    const transmit = (frame: Uint8Array) => device.transmit(frame);
    await expect(openSecureChannel(transmit, devicePoint)).rejects.toThrow(/SW 6400/);

    expect((await send(device, VERIFY)).sw).toBe(0x9000);
    const host = await openSecureChannel(transmit, devicePoint);
    expect((await host.transmit({ cla: 0x80, ins: 0x58, p1: 0, p2: 0, ne: 65536 })).sw).toBe(0x9000);
  });

  it("fails on the host against another device key", async () => {
    const { device } = await openDevice();
    const other = p256.getPublicKey(p256.utils.randomSecretKey(), false);
    await expect(openSecureChannel((frame) => device.transmit(frame), other)).rejects.toThrow(/token does not match/);
  });

  it("answers 6E00 to SM when switched off", async () => {
    const { device, devicePoint } = await openDevice({ secureMessaging: false });
    const host = await openSecureChannel((frame) => device.transmit(frame), devicePoint);
    await expect(host.transmit({ ...VERIFY })).rejects.toThrow(/SW 6E00/);
  });

  it("answers 6987 to SM without a session", async () => {
    const { device } = await openDevice();
    expect((await send(device, { cla: 0x0c, ins: 0x20, p1: 0, p2: 0x81, data: Uint8Array.of(0x8e, 0x08, 1, 2, 3, 4, 5, 6, 7, 8) })).sw).toBe(0x6987);
  });
});

describe("manage security environment", () => {
  it("rejects P1 without the SET bit and unknown CRTs", async () => {
    const { device } = await openDevice();
    expect((await send(device, { ...mseSetAtCommand(), p1: 0x40 })).sw).toBe(0x6a86);
    expect((await send(device, { ...mseSetAtCommand(), p2: 0xa5 })).sw).toBe(0x6a86);
  });

  it("selects a trust-store certificate by CHR", async () => {
    const { device } = await openDevice();
    const [certificate] = decodeCvcChain(await readEf(device, 0x2f02));
    const chr = new TextEncoder().encode(certificate.body.chr);
    expect((await send(device, { cla: 0, ins: 0x22, p1: 0x81, p2: 0xb6, data: Uint8Array.of(0x83, chr.length, ...chr) })).sw).toBe(0x9000);
    expect((await send(device, { cla: 0, ins: 0x22, p1: 0x81, p2: 0xb6, data: Uint8Array.of(0x83, 3, 0x41, 0x42, 0x43) })).sw).toBe(0x6a88);
  });
});
