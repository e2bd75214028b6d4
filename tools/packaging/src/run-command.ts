/** Runs npm, deno and node the way a user would, without a shell. */

import { execFile } from "node:child_process";

export interface CommandResult {
  status: number;
  stdout: string;
  stderr: string;
}

export interface CommandOptions {
  cwd?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

const DEFAULT_TIMEOUT_MS = 60_000;

/** Runs `command` and resolves with its exit status and output, whatever the status. */
export function runCommand(command: string, args: readonly string[], options: CommandOptions = {}): Promise<CommandResult> {
  const timeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { cwd: options.cwd, env: options.env, timeout, maxBuffer: 16 * 1024 * 1024, encoding: "utf8" },
      (error, stdout, stderr) => {
        const code = (error as NodeJS.ErrnoException | null)?.code;
        if (code === "ENOENT") {
          reject(new Error(`${command} not found: run npm ci at the repository root`));
          return;
        }
        if (error && (error as { killed?: boolean }).killed) {
          reject(new Error(`${command} ${args.join(" ")} timed out after ${timeout} ms`));
          return;
        }

        const status = error ? Number(code ?? 1) : 0;
        resolve({ status: Number.isInteger(status) ? status : 1, stdout, stderr });
      },
    );
  });
}

/** Runs `command` and returns its stdout; throws with the whole output unless it exits with 0. */
export async function runCommandOk(command: string, args: readonly string[], options: CommandOptions = {}): Promise<string> {
  const result = await runCommand(command, args, options);
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(" ")} exited with ${result.status}\n${formatOutput(result)}`);
  }
  return result.stdout;
}

/** Formats both output streams for a failure message. */
export function formatOutput(result: CommandResult): string {
  return `--- stdout\n${result.stdout}--- stderr\n${result.stderr}`;
}
