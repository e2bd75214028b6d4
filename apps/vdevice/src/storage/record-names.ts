/**
 * Maps record names (which contain "/") to file names and back. Bytes of the
 * UTF-8 name outside [A-Za-z0-9_-] become "%HH" (upper-case hex), and ".rec" is
 * appended, so "file/C401" is stored as "file%2FC401.rec". No record file name
 * can equal the lock, the journal or a temporary file, because those contain a
 * "." or lack the suffix.
 */

const SAFE_BYTE = /^[A-Za-z0-9_-]$/;
const RECORD_SUFFIX = ".rec";

/** Maximum file name length of ext4, APFS and NTFS, in bytes or UTF-16 units. */
const MAX_FILE_NAME = 255;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Returns the file name of record `name`; throws RangeError for an empty or too long name. */
export function recordFileName(name: string): string {
  if (name.length === 0) throw new RangeError("record name must not be empty");
  let encoded = "";
  for (const byte of encoder.encode(name)) {
    const char = String.fromCharCode(byte);
    encoded += SAFE_BYTE.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  const fileName = encoded + RECORD_SUFFIX;
  if (fileName.length > MAX_FILE_NAME) {
    throw new RangeError(`record name ${JSON.stringify(name)} is too long: its file name would have ${fileName.length} characters, limit ${MAX_FILE_NAME}`);
  }
  return fileName;
}

/** Returns the record name stored in `fileName`, or undefined when it is not a record file. */
export function recordNameOf(fileName: string): string | undefined {
  if (!fileName.endsWith(RECORD_SUFFIX)) return undefined;
  const encoded = fileName.slice(0, -RECORD_SUFFIX.length);
  if (!/^(?:[A-Za-z0-9_-]|%[0-9A-F]{2})+$/.test(encoded)) return undefined;

  const bytes: number[] = [];
  for (let i = 0; i < encoded.length; i++) {
    if (encoded[i] === "%") {
      bytes.push(parseInt(encoded.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(encoded.charCodeAt(i));
    }
  }
  try {
    const name = decoder.decode(Uint8Array.from(bytes));
    return recordFileName(name) === fileName ? name : undefined;
  } catch {
    return undefined;
  }
}
