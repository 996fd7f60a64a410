// The reviewer's pages of the web UI: the review queue (#/reviews) and one
// item (#/reviews/ID). The queue is sortable and keyboard driven (j/k move,
// Enter opens, a approves, r rejects); the item page shows why the item is
// here, the player, the transcript with click-to-correct words and
// speakers renamed once for the whole file, the moderation labels with
// the moments they were seen, the summary, chapters, topics and entities
// (all editable), the history of versions, and the decision.
import { buildQuery, formatTime, speakerName, transcriptBlocks } from "./lib.js";

const REASONS = {
  tenant_policy: "Tenant reviews everything",
  low_confidence: "Low transcript confidence",
  moderation: "Moderation label",
  low_confidence_result: "Low-confidence insights",
  vocabulary_missed: "Expected words not heard",
  changes_requested: "Back from requested changes",
  escalated: "Escalated: no decision in time",
};

/** reasonText names a reason code for people. */
export function reasonText(code) {
  return REASONS[code] || String(code || "").replace(/_/g, " ");
}

/** waitingText says how long an item has waited: "3 min", "2 h 5 min". */
export function waitingText(fromISO, now) {
  const s = Math.max(0, Math.round(((now || Date.now()) - new Date(fromISO).getTime()) / 1000));
  if (!Number.isFinite(s)) return "";
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const hrs = Math.floor(m / 60);
  if (hrs < 48) return `${hrs} h ${m % 60} min`;
  return `${Math.floor(hrs / 24)} d`;
}

/**
 * reviewPages returns the review pages, given the app's helpers: h,
 * append, api, toast, heading, navigate, alertBox, timeEl, mediaURLs,
 * buildPlayer, onCleanup.
 */
export function reviewPages(ui) {
  const { h, api, toast, heading, navigate, alertBox, timeEl } = ui;
  const enc = encodeURIComponent;

  async function queuePage(page, route) {
    const p = route.params;
    heading(page, "Review queue");
    const sort = p.sort || "priority";
    const filters = h("form", { class: "filters", "aria-label": "Filter the review queue" });
    const counts = h("p", { class: "muted", id: "review-counts", "aria-live": "polite" }, "Loading…");
    const table = h("table", { class: "reviews" });
    const help = h("p", { class: "muted keys" }, "Keys: j / k move, Enter opens, a approves, r rejects.");
    const vocab = h("section", { class: "note", id: "vocab-suggestions", hidden: true, "aria-labelledby": "h-vocab" });
    page.append(filters, counts, table, help, vocab);
    // Words reviewers corrected and speakers' names, offered for the
    // tenant's vocabulary: accepted in one action, used by the next files.
    api("/v1/vocabulary?state=suggested").then((v) => {
      const terms = (v && v.terms) || [];
      if (!terms.length || !page.isConnected) return;
      const accept = h("button", { type: "button", id: "accept-vocab", class: "primary" }, `Accept all ${terms.length}`);
      accept.addEventListener("click", async () => {
        try {
          const r = await api("/v1/vocabulary/accept", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ all: true }) });
          toast(`${r.accepted.length} terms join the vocabulary: the next files are transcribed with them`);
          vocab.hidden = true;
        } catch (err) {
          toast(err.message, true);
        }
      });
      vocab.append(h("h2", { id: "h-vocab" }, "Vocabulary suggestions"),
        h("p", {}, terms.map((x, i) => [i ? ", " : "", h("span", { title: `${x.source === "speaker" ? "a speaker's name" : "a corrected word"}, suggested ${x.count}×` }, x.term)])),
        accept);
      vocab.hidden = false;
    }).catch(() => {});
    const list = await api("/v1/reviews" + buildQuery({ reason: p.reason, kind: p.kind, sort, older_than: p.older_than }));
    const reasonOpts = [["", "All reasons"], ...Object.keys(list.counts.by_reason || {}).sort().map((k) => [k, `${reasonText(k)} (${list.counts.by_reason[k]})`])];
    if (p.reason && !reasonOpts.some(([v]) => v === p.reason)) reasonOpts.push([p.reason, reasonText(p.reason)]);
    const sel = (id, label, name, options, value) => h("div", { class: "field" }, h("label", { for: id }, label),
      h("select", { id, name }, options.map(([v, t]) => h("option", { value: v, selected: v === (value || "") }, t))));
    filters.append(
      sel("r-reason", "Reason", "reason", reasonOpts, p.reason),
      sel("r-kind", "Kind", "kind", [["", "Any kind"], ["audio", "Audio"], ["video", "Video"], ["image", "Image"]], p.kind),
      sel("r-age", "Waiting", "older_than", [["", "Any time"], ["1h", "Over 1 hour"], ["24h", "Over 24 hours"]], p.older_than));
    filters.addEventListener("change", () => {
      const f = new FormData(filters);
      navigate("#/reviews" + buildQuery({ reason: f.get("reason"), kind: f.get("kind"), older_than: f.get("older_than"), sort }));
    });
    counts.textContent = `${list.counts.open} waiting, ${list.counts.claimed} claimed`;
    const sortHead = (key, label) => h("th", { scope: "col", "aria-sort": sort === key ? (key === "priority" ? "descending" : "ascending") : "none" },
      h("button", { type: "button", class: "sort", onclick: () => navigate("#/reviews" + buildQuery({ ...p, sort: key })) }, label));
    table.append(h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "File"), h("th", { scope: "col" }, "Reasons"),
      sortHead("age", "Waiting"), sortHead("priority", "Priority"), sortHead("due", "Due"), h("th", { scope: "col" }, "Claimed by"))));
    const body = h("tbody", {});
    table.append(body);
    if (list.reviews.length === 0) {
      body.append(h("tr", {}, h("td", { colspan: 6, class: "muted" }, "Nothing waits for review.")));
      return;
    }
    const rows = list.reviews.map((r) => h("tr", { tabindex: "0", "data-id": r.media_id, "aria-label": `${r.filename || r.media_id}: ${r.reasons.map((x) => reasonText(x.code)).join(", ")}` },
      h("td", {}, h("a", { href: `#/reviews/${enc(r.media_id)}` }, r.filename || r.media_id), h("span", { class: "muted" }, ` ${r.kind || ""}`)),
      h("td", {}, r.reasons.map((x) => h("span", { class: "reason", title: x.detail }, reasonText(x.code)))),
      h("td", {}, waitingText(r.opened_at)),
      h("td", {}, String(r.priority)),
      h("td", {}, r.due_at ? timeEl(r.due_at) : "—"),
      h("td", {}, r.claimed_by || "—")));
    body.append(...rows);
    let at = 0;
    const select = (i) => {
      at = Math.max(0, Math.min(rows.length - 1, i));
      rows.forEach((row, k) => row.classList.toggle("selected", k === at));
      rows[at].focus();
    };
    select(0);
    const onKey = async (e) => {
      if (!page.isConnected) return;
      if (e.target && /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName)) return;
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      const id = rows[at] && rows[at].dataset.id;
      if (e.key === "j") select(at + 1);
      else if (e.key === "k") select(at - 1);
      else if (e.key === "Enter" && id) navigate(`#/reviews/${enc(id)}`);
      else if (e.key === "a" && id) await decideFromQueue(id, { outcome: "approved" });
      else if (e.key === "r" && id) {
        const reason = prompt("Why is this item rejected?");
        if (reason && reason.trim()) await decideFromQueue(id, { outcome: "rejected", reason: reason.trim() });
      } else return;
      e.preventDefault();
    };
    document.addEventListener("keydown", onKey);
    ui.onCleanup(() => document.removeEventListener("keydown", onKey));
    async function decideFromQueue(id, d) {
      try {
        await api(`/v1/reviews/${enc(id)}/decision`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(d) });
        toast(d.outcome === "approved" ? "Approved: publishing the reviewed version" : "Rejected");
      } catch (err) {
        toast(err.message, true);
      }
      navigate(location.hash);
    }
  }

  async function itemPage(page, route) {
    const id = route.id;
    const item = await api(`/v1/reviews/${enc(id)}`);
    const r = item.review;
    const m = item.media;
    const doc = item.document || {};
    const tr = doc.transcript;
    const ins = doc.insights || {};
    heading(page, `Review: ${m.filename || m.id}`);
    const post = (path, body) => api(`/v1/reviews/${enc(id)}/${path}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body || {}) });
    const reload = () => navigate(location.hash);
    const edit = async (edits) => {
      try {
        await post("edits", { after: item.version, edits });
        toast("Saved as a new version");
      } catch (err) {
        toast(err.message, true);
      }
      reload();
    };
    const open = r.state === "OPEN";

    // Status, claim and reasons.
    const claimBtn = h("button", { type: "button", id: "claim", class: "primary", disabled: !open }, r.claimed_by ? "Extend claim" : "Claim");
    claimBtn.addEventListener("click", async () => {
      try {
        await post("claim");
        toast("Claimed: other reviewers see it is yours");
      } catch (err) {
        toast(err.message, true);
      }
      reload();
    });
    const releaseBtn = h("button", { type: "button", id: "release", class: "ghost", hidden: !r.claimed_by }, "Release");
    releaseBtn.addEventListener("click", async () => {
      try {
        await post("release");
      } catch (err) {
        toast(err.message, true);
      }
      reload();
    });
    page.append(
      h("p", { class: "muted", id: "review-state" }, `${r.state.toLowerCase()} · round ${r.round} · version ${item.version}`,
        r.claimed_by ? ` · claimed by ${r.claimed_by}` : " · not claimed", r.due_at ? [" · due ", timeEl(r.due_at)] : ""),
      r.refusal ? h("p", { class: "alert", role: "alert" }, r.refusal) : "",
      h("div", { class: "actions" }, claimBtn, releaseBtn),
      h("section", { "aria-labelledby": "h-reasons" }, h("h2", { id: "h-reasons" }, "Why it is here"),
        h("ul", { class: "reasons" }, r.reasons.map((x) => h("li", {}, h("strong", {}, reasonText(x.code)), ": ", x.detail)))));

    // Player.
    let media = null;
    const seek = (t) => {
      if (!media) return;
      media.currentTime = t;
      media.play().catch(() => {});
    };
    try {
      const urls = await ui.mediaURLs(m);
      const pl = ui.buildPlayer(m, urls);
      media = pl.media;
      page.append(h("section", { class: "player", "aria-label": "Player" }, pl.el));
    } catch (err) {
      page.append(alertBox(err));
    }

    // Transcript: click a word to correct it; rename speakers.
    if (tr) {
      const sec = h("section", { "aria-labelledby": "h-tr" }, h("h2", { id: "h-tr" }, "Transcript"));
      const speakers = tr.speakers || [];
      if (speakers.length) {
        sec.append(h("ul", { class: "speakers-edit" }, speakers.map((sp) => {
          const name = speakerName(sp.label, speakers);
          const btn = h("button", { type: "button", class: "ghost rename", "data-speaker": sp.label, disabled: !open }, "Rename");
          btn.addEventListener("click", () => {
            const input = h("input", { type: "text", value: name, "aria-label": `New name for ${name}`, class: "rename-input" });
            btn.replaceWith(input);
            input.focus();
            input.select();
            input.addEventListener("keydown", (e) => {
              if (e.key === "Enter" && input.value.trim() && input.value.trim() !== name) edit([{ op: "speaker", speaker: sp.label, value: input.value.trim() }]);
              if (e.key === "Escape") reload();
            });
          });
          return h("li", {}, h("span", { class: "speaker" }, name), ` · talk ${formatTime(sp.seconds)} `, btn);
        })));
      }
      const box = h("div", { class: "transcript editable", "aria-label": "Transcript: click a word to correct it" });
      const words = tr.words || [];
      for (const b of transcriptBlocks(tr)) {
        const p = h("p", {});
        if (b.count > 0) {
          for (let i = b.first; i < b.first + b.count; i++) {
            const w = words[i];
            const el = h("button", { type: "button", class: "w" + (w.confidence !== undefined && w.confidence < 0.5 ? " low" : ""), "data-i": i, disabled: !open,
              "aria-label": `Correct "${w.text}" at ${formatTime(w.start)}` }, w.text);
            el.addEventListener("click", () => {
              seek(w.start);
              const input = h("input", { type: "text", value: w.text, class: "word-input", "aria-label": `Correct "${w.text}"`, size: Math.max(4, w.text.length + 2) });
              el.replaceWith(input);
              input.focus();
              input.select();
              input.addEventListener("keydown", (e) => {
                if (e.key === "Enter") {
                  e.preventDefault();
                  const v = input.value.trim();
                  if (v && v !== w.text) edit([{ op: "word", word: i, value: v }]);
                  else reload();
                }
                if (e.key === "Escape") reload();
              });
            });
            p.append(el, " ");
          }
        } else {
          p.append(b.text);
        }
        box.append(h("div", { class: "seg" }, h("div", { class: "seg-head" },
          h("button", { type: "button", class: "t", onclick: () => seek(b.start), "aria-label": `Play from ${formatTime(b.start)}` }, formatTime(b.start)),
          b.speaker ? h("span", { class: "speaker" }, speakerName(b.speaker, speakers)) : ""), p));
      }
      sec.append(box);
      page.append(sec);
    }

    // Moderation labels, with the moments they were seen.
    if ((ins.moderation || []).length) {
      page.append(h("section", { "aria-labelledby": "h-mod" }, h("h2", { id: "h-mod" }, "Moderation"),
        h("ul", { class: "moderation" }, ins.moderation.map((x) => h("li", {},
          h("strong", {}, x.name), ` ${Math.round(x.confidence)}%`, x.parent_name ? ` (${x.parent_name})` : "",
          m.kind === "video" || m.kind === "audio" ? [" · ", h("button", { type: "button", class: "t", onclick: () => seek(x.timestamp || 0) }, `seen at ${formatTime(x.timestamp || 0)}`)] : "",
          x.verdict ? h("span", { class: "badge" }, x.verdict) : "",
          h("button", { type: "button", class: "ghost", disabled: !open, onclick: () => edit([{ op: "moderation", label: x.name, value: "confirmed" }]) }, "Confirm"),
          h("button", { type: "button", class: "ghost", disabled: !open, onclick: () => edit([{ op: "moderation", label: x.name, value: "dismissed" }]) }, "Dismiss"))))));
    }

    // Summary, chapters, topics, entities.
    const area = (idv, label, value, rows) => [h("label", { for: idv }, label), h("textarea", { id: idv, rows: rows || 3, disabled: !open }, value || "")];
    const chapterText = (ins.chapters || []).map((c) => `${formatTime(c.start_seconds)} ${c.title}`).join("\n");
    const en = ins.entities || {};
    const form = h("form", { class: "insights-edit", "aria-labelledby": "h-ins" }, h("h2", { id: "h-ins" }, "Summary and insights"),
      area("e-summary", "Summary", ins.summary, 4),
      area("e-chapters", "Chapters (one a line: m:ss title)", chapterText, 4),
      area("e-topics", "Topics (comma-separated)", (ins.topics || []).join(", "), 2),
      area("e-people", "People", (en.people || []).join(", "), 2),
      area("e-orgs", "Organisations", (en.organisations || []).join(", "), 2),
      area("e-places", "Places", (en.places || []).join(", "), 2),
      h("button", { type: "submit", class: "primary", disabled: !open }, "Save insights"));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const v = (k) => form.querySelector("#" + k).value;
      const list = (k) => v(k).split(",").map((s) => s.trim()).filter(Boolean);
      const edits = [];
      if (v("e-summary").trim() !== (ins.summary || "")) edits.push({ op: "summary", value: v("e-summary").trim() });
      if (v("e-chapters") !== chapterText) {
        const chs = [];
        for (const line of v("e-chapters").split("\n").map((s) => s.trim()).filter(Boolean)) {
          const mm = /^(?:(\d+):)?(\d+):(\d{2})\s+(.+)$/.exec(line);
          if (!mm) {
            toast(`Chapter line "${line}" is not "m:ss title"`, true);
            return;
          }
          chs.push({ start_seconds: Number(mm[1] || 0) * 3600 + Number(mm[2]) * 60 + Number(mm[3]), title: mm[4] });
        }
        edits.push({ op: "chapters", value: chs });
      }
      if (list("e-topics").join(",") !== (ins.topics || []).join(",")) edits.push({ op: "topics", value: list("e-topics") });
      const ent = { people: list("e-people"), organisations: list("e-orgs"), places: list("e-places") };
      if (JSON.stringify(ent) !== JSON.stringify({ people: en.people || [], organisations: en.organisations || [], places: en.places || [] })) edits.push({ op: "entities", value: ent });
      if (edits.length === 0) {
        toast("Nothing changed");
        return;
      }
      edit(edits);
    });
    page.append(form);

    // Decision.
    const reason = h("textarea", { id: "d-reason", rows: 2 });
    const vocab = h("input", { type: "text", id: "d-vocab", placeholder: "words to listen for, comma-separated" });
    const step = h("select", { id: "d-step" }, h("option", { value: "transcribe" }, "Transcribe again"), h("option", { value: "summarise" }, "Summarise again"));
    const decide = async (d) => {
      try {
        await post("decision", { round: r.round, ...d });
        toast(d.outcome === "approved" ? "Approved: publishing the reviewed version" : d.outcome === "rejected" ? "Rejected" : "Changes requested");
        navigate("#/reviews");
      } catch (err) {
        toast(err.message, true);
        reload();
      }
    };
    page.append(h("section", { class: "decision", "aria-labelledby": "h-dec" }, h("h2", { id: "h-dec" }, "Decision"),
      h("div", { class: "actions" },
        h("button", { type: "button", id: "approve", class: "primary", disabled: !open, onclick: () => decide({ outcome: "approved" }) }, "Approve"),
        h("button", { type: "button", id: "reject", class: "danger", disabled: !open, onclick: () => {
          if (!reason.value.trim()) {
            toast("Say why the item is rejected", true);
            reason.focus();
            return;
          }
          decide({ outcome: "rejected", reason: reason.value.trim() });
        } }, "Reject")),
      h("label", { for: "d-reason" }, "Reason (required to reject)"), reason,
      h("div", { class: "field" }, h("label", { for: "d-step" }, "Request changes: run again"), step),
      h("label", { for: "d-vocab" }, "Added vocabulary"), vocab,
      h("button", { type: "button", id: "request-changes", class: "ghost", disabled: !open, onclick: () => decide({ outcome: "changes_requested", step: step.value,
        vocabulary: vocab.value.split(",").map((s) => s.trim()).filter(Boolean), reason: reason.value.trim() }) }, "Request changes")));

    // Version history.
    const hist = h("ol", { class: "versions", id: "versions" });
    page.append(h("section", { "aria-labelledby": "h-ver" }, h("h2", { id: "h-ver" }, "History"), hist));
    try {
      const vs = await api(`/v1/media/${enc(id)}/versions`);
      for (const v of vs.versions) {
        const changes = v.kind === "edit" && Array.isArray(v.body)
          ? h("ul", {}, v.body.map((c) => h("li", {}, `${c.op}: ${JSON.stringify(c.before)} → ${JSON.stringify(c.value)}`)))
          : "";
        hist.append(h("li", {}, h("strong", {}, `v${v.version} ${v.kind}`), ` by ${v.author} `, timeEl(v.created_at), v.note ? ` · ${v.note}` : "", changes));
      }
    } catch (err) {
      hist.append(h("li", {}, alertBox(err)));
    }
  }

  return { reviews: queuePage, review: itemPage };
}
