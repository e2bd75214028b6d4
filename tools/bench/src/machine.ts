/** Facts about the machine and software a run measured, recorded with every result. */

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { loadavg, release } from "node:os";
import { denoFfi } from "./deno-ffi.ts";
import type { MachineInfo } from "./report.ts";

const UNKNOWN = "unknown";

export function collectMachineInfo(repositoryRoot: string): MachineInfo {
  return {
    cpuModel: cpuModel(),
    cores: Number(run("nproc", [])) || 0,
    kernel: release(),
    loadAverage: loadavg()[0],
    versions: {
      Deno: denoFfi().version.deno,
      OpenSC: match(run("opensc-tool", ["--info"]), /OpenSC (\S+)/),
      SoftHSMv2: run("softhsm2-util", ["--version"]),
      "pcsc-lite": match(run("pcscd", ["--version"]), /pcsc-lite version ([\d.]+\d)/),
    },
    commit: commit(repositoryRoot),
  };
}

function cpuModel(): string {
  try {
    return match(readFileSync("/proc/cpuinfo", "utf8"), /^model name\s*:\s*(.+)$/m);
  } catch {
    return UNKNOWN;
  }
}

/** Returns the short commit hash of HEAD, with `-dirty` when tracked files have changes. */
function commit(repositoryRoot: string): string {
  const hash = run("git", ["-C", repositoryRoot, "rev-parse", "--short", "HEAD"]);
  if (hash === UNKNOWN) return UNKNOWN;
  const changes = run("git", ["-C", repositoryRoot, "status", "--porcelain", "--untracked-files=no"]);
  return changes === "" ? hash : `${hash}-dirty`;
}

/** Runs a command and returns its trimmed stdout, or "unknown" when it fails. */
function run(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return UNKNOWN;
  }
}

function match(text: string, pattern: RegExp): string {
  return pattern.exec(text)?.[1].trim() ?? UNKNOWN;
}
