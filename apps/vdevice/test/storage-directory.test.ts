import { spawn, spawnSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, stat, writeFile, chmod, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { createLogger } from "../src/log.ts";
import { type DirectoryBackend, DirectoryLockedError, openDirectoryBackend } from "../src/storage/directory-backend.ts";
import { encodeJournal } from "../src/storage/journal.ts";
import { recordFileName, recordNameOf } from "../src/storage/record-names.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const denoPid = (globalThis as unknown as { Deno: { pid: number } }).Deno.pid;

let root: string;
let directory: string;
const opened: DirectoryBackend[] = [];

/** Opens the test directory and closes it after the test; log lines go to `lines`. */
async function openBackend(lines: string[] = []): Promise<DirectoryBackend> {
  const log = createLogger({ level: "debug", write: (line) => lines.push(line) });
  const backend = await openDirectoryBackend(directory, { log });
  opened.push(backend);
  return backend;
}

function mode(path: string): Promise<number> {
  return stat(path).then((info) => info.mode & 0o777);
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "vdevice-storage-"));
  directory = join(root, "device");
});

afterEach(async () => {
  for (const backend of opened.splice(0)) await backend.close();
  await rm(root, { recursive: true, force: true });
});

describe("record names", () => {
  it("escapes names into file names and back", () => {
    for (const name of ["file/C401", "key/01", "a.b", "%", "ä/ü", "lock", "journal"]) {
      const fileName = recordFileName(name);
      expect(fileName).toMatch(/^[A-Za-z0-9_%-]+\.rec$/);
      expect(recordNameOf(fileName)).toBe(name);
    }
    expect(recordFileName("file/C401")).toBe("file%2FC401.rec");
  });

  it("ignores files that are not records", () => {
    for (const fileName of ["lock", "journal", ".x.tmp", "file%2fC401.rec", "a%ZZ.rec", ".rec"]) {
      expect(recordNameOf(fileName)).toBeUndefined();
    }
  });

  it("rejects empty and over-long names", () => {
    expect(() => recordFileName("")).toThrow(/must not be empty/);
    expect(() => recordFileName("/".repeat(100))).toThrow(/too long/);
  });
});

describe("DirectoryBackend", () => {
  it("rejects a data path that is a file", async () => {
    await mkdir(root, { recursive: true });
    await writeFile(directory, "not a directory");

    await expect(openDirectoryBackend(directory)).rejects.toThrow(/exists but is not a directory: choose another --data-dir/);
  });

  it("stores, lists and deletes records", async () => {
    const backend = await openBackend();

    await backend.commit(new Map([["file/C401", bytes("one")], ["key/01", bytes("two")]]));
    await backend.commit(new Map([["key/01", null]]));

    expect(await backend.get("file/C401")).toEqual(bytes("one"));
    expect(await backend.get("key/01")).toBeUndefined();
    expect(await backend.list()).toEqual(["file/C401"]);
    expect((await readdir(directory)).sort()).toEqual(["file%2FC401.rec", "lock"]);
  });

  it("keeps records across close and open", async () => {
    const first = await openBackend();
    await first.commit(new Map([["file/C401", bytes("one")]]));
    await first.close();

    const second = await openBackend();

    expect(await second.get("file/C401")).toEqual(bytes("one"));
  });

  it("replaces a record atomically", async () => {
    const backend = await openBackend();
    await backend.commit(new Map([["file/C401", bytes("old")]]));

    await backend.commit(new Map([["file/C401", bytes("new content")]]));

    expect(await backend.get("file/C401")).toEqual(bytes("new content"));
    expect((await readdir(directory)).filter((name) => name.endsWith(".tmp"))).toEqual([]);
  });

  it("leaves no journal after a batch", async () => {
    const backend = await openBackend();

    await backend.commit(new Map([["a", bytes("1")], ["b", bytes("2")], ["c", bytes("3")]]));

    expect((await readdir(directory)).sort()).toEqual(["a.rec", "b.rec", "c.rec", "lock"]);
  });

  it("rejects a batch with an invalid name before writing any of it", async () => {
    const backend = await openBackend();

    await expect(backend.commit(new Map([["a", bytes("1")], ["", bytes("2")]]))).rejects.toThrow(/must not be empty/);

    expect(await backend.list()).toEqual([]);
  });

  it("throws after close", async () => {
    const backend = await openBackend();
    await backend.close();

    await expect(backend.get("a")).rejects.toThrow(/is closed/);
  });
});

describe("crash safety", () => {
  it("completes a batch whose journal a crash left behind", async () => {
    const first = await openBackend();
    await first.commit(new Map([["a", bytes("old")], ["b", bytes("gone")]]));
    await first.close();
    const batch = new Map<string, Uint8Array | null>([["a", bytes("new")], ["b", null], ["c", bytes("added")]]);
    await writeFile(join(directory, "journal"), encodeJournal(batch), { mode: 0o600 });
    await writeFile(join(directory, "a.rec"), bytes("new"), { mode: 0o600 });
    const lines: string[] = [];

    const second = await openBackend(lines);

    expect(await second.get("a")).toEqual(bytes("new"));
    expect(await second.get("b")).toBeUndefined();
    expect(await second.get("c")).toEqual(bytes("added"));
    expect((await readdir(directory)).includes("journal")).toBe(false);
    expect(lines.join("\n")).toMatch(/completed a batch interrupted by a crash .*changes=3/);
  });

  it("drops a corrupt journal", async () => {
    await mkdir(directory, { mode: 0o700 });
    const journal = encodeJournal(new Map([["a", bytes("1")], ["b", bytes("2")]]));
    journal[10] ^= 1;
    await writeFile(join(directory, "journal"), journal, { mode: 0o600 });
    const lines: string[] = [];

    const backend = await openBackend(lines);

    expect(await backend.list()).toEqual([]);
    expect((await readdir(directory)).includes("journal")).toBe(false);
    expect(lines.join("\n")).toMatch(/dropping a corrupt commit journal/);
  });

  it("removes leftover temporary files on open", async () => {
    const first = await openBackend();
    await first.commit(new Map([["a", bytes("committed")]]));
    await first.close();
    await writeFile(join(directory, ".0123456789abcdef.tmp"), bytes("half-written"), { mode: 0o600 });
    const lines: string[] = [];

    const second = await openBackend(lines);

    expect(await second.list()).toEqual(["a"]);
    expect(await second.get("a")).toEqual(bytes("committed"));
    expect((await readdir(directory)).sort()).toEqual(["a.rec", "lock"]);
    expect(lines.join("\n")).toMatch(/removed temporary files .*count=1/);
  });
});

describe("lock file", () => {
  it("holds the pid of the owner", async () => {
    await openBackend();

    expect(await readFile(join(directory, "lock"), "utf8")).toBe(`${denoPid}\n`);
  });

  it("makes a second open fail with a clear message", async () => {
    await openBackend();

    const second = openDirectoryBackend(directory);

    await expect(second).rejects.toBeInstanceOf(DirectoryLockedError);
    await expect(openDirectoryBackend(directory)).rejects.toThrow(
      `device data directory ${directory} is in use by process ${denoPid} (lock file ${directory}/lock)`,
    );
  });

  it("is released by close", async () => {
    const first = await openBackend();
    await first.close();

    expect((await readdir(directory)).includes("lock")).toBe(false);
    await expect(openBackend()).resolves.toBeDefined();
  });

  it("names another live process that holds it", async () => {
    await mkdir(directory, { mode: 0o700 });
    const sleeper = spawn("sleep", ["30"]);
    try {
      await writeFile(join(directory, "lock"), `${sleeper.pid}\n`, { mode: 0o600 });

      await expect(openDirectoryBackend(directory)).rejects.toThrow(`in use by process ${sleeper.pid}`);
    } finally {
      sleeper.kill();
    }
  });

  it("takes over a lock of a dead process with a log line", async () => {
    await mkdir(directory, { mode: 0o700 });
    const finished = spawnSync("true");
    await writeFile(join(directory, "lock"), `${finished.pid}\n`, { mode: 0o600 });
    const lines: string[] = [];

    await openBackend(lines);

    expect(await readFile(join(directory, "lock"), "utf8")).toBe(`${denoPid}\n`);
    expect(lines.join("\n")).toMatch(new RegExp(`WARN  taking over a stale lock .*stalePid=${finished.pid}`));
  });

  it("takes over a lock that holds no pid", async () => {
    await mkdir(directory, { mode: 0o700 });
    await writeFile(join(directory, "lock"), "", { mode: 0o600 });
    const lines: string[] = [];

    await openBackend(lines);

    expect(lines.join("\n")).toMatch(/stalePid=unreadable/);
  });
});

describe("permissions", () => {
  it("creates the directory 0700 and files 0600", async () => {
    const backend = await openBackend();
    await backend.commit(new Map([["file/C401", bytes("one")]]));
    await backend.commit(new Map([["a", bytes("1")], ["b", bytes("2")]]));

    expect(await mode(directory)).toBe(0o700);
    for (const name of await readdir(directory)) expect(await mode(join(directory, name)), name).toBe(0o600);
  });

  it("narrows an existing directory to 0700", async () => {
    await mkdir(directory);
    await chmod(directory, 0o755);
    const lines: string[] = [];

    await openBackend(lines);

    expect(await mode(directory)).toBe(0o700);
    expect(lines.join("\n")).toMatch(/restricting device data directory .*mode=755/);
  });
});
