/**
 * The choice between the two vpcd socket implementations: libc through Deno FFI
 * (fast) or `Deno.connect` (portable).
 */

import type { Logger } from "../log.ts";
import { connectDenoSocket } from "./deno-socket.ts";
import { loadLibcSockets } from "./libc-socket.ts";
import type { SocketConnector } from "./socket.ts";

/**
 * Returns the fastest connector this process may use: libc sockets when FFI is
 * allowed on Linux, else `Deno.connect`. The fallback is logged as a warning
 * because without TCP_QUICKACK Linux delays ACKs and a round trip takes ~40 ms.
 */
export function createSocketConnector(logger: Logger): SocketConnector {
  const libc = loadLibcSockets();

  if (libc.ok) {
    logger.debug("vpcd socket uses libc with TCP_NODELAY and TCP_QUICKACK");

    return (address) => {
      const ipv4 = toIpv4Literal(address.host);
      if (ipv4 !== undefined) return libc.connect(ipv4, address.port);

      warnSlowFallback(logger, `host ${address.host} is not an IPv4 address`);
      return connectDenoSocket(address);
    };
  }

  warnSlowFallback(logger, libc.reason);
  return connectDenoSocket;
}

let fallbackWarned = false;

function warnSlowFallback(logger: Logger, reason: string): void {
  if (fallbackWarned) return;
  fallbackWarned = true;

  logger.warn("vpcd socket falls back to Deno.connect without TCP_QUICKACK: expect about 20 APDU/s", {
    reason,
    fix: "run on Linux with --allow-ffi and an IPv4 vpcd address",
  });
}

/** Returns `host` as a dotted IPv4 address ("localhost" maps to 127.0.0.1), or undefined. */
export function toIpv4Literal(host: string): string | undefined {
  if (host === "localhost") return "127.0.0.1";

  const parts = host.split(".");
  if (parts.length !== 4) return undefined;

  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
  }
  return host;
}
