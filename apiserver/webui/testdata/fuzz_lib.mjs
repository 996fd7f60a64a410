// Reads one JSON-encoded string per line from stdin, runs the UI helpers
// that parse outside data on it, checks their invariants and answers one
// line per input: "ok" or what went wrong. FuzzLib drives it.
import { createInterface } from "node:readline";
import * as lib from "./lib.mjs";

const PAGES = new Set(["list", "detail", "search", "failures", "notfound"]);
const STATUSES = new Set(["succeeded", "caught", "failed", "retrying", "running", "stopped"]);

function check(s) {
  // Snippets: after removing the marks, no markup is left, and the marks
  // are balanced and never nested.
  const html = lib.highlightSnippet(s);
  const bare = html.replaceAll("<mark>", "").replaceAll("</mark>", "");
  if (/[<>"']/.test(bare)) return `highlightSnippet(${JSON.stringify(s)}) left markup: ${html}`;
  let depth = 0;
  for (const m of html.matchAll(/<\/?mark>/g)) {
    depth += m[0] === "<mark>" ? 1 : -1;
    if (depth < 0 || depth > 1) return `highlightSnippet(${JSON.stringify(s)}) unbalanced: ${html}`;
  }
  if (depth !== 0) return `highlightSnippet(${JSON.stringify(s)}) unclosed: ${html}`;
  if (lib.escapeHTML(s).replace(/&(amp|lt|gt|quot|#39);/g, "") .match(/[<>"'&]/)) return `escapeHTML(${JSON.stringify(s)}) left a special character`;

  const r = lib.parseRoute("#" + s);
  if (!PAGES.has(r.page)) return `parseRoute(${JSON.stringify(s)}) gave page ${r.page}`;
  if (r.page === "detail" && typeof r.id !== "string") return `parseRoute(${JSON.stringify(s)}) gave no id`;
  // buildQuery leaves out empty values; the rest round-trips.
  const kept = Object.fromEntries(Object.entries(r.params).filter(([, v]) => v !== ""));
  const q = lib.buildQuery(r.params);
  const back = lib.parseRoute("#/search" + q);
  if (JSON.stringify(back.params) !== JSON.stringify(kept)) return `buildQuery(${JSON.stringify(r.params)}) = ${q} does not parse back`;

  lib.exportName(s);
  for (const [i, n] of lib.findInWords(s.split(" ").map((text) => ({ text })), s.slice(-8))) {
    if (i < 0 || n < 1) return `findInWords(${JSON.stringify(s)}) gave [${i}, ${n}]`;
  }
  lib.formatTime(Number(s));
  lib.formatBytes(Number(s));
  lib.formatDuration(Number(s));

  // Structured helpers take the input as JSON when it is JSON.
  let v;
  try {
    v = JSON.parse(s);
  } catch {
    return "ok";
  }
  const events = Array.isArray(v) ? v.filter((e) => e && typeof e === "object") : [];
  const { execution, steps } = lib.executionSteps(events);
  if (typeof execution.status !== "string") return "executionSteps: no execution status";
  for (const st of steps) {
    if (!STATUSES.has(st.status) || st.depth < 0 || st.retries < 0) return `executionSteps: bad step ${JSON.stringify(st)}`;
  }
  if (v && typeof v === "object") {
    const tr = { words: Array.isArray(v.words) ? v.words.filter((w) => w && typeof w === "object") : [], segments: Array.isArray(v.segments) ? v.segments.filter((x) => x && typeof x === "object") : [], text: typeof v.text === "string" ? v.text : "" };
    for (const b of lib.transcriptBlocks(tr)) {
      if (b.count > 0 && (b.first < 0 || b.first + b.count > tr.words.length)) return `transcriptBlocks: block ${JSON.stringify(b)} outside ${tr.words.length} words`;
    }
    lib.indexAt(tr.words, Number(v.t));
    for (const [i, n] of lib.findInWords(tr.words, typeof v.q === "string" ? v.q : s.slice(0, 20))) {
      if (i < 0 || n < 1 || i + n > tr.words.length) return `findInWords: match [${i}, ${n}] outside ${tr.words.length} words`;
    }
  }
  return "ok";
}

const rl = createInterface({ input: process.stdin });
rl.on("line", (line) => {
  let out;
  try {
    out = check(JSON.parse(line));
  } catch (e) {
    out = "threw: " + (e && e.stack ? e.stack : e);
  }
  process.stdout.write(JSON.stringify(out) + "\n");
});
