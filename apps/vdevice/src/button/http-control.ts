/**
 * Local control endpoint of the virtual button: HTTP on 127.0.0.1 only, every
 * request authenticated with `Authorization: Bearer <token>`.
 *
 *   GET  /status    JSON { led, pending: [{ id, operation, keyId, since }] }
 *   GET  /events    server-sent events: `led` with { state, time } and
 *                   `pending` with the pending list, on every change
 *   POST /confirm   confirms the oldest pending request (or ?id=N); 404 when none waits
 *   POST /deny      denies it the same way
 *
 * A wrong or missing token gets 401 and changes nothing.
 */
import type { Logger } from "../log.ts";
import type { LedStatus } from "./led.ts";
import type { ConfirmationQueue } from "./presence.ts";

export const CONTROL_HOST = "127.0.0.1";

export interface ControlServerOptions {
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Secret the client must send as a bearer token. */
  token: string;
  queue: ConfirmationQueue;
  led: LedStatus;
  logger: Logger;
}

export interface ControlServer {
  /** The port actually bound. */
  readonly port: number;
  close(): Promise<void>;
}

/** The part of Deno.serve this endpoint uses, typed here so that tsc needs no Deno types. */
interface DenoServe {
  serve(
    options: { hostname: string; port: number; onListen: () => void },
    handler: (request: Request) => Response,
  ): { addr: { port: number }; shutdown(): Promise<void> };
}

export function startControlServer(options: ControlServerOptions): ControlServer {
  const deno = (globalThis as { Deno?: DenoServe }).Deno;
  if (!deno) throw new Error("the button control endpoint needs Deno.serve; run the device on Deno");

  const streams = new Set<ReadableStreamDefaultController<Uint8Array>>();
  const encoder = new TextEncoder();

  const broadcast = (event: string, data: unknown) => {
    const chunk = encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    for (const controller of streams) controller.enqueue(chunk);
  };
  const unsubscribeLed = options.led.subscribe((event) => broadcast("led", event));
  const unsubscribeQueue = options.queue.subscribe((pending) => broadcast("pending", pending));

  const handler = (request: Request): Response => {
    if (!authorized(request, options.token)) {
      options.logger.warn("button control request rejected: wrong or missing token", { path: new URL(request.url).pathname });
      return new Response("missing or wrong bearer token\n", { status: 401 });
    }

    const url = new URL(request.url);
    const route = `${request.method} ${url.pathname}`;
    if (route === "GET /status") return Response.json({ led: options.led.state, pending: options.queue.pending() });
    if (route === "GET /events") return eventStream(streams, () => ({ led: options.led.state, pending: options.queue.pending() }));
    if (route === "POST /confirm" || route === "POST /deny") return answer(options, url, route === "POST /confirm");
    return new Response("not found: use GET /status, GET /events, POST /confirm or POST /deny\n", { status: 404 });
  };

  const server = deno.serve({ hostname: CONTROL_HOST, port: options.port, onListen: () => {} }, handler);
  const port = server.addr.port;
  options.logger.info("button control endpoint listening", { url: `http://${CONTROL_HOST}:${port}/` });

  return {
    port,
    close: async () => {
      unsubscribeLed();
      unsubscribeQueue();
      for (const controller of streams) controller.close();
      streams.clear();
      await server.shutdown();
    },
  };
}

function answer(options: ControlServerOptions, url: URL, confirmed: boolean): Response {
  const idText = url.searchParams.get("id");
  const id = idText === null ? undefined : Number(idText);
  if (id !== undefined && !Number.isInteger(id)) return new Response(`invalid id "${idText}": give a pending request's number\n`, { status: 400 });

  if (!options.queue.answer(confirmed, id)) return new Response("no such pending request\n", { status: 404 });
  options.logger.info(confirmed ? "key use confirmed through the control endpoint" : "key use denied through the control endpoint", { id });
  return new Response(null, { status: 204 });
}

function eventStream(streams: Set<ReadableStreamDefaultController<Uint8Array>>, snapshot: () => unknown): Response {
  let own: ReadableStreamDefaultController<Uint8Array> | undefined;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      own = controller;
      streams.add(controller);
      controller.enqueue(new TextEncoder().encode(`event: status\ndata: ${JSON.stringify(snapshot())}\n\n`));
    },
    cancel() {
      if (own) streams.delete(own);
    },
  });
  return new Response(body, { headers: { "content-type": "text/event-stream", "cache-control": "no-store" } });
}

/** Compares the bearer token in constant time over the expected length. */
function authorized(request: Request, token: string): boolean {
  const header = request.headers.get("authorization") ?? "";
  const given = new TextEncoder().encode(header.startsWith("Bearer ") ? header.slice(7) : "");
  const expected = new TextEncoder().encode(token);
  if (given.length !== expected.length) return false;

  let difference = 0;
  for (let index = 0; index < expected.length; index++) difference |= given[index] ^ expected[index];
  return difference === 0;
}
