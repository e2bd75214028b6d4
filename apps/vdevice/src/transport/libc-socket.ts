/**
 * The fast vpcd socket: a Linux TCP socket driven through libc with Deno FFI.
 *
 * vpcd writes each command's length and payload in two TCP segments and does not
 * set TCP_NODELAY, so its second write waits for our ACK of the first. Linux
 * delays that ACK (up to 40 ms) unless the receiver sets TCP_QUICKACK. The kernel
 * clears that flag again on its own, so it is re-armed after every read. Deno does
 * not expose socket descriptors, hence libc.
 *
 * The descriptor is non-blocking. Reads and writes try the call at once and only
 * when it would block wait in poll(2), which runs on Deno's FFI worker thread so
 * the event loop keeps serving. errno is read right after a synchronous call, on
 * the same (main) thread.
 */

import { deno } from "./deno-runtime.ts";
import type { DynamicLibrary, FfiSymbol } from "./deno-runtime.ts";
import { CONNECT_TIMEOUT_MS, SocketError } from "./socket.ts";
import type { VpcdSocket } from "./socket.ts";

// Linux x86-64 and arm64 values from <sys/socket.h>, <netinet/tcp.h>, <poll.h>, <errno.h>.
const AF_INET = 2;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_ERROR = 4;
const IPPROTO_TCP = 6;
const TCP_NODELAY = 1;
const TCP_QUICKACK = 12;
const SHUT_RDWR = 2;
const MSG_DONTWAIT = 0x40;
const MSG_NOSIGNAL = 0x4000;
const POLLIN = 0x1;
const POLLOUT = 0x4;
const EINTR = 4;
const EAGAIN = 11;
const ETIMEDOUT = 110;
const ECONNREFUSED = 111;
const EINPROGRESS = 115;

/** An `int` option value of 1, as setsockopt(2) expects it. */
const OPTION_ON = new Uint8Array(new Int32Array([1]).buffer);

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  send: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  __errno_location: { parameters: [], result: "pointer" },
} satisfies Record<string, FfiSymbol>;

interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  connect(fd: number, address: Uint8Array, length: number): number;
  recv(fd: number, buffer: Uint8Array, length: number, flags: number): number | bigint;
  send(fd: number, buffer: Uint8Array, length: number, flags: number): number | bigint;
  setsockopt(fd: number, level: number, name: number, value: Uint8Array, length: number): number;
  getsockopt(fd: number, level: number, name: number, value: Uint8Array, length: Uint8Array): number;
  shutdown(fd: number, how: number): number;
  close(fd: number): number;
  poll(fds: Uint8Array, count: number, timeoutMs: number): Promise<number>;
  errno(): number;
}

export type LibcSocketsResult =
  | { ok: true; connect(ipv4: string, port: number): Promise<VpcdSocket> }
  | { ok: false; reason: string };

let loaded: LibcSocketsResult | undefined;

/** Loads libc once. A failed result carries the reason the fast socket is unavailable. */
export function loadLibcSockets(): LibcSocketsResult {
  loaded ??= tryLoad();
  return loaded;
}

function tryLoad(): LibcSocketsResult {
  if (!deno) return { ok: false, reason: "not running on Deno" };
  if (deno.build.os !== "linux") return { ok: false, reason: `TCP_QUICKACK is Linux-only (os is ${deno.build.os})` };

  if (deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
    return { ok: false, reason: "FFI permission missing (--allow-ffi)" };
  }

  let library: DynamicLibrary;
  try {
    library = deno.dlopen("libc.so.6", SYMBOLS);
  } catch (error) {
    return { ok: false, reason: `cannot load libc.so.6: ${error instanceof Error ? error.message : String(error)}` };
  }

  const libc = bindLibc(library, deno.UnsafePointerView);
  return { ok: true, connect: (ipv4, port) => connectLibcSocket(libc, ipv4, port) };
}

function bindLibc(library: DynamicLibrary, PointerView: NonNullable<typeof deno>["UnsafePointerView"]): Libc {
  const symbols = library.symbols;
  let errnoView: { getInt32(offset?: number): number } | undefined;

  return {
    socket: symbols.socket,
    connect: symbols.connect,
    recv: symbols.recv,
    send: symbols.send,
    setsockopt: symbols.setsockopt,
    getsockopt: symbols.getsockopt,
    shutdown: symbols.shutdown,
    close: symbols.close,
    poll: symbols.poll,
    errno: () => {
      // errno is thread-local, and synchronous FFI calls all run on the main thread.
      errnoView ??= new PointerView(symbols.__errno_location());
      return errnoView.getInt32(0);
    },
  };
}

async function connectLibcSocket(libc: Libc, ipv4: string, port: number): Promise<VpcdSocket> {
  const target = `${ipv4}:${port}`;
  const fd = libc.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new SocketError(`socket() failed for ${target}: errno ${libc.errno()}`);

  try {
    enableOption(libc, fd, IPPROTO_TCP, TCP_NODELAY);

    if (libc.connect(fd, encodeSockaddrIn(ipv4, port), 16) !== 0) {
      const error = libc.errno();
      if (error !== EINPROGRESS) throw connectError(target, error);

      const ready = await libc.poll(pollFd(fd, POLLOUT), 1, CONNECT_TIMEOUT_MS);
      if (ready === 0) throw new SocketError(`connect to ${target} timed out`, "timed-out");

      const pending = getIntOption(libc, fd, SOL_SOCKET, SO_ERROR);
      if (pending !== 0) throw connectError(target, pending);
    }

    enableOption(libc, fd, IPPROTO_TCP, TCP_QUICKACK);
    return new LibcSocket(libc, fd);
  } catch (error) {
    libc.close(fd);
    throw error;
  }
}

class LibcSocket implements VpcdSocket {
  readonly kind = "libc";
  readonly #libc: Libc;
  readonly #fd: number;
  readonly #readPoll: Uint8Array;
  readonly #writePoll: Uint8Array;
  readonly #waits = new Set<Promise<number>>();
  #closed = false;

  constructor(libc: Libc, fd: number) {
    this.#libc = libc;
    this.#fd = fd;
    this.#readPoll = pollFd(fd, POLLIN);
    this.#writePoll = pollFd(fd, POLLOUT);
  }

  async read(buffer: Uint8Array): Promise<number> {
    while (!this.#closed) {
      const count = Number(this.#libc.recv(this.#fd, buffer, buffer.length, MSG_DONTWAIT));

      if (count > 0) {
        enableOption(this.#libc, this.#fd, IPPROTO_TCP, TCP_QUICKACK);
        return count;
      }
      if (count === 0) return 0;

      const error = this.#libc.errno();
      if (error !== EAGAIN && error !== EINTR) {
        if (this.#closed) return 0;
        throw new SocketError(`vpcd socket read failed: errno ${error}`);
      }

      await this.#wait(this.#readPoll);
    }
    return 0;
  }

  async write(data: Uint8Array): Promise<void> {
    let offset = 0;

    while (offset < data.length) {
      if (this.#closed) throw new SocketError("vpcd socket write after close");

      const rest = data.subarray(offset);
      const count = Number(this.#libc.send(this.#fd, rest, rest.length, MSG_DONTWAIT | MSG_NOSIGNAL));
      if (count >= 0) {
        offset += count;
        continue;
      }

      const error = this.#libc.errno();
      if (error !== EAGAIN && error !== EINTR) throw new SocketError(`vpcd socket write failed: errno ${error}`);

      await this.#wait(this.#writePoll);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;

    // shutdown() wakes any poll() still waiting on the descriptor. Closing before
    // those return could let a new socket reuse the number under them.
    this.#libc.shutdown(this.#fd, SHUT_RDWR);
    await Promise.allSettled([...this.#waits]);
    this.#libc.close(this.#fd);
  }

  async #wait(pollDescriptor: Uint8Array): Promise<void> {
    const wait = this.#libc.poll(pollDescriptor, 1, -1);
    this.#waits.add(wait);

    try {
      await wait;
    } finally {
      this.#waits.delete(wait);
    }
  }
}

/** Builds a `struct sockaddr_in` (16 bytes): family in host order, port and address in network order. */
function encodeSockaddrIn(ipv4: string, port: number): Uint8Array {
  const address = new Uint8Array(16);
  const view = new DataView(address.buffer);

  view.setUint16(0, AF_INET, true);
  view.setUint16(2, port, false);
  address.set(ipv4.split(".").map(Number), 4);
  return address;
}

/** Builds a `struct pollfd` (int fd, short events, short revents). */
function pollFd(fd: number, events: number): Uint8Array {
  const entry = new Uint8Array(8);
  const view = new DataView(entry.buffer);

  view.setInt32(0, fd, true);
  view.setInt16(4, events, true);
  return entry;
}

function enableOption(libc: Libc, fd: number, level: number, name: number): void {
  if (libc.setsockopt(fd, level, name, OPTION_ON, 4) !== 0) {
    throw new SocketError(`setsockopt(${level}, ${name}) failed: errno ${libc.errno()}`);
  }
}

function getIntOption(libc: Libc, fd: number, level: number, name: number): number {
  const value = new Uint8Array(4);
  const length = new Uint8Array(4);
  new DataView(length.buffer).setUint32(0, 4, true);

  if (libc.getsockopt(fd, level, name, value, length) !== 0) {
    throw new SocketError(`getsockopt(${level}, ${name}) failed: errno ${libc.errno()}`);
  }
  return new DataView(value.buffer).getInt32(0, true);
}

function connectError(target: string, errno: number): SocketError {
  if (errno === ECONNREFUSED) return new SocketError(`connect to ${target} refused`, "refused");
  if (errno === ETIMEDOUT) return new SocketError(`connect to ${target} timed out`, "timed-out");
  return new SocketError(`connect to ${target} failed: errno ${errno}`);
}
