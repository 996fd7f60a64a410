// Renders a live caption session's messages (GET /v1/live and its
// viewers): final captions as lines, the open caption's partial result
// below them, stable words plain and the rest dimmed.
export class Captions {
  constructor(el, {maxLines = 0} = {}) {
    this.el = el;
    this.maxLines = maxLines;
    this.lines = document.createElement("div");
    this.lines.className = "lines";
    this.partial = document.createElement("p");
    this.partial.className = "partial";
    this.partial.setAttribute("aria-hidden", "true");
    el.replaceChildren(this.lines, this.partial);
    this.info = null;
  }

  // handle takes one server message and returns its Landfall part.
  handle(msg) {
    const info = msg.Landfall || {};
    if (info.event === "started") this.info = info;
    const res = msg.Transcript && msg.Transcript.Results && msg.Transcript.Results[0];
    if (!res) return info;
    const items = (res.Alternatives && res.Alternatives[0] && res.Alternatives[0].Items) || [];
    if (res.IsPartial) {
      this.partial.replaceChildren(...items.map((it, i) => {
        const s = document.createElement("span");
        s.textContent = (i ? " " : "") + it.Content;
        if (!it.Stable) s.className = "unstable";
        return s;
      }));
    } else {
      this.partial.replaceChildren();
      if (items.length) {
        const p = document.createElement("p");
        p.className = "final";
        const t = document.createElement("time");
        t.textContent = clock(res.StartTime);
        p.append(t, " " + items.map((it) => it.Content).join(" "));
        this.lines.append(p);
        while (this.maxLines > 0 && this.lines.childElementCount > this.maxLines) this.lines.firstElementChild.remove();
      }
    }
    this.el.scrollTop = this.el.scrollHeight;
    return info;
  }

  // text is the final captions so far.
  text() {
    return [...this.lines.querySelectorAll("p.final")].map((p) => p.lastChild.textContent.trim()).join(" ");
  }
}

export function clock(sec) {
  const m = Math.floor(sec / 60);
  const s = sec - 60 * m;
  return String(m).padStart(2, "0") + ":" + s.toFixed(1).padStart(4, "0");
}

// sameOriginPath accepts only a path of this server's live API, so a
// viewer page cannot be pointed at another site.
export function sameOriginPath(src) {
  if (typeof src !== "string" || !src.startsWith("/v1/live/")) return null;
  try {
    const u = new URL(src, location.origin);
    return u.origin === location.origin ? u.pathname + u.search : null;
  } catch {
    return null;
  }
}
