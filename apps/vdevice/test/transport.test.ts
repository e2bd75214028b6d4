import * as net from "node:net";
import { afterEach, describe, expect, test } from "vitest";

import { createLogger } from "../src/log.ts";
import { connectDenoSocket } from "../src/transport/deno-socket.ts";
import { loadLibcSockets } from "../src/transport/libc-socket.ts";
import { toIpv4Literal } from "../src/transport/connector.ts";
import type { SocketConnector } from "../src/transport/socket.ts";
import { retryDelay, VpcdLink } from "../src/transport/vpcd.ts";
import type { VpcdCard } from "../src/transport/vpcd.ts";
import { encodeFrame, FrameDecoder } from "../src/transport/vpcd-frame.ts";

const ATR = Uint8Array.from([0x3b, 0x8a, 0x80, 0x01, 0x01, 0x02, 0x03, 0x04]);
const FAST_RETRY = { initialDelayMs: 20, maxDelayMs: 80 };

/** A card that records power events and returns `INS 90 00` for every APDU, except INS EE, which throws. */
class TestCard implements VpcdCard {
  readonly atr = ATR;
  readonly events: string[] = [];

  powerOn(): void {
    this.events.push("on");
  }

  powerOff(): void {
    this.events.push("off");
  }

  reset(): void {
    this.events.push("reset");
  }

  transmit(command: Uint8Array): Promise<Uint8Array> {
    if (command[1] === 0xee) return Promise.reject(new Error("test card fault"));
    return Promise.resolve(Uint8Array.from([command[1], 0x90, 0x00]));
  }
}

/** The vpcd side of the link: a TCP server on 127.0.0.1 that the card connects to. */
class FakeVpcd {
  readonly #server: net.Server;
  readonly #waiting: ((peer: Peer) => void)[] = [];
  readonly #accepted: Peer[] = [];
  readonly peers: Peer[] = [];

  private constructor(server: net.Server) {
    this.#server = server;
    server.on("connection", (socket) => {
      const peer = new Peer(socket);
      this.peers.push(peer);
      const waiter = this.#waiting.shift();
      if (waiter) waiter(peer);
      else this.#accepted.push(peer);
    });
  }

  static listen(port = 0): Promise<FakeVpcd> {
    const server = net.createServer({ noDelay: true });
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve(new FakeVpcd(server)));
    });
  }

  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  accept(timeoutMs = 3000): Promise<Peer> {
    const ready = this.#accepted.shift();
    if (ready) return Promise.resolve(ready);

    return withTimeout(new Promise((resolve) => this.#waiting.push(resolve)), timeoutMs, "no connection from the card");
  }

  close(): Promise<void> {
    for (const peer of this.peers) peer.socket.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

class Peer {
  readonly socket: net.Socket;
  readonly #decoder = new FrameDecoder();
  readonly #frames: Uint8Array[] = [];
  readonly #waiting: ((frame: Uint8Array) => void)[] = [];
  readonly ended: Promise<void>;

  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => {
      this.#decoder.push(new Uint8Array(chunk));
      for (let frame = this.#decoder.next(); frame; frame = this.#decoder.next()) {
        const waiter = this.#waiting.shift();
        if (waiter) waiter(frame);
        else this.#frames.push(frame);
      }
    });
    this.ended = new Promise((resolve) => socket.on("close", () => resolve()));
  }

  send(payload: number[] | Uint8Array): void {
    this.socket.write(encodeFrame(Uint8Array.from(payload)));
  }

  /** Sends `payload` one byte per TCP write, with a pause between writes. */
  async sendBytewise(payload: number[]): Promise<void> {
    for (const byte of encodeFrame(Uint8Array.from(payload))) {
      this.socket.write(Uint8Array.of(byte));
      await sleep(2);
    }
  }

  receive(timeoutMs = 2000): Promise<Uint8Array> {
    const ready = this.#frames.shift();
    if (ready) return Promise.resolve(ready);

    return withTimeout(new Promise((resolve) => this.#waiting.push(resolve)), timeoutMs, "no frame from the card");
  }

  get queued(): number {
    return this.#frames.length;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${message} within ${ms} ms`)), ms)),
  ]);
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function startLink(port: number, connect: SocketConnector, card: VpcdCard = new TestCard()) {
  const lines: string[] = [];
  const logger = createLogger({ level: "debug", write: (line) => lines.push(line) });
  const link = new VpcdLink({ address: { host: "127.0.0.1", port }, card, logger, connect, retry: FAST_RETRY });

  link.start();
  cleanups.push(() => link.stop());
  return { link, lines };
}

async function startServer(port = 0): Promise<FakeVpcd> {
  const server = await FakeVpcd.listen(port);
  cleanups.push(() => server.close());
  return server;
}

describe("FrameDecoder", () => {
  const frames = [[0x04], [0x00, 0xa4, 0x04, 0x00, 0x02, 0x3f, 0x00], Array.from({ length: 5000 }, (_, i) => i & 0xff)];
  const stream = Uint8Array.from(frames.flatMap((frame) => [...encodeFrame(Uint8Array.from(frame))]));

  test("returns frames from one chunk", () => {
    const decoder = new FrameDecoder();
    decoder.push(stream);

    for (const frame of frames) expect(decoder.next()).toEqual(Uint8Array.from(frame));
    expect(decoder.next()).toBeUndefined();
    expect(decoder.pending).toBe(0);
  });

  test("reassembles frames split anywhere", () => {
    for (const chunkSize of [1, 2, 3, 7, 4096]) {
      const decoder = new FrameDecoder();
      const decoded: Uint8Array[] = [];

      for (let offset = 0; offset < stream.length; offset += chunkSize) {
        decoder.push(stream.subarray(offset, offset + chunkSize));
        for (let frame = decoder.next(); frame; frame = decoder.next()) decoded.push(frame);
      }

      expect(decoded.map(hex), `chunk size ${chunkSize}`).toEqual(frames.map((frame) => hex(Uint8Array.from(frame))));
    }
  });

  test("waits for the rest of a header", () => {
    const decoder = new FrameDecoder();
    decoder.push(Uint8Array.of(0x00));
    expect(decoder.next()).toBeUndefined();

    decoder.push(Uint8Array.of(0x01, 0x04));
    expect(decoder.next()).toEqual(Uint8Array.of(0x04));
  });

  test("returns an empty frame", () => {
    const decoder = new FrameDecoder();
    decoder.push(Uint8Array.of(0x00, 0x00));
    expect(decoder.next()).toEqual(new Uint8Array(0));
  });
});

describe("encodeFrame", () => {
  test("prefixes a big-endian length", () => {
    expect(encodeFrame(new Uint8Array(0x123))).toEqual(Uint8Array.from([0x01, 0x23, ...new Uint8Array(0x123)]));
  });

  test("rejects payloads over 65535 bytes", () => {
    expect(() => encodeFrame(new Uint8Array(0x10000))).toThrow(/65536 bytes/);
  });
});

describe("retryDelay", () => {
  test("doubles up to the cap", () => {
    const policy = { initialDelayMs: 250, maxDelayMs: 5000 };
    expect([1, 2, 3, 4, 5, 6, 7, 100].map((failures) => retryDelay(policy, failures))).toEqual([
      250, 500, 1000, 2000, 4000, 5000, 5000, 5000,
    ]);
  });
});

describe("toIpv4Literal", () => {
  test("accepts dotted quads and localhost", () => {
    expect(toIpv4Literal("127.0.0.1")).toBe("127.0.0.1");
    expect(toIpv4Literal("localhost")).toBe("127.0.0.1");
  });

  test("rejects names and bad quads", () => {
    for (const host of ["example.org", "256.0.0.1", "1.2.3", "::1", "1.2.3.4.5", "1.2.3.x"]) {
      expect(toIpv4Literal(host), host).toBeUndefined();
    }
  });
});

const libc = loadLibcSockets();

test("libc sockets load on Linux with FFI", () => {
  expect(libc.ok ? "" : libc.reason).toBe("");
});

const connectors: [string, SocketConnector][] = [["deno", connectDenoSocket]];
if (libc.ok) connectors.unshift(["libc", (address) => libc.connect(address.host, address.port)]);

describe.each(connectors)("VpcdLink over %s sockets", (kind, connect) => {
  test("answers get ATR and ignores power codes", async () => {
    const server = await startServer();
    const card = new TestCard();
    startLink(server.port, connect, card);
    const peer = await server.accept();

    peer.send([0x01]);
    peer.send([0x02]);
    peer.send([0x04]);
    expect(await peer.receive()).toEqual(ATR);

    peer.send([0x00]);
    peer.send([0x04]);
    expect(await peer.receive()).toEqual(ATR);

    expect(card.events).toEqual(["on", "reset", "off"]);
    expect(peer.queued).toBe(0);
  });

  test("answers each APDU with one frame", async () => {
    const server = await startServer();
    const { lines } = startLink(server.port, connect);
    const peer = await server.accept();

    peer.send([0x00, 0xa4, 0x04, 0x00]);
    expect(await peer.receive()).toEqual(Uint8Array.of(0xa4, 0x90, 0x00));

    expect(lines.some((line) => line.includes("vpcd connected") && line.includes(`socket=${kind}`))).toBe(true);
  });

  test("reassembles a command split into bytes", async () => {
    const server = await startServer();
    startLink(server.port, connect);
    const peer = await server.accept();

    await peer.sendBytewise([0x00, 0x20, 0x00, 0x81]);
    expect(await peer.receive()).toEqual(Uint8Array.of(0x20, 0x90, 0x00));
  });

  test("answers merged frames in order", async () => {
    const server = await startServer();
    startLink(server.port, connect);
    const peer = await server.accept();

    const merged = [0x04, [0x00, 0xb0, 0x00, 0x00], [0x00, 0xca, 0x00, 0x00], 0x04].map((item) =>
      encodeFrame(Uint8Array.from(Array.isArray(item) ? item : [item]))
    );
    peer.socket.write(Uint8Array.from(merged.flatMap((frame) => [...frame])));

    expect(await peer.receive()).toEqual(ATR);
    expect(await peer.receive()).toEqual(Uint8Array.of(0xb0, 0x90, 0x00));
    expect(await peer.receive()).toEqual(Uint8Array.of(0xca, 0x90, 0x00));
    expect(await peer.receive()).toEqual(ATR);
  });

  test("sends 6F00 when the card throws", async () => {
    const server = await startServer();
    const { lines } = startLink(server.port, connect);
    const peer = await server.accept();

    peer.send([0x80, 0xee, 0x00, 0x00]);
    expect(await peer.receive()).toEqual(Uint8Array.of(0x6f, 0x00));

    peer.send([0x80, 0x01, 0x00, 0x00]);
    expect(await peer.receive()).toEqual(Uint8Array.of(0x01, 0x90, 0x00));
    expect(lines.some((line) => line.includes("ERROR") && line.includes("ins=EE"))).toBe(true);
  });

  test("carries a maximum-size APDU", async () => {
    const server = await startServer();
    startLink(server.port, connect);
    const peer = await server.accept();

    const command = new Uint8Array(65535);
    command[1] = 0xd7;
    peer.send(command);
    expect(await peer.receive()).toEqual(Uint8Array.of(0xd7, 0x90, 0x00));
  });

  test("reconnects after vpcd restarts", async () => {
    const first = await startServer();
    const port = first.port;
    const { link, lines } = startLink(port, connect);
    const peer = await first.accept();
    peer.send([0x04]);
    expect(await peer.receive()).toEqual(ATR);

    await first.close();
    await sleep(150);
    expect(link.connected).toBe(false);

    const second = await startServer(port);
    const next = await second.accept();
    next.send([0x04]);
    expect(await next.receive()).toEqual(ATR);

    expect(lines.filter((line) => line.includes("vpcd connected"))).toHaveLength(2);
    expect(lines.some((line) => line.includes("vpcd disconnected"))).toBe(true);
    expect(lines.some((line) => line.includes("vpcd not reachable"))).toBe(true);
    expect(lines.filter((line) => line.includes("apt-get install pcscd vsmartcard-vpcd"))).toHaveLength(1);
  });

  test("connects once vpcd starts listening", async () => {
    const probe = await FakeVpcd.listen();
    const port = probe.port;
    await probe.close();

    const { link, lines } = startLink(port, connect);
    await sleep(150);
    expect(link.connected).toBe(false);

    // Retries: the first failure is a warning, later ones within 30 s only debug records.
    expect(lines.filter((line) => line.includes("WARN") && line.includes("not reachable"))).toHaveLength(1);
    expect(lines.filter((line) => line.includes("DEBUG") && line.includes("vpcd connect failed")).length).toBeGreaterThan(0);

    const server = await startServer(port);
    const peer = await server.accept();
    peer.send([0x04]);
    expect(await peer.receive()).toEqual(ATR);
    expect(link.connected).toBe(true);
  });

  test("stop closes the connection", async () => {
    const server = await startServer();
    const { link, lines } = startLink(server.port, connect);
    const peer = await server.accept();
    peer.send([0x04]);
    await peer.receive();

    await link.stop();
    await withTimeout(peer.ended, 2000, "connection still open");
    expect(link.connected).toBe(false);
    expect(lines.some((line) => line.includes("vpcd disconnected") && line.includes("reason=\"link stopped\""))).toBe(true);
  });
});
