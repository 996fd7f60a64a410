// "Go live": captures the microphone with MediaRecorder (WebM/Opus, or
// Ogg/Opus where WebM is not recorded), streams it to GET /v1/live and
// shows the captions as they come. With an API key in this tab (the main
// UI asks for it) the WebSocket opens with a short-lived signed URL from
// POST /v1/live/tickets, as browsers cannot set headers on WebSockets.
import {Captions} from "./live-captions.js";

const $ = (id) => document.getElementById(id);
const key = sessionStorage.getItem("landfall.apiKey") || "";
const tenant = sessionStorage.getItem("landfall.tenant") || "";
const caps = new Captions($("captions"));
let ws = null;
let rec = null;
let mic = null;

function say(text, error) {
  $("status").textContent = text;
  $("status").classList.toggle("error", !!error);
}

async function liveURL() {
  let path = "/v1/live" + (tenant ? "?tenant=" + encodeURIComponent(tenant) : "");
  if (key) {
    const r = await fetch("/v1/live/tickets" + (tenant ? "?tenant=" + encodeURIComponent(tenant) : ""), {
      method: "POST", headers: {Authorization: "Bearer " + key},
    });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(body.detail || "HTTP " + r.status);
    path = body.url;
  }
  return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
}

function recorderType() {
  for (const t of ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm"]) {
    if (window.MediaRecorder && MediaRecorder.isTypeSupported(t)) return t;
  }
  return "";
}

async function start(ev) {
  ev.preventDefault();
  const type = recorderType();
  if (!type) {
    say("This browser cannot record Opus audio (MediaRecorder).", true);
    return;
  }
  $("start").disabled = true;
  try {
    mic = await navigator.mediaDevices.getUserMedia({audio: {channelCount: 1, echoCancellation: true, noiseSuppression: true}});
  } catch (e) {
    say("No microphone: " + e.message, true);
    $("start").disabled = false;
    return;
  }
  let url;
  try {
    url = await liveURL();
  } catch (e) {
    say("Cannot start a live session: " + e.message, true);
    stopMic();
    $("start").disabled = false;
    return;
  }
  caps.lines.replaceChildren();
  ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  ws.onopen = () => {
    const vocabulary = $("vocab").value.split(",").map((s) => s.trim()).filter(Boolean);
    ws.send(JSON.stringify({type: "start", format: type.includes("ogg") ? "ogg" : "webm", vocabulary,
      filename: $("name").value.trim() || undefined}));
    rec = new MediaRecorder(mic, {mimeType: type});
    rec.ondataavailable = (e) => {
      if (e.data.size && ws && ws.readyState === WebSocket.OPEN) ws.send(e.data);
    };
    rec.onstop = () => {
      if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({type: "end"}));
    };
    rec.start(100); // a chunk every 100 ms: captions wait for the chunk that holds a word's end
    $("stop").disabled = false;
    say("Live: speak now.");
    document.body.dataset.live = "true";
  };
  ws.onmessage = (e) => {
    const info = caps.handle(JSON.parse(e.data));
    document.body.dataset.seq = String(info.seq || 0);
    if (info.event === "started" && info.viewer_url) {
      $("viewer").href = info.viewer_url;
      $("share").hidden = false;
    }
    if (info.event === "ended") {
      document.body.dataset.media = info.media_id || "";
      say(info.media_id ? "Ended: " + info.words + " words; the recording is stored as media " + info.media_id + "." : "Ended.", !!info.error);
      if (info.media_id) {
        const a = document.createElement("a");
        a.href = "./#/media/" + info.media_id;
        a.textContent = " Open it";
        $("status").append(a);
      }
    }
  };
  ws.onclose = (e) => {
    stopMic();
    $("start").disabled = false;
    $("stop").disabled = true;
    document.body.dataset.live = "false";
    document.body.dataset.closed = String(e.code);
    if (e.code !== 1000) say("The session closed (" + e.code + "): " + (e.reason || "connection lost"), true);
  };
}

function stopMic() {
  if (rec && rec.state !== "inactive") rec.stop();
  if (mic) mic.getTracks().forEach((t) => t.stop());
  mic = null;
}

function stop() {
  $("stop").disabled = true;
  say("Finishing: the last captions and the recording…");
  if (rec && rec.state !== "inactive") rec.stop(); // onstop sends {"type":"end"}
  else if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({type: "end"}));
}

$("controls").addEventListener("submit", start);
$("stop").addEventListener("click", stop);
