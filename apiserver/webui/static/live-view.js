// The embeddable live caption viewer: /ui/live-view.html?src=<captions
// URL> follows one session's captions over Server-Sent Events (the signed
// captions_url a session's started message carries). A late viewer gets
// the captions so far first. ?lines=N keeps the last N captions.
import {Captions, sameOriginPath} from "./live-captions.js";

const params = new URLSearchParams(location.search);
const status = document.getElementById("status");
const caps = new Captions(document.getElementById("captions"), {maxLines: Number(params.get("lines")) || 0});
const src = sameOriginPath(params.get("src"));

function say(text, error) {
  status.hidden = false;
  status.textContent = text;
  status.classList.toggle("error", !!error);
}

if (!src) {
  say("No session: open this page with ?src=/v1/live/<session>/captions (the captions_url of a live session).", true);
} else {
  const es = new EventSource(src);
  let ended = false;
  const on = (e) => {
    const info = caps.handle(JSON.parse(e.data));
    document.body.dataset.seq = String(info.seq || 0);
    if (info.event === "ended") {
      ended = true;
      es.close();
      say("The session has ended." + (info.error ? " " + info.error : ""), !!info.error);
      document.body.dataset.ended = "true";
    }
  };
  for (const name of ["started", "transcript", "ended"]) es.addEventListener(name, on);
  es.addEventListener("error", (e) => {
    if (ended) return;
    if (e.data) say(JSON.parse(e.data), true);
    else if (es.readyState === EventSource.CLOSED) say("The captions cannot be followed (the link may have expired, or the session is no longer kept).", true);
  });
}
