/** The TCP socket the vpcd link runs on, whichever implementation provides it. */

/** Host and TCP port of vpcd's listening socket. */
export interface VpcdAddress {
  host: string;
  port: number;
}

/** A connected TCP stream. */
export interface VpcdSocket {
  /** "libc" sets TCP_NODELAY and TCP_QUICKACK; "deno" only TCP_NODELAY. */
  readonly kind: "libc" | "deno";

  /** Reads into `buffer` and resolves to the byte count, or to 0 at end of stream or after `close`. */
  read(buffer: Uint8Array): Promise<number>;

  /** Writes all of `data`, or rejects with a SocketError when the peer is gone. */
  write(data: Uint8Array): Promise<void>;

  /** Closes the socket, so a pending `read` resolves to 0. Calling it twice is harmless. */
  close(): Promise<void>;
}

export type SocketConnector = (address: VpcdAddress) => Promise<VpcdSocket>;

/** Failure class of a connection attempt: "refused" means nothing listens on the port. */
export type SocketErrorKind = "refused" | "timed-out" | "other";

/** A failed connect, read or write. */
export class SocketError extends Error {
  readonly kind: SocketErrorKind;

  constructor(message: string, kind: SocketErrorKind = "other") {
    super(message);
    this.name = "SocketError";
    this.kind = kind;
  }
}

/** Time allowed for one TCP connect before it counts as failed. */
export const CONNECT_TIMEOUT_MS = 5000;
