/**
 * The first example of a library README, and the output it promises.
 *
 * The example is the first ```ts block after the heading "First example". Each
 * line that calls console.log and ends in a `// comment` promises one output
 * line: the comment itself, or the text before its first ", " when the rest is
 * a remark (`// 490, the size the firmware returns`).
 */

export interface ExpectedLine {
  /** 1-based line number of the console.log call inside the example. */
  line: number;
  /** Output lines that satisfy the promise. */
  accepted: string[];
}

export interface ReadmeExample {
  code: string;
  expected: ExpectedLine[];
}

const HEADING = /^#{2,3}\s+First example\s*$/im;
const CODE_BLOCK = /^```(?:ts|typescript)\s*\n([\s\S]*?)^```/m;
const PROMISED_OUTPUT = /console\.log\(.*\);?\s*\/\/\s*(.+?)\s*$/;

/** Extracts the first example from README text; throws naming `source` when there is none. */
export function extractFirstExample(readme: string, source: string): ReadmeExample {
  const heading = HEADING.exec(readme);
  if (!heading) throw new Error(`${source} has no "## First example" heading`);

  const block = CODE_BLOCK.exec(readme.slice(heading.index));
  if (!block) throw new Error(`${source} has no \`\`\`ts block after "First example"`);

  const code = block[1];
  const expected: ExpectedLine[] = [];
  code.split("\n").forEach((text, index) => {
    const match = PROMISED_OUTPUT.exec(text);
    if (match) expected.push({ line: index + 1, accepted: acceptedForms(match[1]) });
  });
  return { code, expected };
}

function acceptedForms(comment: string): string[] {
  const remark = comment.indexOf(", ");
  return remark < 0 ? [comment] : [comment, comment.slice(0, remark)];
}

/**
 * Checks that the output contains the promised lines in order (other lines may
 * come between them). Returns a description of the first promise not kept, or
 * undefined when all are kept.
 */
export function findBrokenPromise(stdout: string, expected: readonly ExpectedLine[]): string | undefined {
  const lines = stdout.split("\n").map((line) => line.trimEnd());
  let next = 0;

  for (const promise of expected) {
    const found = lines.findIndex((line, index) => index >= next && promise.accepted.includes(line));
    if (found < 0) {
      return `example line ${promise.line} promises the output "${promise.accepted.at(-1)}", not found in order in:\n${stdout}`;
    }
    next = found + 1;
  }
  return undefined;
}
