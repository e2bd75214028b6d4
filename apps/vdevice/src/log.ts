/**
 * A small leveled logger for the virtual device. Each record is one line on
 * stderr: time, level, message, then key=value fields. Callers pass ids, INS
 * bytes and status words as fields; never PINs, keys or command data.
 */

export type LogLevel = "error" | "warn" | "info" | "debug";

export type LogFields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  readonly level: LogLevel;
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;

  /** Returns a logger that adds `fields` to every record (e.g. the device name). */
  child(fields: LogFields): Logger;
}

export const LOG_LEVELS: readonly LogLevel[] = ["error", "warn", "info", "debug"];

export interface LoggerOptions {
  level: LogLevel;

  /** Receives each formatted line; defaults to stderr. */
  write?: (line: string) => void;
}

export function createLogger(options: LoggerOptions, baseFields: LogFields = {}): Logger {
  const write = options.write ?? writeToStderr;
  const threshold = LOG_LEVELS.indexOf(options.level);

  const emit = (level: LogLevel, message: string, fields?: LogFields): void => {
    if (LOG_LEVELS.indexOf(level) > threshold) return;
    write(formatRecord(level, message, { ...baseFields, ...fields }));
  };

  return {
    level: options.level,
    error: (message, fields) => emit("error", message, fields),
    warn: (message, fields) => emit("warn", message, fields),
    info: (message, fields) => emit("info", message, fields),
    debug: (message, fields) => emit("debug", message, fields),
    child: (fields) => createLogger(options, { ...baseFields, ...fields }),
  };
}

/** A logger that drops everything; the default for in-process devices in tests. */
export const silentLogger: Logger = createLogger({ level: "error", write: () => {} });

export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

function formatRecord(level: LogLevel, message: string, fields: LogFields): string {
  const parts = [new Date().toISOString(), level.toUpperCase().padEnd(5), message];

  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    parts.push(`${key}=${formatValue(value)}`);
  }

  return parts.join(" ");
}

function formatValue(value: string | number | boolean): string {
  const text = String(value);
  return /[\s"=]/.test(text) ? JSON.stringify(text) : text;
}

const encoder = new TextEncoder();

function writeToStderr(line: string): void {
  const bytes = encoder.encode(line + "\n");
  const deno = (globalThis as { Deno?: { stderr: { writeSync(b: Uint8Array): number } } }).Deno;

  if (deno) {
    let written = 0;
    while (written < bytes.length) written += deno.stderr.writeSync(bytes.subarray(written));
    return;
  }

  console.error(line);
}
