// The Landfall web UI: a single-page app with hash routes over the JSON API
// of the same origin. Pages: media list with uploads (#/), search
// (#/search), media detail (#/media/ID?t=SECONDS) and failures
// (#/failures).
import {
  buildQuery, confidenceText, displayWords, downloadName, exportName, formatBytes, formatTime, highlightSnippet, indexAt, isFinal,
  executionSteps, findInWords, formatDuration, parseRoute, percentOf, problemDetail, relevance, speakerName, transcriptBlocks,
} from "./lib.js";
import { reviewPages } from "./review.js";

const KEY_STORAGE = "landfall.apiKey";
// Words recognised with less confidence are marked (the summariser's
// threshold too).
const LOW_CONFIDENCE = 0.5;
const TENANT_STORAGE = "landfall.tenant";
// The server's refusals of a reviewer key say so.
const REVIEW_ONLY = /reviewer keys reach review work only/;
const view = document.getElementById("view");

const state = {
  key: sessionStorage.getItem(KEY_STORAGE) || "",
  // tenant is the tenant an admin key acts for (sent as ?tenant=); tenant
  // and reviewer keys have their own and leave it empty.
  tenant: sessionStorage.getItem(TENANT_STORAGE) || "",
  // keyPrompt is the open API-key dialog, shared by every request that got
  // a 401 while it is open, so the user is asked once.
  keyPrompt: null,
  // reviewOnly: the key is a reviewer's, so only the review pages show.
  reviewOnly: false,
  keyDeclined: false,
  // cleanups run when the page changes (timers, listeners, players).
  cleanups: [],
  // cursors is the stack of cursors of the media pages before this one.
  cursors: [],
  names: new Map(), // media id → file name, for search results
};

// ---------------------------------------------------------------- DOM

/** h builds an element: h("a", {href: "#/"}, "text", child…). */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "html") el.innerHTML = v; // callers pass escaped HTML only
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  append(el, ...children);
  return el;
}

function append(el, ...children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function badge(status) {
  return h("span", { class: "badge " + status }, status ? status.toLowerCase() : "unknown");
}

function timeEl(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return h("time", { datetime: iso, title: d.toISOString() }, d.toLocaleString());
}

function alertBox(err) {
  const msg = err instanceof ApiError ? err.message : String(err && err.message ? err.message : err);
  return h("div", { class: "alert", role: "alert" }, h("strong", {}, "Error: "), msg,
    err instanceof ApiError && err.code ? h("span", { class: "muted" }, ` (${err.code})`) : "");
}

const MAX_TOASTS = 3;

function toast(message, isError) {
  const box = document.getElementById("toasts");
  const t = h("div", { class: "toast" + (isError ? " error" : "") }, message);
  // The same message twice shows once, and at most MAX_TOASTS show at
  // once: a new one replaces the oldest.
  for (const old of [...box.children]) if (old.textContent === t.textContent) old.remove();
  while (box.childElementCount >= MAX_TOASTS) box.firstElementChild.remove();
  box.append(t);
  setTimeout(() => t.remove(), isError ? 8000 : 4000);
}

function plural(n, word) { return `${n} ${word}${n === 1 ? "" : "s"}`; }

function onCleanup(fn) { state.cleanups.push(fn); }

/**
 * every runs fn every ms milliseconds while owner is on the page. A page
 * that finishes loading after the user has moved on registers its timers
 * after the move's cleanup; tying them to an element stops them anyway.
 */
function every(ms, fn, owner) {
  const id = setInterval(() => {
    if (!owner.isConnected) {
      clearInterval(id);
      return;
    }
    fn();
  }, ms);
  onCleanup(() => clearInterval(id));
}

// ---------------------------------------------------------------- API

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code || "";
  }
}

async function readProblem(res) {
  let body = null;
  try {
    const text = await res.text();
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  return { code: body && body.code, detail: problemDetail(res.status, body) };
}

/** api calls the JSON API, asking for an API key when the server wants one. */
async function api(path, opts = {}) {
  for (let attempt = 0; ; attempt++) {
    const headers = new Headers(opts.headers || {});
    headers.set("Accept", "application/json");
    if (state.key) headers.set("Authorization", "Bearer " + state.key);
    let res;
    try {
      res = await fetch(forTenant(path), { ...opts, headers });
    } catch (e) {
      throw new ApiError(0, "", `cannot reach the Landfall server (${e.message})`);
    }
    if (res.status === 401 && attempt < 3) {
      const p = await readProblem(res);
      await askForKey(p.detail);
      continue;
    }
    if (!res.ok) {
      const p = await readProblem(res);
      if (res.status === 403 && REVIEW_ONLY.test(p.detail || "") && !state.reviewOnly) {
        // A reviewer's key: from now on only the review pages show.
        reviewOnly(true);
        toast("This key is a reviewer's: it reaches the review queue and the items in it");
        if (!/^#\/reviews/.test(location.hash)) setTimeout(() => navigate("#/reviews"), 0);
      }
      throw new ApiError(res.status, p.code, p.detail);
    }
    if (res.status === 204) return null;
    return res.json();
  }
}

/**
 * askForKey shows the API-key dialog once for all requests waiting on it.
 * It resolves when a key is entered and rejects when the user cancels.
 * After a cancel, requests fail at once instead of asking again, until the
 * user opens the dialog with the "API key" button (chosen = true).
 */
function askForKey(reason, chosen = false) {
  if (state.keyPrompt) return state.keyPrompt;
  if (state.keyDeclined && !chosen) return Promise.reject(keyNeeded());
  const dialog = document.getElementById("key-dialog");
  const input = document.getElementById("key-input");
  const form = document.getElementById("key-form");
  const cancel = document.getElementById("key-cancel");
  document.getElementById("key-reason").textContent = chosen
    ? "Enter the API key to use for this browser tab."
    : state.key
      ? `The server did not accept the key: ${reason}`
      : "This server needs an API key. It is kept for this browser tab only.";
  state.keyPrompt = new Promise((resolve, reject) => {
    const done = (key) => {
      form.removeEventListener("submit", onSubmit);
      cancel.removeEventListener("click", onCancel);
      dialog.removeEventListener("cancel", onCancel);
      if (dialog.open) dialog.close();
      state.keyPrompt = null;
      if (key) {
        state.keyDeclined = false;
        setKey(key);
        resolve(key);
      } else {
        state.keyDeclined = true;
        document.getElementById("key-button").hidden = false;
        reject(keyNeeded());
      }
    };
    const onSubmit = (e) => {
      e.preventDefault();
      const k = input.value.trim();
      if (k) {
        setTenant(document.getElementById("tenant-input").value.trim());
        done(k);
      }
    };
    const onCancel = (e) => {
      e.preventDefault();
      done("");
    };
    form.addEventListener("submit", onSubmit);
    cancel.addEventListener("click", onCancel);
    dialog.addEventListener("cancel", onCancel);
    input.value = "";
    document.getElementById("tenant-input").value = state.tenant;
    dialog.showModal();
    input.focus();
  });
  return state.keyPrompt;
}

function keyNeeded() {
  return new ApiError(401, "Unauthenticated", "this server needs an API key; choose “API key” at the top to enter one");
}

function setTenant(tenant) {
  state.tenant = tenant;
  if (tenant) sessionStorage.setItem(TENANT_STORAGE, tenant);
  else sessionStorage.removeItem(TENANT_STORAGE);
}

/** forTenant adds ?tenant= to an API path when an admin key acts for one. */
function forTenant(path) {
  if (!state.tenant || !path.startsWith("/v1/")) return path;
  const [base, hash] = path.split("#", 2);
  const q = base.includes("?") ? "&" : "?";
  return base + q + "tenant=" + encodeURIComponent(state.tenant) + (hash !== undefined ? "#" + hash : "");
}

/**
 * reviewOnly shows only the review pages: the server refused a request
 * saying the key is a reviewer's, which reaches review work only (the
 * queue and the items in it).
 */
function reviewOnly(on) {
  state.reviewOnly = on;
  for (const a of document.querySelectorAll("header nav a")) {
    if (a.dataset.nav !== "reviews") a.parentElement.hidden = on;
  }
}

function setKey(key) {
  if (key !== state.key) reviewOnly(false);
  state.key = key;
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
  document.getElementById("key-button").hidden = !key;
}

/**
 * mediaURLs returns the URLs that media elements and downloads use for one
 * media item, which cannot send the key in a header. With a key they are
 * short-lived signed URLs from POST /v1/media/{id}/links, each good for one
 * file only, so the key itself never goes into a URL; without one (an open
 * installation) they are the plain paths. Only same-origin paths are kept.
 */
async function mediaURLs(m) {
  const urls = { original: `/v1/media/${encodeURIComponent(m.id)}/original` };
  for (const [k, v] of Object.entries(m.links || {})) {
    if (k !== "self" && typeof v === "string" && v.startsWith("/") && !v.startsWith("//")) urls[k] = v;
  }
  if (!state.key) return urls;
  // An hour, so a long recording can still be seeked in after a while.
  const r = await api(`/v1/media/${encodeURIComponent(m.id)}/links?ttl=1h`, { method: "POST" });
  const signed = {};
  for (const [k, v] of Object.entries(r.links || {})) {
    if (typeof v === "string" && v.startsWith("/") && !v.startsWith("//")) signed[k] = v;
  }
  return signed;
}

/**
 * openJSON fetches a JSON document with the key and shows it in a new tab
 * (links cannot send the key).
 */
function openJSON(path) {
  return (ev) => {
    if (!state.key) return; // open installations follow the link itself
    ev.preventDefault();
    api(path).then((doc) => {
      const url = URL.createObjectURL(new Blob([JSON.stringify(doc, null, 2)], { type: "application/json" }));
      window.open(url, "_blank", "noopener");
      setTimeout(() => URL.revokeObjectURL(url), 60000);
    }, (e) => window.alert(e.message));
  };
}

/**
 * uploadFile streams one file to POST /v1/uploads (the browser reads it from
 * disk as it sends) and reports progress. It returns {promise, abort}.
 */
function uploadFile(file, vocabulary, onProgress) {
  let xhr = null;
  let aborted = false;
  const send = () => new Promise((resolve, reject) => {
    xhr = new XMLHttpRequest();
    xhr.open("POST", forTenant("/v1/uploads" + buildQuery({ filename: file.name, vocabulary })));
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
    if (state.key) xhr.setRequestHeader("Authorization", "Bearer " + state.key);
    xhr.upload.addEventListener("progress", (e) => { if (e.lengthComputable) onProgress(e.loaded, e.total); });
    xhr.addEventListener("load", () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { body = null; }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject(new ApiError(xhr.status, body && body.code, problemDetail(xhr.status, body)));
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, "", "the upload was interrupted (network error)")));
    xhr.addEventListener("abort", () => reject(new ApiError(0, "Canceled", "upload cancelled")));
    xhr.send(file);
  });
  const promise = (async () => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await send();
      } catch (e) {
        if (e.status === 401 && attempt < 3 && !aborted) {
          await askForKey(e.message);
          continue;
        }
        throw e;
      }
    }
  })();
  return { promise, abort: () => { aborted = true; if (xhr) xhr.abort(); } };
}

// ---------------------------------------------------------------- Router

function navigate(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

async function render() {
  for (const fn of state.cleanups.splice(0)) {
    try { fn(); } catch { /* a cleanup never blocks the next page */ }
  }
  const route = parseRoute(location.hash);
  if (state.reviewOnly && route.page !== "reviews" && route.page !== "review") {
    navigate("#/reviews");
    return;
  }
  for (const a of document.querySelectorAll("[data-nav]")) {
    if (a.dataset.nav === route.page || (route.page === "detail" && a.dataset.nav === "list") || (route.page === "review" && a.dataset.nav === "reviews")) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  const page = h("div", {});
  view.replaceChildren(page);
  const pages = { list: listPage, detail: detailPage, search: searchPage, failures: failuresPage,
    ...reviewPages({ h, append, api, toast, heading, navigate, alertBox, timeEl, mediaURLs, buildPlayer, onCleanup }) };
  const fn = pages[route.page];
  if (!fn) {
    document.title = "Not found · Landfall";
    append(page, h("h1", {}, "Page not found"), h("p", {}, "There is no page at ", h("code", {}, location.hash), ". ", h("a", { href: "#/" }, "Go to the media list.")));
    return;
  }
  try {
    await fn(page, route);
  } catch (e) {
    if (!view.contains(page)) return;
    if (state.reviewOnly && route.page !== "reviews" && route.page !== "review") return; // on the way to the queue
    // A failed page drops its "Loading…"/"Searching…" placeholders, so the
    // error is not shown under a promise of results.
    for (const busy of page.querySelectorAll("[aria-busy=true]")) busy.remove();
    page.append(alertBox(e));
  }
}

/**
 * heading sets the page title and adds the page's h1 to parent, moving
 * focus to it after a navigation so screen readers announce the new page.
 */
function heading(parent, text) {
  const el = h("h1", { tabindex: "-1" }, text);
  parent.append(el);
  if (!el.isConnected) return el; // a page the user has already left
  document.title = text + " · Landfall";
  if (state.focusOnRender) el.focus({ preventScroll: true });
  return el;
}

// ---------------------------------------------------------------- Media list

const STATUSES = ["PENDING", "PROCESSING", "IN_REVIEW", "SUCCEEDED", "FAILED", "SKIPPED", "REJECTED"];
const KINDS = ["audio", "video", "image", "unsupported"];
const SINCE = [["", "Any time"], ["24h", "Last 24 hours"], ["168h", "Last 7 days"], ["720h", "Last 30 days"]];

function selectField(id, label, name, options, value) {
  return h("div", { class: "field" },
    h("label", { for: id }, label),
    h("select", { id, name }, options.map(([v, text]) => h("option", { value: v, selected: v === (value || "") }, text))));
}

async function listPage(page, route) {
  const p = route.params;
  heading(page, "Media");
  page.append(uploadZone());
  const form = h("form", { class: "toolbar", role: "search", "aria-label": "Filter media" },
    selectField("f-status", "Status", "status", [["", "All"], ...STATUSES.map((s) => [s, s.toLowerCase()])], p.status),
    selectField("f-kind", "Kind", "kind", [["", "All"], ...KINDS.map((k) => [k, k])], p.kind),
    selectField("f-since", "Created", "since", SINCE, p.since));
  form.addEventListener("change", () => {
    const fd = new FormData(form);
    state.cursors = [];
    navigate("#/" + buildQuery({ status: fd.get("status"), kind: fd.get("kind"), since: fd.get("since") }));
  });
  form.addEventListener("submit", (e) => e.preventDefault());
  page.append(form);

  const panel = h("section", { class: "panel", "aria-label": "Media items", "aria-busy": "true" }, h("p", { class: "muted" }, "Loading…"));
  page.append(panel);
  const data = await api("/v1/media" + buildQuery({ status: p.status, kind: p.kind, since: p.since, cursor: p.cursor, limit: 25 }));
  panel.removeAttribute("aria-busy");
  if (!p.cursor) state.cursors = [];
  const media = data.media || [];
  if (media.length === 0) {
    panel.replaceChildren(h("p", { class: "empty" }, p.status || p.kind || p.since
      ? "No media matches these filters."
      : "No media yet. Upload a video, audio file or image to begin."));
  } else {
    const rows = new Map();
    const tbody = h("tbody", {}, media.map((m) => {
      const row = mediaRow(m);
      rows.set(m.id, row);
      return row;
    }));
    panel.replaceChildren(h("table", { class: "cards" },
      h("caption", { class: "visually-hidden" }, "Media, newest first"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Kind"), h("th", { scope: "col" }, "Status"),
        h("th", { scope: "col", class: "num" }, "Size"), h("th", { scope: "col", class: "num" }, "Duration"), h("th", { scope: "col" }, "Created"))),
      tbody));
    refreshWhileProcessing(media, rows, panel);
  }
  const base = { status: p.status, kind: p.kind, since: p.since };
  const pager = h("nav", { class: "pager", "aria-label": "Pages" });
  if (p.cursor) {
    pager.append(h("button", { type: "button", onclick: () => navigate("#/" + buildQuery({ ...base, cursor: state.cursors.pop() || "" })) },
      state.cursors.length > 0 ? "← Newer" : "← First page"));
  }
  if (data.next) {
    pager.append(h("button", { type: "button", onclick: () => { state.cursors.push(p.cursor || ""); navigate("#/" + buildQuery({ ...base, cursor: data.next })); } }, "Older →"));
  }
  if (pager.childElementCount) page.append(pager);
}

function mediaRow(m) {
  return h("tr", {},
    h("td", { "data-label": "Name" }, h("a", { href: `#/media/${encodeURIComponent(m.id)}` }, m.filename || m.id),
      m.error ? h("div", { class: "cause" }, m.error) : ""),
    h("td", { "data-label": "Kind" }, m.kind ? h("span", { class: "badge kind" }, m.kind) : h("span", { class: "muted" }, "—")),
    h("td", { "data-label": "Status" }, badge(m.status)),
    h("td", { "data-label": "Size", class: "num" }, formatBytes(m.size)),
    h("td", { "data-label": "Duration", class: "num" }, m.duration ? formatTime(m.duration) : "—"),
    h("td", { "data-label": "Created" }, timeEl(m.created_at)));
}

/** refreshWhileProcessing re-reads unfinished items until they finish. */
function refreshWhileProcessing(media, rows, owner) {
  const pending = new Map(media.filter((m) => !isFinal(m.status)).map((m) => [m.id, m]));
  if (pending.size === 0) return;
  let busy = false;
  every(3000, async () => {
    if (busy || document.hidden || pending.size === 0) return;
    busy = true;
    try {
      for (const id of [...pending.keys()].slice(0, 20)) {
        const m = await api(`/v1/media/${encodeURIComponent(id)}`);
        const old = pending.get(id);
        if (m.status !== old.status || m.duration !== old.duration || m.kind !== old.kind) {
          const row = mediaRow(m);
          rows.get(id).replaceWith(row);
          rows.set(id, row);
        }
        if (isFinal(m.status)) pending.delete(id);
        else pending.set(id, m);
      }
    } catch {
      // A failed refresh is retried on the next tick.
    } finally {
      busy = false;
    }
  }, owner);
}

function uploadZone() {
  const input = h("input", { type: "file", id: "upload-input", hidden: true, multiple: true, accept: "audio/*,video/*,image/*" });
  const list = uploadList();
  const clear = h("button", { type: "button", class: "ghost", hidden: true }, "Clear finished uploads");
  clear.addEventListener("click", () => {
    for (const li of list.querySelectorAll("li.finished")) li.remove();
    clear.hidden = true;
  });
  state.onUploadsChanged = () => { clear.hidden = !list.querySelector("li.finished"); };
  state.onUploadsChanged();
  const vocab = h("input", { type: "text", id: "upload-vocab", value: state.vocabulary || "", placeholder: "e.g. Sarah Johnson, Red Cross", autocomplete: "off" });
  vocab.addEventListener("input", () => { state.vocabulary = vocab.value.trim(); });
  const zone = h("section", { class: "dropzone", "aria-label": "Upload media" },
    h("div", {}, h("strong", {}, "Upload media"), h("div", { class: "muted" }, "Drop audio, video or image files here, or choose them.")),
    h("div", { class: "field grow" }, h("label", { for: "upload-vocab" }, "Names and terms to expect ", h("span", { class: "muted" }, "(optional, comma-separated)")), vocab),
    h("button", { type: "button", class: "primary", onclick: () => input.click() }, "Choose files…"),
    input, list, clear);
  input.addEventListener("change", () => { startUploads(input.files, list); input.value = ""; });
  let depth = 0;
  const hasFiles = (e) => e.dataTransfer && [...e.dataTransfer.types].includes("Files");
  const enter = (e) => { if (!hasFiles(e)) return; e.preventDefault(); depth++; document.body.classList.add("dragging"); };
  const over = (e) => { if (hasFiles(e)) e.preventDefault(); };
  const leave = () => { depth = Math.max(0, depth - 1); if (depth === 0) document.body.classList.remove("dragging"); };
  const drop = (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth = 0;
    document.body.classList.remove("dragging");
    startUploads(e.dataTransfer.files, list);
  };
  document.addEventListener("dragenter", enter);
  document.addEventListener("dragover", over);
  document.addEventListener("dragleave", leave);
  document.addEventListener("drop", drop);
  onCleanup(() => {
    document.removeEventListener("dragenter", enter);
    document.removeEventListener("dragover", over);
    document.removeEventListener("dragleave", leave);
    document.removeEventListener("drop", drop);
    document.body.classList.remove("dragging");
  });
  return zone;
}

/**
 * uploadList is the list of uploads of this tab. It outlives page renders,
 * so uploads keep their progress while the media list refreshes or the
 * user looks at other pages.
 */
function uploadList() {
  if (!state.uploadList) {
    state.uploadList = h("ul", { class: "uploads", "aria-label": "Uploads" });
    state.activeUploads = 0;
  }
  return state.uploadList;
}

function startUploads(files, list) {
  let succeeded = 0;
  const finished = () => {
    state.activeUploads--;
    if (state.onUploadsChanged) state.onUploadsChanged();
    const r = parseRoute(location.hash);
    if (state.activeUploads === 0 && succeeded > 0 && r.page === "list" && !r.params.cursor) {
      render(); // show the new items at the top
    }
  };
  for (const file of files) {
    const bar = h("progress", { max: "100", value: "0", "aria-label": `Upload progress of ${file.name}` });
    const pct = h("span", { class: "muted mono" }, "0%");
    const cancel = h("button", { type: "button", class: "ghost", "aria-label": `Cancel the upload of ${file.name}` }, "Cancel");
    const item = h("li", {}, h("span", { class: "name", title: file.name }, file.name, " ", h("span", { class: "muted" }, formatBytes(file.size))), bar, pct, cancel);
    list.append(item);
    state.activeUploads++;
    const up = uploadFile(file, state.vocabulary || "", (loaded, total) => {
      const v = total > 0 ? Math.round((loaded / total) * 100) : 0;
      bar.value = v;
      pct.textContent = v + "%";
    });
    cancel.addEventListener("click", () => up.abort());
    up.promise.then((m) => {
      bar.value = 100;
      pct.textContent = "100%";
      cancel.replaceWith(h("a", { href: `#/media/${encodeURIComponent(m.id)}`, class: "done" }, "Uploaded ✓"));
      item.classList.add("finished");
      toast(`Uploaded ${file.name}; its page shows whether processing starts.`);
      succeeded++;
      finished();
    }, (e) => {
      cancel.remove();
      item.classList.add("finished");
      item.append(h("span", { class: "err", role: "alert" }, `${file.name}: ${e.message}`));
      finished();
    });
  }
  if (state.onUploadsChanged) state.onUploadsChanged();
}

// ---------------------------------------------------------------- Search

const FIELD_NAMES = {
  transcript: "said", ocr: "on screen", entity: "mentioned", topic: "topic", label: "seen", moderation: "moderation",
  chapter: "chapter", summary: "summary", filename: "file name",
};
const EXPANDED_AS = { phonetic: "sounds like", fuzzy: "spelt like", synonym: "synonym of", hypernym: "broader term for" };
const MATCH_NAMES = { phonetic: "sounds like", fuzzy: "spelt like", synonym: "synonym", hypernym: "broader term", vector: "similar meaning" };

/**
 * momentHref is the detail page of a moment: the player starts at the
 * first matched word (t) and the words up to te are highlighted.
 */
function momentHref(hit) {
  const timed = hit.end > 0 || hit.start > 0;
  return `#/media/${encodeURIComponent(hit.media_id)}${buildQuery({
    t: timed ? Number(hit.start).toFixed(2) : "", te: timed ? Number(hit.end).toFixed(2) : "",
    hl: (hit.matched || []).join(" ").slice(0, 200),
  })}`;
}

/** thumbnail shows a video's frame (or an image) at a moment's time. */
function thumbnail(group) {
  const first = group.moments[0];
  const box = h("div", { class: "thumb", "aria-hidden": "true" });
  if (group.kind !== "video" && group.kind !== "image") {
    box.append(h("span", { class: "thumb-icon" }, group.kind === "audio" ? "♪" : "·"));
    return box;
  }
  const t = group.kind === "video" ? Number(first.start || 0).toFixed(2) : "";
  const set = (path) => {
    const img = h("img", { alt: "", loading: "lazy", width: 160, height: 90, src: path + (path.includes("?") ? "&" : "?") + buildQuery({ t }).slice(1) });
    img.addEventListener("error", () => img.replaceWith(h("span", { class: "thumb-icon" }, "▣")), { once: true });
    box.append(img);
  };
  const plain = `/v1/media/${encodeURIComponent(group.media_id)}/frame.jpg`;
  if (!state.key) set(plain);
  else {
    api(`/v1/media/${encodeURIComponent(group.media_id)}/links?ttl=1h`, { method: "POST" })
      .then((r) => { const v = r.links && r.links.frame_jpg; if (typeof v === "string" && v.startsWith("/") && !v.startsWith("//")) set(v); }, () => {});
  }
  return box;
}

async function searchPage(page, route) {
  const q = route.params.q || "";
  const source = route.params.source || "";
  const within = route.params.media || "";
  heading(page, "Search");
  const input = h("input", { type: "search", id: "q", name: "q", value: q, placeholder: "words, \"a phrase\", -not, speaker:2, label:car, after:2026-01-01", autocomplete: "off" });
  const form = h("form", { class: "toolbar", role: "search", "aria-label": "Search media" },
    h("div", { class: "field grow" }, h("label", { for: "q" }, within ? "Search in this file" : "Search what was said, shown and seen"), input),
    selectField("s-source", "In", "source", [["", "Everything"], ["transcript", "Said"], ["ocr", "On screen"], ["entity", "People, places, organisations"],
      ["topic", "Topics"], ["label", "Seen (labels)"], ["chapter", "Chapters"], ["summary", "Summaries"], ["filename", "File names"]], source),
    h("button", { type: "submit", class: "primary" }, "Search"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const fd = new FormData(form);
    navigate("#/search" + buildQuery({ q: String(fd.get("q") || "").trim(), source: fd.get("source"), media: within }));
  });
  page.append(form);
  if (within) {
    page.append(h("p", { class: "muted" }, "Only in ", h("a", { href: `#/media/${encodeURIComponent(within)}` }, state.names.get(within) || within), " · ",
      h("a", { href: "#/search" + buildQuery({ q, source }) }, "search everything")));
  }
  if (!q) {
    input.focus();
    page.append(h("p", { class: "muted" }, "Finds words said (also when the recogniser misheard them), text on screen, people and places, labels and chapters; choose a moment to play the media from it."));
    return;
  }
  const panel = h("section", { class: "panel", "aria-label": "Results", "aria-busy": "true" }, h("p", { class: "muted" }, "Searching…"));
  page.append(panel);
  let data;
  try {
    data = await api("/v1/search" + buildQuery({ q, source, media_id: within, limit: 30, moments: 4 }));
  } finally {
    panel.removeAttribute("aria-busy");
    panel.querySelector("p.muted")?.remove();
  }
  const groups = (data.groups || []).filter((g) => g && Array.isArray(g.moments) && g.moments.length);
  if (groups.length === 0) {
    panel.replaceChildren(h("p", { class: "empty" }, `No matches for “${q}”.`));
    return;
  }
  const best = Math.max(...groups.map((g) => Number(g.score) || 0));
  const expanded = (data.expanded || []).slice(0, 8);
  const facetBar = facets(data.facets || {}, q, source, within);
  const list = h("ol", { class: "groups" }, groups.map((g) => {
    if (g.filename) state.names.set(g.media_id, g.filename);
    const name = g.filename || state.names.get(g.media_id) || g.media_id;
    return h("li", { class: "group" },
      h("a", { class: "thumb-link", href: momentHref(g.moments[0]), tabindex: "-1", "aria-label": `${name}, best moment` }, thumbnail(g)),
      h("div", { class: "group-body" },
        h("div", { class: "meta" }, h("a", { class: "title", href: momentHref(g.moments[0]) }, name),
          g.kind ? h("span", { class: "badge kind" }, g.kind) : "",
          h("span", { class: "muted", title: `score ${g.score}; relevance is relative to the best file` }, `relevance ${relevance(g.score, best)}%`),
          g.total > g.moments.length ? h("span", { class: "muted" }, `${g.total} moments`) : ""),
        h("ol", { class: "moments" }, g.moments.map((m) => {
          const timed = m.end > 0 || m.start > 0;
          return h("li", {},
            h("a", { class: "moment", href: momentHref(m), "aria-label": `${timed ? "Play from " + formatTime(m.start) : "Open"}: ${FIELD_NAMES[m.field] || m.field}` },
              h("span", { class: "mono" }, timed ? "▶ " + formatTime(m.start) : "▶"),
              h("span", { class: "badge field" }, FIELD_NAMES[m.field] || m.field),
              m.speaker ? h("span", { class: "muted" }, speakerName(m.speaker)) : "",
              m.match && m.match !== "exact" ? h("span", { class: "badge match" }, MATCH_NAMES[m.match] || m.match) : ""),
            h("p", { class: "snippet", html: highlightSnippet(m.snippet) }));
        }))));
  }));
  panel.replaceChildren(
    h("p", { class: "muted" }, groups.length === 1 ? "1 file" : `${groups.length} files`,
      expanded.length ? [" · also matched ", expanded.map((x, i) => [i ? ", " : "", h("em", {}, x.as), ` (${EXPANDED_AS[x.match] || x.match} ${x.word})`])] : ""),
    facetBar, list);
}

/** facets lists the counts of the answer's facets; a value narrows the query. */
function facets(f, q, source, within) {
  const names = { field: "Where", kind: "Kind", speaker: "Speaker", label: "Seen", entity: "Mentioned" };
  const filter = { field: "field", kind: "kind", speaker: "speaker", label: "label", entity: "entity" };
  const rows = Object.keys(names).filter((k) => Array.isArray(f[k]) && f[k].length).map((k) =>
    h("div", { class: "facet" }, h("span", { class: "facet-name" }, names[k]),
      f[k].slice(0, 8).map((v) => {
        const val = String(v.value);
        const label = k === "field" ? (FIELD_NAMES[val] || val) : k === "speaker" ? speakerName(val) : val;
        const quoted = /\s/.test(val) ? `"${val.replace(/"/g, "")}"` : val;
        return h("a", { class: "chip", href: "#/search" + buildQuery({ q: `${q} ${filter[k]}:${quoted}`, source, media: within }) }, label, " ", h("span", { class: "count" }, String(v.count)));
      })));
  return rows.length ? h("nav", { class: "facets", "aria-label": "Narrow the results" }, rows) : "";
}

/**
 * nameLinks replaces media ids in link texts with the media's file names
 * once known (best effort: a link keeps the id when the record cannot be
 * read). links maps a media id to its link elements.
 */
function nameLinks(links) {
  for (const [id, els] of links) {
    const known = state.names.get(id);
    if (known) {
      for (const a of els) a.textContent = known;
      continue;
    }
    api(`/v1/media/${encodeURIComponent(id)}`).then((m) => {
      if (!m.filename) return;
      state.names.set(id, m.filename);
      for (const a of els) a.textContent = m.filename;
    }, () => {});
  }
}

// ---------------------------------------------------------------- Failures

async function failuresPage(page, route) {
  const p = route.params;
  heading(page, "Failures");
  const only = h("input", { type: "checkbox", id: "f-open", checked: p.not_redriven === "true" });
  only.addEventListener("change", () => navigate("#/failures" + buildQuery({ not_redriven: only.checked ? "true" : "" })));
  page.append(h("div", { class: "toolbar" }, h("label", { class: "check", for: "f-open" }, only, "Only failures not yet redriven")));
  const panel = h("section", { class: "panel", "aria-label": "Failures", "aria-busy": "true" }, h("p", { class: "muted" }, "Loading…"));
  page.append(panel);
  const data = await api("/v1/failures" + buildQuery({ not_redriven: p.not_redriven, cursor: p.cursor, limit: 50 }));
  panel.removeAttribute("aria-busy");
  const failures = data.failures || [];
  if (failures.length === 0) {
    panel.replaceChildren(h("p", { class: "empty" }, "No failures. Everything that ran has succeeded."));
  } else {
    panel.replaceChildren(h("table", { class: "cards" },
      h("caption", { class: "visually-hidden" }, "Failed executions, newest first"),
      h("thead", {}, h("tr", {}, ["Media", "Error", "State", "Failed", "Redrive"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, failures.map(failureRow))));
    const links = new Map();
    for (const a of panel.querySelectorAll("a[data-media]")) {
      if (!links.has(a.dataset.media)) links.set(a.dataset.media, []);
      links.get(a.dataset.media).push(a);
    }
    nameLinks(links);
  }
  const pager = h("nav", { class: "pager", "aria-label": "Pages" });
  if (p.cursor) pager.append(h("a", { class: "button", href: "#/failures" + buildQuery({ not_redriven: p.not_redriven }) }, "← First page"));
  if (data.next) pager.append(h("a", { class: "button", href: "#/failures" + buildQuery({ not_redriven: p.not_redriven, cursor: data.next }) }, "Older →"));
  if (pager.childElementCount) page.append(pager);
}

function failureRow(f) {
  const cell = h("td", { "data-label": "Redrive" });
  const fill = (f2) => {
    if (f2.redriven_at) {
      cell.replaceChildren(h("span", { class: "muted" }, "Redriven ", timeEl(f2.redriven_at)));
      return;
    }
    if (f2.retryable === false) {
      cell.replaceChildren(h("span", { class: "muted", title: "A redrive would fail the same way; upload a fixed file instead." }, "Not retryable"));
      return;
    }
    const btn = h("button", { type: "button", "aria-label": `Redrive failure ${f2.id}${f2.media_id ? " of media " + f2.media_id : ""}` }, "Redrive");
    btn.addEventListener("click", async () => {
      btn.disabled = true;
      btn.textContent = "Redriving…";
      try {
        const res = await api(`/v1/failures/${encodeURIComponent(f2.id)}/redrive`, { method: "POST" });
        toast(`Redrive of ${state.names.get(f2.media_id) || "failure " + f2.id} started; its page shows the new run.`);
        fill(res && res.redriven_at ? res : { ...f2, redriven_at: new Date().toISOString() });
      } catch (e) {
        btn.disabled = false;
        btn.textContent = "Redrive";
        toast(`Redrive of failure ${f2.id} failed: ${e.message}`, true);
      }
    });
    cell.replaceChildren(btn);
  };
  fill(f);
  return h("tr", {},
    h("td", { "data-label": "Media" }, f.media_id ? h("a", { href: `#/media/${encodeURIComponent(f.media_id)}`, "data-media": f.media_id }, state.names.get(f.media_id) || f.media_id) : h("span", { class: "muted" }, f.bucket_key || "—")),
    h("td", { "data-label": "Error" }, h("div", { class: "cell" }, h("code", {}, f.error), f.cause ? h("div", { class: "cause" }, f.cause) : "")),
    h("td", { "data-label": "State" }, f.state_name || "—"),
    h("td", { "data-label": "Failed" }, timeEl(f.failed_at)),
    cell);
}

// ---------------------------------------------------------------- Detail

// deleteButton removes the media item after the user confirms, and goes
// back to the list saying what was removed.
function deleteButton(m, path) {
  const name = m.filename || m.id;
  const btn = h("button", { type: "button", class: "danger", "aria-label": `Delete ${name}` }, "Delete");
  btn.addEventListener("click", async () => {
    const running = isFinal(m.status) ? "" : " Its processing is stopped first.";
    if (!window.confirm(`Delete ${name}? The file, its results, search entries and failures are removed for good.${running}`)) return;
    btn.disabled = true;
    btn.textContent = "Deleting…";
    try {
      const d = await api(path, { method: "DELETE" });
      toast(`Deleted ${name}: ${d.objects.length} file(s), ${d.failures} failure(s), ${d.search_entries} search entries${d.stopped_executions.length ? "; processing stopped" : ""}.`);
      navigate("#/");
    } catch (e) {
      btn.disabled = false;
      btn.textContent = "Delete";
      toast(`Deleting ${name} failed: ${e.message}`, true);
    }
  });
  return btn;
}

async function detailPage(page, route) {
  const id = route.id;
  const path = `/v1/media/${encodeURIComponent(id)}`;
  const m = await api(path);
  const head = h("div", { class: "detail-head" });
  page.append(head);
  heading(head, m.filename || m.id);
  head.append(badge(m.status), m.kind ? h("span", { class: "badge kind" }, m.kind) : "", deleteButton(m, path));
  page.append(h("ul", { class: "facts", "aria-label": "Facts" },
    h("li", {}, "ID ", h("code", {}, m.id)),
    m.duration ? h("li", {}, "Duration ", formatTime(m.duration)) : "",
    h("li", {}, formatBytes(m.size)),
    m.content_type ? h("li", {}, m.content_type) : "",
    h("li", {}, "Uploaded ", timeEl(m.created_at))));
  if (m.status === "FAILED") {
    page.append(h("div", { class: "alert", role: "alert" }, h("strong", {}, m.error || "Failed"), m.cause ? ": " + m.cause : "", " ",
      m.retryable === false ? "A redrive would fail the same way; upload a fixed file instead."
        : h("a", { href: "#/failures" }, "See failures to redrive it.")));
  }
  if (m.status === "SKIPPED") {
    page.append(h("div", { class: "alert info", role: "status" }, h("strong", {}, "Not processed"), m.cause ? ": " + m.cause : ""));
  }
  const exec = m.execution_id ? executionPanel(m.execution_id) : null;
  if (!isFinal(m.status)) {
    page.append(h("p", { class: "panel", role: "status" }, `This ${m.kind || "item"} is ${m.status.toLowerCase()}; the page updates when the results are ready.`));
    every(3000, async () => {
      if (document.hidden) return;
      try {
        const m2 = await api(path);
        if (m2.status !== m.status || m2.execution_id !== m.execution_id) render();
        else if (exec) await exec.load();
      } catch { /* retried on the next tick */ }
    }, page);
  }

  // A search hit: the matched words (hl) from t to te are highlighted in
  // the transcript and the player starts at the first of them.
  const match = { t: Number(route.params.t), te: Number(route.params.te), words: String(route.params.hl || "") };
  if (match.words && Number.isFinite(match.t)) {
    page.append(h("p", { class: "search-match note", role: "status" }, "Search match ",
      h("mark", {}, match.words), ` at ${formatTime(match.t)}`));
  }
  const withinForm = h("form", { class: "find within", role: "search", "aria-label": "Search in this file" },
    h("label", { for: "within", class: "visually-hidden" }, "Search in this file"),
    h("input", { type: "search", id: "within", name: "q", placeholder: "Search in this file: said, shown, seen", autocomplete: "off" }));
  withinForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const v = String(new FormData(withinForm).get("q") || "").trim();
    if (v) navigate("#/search" + buildQuery({ q: v, media: m.id }));
  });
  if (isFinal(m.status) && m.status === "SUCCEEDED") page.append(withinForm);
  const urls = await mediaURLs(m);
  const player = buildPlayer(m, urls);
  const stage = h("div", { class: "stage" });
  const left = h("div", {}, h("section", { class: "panel player", "aria-label": "Player" }, player.el));
  stage.append(left);
  page.append(stage);

  const ins = m.insights || null;
  const duration = () => (player.media && Number.isFinite(player.media.duration) && player.media.duration > 0 ? player.media.duration : m.duration || 0);
  const seek = (t) => {
    if (!player.media) return;
    player.media.currentTime = Math.max(0, t);
    if (player.media.paused) player.media.play().catch(() => {});
  };

  // Timeline with chapters, labels and on-screen text.
  let chapterList = null;
  if (player.media && ins) {
    const tl = timeline(ins, duration, seek, player.media);
    left.firstChild.append(tl, shareButton(m.id, player.media));
    if (ins.chapters && ins.chapters.length) {
      chapterList = h("ol", { class: "chapters" }, ins.chapters.map((c) =>
        h("li", {}, h("button", { type: "button", onclick: () => seek(c.start_seconds) }, h("span", { class: "t" }, formatTime(c.start_seconds)), c.title))));
      left.append(h("section", { class: "panel", "aria-labelledby": "h-chapters" }, h("h2", { id: "h-chapters" }, "Chapters"), chapterList));
    }
  } else if (ins && ins.chapters && ins.chapters.length) {
    left.append(h("section", { class: "panel", "aria-labelledby": "h-chapters" }, h("h2", { id: "h-chapters" }, "Chapters"),
      h("ol", { class: "chapters" }, ins.chapters.map((c) => h("li", {}, h("span", { class: "t" }, formatTime(c.start_seconds)), " ", c.title)))));
  }

  // What each shot of a video shows: its labels and moderation flags,
  // in time order; a shot's time seeks the player.
  const shotPanel = shotList(ins, seek, Boolean(player.media), m.kind);
  if (shotPanel) left.append(shotPanel);

  // Transcript beside the player.
  if (m.links && typeof m.links.transcript_json === "string" && m.links.transcript_json.startsWith("/v1/")) {
    const panel = h("section", { class: "panel transcript-panel", "aria-labelledby": "h-transcript" }, h("h2", { id: "h-transcript" }, "Transcript"), h("p", { class: "muted" }, "Loading…"));
    stage.append(panel);
    api(m.links.transcript_json).then((tr) => fillTranscript(panel, tr, player.media, seek, chapterList, ins, match), (e) => {
      panel.querySelector("p.muted")?.remove();
      panel.append(alertBox(e));
    });
  } else if (m.kind !== "image" && isFinal(m.status)) {
    stage.append(h("section", { class: "panel", "aria-label": "Transcript" }, h("h2", {}, "Transcript"), h("p", { class: "muted" }, "No transcript for this item.")));
  }

  // Seek to ?t= once the player knows its duration.
  const t0 = Number(route.params.t);
  if (player.media && Number.isFinite(t0) && t0 > 0) {
    const go = () => { player.media.currentTime = t0; };
    if (player.media.readyState >= 1) go();
    else player.media.addEventListener("loadedmetadata", go, { once: true });
  }

  if (stage.childElementCount === 1) stage.classList.add("solo");
  if (ins) page.append(insightsGrid(ins, seek, Boolean(player.media)));
  if (exec) {
    page.append(exec.el);
    exec.load().catch(() => {});
  }
  page.append(downloads(m, urls));
  page.append(h("section", { class: "panel" }, h("details", { class: "raw" }, h("summary", {}, "Raw record (JSON)"), h("pre", {}, h("code", {}, JSON.stringify(m, null, 2))))));
  onCleanup(() => { if (player.media) player.media.pause(); });
}

function buildPlayer(m, urls) {
  const src = urls.original;
  const name = m.filename || m.id;
  const note = h("p", { class: "muted", role: "status" });
  const onError = () => {
    note.textContent = "The original file could not be played in this browser or could not be loaded from the server.";
  };
  if (m.kind === "video" || m.kind === "audio") {
    const media = h(m.kind, { controls: true, preload: "metadata", src, "aria-label": `${m.kind === "video" ? "Video" : "Audio"}: ${name}` });
    if (m.kind === "video") media.setAttribute("playsinline", "");
    if (typeof urls.captions_vtt === "string" && urls.captions_vtt.startsWith("/v1/")) {
      const lang = m.insights && m.insights.language && m.insights.language.code;
      media.append(h("track", { kind: "captions", label: "Captions", srclang: lang || "en", src: urls.captions_vtt, default: true }));
    }
    media.addEventListener("error", onError);
    return { el: h("div", {}, media, note), media };
  }
  if (m.kind === "image") {
    const img = h("img", { src, alt: (m.insights && m.insights.summary) || name });
    img.addEventListener("error", onError);
    const frame = h("div", { class: "frame" }, img);
    const boxes = imageBoxes(m.insights);
    if (boxes.length === 0) return { el: h("div", {}, frame, note), media: null };
    for (const b of boxes) {
      const el = h("div", { class: "box " + b.kind, title: b.label });
      el.style.left = b.left * 100 + "%";
      el.style.top = b.top * 100 + "%";
      el.style.width = b.width * 100 + "%";
      el.style.height = b.height * 100 + "%";
      frame.append(el);
    }
    const show = h("input", { type: "checkbox", id: "show-boxes", checked: true });
    show.addEventListener("change", () => frame.classList.toggle("no-boxes", !show.checked));
    const faces = boxes.filter((b) => b.kind === "face").length;
    const texts = boxes.length - faces;
    return {
      el: h("div", {}, frame, note, h("label", { class: "check", for: "show-boxes" }, show,
        `Show what was found (${[texts ? plural(texts, "text line") : "", faces ? plural(faces, "face") : ""].filter(Boolean).join(", ")})`)),
      media: null,
    };
  }
  return { el: h("p", { class: "muted" }, m.kind === "unsupported" ? "This file is not a supported media type." : "Playback is available once the media has been classified."), media: null };
}

function timeline(ins, duration, seek, media) {
  const played = h("div", { class: "played" });
  const head = h("div", { class: "head" });
  const bar = h("div", { class: "timeline", role: "presentation" }, played, head);
  const marks = [];
  const labels = []; // [label span, start seconds] of each chapter
  for (const c of ins.chapters || []) {
    const b = h("button", { type: "button", class: "chapter", "aria-label": `Chapter at ${formatTime(c.start_seconds)}: ${c.title}`, title: `${formatTime(c.start_seconds)} ${c.title}` }, h("span", { "aria-hidden": "true" }, c.title));
    b.addEventListener("click", (e) => { e.stopPropagation(); seek(c.start_seconds); });
    marks.push([b, c.start_seconds, null]);
    labels.push([b.firstElementChild, c.start_seconds]);
    bar.append(b);
  }
  for (const l of ins.labels || []) {
    for (const ts of (l.timestamps || []).slice(0, 50)) {
      const t = h("div", { class: "tick", title: `${l.name} at ${formatTime(ts)}` });
      marks.push([t, ts, null]);
      bar.append(t);
    }
  }
  for (const m of ins.moderation || []) {
    if (!Number.isFinite(m.timestamp)) continue;
    const t = h("div", { class: "tick moderation", title: `Moderation: ${m.name} (${Math.round(Number(m.confidence) || 0)}%) at ${formatTime(m.timestamp)}` });
    marks.push([t, m.timestamp, null]);
    bar.append(t);
  }
  for (const o of ins.ocr || []) {
    const s = h("div", { class: "span", title: `On screen ${formatTime(o.first_seen)}–${formatTime(o.last_seen)}: ${o.text}` });
    marks.push([s, o.first_seen, o.last_seen]);
    bar.append(s);
  }
  const layout = () => {
    const d = duration();
    for (const [el, t, end] of marks) {
      el.style.left = percentOf(t, d) + "%";
      if (end !== null) el.style.width = Math.max(0.4, percentOf(end, d) - percentOf(t, d)) + "%";
    }
    fitLabels();
  };
  // fitLabels gives each chapter title the room up to the next chapter's
  // line, cut short with an ellipsis, and hides it where there is too
  // little room to read it (the line keeps its tooltip and accessible name),
  // so titles never overlap at any width.
  const fitLabels = () => {
    const w = bar.clientWidth;
    if (!w) return;
    const d = duration();
    const sorted = [...labels].sort((a, b) => a[1] - b[1]);
    for (let i = 0; i < sorted.length; i++) {
      const [span, t] = sorted[i];
      const x = (percentOf(t, d) / 100) * w;
      const next = i + 1 < sorted.length ? (percentOf(sorted[i + 1][1], d) / 100) * w : w;
      const room = Math.floor(next - x - 8); // 3 px offset, a gap before the next line
      span.hidden = room < 28;
      span.style.maxWidth = `min(12rem, ${Math.max(0, room)}px)`;
    }
  };
  if (typeof ResizeObserver === "function") {
    const ro = new ResizeObserver(fitLabels);
    ro.observe(bar);
    onCleanup(() => ro.disconnect());
  }
  const progress = () => {
    const x = percentOf(media.currentTime, duration());
    played.style.width = x + "%";
    head.style.left = x + "%";
  };
  bar.addEventListener("click", (e) => {
    const r = bar.getBoundingClientRect();
    if (r.width > 0) seek(((e.clientX - r.left) / r.width) * duration());
  });
  media.addEventListener("loadedmetadata", layout);
  media.addEventListener("timeupdate", progress);
  layout();
  const legend = h("p", { class: "legend" }, "Timeline: chapters (lines with titles)",
    (ins.labels || []).some((l) => l.timestamps && l.timestamps.length) ? ", labels (ticks)" : "",
    (ins.moderation || []).some((m) => Number.isFinite(m.timestamp)) ? ", moderation flags (red ticks)" : "",
    (ins.ocr || []).length ? ", on-screen text (bars)" : "", ". Click to seek.");
  return h("div", {}, bar, legend);
}

/**
 * shotList is the panel listing a video's shots (insights.vision.shots)
 * with the labels and moderation flags found in each, or null when there
 * is nothing per shot to show (an image, or no labels and no flags).
 */
function shotList(ins, seek, canSeek, kind) {
  const shots = ((ins && ins.vision && ins.vision.shots) || []).filter((sh) => sh && Number.isFinite(sh.start_ms));
  if (kind !== "video" || !shots.some((sh) => (sh.labels || []).length || (sh.moderation || []).length)) return null;
  const pct = (c) => (Number.isFinite(Number(c)) ? ` ${Math.round(Number(c))}%` : "");
  const items = shots.map((sh) => {
    const from = sh.start_ms / 1000;
    const to = Number.isFinite(sh.end_ms) && sh.end_ms > sh.start_ms ? sh.end_ms / 1000 : null;
    const when = `${formatTime(from)}${to !== null ? `–${formatTime(to)}` : ""}`;
    const time = canSeek
      ? h("button", { type: "button", class: "t", onclick: () => seek(from), "aria-label": `Play shot ${sh.shot + 1} from ${formatTime(from)}` }, when)
      : h("span", { class: "t" }, when);
    const labels = (sh.labels || []).map((l) => h("li", { class: "tag" }, `${l.name}${pct(l.confidence)}`));
    const flags = (sh.moderation || []).map((f) =>
      h("li", { class: "tag flag", title: f.parent_name ? `under ${f.parent_name}` : "" }, `⚑ ${f.name}${pct(f.confidence)}`));
    return h("li", { class: "shot" }, time, " ", h("span", { class: "muted" }, `Shot ${sh.shot + 1}`),
      labels.length || flags.length ? h("ul", { class: "tags", "aria-label": `Shot ${sh.shot + 1}: labels and moderation flags` }, labels, flags)
        : h("span", { class: "muted" }, " · nothing recognised"));
  });
  return h("section", { class: "panel", "aria-labelledby": "h-shots" }, h("h2", { id: "h-shots" }, "Shots"),
    h("p", { class: "muted" }, "What each shot shows (labels with confidence; ⚑ moderation flags)."),
    h("ol", { class: "shots" }, items));
}

/**
 * imageBoxes are the boxes found in an image (ratios of its size): lines of
 * text from OCR, the faces of the first (only) frame, and located labels.
 */
function imageBoxes(ins) {
  const out = [];
  // Boxes reaching past an edge are clipped to the image; malformed ones
  // are left out.
  const clip = (b) => {
    if (!b || ![b.left, b.top, b.width, b.height].every(Number.isFinite) || b.left < 0 || b.top < 0 || b.left >= 1 || b.top >= 1) return null;
    const width = Math.min(b.width, 1 - b.left);
    const height = Math.min(b.height, 1 - b.top);
    return width > 0 && height > 0 ? { left: b.left, top: b.top, width, height } : null;
  };
  for (const o of (ins && ins.ocr) || []) {
    const b = clip(o.box);
    if (b) out.push({ kind: "text", label: `Text: ${o.text}`, ...b });
  }
  const frame = ins && ins.faces && ins.faces.detections && ins.faces.detections[0];
  for (const [i, b] of ((frame && frame.boxes) || []).entries()) {
    const score = frame.scores && frame.scores[i];
    const c = clip(b);
    if (c) out.push({ kind: "face", label: `Face${confidenceText(score) ? ` (${confidenceText(score)})` : ""}`, ...c });
  }
  // Located labels of the image (its one analysed frame), confidence 0–100.
  const shots = (ins && ins.vision && ins.vision.shots) || [];
  for (const l of (shots.length === 1 && shots[0].labels) || []) {
    for (const inst of l.instances || []) {
      const c = clip(inst.box);
      const conf = confidenceText(Number(inst.confidence) / 100);
      if (c) out.push({ kind: "label", label: `${l.name}${conf ? ` (${conf})` : ""}`, ...c });
    }
  }
  return out;
}

/**
 * shareButton puts the current time into the page's address (#/media/ID?t=)
 * and copies that link when the browser allows it.
 */
function shareButton(id, media) {
  const btn = h("button", { type: "button", class: "ghost" }, "Link to this moment");
  btn.addEventListener("click", async () => {
    const hash = `#/media/${encodeURIComponent(id)}${buildQuery({ t: media.currentTime > 0 ? media.currentTime.toFixed(1) : "" })}`;
    history.replaceState(null, "", hash);
    const url = location.href;
    try {
      await navigator.clipboard.writeText(url);
      toast(`Copied a link to ${formatTime(media.currentTime)}.`);
    } catch {
      toast(`The address bar now links to ${formatTime(media.currentTime)}.`);
    }
  });
  return btn;
}

function fillTranscript(panel, tr, media, seek, chapterList, ins, match) {
  const words = tr.words || [];
  const blocks = transcriptBlocks(tr);
  const speakers = [...new Set(blocks.map((b) => b.speaker).filter(Boolean))];
  const follow = h("input", { type: "checkbox", id: "follow", checked: true });
  const findInput = h("input", { type: "search", id: "find", placeholder: "Find in transcript", autocomplete: "off" });
  const findCount = h("span", { class: "muted", "aria-live": "polite" });
  const findBar = h("form", { class: "find", role: "search", "aria-label": "Find in transcript" },
    h("label", { for: "find", class: "visually-hidden" }, "Find in transcript"), findInput, findCount);
  const box = h("div", { class: "transcript", tabindex: "0", "aria-label": "Transcript text" });
  const shown = displayWords(tr, blocks);
  const unsure = words.some((w) => w.confidence !== undefined && w.confidence < LOW_CONFIDENCE);
  const legend = unsure
    ? h("p", { class: "muted low-legend" }, h("span", { class: "low-mark", "aria-hidden": "true" }, "word"),
      ` dotted underline: the recogniser was unsure of this word (confidence below ${Math.round(LOW_CONFIDENCE * 100)}%)`)
    : "";
  const unused = ((tr.vocabulary && tr.vocabulary.unreachable) || []).filter((w) => typeof w === "string" && w);
  const vocabNote = unused.length
    ? h("p", { class: "note", role: "note" }, h("strong", {}, "Vocabulary not used: "), unused.join(", "),
      ". The speech model cannot produce these words, so they never appear in this transcript; domain text that uses them (transcribe.domain_text_file) makes them recognisable.")
    : "";
  panel.replaceChildren(
    h("div", { class: "bar" }, h("h2", { id: "h-transcript" }, "Transcript"),
      media ? h("label", { class: "check", for: "follow" }, follow, "Follow playback") : ""),
    words.length ? findBar : "",
    (tr.speakers || []).length > 1
      ? h("p", { class: "muted speakers" }, `${tr.speakers.length} speakers: `, tr.speakers.map((sp, i) => [i ? ", " : "", `${speakerName(sp.label, tr.speakers)} · talk ${formatTime(sp.seconds)}`]))
      : "",
    vocabNote, legend,
    box);
  if (blocks.length === 0) {
    box.append(h("p", { class: "muted" }, "The transcript is empty (no speech was recognised)."));
    return;
  }
  const wordEls = new Array(words.length);
  const blockEls = blocks.map((b) => {
    const spk = speakers.indexOf(b.speaker);
    const headEl = h("div", { class: "seg-head" },
      h("button", { type: "button", class: "t", "aria-label": `Play from ${formatTime(b.start)}${b.speaker ? ", " + speakerName(b.speaker, tr.speakers) : ""}`, onclick: () => seek(b.start), disabled: !media }, formatTime(b.start)),
      b.speaker ? h("span", { class: "speaker" }, speakerName(b.speaker, tr.speakers)) : "");
    const p = h("p", {});
    if (b.count > 0) {
      for (let i = b.first; i < b.first + b.count; i++) {
        const w = words[i];
        const low = w.confidence !== undefined && w.confidence < LOW_CONFIDENCE;
        const el = h("span", { class: "w" + (low ? " low" : ""), "data-i": i }, shown[i]);
        if (low) el.title = `the recogniser was unsure of this word (confidence ${Math.round(w.confidence * 100)}%)`;
        wordEls[i] = el;
        p.append(el, " ");
      }
    } else {
      p.append(b.text);
    }
    return h("div", { class: "seg" + (spk >= 0 ? ` spk-${spk % 6}` : ""), "data-start": b.start }, headEl, p);
  });
  append(box, blockEls);
  // The words a search matched: highlighted and scrolled into view.
  if (match && Number.isFinite(match.t) && Number.isFinite(match.te) && match.te >= match.t && (match.te > 0 || match.t > 0)) {
    let first = null;
    words.forEach((w, i) => {
      if (w.start >= match.t - 0.05 && w.end <= match.te + 0.05 && wordEls[i]) {
        wordEls[i].classList.add("hit", "hit-cur");
        first = first || wordEls[i];
      }
    });
    if (first) {
      const top = first.offsetTop - box.offsetTop;
      box.scrollTop = Math.max(0, top - box.clientHeight / 3);
    }
  }

  // Find in transcript: matches are marked as one types; Enter moves to
  // the next one (and plays from there when there is a player).
  let matches = [];
  let at = -1;
  const mark = () => {
    for (const el of box.querySelectorAll(".w.hit")) el.classList.remove("hit", "hit-cur");
    matches = findInWords(words, findInput.value);
    at = -1;
    for (const [i, n] of matches) for (let k = i; k < i + n; k++) if (wordEls[k]) wordEls[k].classList.add("hit");
    findCount.textContent = findInput.value.trim() ? (matches.length === 1 ? "1 match" : `${matches.length} matches`) : "";
  };
  findInput.addEventListener("input", mark);
  findBar.addEventListener("submit", (e) => {
    e.preventDefault();
    if (matches.length === 0) return;
    for (const el of box.querySelectorAll(".w.hit-cur")) el.classList.remove("hit-cur");
    at = (at + 1) % matches.length;
    const [i, n] = matches[at];
    for (let k = i; k < i + n; k++) if (wordEls[k]) wordEls[k].classList.add("hit-cur");
    findCount.textContent = `${at + 1} of ${matches.length}`;
    const el = wordEls[i];
    if (el) {
      const top = el.offsetTop - box.offsetTop;
      box.scrollTop = Math.max(0, top - box.clientHeight / 3);
    }
    if (media) seek(words[i].start);
  });
  if (!media) return;
  box.addEventListener("click", (e) => {
    const i = e.target && e.target.dataset ? Number(e.target.dataset.i) : NaN;
    if (Number.isInteger(i) && words[i]) seek(words[i].start);
  });
  // Following playback: highlight the word and block being spoken and keep
  // them in view, unless the reader scrolled the transcript recently.
  let userScrolled = 0;
  for (const ev of ["wheel", "touchmove", "keydown"]) box.addEventListener(ev, () => { userScrolled = Date.now(); }, { passive: true });
  let curWord = -1;
  let curBlock = -1;
  let curChapter = -1;
  const chapters = (ins && ins.chapters) || [];
  const chapterItems = chapterList ? [...chapterList.children] : [];
  const chapterStarts = chapters.map((c) => ({ start: c.start_seconds }));
  const update = () => {
    // Seeks land on the nearest sample, which can be a hair before the
    // word's start: look 20 ms ahead so the clicked word is the current one.
    const t = media.currentTime + 0.02;
    let wi = indexAt(words, t);
    if (wi >= 0 && t > words[wi].end + 1) wi = -1; // in a pause
    if (wi !== curWord) {
      if (curWord >= 0 && wordEls[curWord]) wordEls[curWord].classList.remove("cur");
      if (wi >= 0 && wordEls[wi]) wordEls[wi].classList.add("cur");
      curWord = wi;
    }
    const bi = indexAt(blocks, t);
    if (bi !== curBlock) {
      if (curBlock >= 0) blockEls[curBlock].classList.remove("current");
      if (bi >= 0) {
        blockEls[bi].classList.add("current");
        if (follow.checked && Date.now() - userScrolled > 4000) {
          const el = blockEls[bi];
          const top = el.offsetTop - box.offsetTop;
          if (top < box.scrollTop || top + el.offsetHeight > box.scrollTop + box.clientHeight) {
            box.scrollTo({ top: Math.max(0, top - box.clientHeight / 3), behavior: matchMedia("(prefers-reduced-motion: reduce)").matches ? "auto" : "smooth" });
          }
        }
      }
      curBlock = bi;
    }
    const ci = indexAt(chapterStarts, t);
    if (ci !== curChapter && chapterItems.length) {
      if (curChapter >= 0 && chapterItems[curChapter]) chapterItems[curChapter].classList.remove("current");
      if (ci >= 0 && chapterItems[ci]) chapterItems[ci].classList.add("current");
      curChapter = ci;
    }
  };
  let raf = 0;
  const loop = () => {
    update();
    raf = media.paused ? 0 : requestAnimationFrame(loop);
  };
  const start = () => { if (!raf) raf = requestAnimationFrame(loop); };
  media.addEventListener("play", start);
  media.addEventListener("seeked", update);
  media.addEventListener("timeupdate", update);
  onCleanup(() => { if (raf) cancelAnimationFrame(raf); });
  update();
}

function insightsGrid(ins, seek, canSeek) {
  const grid = h("div", { class: "insights" });
  const section = (id, title, ...body) => h("section", { class: "panel", "aria-labelledby": id }, h("h2", { id }, title), ...body);
  const timeButton = (t) => (canSeek
    ? h("button", { type: "button", class: "link mono", onclick: () => seek(t), "aria-label": `Play from ${formatTime(t)}` }, formatTime(t))
    : h("span", { class: "mono" }, formatTime(t)));
  if (ins.summary || ins.seo_description) {
    grid.append(section("h-summary", "Summary",
      ins.summary ? h("p", {}, ins.summary) : "",
      ins.seo_description ? [h("h3", {}, "SEO description"), h("p", {}, ins.seo_description)] : ""));
  }
  if (ins.topics && ins.topics.length) grid.append(section("h-topics", "Topics", h("ul", { class: "chips" }, ins.topics.map((t) => h("li", {}, t)))));
  const ent = ins.entities || {};
  const groups = [["People", ent.people], ["Organisations", ent.organisations], ["Places", ent.places]].filter(([, v]) => v && v.length);
  if (groups.length) {
    grid.append(section("h-entities", "Entities", groups.map(([name, v]) => [h("h3", {}, name), h("ul", { class: "chips" }, v.map((x) => h("li", {}, x)))])));
  }
  const facts = [];
  if (ins.language) facts.push(["Language", `${ins.language.code} (${Math.round((ins.language.confidence || 0) * 100)}% from ${ins.language.source || "?"})`]);
  if (ins.faces) {
    facts.push(["Faces", ins.faces.max_count > 0
      ? `${ins.faces.max_count} at most in one frame (${plural((ins.faces.detections || []).length, "frame")} with faces)`
      : "none seen"]);
  }
  if (facts.length) grid.append(section("h-facts", "Details", h("dl", { class: "kv" }, facts.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]))));
  if (ins.ocr && ins.ocr.length) {
    grid.append(section("h-ocr", "On-screen text", h("ul", { class: "plain" }, ins.ocr.map((o) =>
      h("li", {}, timeButton(o.first_seen), o.last_seen > o.first_seen ? h("span", { class: "mono muted" }, `–${formatTime(o.last_seen)}`) : "", " ", h("q", {}, o.text))))));
  }
  if (ins.labels && ins.labels.length) {
    grid.append(section("h-labels", "Labels", h("ul", { class: "plain" }, ins.labels.map((l) =>
      h("li", {}, l.name, " ", h("span", { class: "muted" }, `${Math.round(l.confidence > 1 ? l.confidence : l.confidence * 100)}%`),
        (l.timestamps || []).length ? [" · ", (l.timestamps || []).slice(0, 5).map((t, i) => [i ? ", " : "", timeButton(t)])] : "")))));
  }
  if (ins.profile && ins.profile.output && typeof ins.profile.output === "object") {
    const p = ins.profile;
    const missing = new Set(p.not_available || []);
    const label = (k) => k.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());
    const value = (v) => {
      if (v === null || v === undefined) return h("p", { class: "muted" }, "not available");
      if (typeof v !== "object") return h("p", {}, String(v));
      if (!Array.isArray(v)) return h("p", {}, JSON.stringify(v));
      if (v.length === 0) return h("p", { class: "muted" }, "none found");
      if (v.every((x) => typeof x !== "object" || x === null)) return h("ul", { class: "chips" }, v.map((x) => h("li", {}, String(x))));
      return h("ul", { class: "plain" }, v.map((x) => {
        const at = typeof x.start_seconds === "number" ? x.start_seconds : null;
        // The item's own words first (a JSON object's keys may come in
        // any order), then its other fields, labelled.
        const main = ["text", "question", "signal", "term", "policy", "speaker"].find((k) => k in x);
        const rest = Object.entries(x).filter(([k]) => k !== "start_seconds" && k !== main);
        if (main) rest.unshift([main, x[main]]);
        return h("li", {}, at !== null ? [timeButton(at), " "] : "",
          rest.map(([k, val], i) => [i ? h("span", { class: "muted" }, ` · ${label(k)}: `) : "", Array.isArray(val) ? val.join(", ") : String(val)]));
      }));
    };
    grid.append(section("h-profile", p.title || label(p.name),
      h("p", { class: "muted" }, `Insight profile ${p.name}, filled by the ${p.provider} provider`,
        missing.size ? `; not available here: ${[...missing].map(label).join(", ")}` : ""),
      Object.entries(p.output).map(([k, v]) => [h("h3", {}, label(k)), value(v)])));
  }
  if (ins.moderation && ins.moderation.length) {
    grid.append(section("h-moderation", "Moderation", h("ul", { class: "plain" }, ins.moderation.map((x) =>
      h("li", {}, x.parent_name ? `${x.parent_name} › ` : "", x.name, " ", h("span", { class: "muted" }, `${Math.round(x.confidence > 1 ? x.confidence : x.confidence * 100)}%`),
        x.timestamp ? [" at ", timeButton(x.timestamp)] : "")))));
  }
  return grid;
}

const STEP_MARK = { succeeded: "✓", caught: "↪", failed: "✕", retrying: "↻", running: "…", stopped: "■" };
const EXEC_BADGE = { SUCCEEDED: "SUCCEEDED", FAILED: "FAILED", TIMED_OUT: "FAILED", ABORTED: "PENDING", RUNNING: "PROCESSING" };

/**
 * executionPanel shows the states an execution went through, read from
 * its history. load() (re)reads the history; it is called again while the
 * media is processing, so the panel follows the run.
 */
function executionPanel(execID) {
  const base = `/v1/executions/${encodeURIComponent(execID)}/history`;
  const body = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  const el = h("section", { class: "panel", "aria-labelledby": "h-execution" }, h("h2", { id: "h-execution" }, "Execution"), body);
  const load = async () => {
    const events = [];
    let token = "";
    try {
      for (let pages = 0; pages < 20; pages++) {
        const r = await api(base + buildQuery({ limit: 1000, nextToken: token }));
        events.push(...(r.events || []));
        token = r.nextToken || "";
        if (!token) break;
      }
    } catch (e) {
      body.replaceChildren(h("p", { class: "muted" }, `The execution history is not available: ${e.message}`));
      throw e;
    }
    const { execution, steps } = executionSteps(events);
    const took = execution.start ? formatDuration((execution.end ? Date.parse(execution.end) : Date.now()) - Date.parse(execution.start)) : "";
    const items = steps.map((st) => {
      // A state that took no measurable time (a Succeed, a Pass) shows none.
      const ms = st.exited ? Date.parse(st.exited) - Date.parse(st.entered) : NaN;
      const dur = ms >= 1 ? formatDuration(ms) : "";
      const li = h("li", { class: "step " + st.status },
        h("span", { class: "step-status" }, h("span", { "aria-hidden": "true" }, STEP_MARK[st.status] || ""), " ", st.status),
        h("span", { class: "step-name" }, st.name),
        h("span", { class: "muted" }, st.type),
        dur ? h("span", { class: "mono muted" }, dur) : "",
        st.retries > 0 ? h("span", { class: "muted" }, (st.retries === 1 ? "1 retry" : `${st.retries} retries`)) : "",
        st.error ? h("div", { class: "cause" }, h("code", {}, st.error), st.cause ? ": " + st.cause : "") : "");
      li.style.marginLeft = st.depth * 1.5 + "rem";
      return li;
    });
    body.replaceChildren(
      h("p", { class: "exec-summary" }, h("span", { class: "badge " + (EXEC_BADGE[execution.status] || "PENDING") }, execution.status.toLowerCase().replace("_", " ")),
        " ", plural(steps.length, "state"), took ? `, ${execution.end ? "took" : "running for"} ${took}` : "",
        execution.error ? [" — ", h("code", {}, execution.error), execution.cause ? ": " + execution.cause : ""] : "",
        " · ", historyLink(base + buildQuery({ limit: 1000 }))),
      items.length ? h("ol", { class: "steps", "aria-label": "States in the order they were entered" }, items) : h("p", { class: "muted" }, "No states have run yet."));
    return execution.status;
  };
  return { el, load };
}

function historyLink(path) {
  const a = h("a", { href: path }, "history (JSON)");
  a.addEventListener("click", openJSON(path));
  return a;
}

function downloads(m, urls) {
  const items = [h("li", {}, h("a", { class: "button", href: urls.original, download: m.filename || "" }, "Original file"))];
  const links = Object.entries(urls).filter(([key, url]) => key !== "original" && exportName(url) !== "original").map(([, url]) => url);
  for (const url of links.sort((a, b) => exportName(a).localeCompare(exportName(b)))) {
    const name = exportName(url);
    items.push(h("li", {}, h("a", { class: "button", href: url, download: downloadName(m.filename, m.id, name) }, name)));
  }
  return h("section", { class: "panel", "aria-labelledby": "h-downloads" }, h("h2", { id: "h-downloads" }, "Downloads"), h("ul", { class: "downloads" }, items));
}

// ---------------------------------------------------------------- Start

document.getElementById("key-button").addEventListener("click", () => {
  askForKey("", true).then(() => render(), () => {});
});
document.getElementById("key-button").hidden = !state.key;
window.addEventListener("hashchange", () => { state.focusOnRender = true; render(); });
render();
