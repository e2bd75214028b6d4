/** Runs the host tools (OpenSC, openssl, scriptor) the way a user would, without a shell. */

import { execFile } from "node:child_process";

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  timeoutMs?: number;
}

/** Runs `command` and resolves with its exit status and output, whatever the status. */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { cwd: options.cwd, timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024, encoding: "utf8" },
      (error, stdout, stderr) => {
        const code = (error as NodeJS.ErrnoException | null)?.code;
        if (code === "ENOENT") {
          reject(new Error(`${command} not found: run tools/setup.sh to install the test tools`));
          return;
        }
        if (error && (error as { killed?: boolean }).killed) {
          reject(new Error(`${command} ${args.join(" ")} timed out after ${options.timeoutMs ?? 60_000} ms`));
          return;
        }
        const status = error ? Number((error as { code?: unknown }).code ?? 1) : 0;
        resolve({ status: Number.isInteger(status) ? status : 1, stdout, stderr });
      },
    );
  });
}

/** Runs `command` and returns its stdout; throws with the whole output unless it exits with 0. */
export async function runOk(command: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  const result = await run(command, args, options);
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} exited with ${result.status}\n--- stdout\n${result.stdout}--- stderr\n${result.stderr}`,
    );
  }
  return result.stdout;
}
