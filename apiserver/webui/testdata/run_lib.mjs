// Runs the cases of a JSON file against lib.mjs (a copy of static/lib.js
// beside this script) and prints [{name, got}] or [{name, error}] as JSON.
// Usage: node run_lib.mjs CASES.json TESTDATA_DIR
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as lib from "./lib.mjs";

const cases = JSON.parse(readFileSync(process.argv[2], "utf8"));
const dir = process.argv[3];
// An argument {"$file": "name.json"} is the JSON of that file in testdata.
const arg = (a) => (a && typeof a === "object" && !Array.isArray(a) && typeof a.$file === "string"
  ? JSON.parse(readFileSync(join(dir, a.$file), "utf8"))
  : a);
const out = cases.map((c) => {
  const fn = lib[c.fn];
  if (typeof fn !== "function") return { name: c.name, error: `lib.js exports no function ${c.fn}` };
  try {
    const got = fn(...c.args.map(arg));
    return { name: c.name, got: got === undefined ? null : got };
  } catch (e) {
    return { name: c.name, error: String(e && e.stack ? e.stack : e) };
  }
});
process.stdout.write(JSON.stringify(out));
