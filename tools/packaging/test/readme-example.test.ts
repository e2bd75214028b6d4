import { describe, expect, it } from "vitest";

import { extractFirstExample, findBrokenPromise } from "../src/readme-example.ts";

const README = [
  "# lib",
  "",
  "```ts",
  "console.log(0); // not the example",
  "```",
  "",
  "## First example",
  "",
  "```ts",
  'import { x } from "lib";',
  "console.log(x.length); // 490, the size the firmware returns",
  "console.log(x.join(\",\")); // 3,2,1",
  "console.log(x); ",
  "```",
  "",
  "```ts",
  "console.log(1); // a later block",
  "```",
].join("\n");

describe("extractFirstExample", () => {
  it("takes the block after the heading", () => {
    const example = extractFirstExample(README, "README.md");
    expect(example.code.startsWith('import { x } from "lib";')).toBe(true);
    expect(example.code).not.toContain("a later block");
  });

  it("reads promised output from comments", () => {
    const { expected } = extractFirstExample(README, "README.md");
    expect(expected).toEqual([
      { line: 2, accepted: ["490, the size the firmware returns", "490"] },
      { line: 3, accepted: ["3,2,1"] },
    ]);
  });

  it("rejects a README without the heading", () => {
    expect(() => extractFirstExample("# lib\n\n```ts\nconsole.log(1);\n```\n", "libs/x/README.md")).toThrow('libs/x/README.md has no "## First example" heading');
  });
});

describe("findBrokenPromise", () => {
  const expected = [
    { line: 2, accepted: ["490, remark", "490"] },
    { line: 3, accepted: ["3,2,1"] },
  ];

  it("accepts lines in order with others between", () => {
    expect(findBrokenPromise("490\nnoise\n3,2,1\n", expected)).toBeUndefined();
  });

  it("reports a missing line", () => {
    expect(findBrokenPromise("490\n3,2\n", expected)).toContain('example line 3 promises the output "3,2,1"');
  });

  it("reports lines out of order", () => {
    expect(findBrokenPromise("3,2,1\n490\n", expected)).toContain("example line 3");
  });
});
