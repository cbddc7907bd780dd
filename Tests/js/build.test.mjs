// The templates PixelEdge serves are built from Templates/src by Templates/build (esbuild): this fails when
// the source was changed and the templates were not rebuilt and committed with it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

test("the committed templates are what Templates/src builds to", () => {
  const result = spawnSync(join(root, "Templates/build"), ["--check"], { encoding: "utf8" });
  assert.equal(result.status, 0, result.stderr || result.stdout);
  assert.match(result.stdout, /built from the current source/);
});
