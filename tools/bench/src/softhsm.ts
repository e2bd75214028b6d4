/** A throwaway SoftHSMv2 token in a temporary directory, the reference the device is compared with. */

import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Writes a softhsm2.conf whose token directory is inside `directory`, initializes one token with
 * `softhsm2-util --init-token`, and points SOFTHSM2_CONF of this process at it, so that
 * libsofthsm2.so loaded afterwards finds only that token.
 */
export function createSoftHsmToken(directory: string, label: string, soPin: string, userPin: string): void {
  const tokenDirectory = join(directory, "tokens");
  const configPath = join(directory, "softhsm2.conf");
  mkdirSync(tokenDirectory, { recursive: true });
  writeFileSync(
    configPath,
    `directories.tokendir = ${tokenDirectory}\nobjectstore.backend = file\nlog.level = ERROR\n`,
  );

  const env = { ...process.env, SOFTHSM2_CONF: configPath };
  try {
    execFileSync(
      "softhsm2-util",
      ["--init-token", "--free", "--label", label, "--so-pin", soPin, "--pin", userPin],
      { env, stdio: "pipe" },
    );
  } catch (error) {
    // The error message of execFileSync repeats the command line, which contains the PINs.
    const failure = error as { stderr?: Buffer; stdout?: Buffer };
    const output = `${failure.stdout ?? ""}${failure.stderr ?? ""}`.trim();
    throw new Error(`softhsm2-util --init-token failed: ${output || "no output"} (is softhsm2 installed?)`);
  }

  process.env.SOFTHSM2_CONF = configPath;
}
