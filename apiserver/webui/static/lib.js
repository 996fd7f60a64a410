// Pure helpers of the Landfall web UI: no DOM, no network. The Go tests run
// them under node against the cases in testdata/lib_cases.json.

const htmlEscapes = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** escapeHTML makes text safe to place in HTML markup or an attribute. */
export function escapeHTML(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) => htmlEscapes[c]);
}

/**
 * highlightSnippet turns a search snippet, whose matched words sit between
 * « and », into HTML: the text is escaped first, then each « » pair becomes
 * <mark></mark>. An unclosed « is closed at the end; a stray » is dropped.
 */
export function highlightSnippet(snippet) {
  const text = escapeHTML(snippet);
  let out = "";
  let open = false;
  for (const ch of text) {
    if (ch === "«") {
      if (!open) out += "<mark>";
      open = true;
    } else if (ch === "»") {
      if (open) out += "</mark>";
      open = false;
    } else {
      out += ch;
    }
  }
  if (open) out += "</mark>";
  return out;
}

/** formatTime renders seconds as m:ss, or h:mm:ss from an hour up. */
export function formatTime(seconds) {
  let s = Number(seconds);
  if (!Number.isFinite(s) || s < 0) s = 0;
  s = Math.floor(s);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

/** formatBytes renders a size with a binary unit: 1.5 MiB. */
export function formatBytes(n) {
  let v = Number(n);
  if (!Number.isFinite(v) || v < 0) return "";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/**
 * indexAt returns the index of the last item (word or segment, sorted by
 * start) whose start is at or before t, or -1 when t is before the first.
 */
export function indexAt(items, t) {
  let lo = 0;
  let hi = items.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (items[mid].start <= t) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

/**
 * parseRoute reads a location hash: "#/media/ID?t=12" is the detail page,
 * "#/search?q=…" search, "#/failures" failures, "" or "#/" (with filters)
 * the media list. Unknown paths are page "notfound".
 */
export function parseRoute(hash) {
  let h = String(hash || "").replace(/^#/, "");
  if (!h.startsWith("/")) h = "/" + h;
  const q = h.indexOf("?");
  const path = q >= 0 ? h.slice(0, q) : h;
  const params = {};
  if (q >= 0) {
    for (const [k, v] of new URLSearchParams(h.slice(q + 1))) params[k] = v;
  }
  const parts = path.split("/").filter((p) => p !== "");
  let segs;
  try {
    segs = parts.map(decodeURIComponent);
  } catch {
    return { page: "notfound", path, params };
  }
  if (segs.length === 0 || (segs.length === 1 && segs[0] === "media")) return { page: "list", params };
  if (segs.length === 2 && segs[0] === "media") return { page: "detail", id: segs[1], params };
  if (segs.length === 1 && segs[0] === "search") return { page: "search", params };
  if (segs.length === 1 && segs[0] === "failures") return { page: "failures", params };
  if (segs.length === 1 && segs[0] === "reviews") return { page: "reviews", params };
  if (segs.length === 2 && segs[0] === "reviews") return { page: "review", id: segs[1], params };
  return { page: "notfound", path, params };
}

/** buildQuery encodes params, leaving out empty values: "?a=1&b=x" or "". */
export function buildQuery(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? "?" + s : "";
}

/**
 * speakerName is how a speaker label shows everywhere: the name a
 * reviewer gave it (speakers: the transcript's [{label, name}]), else
 * "Speaker 1" for "spk_0"; other labels stay as they are.
 */
export function speakerName(label, speakers) {
  for (const sp of speakers || []) {
    if (sp && sp.label === label && typeof sp.name === "string" && sp.name.trim()) return sp.name;
  }
  const m = /^spk_(\d+)$/.exec(String(label || ""));
  return m ? `Speaker ${Number(m[1]) + 1}` : String(label || "");
}

/**
 * transcriptBlocks groups a transcript's words into the blocks the UI
 * shows: one per segment (its words from first_word and word_count, or by
 * time when those are absent), or, without segments, runs of words by one
 * speaker broken at pauses of more than gap seconds. Each block is
 * {start, end, speaker, text, first, count} where first/count index words.
 */
export function transcriptBlocks(tr, gap = 1.5) {
  const words = (tr && tr.words) || [];
  const segs = (tr && tr.segments) || [];
  const blocks = [];
  if (segs.length > 0) {
    let w = 0;
    for (const s of segs) {
      let first = -1;
      let count = 0;
      if (Number.isInteger(s.word_count) && s.word_count > 0 && Number.isInteger(s.first_word) && s.first_word >= 0 && s.first_word + s.word_count <= words.length) {
        first = s.first_word;
        count = s.word_count;
      } else {
        while (w < words.length && words[w].start < s.start) w++;
        const from = w;
        while (w < words.length && words[w].start < s.end) w++;
        if (w > from) {
          first = from;
          count = w - from;
        }
      }
      blocks.push({ start: s.start, end: s.end, speaker: s.speaker || "", text: s.text || "", first, count });
    }
    return blocks;
  }
  for (let i = 0; i < words.length; i++) {
    const wd = words[i];
    const last = blocks[blocks.length - 1];
    const prev = words[i - 1];
    if (last && (wd.speaker || "") === last.speaker && wd.start - prev.end <= gap) {
      last.end = wd.end;
      last.count++;
      last.text += " " + wd.text;
    } else {
      blocks.push({ start: wd.start, end: wd.end, speaker: wd.speaker || "", text: wd.text, first: i, count: 1 });
    }
  }
  if (blocks.length === 0 && tr && tr.text) {
    blocks.push({ start: 0, end: tr.duration || 0, speaker: "", text: tr.text, first: -1, count: 0 });
  }
  return blocks;
}

/**
 * displayWords returns the text to show for each word of a transcript, in
 * the readable form of its segments: a recogniser that writes lower-case
 * words without punctuation gets each block's first word capitalised, "i"
 * as "I", and the block's closing punctuation (taken from its segment
 * text) on its last word. Words that already carry case or punctuation
 * are shown as they are.
 */
export function displayWords(tr, blocks) {
  const words = (tr && tr.words) || [];
  const out = words.map((w) => String((w && w.text) || ""));
  for (let i = 0; i < out.length; i++) if (out[i] === "i" || out[i].startsWith("i'")) out[i] = "I" + out[i].slice(1);
  for (const b of blocks || []) {
    if (!(b.count > 0) || b.first < 0 || b.first + b.count > out.length) continue;
    const f = b.first;
    if (out[f]) out[f] = out[f].charAt(0).toUpperCase() + out[f].slice(1);
    for (let i = f + 1; i < f + b.count; i++) {
      if (/[.?!]$/.test(out[i - 1]) && out[i]) out[i] = out[i].charAt(0).toUpperCase() + out[i].slice(1);
    }
    const last = f + b.count - 1;
    const close = /[.?!…]+$/.exec(String(b.text || "").trim());
    if (close && !/[.?!…,;:]$/.test(out[last])) out[last] += close[0];
  }
  return out;
}

/**
 * exportName is the file name of an export URL, shown in the download
 * list: "/v1/media/m/captions.vtt?x=1" gives "captions.vtt".
 */
export function exportName(url) {
  const path = String(url || "").split(/[?#]/, 1)[0];
  return path.slice(path.lastIndexOf("/") + 1);
}

/**
 * problemDetail picks the message to show for a failed response: the
 * problem document's detail, else its title, else "HTTP <status>".
 */
export function problemDetail(status, body) {
  if (body && typeof body === "object") {
    if (typeof body.detail === "string" && body.detail !== "") return stripPackagePrefix(body.detail);
    if (typeof body.title === "string" && body.title !== "") return body.title;
  }
  return `HTTP ${status}`;
}

// Server messages may start with the names of the Landfall packages an
// error passed through ("catalog: media x not found"); readers need only
// what follows.
const PACKAGE_PREFIX = /^(?:(?:apiserver|app|analyser|asl|blob|bus|catalog|config|engine|identity|ingest|pipeline|postgres|rule|search|sqlite|storage|telemetry|workflow)(?:\/[a-z0-9]+)?: )+/;

/** stripPackagePrefix drops leading internal package names from a message. */
export function stripPackagePrefix(msg) {
  const s = String(msg ?? "");
  const out = s.replace(PACKAGE_PREFIX, "");
  return out === "" ? s : out;
}

/**
 * confidenceText renders a detector's score: a probability (0–1) as a
 * whole percentage, anything else (a raw detector score, which has no upper
 * bound) as "score N", so no percentage ever exceeds 100 %.
 */
export function confidenceText(score) {
  const v = Number(score);
  if (score === null || score === undefined || !Number.isFinite(v) || v < 0) return "";
  if (v <= 1) return `${Math.round(v * 100)}%`;
  return `score ${Math.round(v * 10) / 10}`;
}

/**
 * downloadName is the file name a download is saved as: the media's file
 * name without its extension, a dot, and the export's name
 * ("talk.mp3" and "captions.srt" give "talk.captions.srt"). Without a file
 * name it falls back to the media id.
 */
export function downloadName(filename, id, exportFile) {
  const base = String(filename || "").split(/[\\/]/).pop();
  const dot = base.lastIndexOf(".");
  const stem = (dot > 0 ? base.slice(0, dot) : base) || String(id || "media");
  return `${stem}.${exportFile}`;
}

/** percentOf places t on a timeline of duration seconds, clamped to 0–100. */
export function percentOf(t, duration) {
  const d = Number(duration);
  const x = Number(t);
  if (!Number.isFinite(d) || d <= 0 || !Number.isFinite(x)) return 0;
  return Math.min(100, Math.max(0, (x / d) * 100));
}

/**
 * relevance is a hit's score as a whole percentage of the best score in
 * its result list (scores are comparable within one list only).
 */
export function relevance(score, best) {
  const s = Number(score);
  const b = Number(best);
  if (!Number.isFinite(s) || !Number.isFinite(b) || b <= 0 || s <= 0) return 0;
  return Math.min(100, Math.round((s / b) * 100));
}

/** isFinal reports whether a media status no longer changes by itself. */
export function isFinal(status) {
  return status === "SUCCEEDED" || status === "FAILED" || status === "SKIPPED";
}

/** formatDuration renders milliseconds as "350 ms", "4.2 s", "3 min 5 s" or "2 h 5 min". */
export function formatDuration(ms) {
  const v = Number(ms);
  if (!Number.isFinite(v) || v < 0) return "";
  if (v < 1000) return `${Math.round(v)} ms`;
  const s = v / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.floor(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

const STATE_ENTERED = /^(\w+)StateEntered$/;
const STATE_EXITED = /StateExited$/;
const SCHEDULED = /^(Task|Activity|LambdaFunction)Scheduled$/;
const STEP_FAILED = /^(Task|Activity|LambdaFunction)(Failed|TimedOut|StartFailed|ScheduleFailed|SubmitFailed)$|^(Parallel|Map)StateFailed$/;
const EXECUTION_END = /^Execution(Succeeded|Failed|Aborted|TimedOut)$/;

/**
 * executionSteps reads an execution's history events (the workflow API's
 * /v1/executions/{arn}/history) into the states it went through, in the
 * order they were entered. Each step is {name, type, depth, entered,
 * exited, status, attempts, retries, error, cause}: depth counts the
 * Parallel and Map states around it; status is "succeeded", "caught" (it
 * failed and a Catch moved on), "failed", "retrying", "running" or
 * "stopped". Events are linked through previousEventId, so the branches of
 * a Parallel state are told apart even when their events interleave. The
 * result is {execution: {status, start, end, error, cause}, steps}.
 */
export function executionSteps(events) {
  const list = [...(events || [])].sort((a, b) => a.id - b.id);
  const byId = new Map(list.map((e) => [e.id, e]));
  const stepOf = new Map(); // id of a StateEntered event → step
  const prev = (e) => (e.previousEventId && e.previousEventId !== e.id ? byId.get(e.previousEventId) : undefined);
  // enclosing walks back from e to the nearest StateEntered event (of the
  // state called name, when given) and returns its step.
  // Walks are bounded by the number of events, so a malformed history
  // whose previousEventId links form a cycle cannot hang the page.
  const enclosing = (e, name) => {
    let guard = 0;
    for (let p = prev(e); p && guard < list.length; p = prev(p), guard++) {
      if (STATE_ENTERED.test(p.type) && (name === undefined || (p.details && p.details.name) === name)) return stepOf.get(p.id);
    }
    return undefined;
  };
  const execution = { status: "RUNNING", start: null, end: null, error: "", cause: "" };
  const steps = [];
  for (const e of list) {
    const d = e.details || {};
    const entered = STATE_ENTERED.exec(e.type);
    if (e.type === "ExecutionStarted") {
      execution.start = e.timestamp;
    } else if (EXECUTION_END.test(e.type)) {
      execution.status = EXECUTION_END.exec(e.type)[1] === "TimedOut" ? "TIMED_OUT" : EXECUTION_END.exec(e.type)[1].toUpperCase();
      execution.end = e.timestamp;
      execution.error = d.error || "";
      execution.cause = d.cause || "";
    } else if (entered) {
      let depth = 0;
      let guard = 0;
      for (let p = prev(e); p && guard < list.length; p = prev(p), guard++) {
        if (STATE_EXITED.test(p.type)) {
          const s = enclosing(p, p.details && p.details.name);
          depth = s ? s.depth : 0;
          break;
        }
        if (STATE_ENTERED.test(p.type)) {
          const s = stepOf.get(p.id);
          depth = s ? s.depth + 1 : 0;
          break;
        }
      }
      const step = { name: d.name || "", type: entered[1], depth, entered: e.timestamp, exited: null, status: "running", attempts: 0, retries: 0, error: "", cause: "", failedLast: false };
      stepOf.set(e.id, step);
      steps.push(step);
    } else if (STATE_EXITED.test(e.type)) {
      const s = enclosing(e, d.name);
      if (s) {
        s.exited = e.timestamp;
        s.status = s.failedLast ? "caught" : "succeeded";
      }
    } else if (SCHEDULED.test(e.type)) {
      const s = enclosing(e);
      if (s) {
        s.attempts++;
        s.failedLast = false;
      }
    } else if (STEP_FAILED.test(e.type)) {
      const s = enclosing(e);
      if (s) {
        s.error = d.error || e.type;
        s.cause = d.cause || "";
        s.failedLast = true;
      }
    }
  }
  for (const s of steps) {
    if (s.type === "Fail") {
      s.status = "failed";
    } else if (!s.exited) {
      if (execution.status === "RUNNING") s.status = s.failedLast ? "retrying" : "running";
      else s.status = s.failedLast ? "failed" : "stopped";
    }
    s.retries = Math.max(0, s.attempts - 1);
    delete s.failedLast;
  }
  return { execution, steps };
}

const normalizeWord = (s) => String(s ?? "").toLowerCase().normalize("NFKD").replace(/[\u0300-\u036f]/g, "").replace(/[^\p{L}\p{N}']+/gu, "");

/**
 * findInWords finds a query in a transcript's words, ignoring case,
 * accents and punctuation: every word of the query must match a word in
 * sequence, the last one as a prefix (so results follow typing). It
 * returns [first word index, word count] pairs in order.
 */
export function findInWords(words, query) {
  const q = String(query ?? "").split(/\s+/).map(normalizeWord).filter((t) => t !== "");
  const out = [];
  if (q.length === 0) return out;
  const norm = (words || []).map((w) => normalizeWord(w && w.text));
  for (let i = 0; i + q.length <= norm.length; i++) {
    let ok = true;
    for (let j = 0; j < q.length && ok; j++) {
      ok = j === q.length - 1 ? norm[i + j].startsWith(q[j]) && norm[i + j] !== "" : norm[i + j] === q[j];
    }
    if (ok) out.push([i, q.length]);
  }
  return out;
}
