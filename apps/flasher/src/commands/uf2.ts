/** `flasher uf2 info FILE` and `flasher uf2 convert IN OUT`: inspect UF2 files, and convert between .bin and .uf2. */
import { readFile, writeFile } from "node:fs/promises";
import { buildUf2, chipForFamily, DeviceHalError, familyByName, familyName, hex, imageToBinary, parseUf2, uf2ToImage, UF2_FLAG } from "@hsmkit/device-hal";
import { UsageError, type FlasherEnvironment } from "../environment.ts";
import { formatBytes } from "../progress.ts";

export async function uf2InfoCommand(env: FlasherEnvironment, path: string): Promise<number> {
  const { blocks, image } = parseFile(path, await read(path));
  const chip = chipForFamily(image.familyId);

  env.stdout(`${path}: ${blocks.length} blocks, family ${familyName(image.familyId)} (${hex(image.familyId)})${chip ? `, boots on ${chip.name}` : ""}\n`);
  env.stdout(`pages: ${image.pages.size} × 256 bytes, ${hex(image.start)}–${hex(image.end)} (${formatBytes(image.end - image.start)})\n`);
  if (image.droppedE10Block) env.stdout("contains the RP2350-E10 workaround block (skipped when flashing)\n");
  const skipped = blocks.filter((block) => block.flags & UF2_FLAG.NOT_MAIN_FLASH).length;
  if (skipped > 0) env.stdout(`${skipped} blocks are marked not-main-flash and are not written\n`);
  return 0;
}

export async function uf2ConvertCommand(env: FlasherEnvironment, options: { input: string; output: string; family?: string; base?: string }): Promise<number> {
  const input = await read(options.input);

  if (options.input.toLowerCase().endsWith(".uf2")) {
    const { image } = parseFile(options.input, input);
    await writeFile(options.output, imageToBinary(image));
    env.stdout(`wrote ${options.output}: ${formatBytes(image.end - image.start)} from ${hex(image.start)}, holes filled with 0x00\n`);
    return 0;
  }

  if (options.family === undefined) throw new UsageError("converting a .bin needs --family: rp2040, rp2350-arm-s, rp2350-riscv, absolute or data");
  const familyId = familyByName(options.family);
  if (familyId === undefined) throw new UsageError(`unknown family ${options.family}: use rp2040, rp2350-arm-s, rp2350-riscv, absolute or data`);
  const baseAddress = options.base === undefined ? 0x10000000 : Number(options.base);
  if (!Number.isInteger(baseAddress) || baseAddress < 0 || baseAddress % 256 !== 0) throw new UsageError(`--base ${options.base} is invalid: use a 256-aligned address such as 0x10000000`);

  const uf2 = buildUf2(input, { familyId, baseAddress });
  await writeFile(options.output, uf2);
  env.stdout(`wrote ${options.output}: ${uf2.length / 512} blocks of ${familyName(familyId)} from ${hex(baseAddress)}\n`);
  return 0;
}

async function read(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (error) {
    throw new UsageError(`cannot read ${path}: ${(error as Error).message}`);
  }
}

/** Parses a UF2 file; a malformed one becomes a UsageError that names the file. */
function parseFile(path: string, bytes: Uint8Array) {
  try {
    const blocks = parseUf2(bytes);
    return { blocks, image: uf2ToImage(blocks) };
  } catch (error) {
    if (error instanceof DeviceHalError && error.code === "INVALID_IMAGE") throw new UsageError(`${path} is not a usable UF2 file: ${error.message}`);
    throw error;
  }
}
