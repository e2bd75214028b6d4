/**
 * The portable vpcd socket: `Deno.connect` with TCP_NODELAY. Deno gives no access
 * to the file descriptor, so TCP_QUICKACK cannot be set and Linux delays the ACK
 * of vpcd's split length/payload writes.
 */

import { deno } from "./deno-runtime.ts";
import type { DenoTcpConnection } from "./deno-runtime.ts";
import { CONNECT_TIMEOUT_MS, SocketError } from "./socket.ts";
import type { VpcdAddress, VpcdSocket } from "./socket.ts";

export async function connectDenoSocket(address: VpcdAddress): Promise<VpcdSocket> {
  if (!deno) throw new SocketError("the vpcd socket needs the Deno runtime");

  const attempt = deno.connect({ hostname: address.host, port: address.port, transport: "tcp" });

  let timedOut = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(new SocketError(`connect to ${address.host}:${address.port} timed out`, "timed-out"));
    }, CONNECT_TIMEOUT_MS);
  });

  // A connection that completes after the timeout is closed, not leaked.
  attempt.then((late) => timedOut && late.close(), () => {});

  try {
    const connection = await Promise.race([attempt, timeout]);
    connection.setNoDelay(true);
    return new DenoSocket(connection);
  } catch (error) {
    throw toSocketError(error, address);
  } finally {
    clearTimeout(timer);
  }
}

class DenoSocket implements VpcdSocket {
  readonly kind = "deno";
  readonly #connection: DenoTcpConnection;
  #closed = false;

  constructor(connection: DenoTcpConnection) {
    this.#connection = connection;
  }

  async read(buffer: Uint8Array): Promise<number> {
    if (this.#closed) return 0;

    try {
      return (await this.#connection.read(buffer)) ?? 0;
    } catch (error) {
      if (this.#closed) return 0;
      throw new SocketError(`vpcd socket read failed: ${describe(error)}`);
    }
  }

  async write(data: Uint8Array): Promise<void> {
    let offset = 0;

    try {
      while (offset < data.length) offset += await this.#connection.write(data.subarray(offset));
    } catch (error) {
      throw new SocketError(`vpcd socket write failed: ${describe(error)}`);
    }
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#connection.close();
    }
    return Promise.resolve();
  }
}

function toSocketError(error: unknown, address: VpcdAddress): SocketError {
  if (error instanceof SocketError) return error;

  const target = `${address.host}:${address.port}`;
  if (deno && error instanceof deno.errors.ConnectionRefused) {
    return new SocketError(`connect to ${target} refused`, "refused");
  }
  if (deno && error instanceof deno.errors.TimedOut) {
    return new SocketError(`connect to ${target} timed out`, "timed-out");
  }
  return new SocketError(`connect to ${target} failed: ${describe(error)}`);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
