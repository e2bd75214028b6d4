// Press-to-confirm (option 0100) through the virtual button: the confirmation
// queue, the local HTTP control endpoint, the terminal prompt and the LED states.
import { afterEach, describe, expect, test } from "vitest";
import { startControlServer, type ControlServer } from "../src/button/http-control.ts";
import { formatLedLine, LedStatus, type LedState } from "../src/button/led.ts";
import { AutoConfirmer, ConfirmationQueue, type PresenceConfirmer } from "../src/button/presence.ts";
import { startTerminalPrompt } from "../src/button/terminal-prompt.ts";
import { silentLogger } from "../src/log.ts";
import { counterTag, generateEcKey, initializeCard, openPolicyCard, signHash, type PolicyCard } from "./policy-fixture.ts";

const OPTIONS_WITH_BUTTON = 0x0101;
const KEY_ID = 1;
const TOKEN = "test-token-0123456789abcdef";

let server: ControlServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function buttonCard(presence: PresenceConfirmer, led?: LedStatus, options = OPTIONS_WITH_BUTTON): Promise<PolicyCard> {
  const card = await openPolicyCard({ presence, led });
  await initializeCard(card, options);
  expect(await generateEcKey(card, KEY_ID, [counterTag(5)])).toBe("9000");
  return card;
}

async function waitForPending(queue: ConfirmationQueue): Promise<void> {
  for (let attempt = 0; attempt < 200 && queue.pending().length === 0; attempt++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(queue.pending().length).toBe(1);
}

function counterOf(card: PolicyCard): Promise<string> {
  return card.raw("00A40000 02 CC01 00").then((response) => {
    const hex = Array.from(response.data, (byte) => byte.toString(16).padStart(2, "0")).join("").toUpperCase();
    return hex.slice(hex.indexOf("9004") + 4, hex.indexOf("9004") + 12);
  });
}

describe("confirmation queue", () => {
  test("confirm lets the signature through", async () => {
    const led = new LedStatus();
    const queue = new ConfirmationQueue({ timeoutMs: 5000, led });
    const card = await buttonCard(queue, led);

    const signing = signHash(card, KEY_ID);
    await waitForPending(queue);
    expect(led.state).toBe("press-to-confirm");
    expect(queue.pending()[0].operation).toBe("SIGNATURE");
    expect(queue.pending()[0].keyId).toBe(KEY_ID);

    expect(queue.answer(true)).toBe(true);
    expect(await signing).toBe("9000");
    expect(led.state).toBe("active");
    expect(await counterOf(card)).toBe("00000004");
  });

  test("deny is 6600 and does not count", async () => {
    const queue = new ConfirmationQueue({ timeoutMs: 5000 });
    const card = await buttonCard(queue);

    const signing = signHash(card, KEY_ID);
    await waitForPending(queue);
    queue.answer(false);
    expect(await signing).toBe("6600");
    expect(await counterOf(card)).toBe("00000005");
  });

  test("no answer times out with 6600", async () => {
    const queue = new ConfirmationQueue({ timeoutMs: 100 });
    const card = await buttonCard(queue);
    const started = Date.now();
    expect(await signHash(card, KEY_ID)).toBe("6600");
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(queue.pending().length).toBe(0);
  });

  test("deny stops WRAP KEY and BIP/SLIP", async () => {
    const asked: string[] = [];
    const confirmer: PresenceConfirmer = {
      confirm: async (request) => {
        asked.push(request.operation);
        return request.operation.startsWith("WRAP") || request.operation.startsWith("BIP") ? "denied" : "confirmed";
      },
    };
    const card = await openPolicyCard({ presence: confirmer });
    // Tag 92 = 0 gives key domain 0 a random DKEK at once, so WRAP KEY reaches the button.
    await initializeCard(card, OPTIONS_WITH_BUTTON, [Uint8Array.of(0x92, 0x01, 0x00)]);
    expect(await generateEcKey(card, KEY_ID)).toBe("9000");

    expect(await card.sw("80720192 000000")).toBe("6600");
    expect(await card.sw("804A0100")).toBe("6600");
    expect(asked).toEqual(["WRAP KEY", "BIP/SLIP master creation"]);
  });

  test("without option 0100 nothing waits", async () => {
    const queue = new ConfirmationQueue({ timeoutMs: 100 });
    const card = await buttonCard(queue, undefined, 0x0001);
    expect(await signHash(card, KEY_ID)).toBe("9000");
  });

  test("auto-confirm never waits", async () => {
    const card = await buttonCard(new AutoConfirmer());
    expect(await signHash(card, KEY_ID)).toBe("9000");
  });

  test("answering with nothing pending is false", () => {
    const queue = new ConfirmationQueue({ timeoutMs: 100 });
    expect(queue.answer(true)).toBe(false);
  });
});

describe("HTTP control endpoint", () => {
  async function post(path: string, token = TOKEN): Promise<number> {
    const response = await fetch(`http://127.0.0.1:${server!.port}${path}`, { method: "POST", headers: { authorization: `Bearer ${token}` } });
    await response.body?.cancel();
    return response.status;
  }

  test("wrong token is 401, right token confirms", async () => {
    const led = new LedStatus();
    const queue = new ConfirmationQueue({ timeoutMs: 5000, led });
    server = startControlServer({ port: 0, token: TOKEN, queue, led, logger: silentLogger });
    const card = await buttonCard(queue, led);

    const signing = signHash(card, KEY_ID);
    await waitForPending(queue);
    expect(await post("/confirm", "wrong-token-0123456789abcde")).toBe(401);
    expect(await post("/confirm", "")).toBe(401);
    expect(queue.pending().length).toBe(1);

    const statusResponse = await fetch(`http://127.0.0.1:${server.port}/status`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const status = await statusResponse.json();
    expect(status.led).toBe("press-to-confirm");
    expect(status.pending[0].operation).toBe("SIGNATURE");

    expect(await post("/confirm")).toBe(204);
    expect(await signing).toBe("9000");
    expect(await post("/confirm")).toBe(404);
  });

  test("deny through the endpoint is 6600", async () => {
    const led = new LedStatus();
    const queue = new ConfirmationQueue({ timeoutMs: 5000, led });
    server = startControlServer({ port: 0, token: TOKEN, queue, led, logger: silentLogger });
    const card = await buttonCard(queue, led);

    const signing = signHash(card, KEY_ID);
    await waitForPending(queue);
    expect(await post(`/deny?id=${queue.pending()[0].id}`)).toBe(204);
    expect(await signing).toBe("6600");
  });

  test("event stream shows LED changes", async () => {
    const led = new LedStatus();
    const queue = new ConfirmationQueue({ timeoutMs: 5000, led });
    server = startControlServer({ port: 0, token: TOKEN, queue, led, logger: silentLogger });

    const response = await fetch(`http://127.0.0.1:${server.port}/events`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = (await reader.read()).value ?? "";
    expect(text).toContain("event: status");

    const states: LedState[] = ["active", "processing"];
    for (const state of states) led.set(state);
    while (!text.includes('"state":"processing"')) text += (await reader.read()).value ?? "";
    expect(text).toContain('event: led\ndata: {"state":"active"');
    await reader.cancel();
  });

  test("listens on 127.0.0.1 only", () => {
    const led = new LedStatus();
    server = startControlServer({ port: 0, token: TOKEN, queue: new ConfirmationQueue({ timeoutMs: 100 }), led, logger: silentLogger });
    expect(server.port).toBeGreaterThan(0);
  });
});

describe("terminal prompt", () => {
  function typedLines(): { input: ReadableStream<Uint8Array>; type: (line: string) => void } {
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const input = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
    return { input, type: (line) => controller.enqueue(new TextEncoder().encode(`${line}\n`)) };
  }

  test("y confirms, anything else denies", async () => {
    const queue = new ConfirmationQueue({ timeoutMs: 5000 });
    const { input, type } = typedLines();
    const questions: string[] = [];
    const stop = startTerminalPrompt({ queue, logger: silentLogger, input, write: (text) => questions.push(text) });
    const card = await buttonCard(queue);

    let signing = signHash(card, KEY_ID);
    await waitForPending(queue);
    expect(questions.join("")).toContain("Confirm SIGNATURE with key 1?");
    type("y");
    expect(await signing).toBe("9000");

    signing = signHash(card, KEY_ID);
    await waitForPending(queue);
    type("no");
    expect(await signing).toBe("6600");
    stop();
  });
});

describe("LED status", () => {
  test("power and commands move the LED", async () => {
    const led = new LedStatus();
    const seen: LedState[] = [];
    led.subscribe((event) => seen.push(event.state));
    const card = await openPolicyCard({ led });
    expect(led.state).toBe("active");
    await card.select();
    card.device.powerOff();
    expect(led.state).toBe("idle");
    expect(seen).toEqual(["active", "processing", "active", "idle"]);
  });
});

describe("LED status line", () => {
  test("names the device when given", () => {
    const event = { state: "processing" as LedState, time: Date.UTC(2026, 11, 4, 21) };
    expect(formatLedLine(event)).toBe("led processing 2026-12-04T21:00:00.000Z");
    expect(formatLedLine(event, "lab-2")).toBe("led lab-2 processing 2026-12-04T21:00:00.000Z");
  });
});
