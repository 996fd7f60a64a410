#!/usr/bin/env node
'use strict';
// Landfall's offline vision worker: a Step Functions activity worker.
//
// It long-polls GetActivityTask for the labels and moderate activities over
// the Step Functions JSON protocol (POST / with X-Amz-Target), exactly as an
// activity worker polls AWS, fetches the frames each task names from the API
// with the task token, beats SendTaskHeartbeat while it works, and answers
// SendTaskSuccess with Rekognition-shaped output or SendTaskFailure with a
// named error. `landfall serve` starts and supervises it; on another machine
// run it with an operator key:
//
//   LANDFALL_ENDPOINT=https://landfall.example.com LANDFALL_API_KEY=lf_… node worker.js
//
// Environment:
//   LANDFALL_ENDPOINT        the API's base URL (required)
//   LANDFALL_API_KEY         an operator (or admin) key; none on open installations
//   LANDFALL_ACTIVITY_PREFIX activity ARN prefix (default arn:aws:states:local:000000000000:activity:landfall-)
//   LANDFALL_TASKS           tasks served, comma-separated (default labels,moderate)
//   LANDFALL_WORKER_NAME     the name GetActivityTask records (default host-pid)
//   LANDFALL_HEARTBEAT_MS    how often to beat (default 5000)

const os = require('os');
const { Vision, decodeJPEG, LABEL_MODEL_VERSION, MODERATION_MODEL_VERSION } = require('./vision');

const endpoint = (process.env.LANDFALL_ENDPOINT || '').replace(/\/+$/, '');
const apiKey = process.env.LANDFALL_API_KEY || '';
const prefix = process.env.LANDFALL_ACTIVITY_PREFIX || 'arn:aws:states:local:000000000000:activity:landfall-';
const tasks = (process.env.LANDFALL_TASKS || 'labels,moderate').split(',').map((s) => s.trim()).filter(Boolean);
const workerName = process.env.LANDFALL_WORKER_NAME || `${os.hostname()}-${process.pid}`;
const heartbeatMS = Number(process.env.LANDFALL_HEARTBEAT_MS || 5000);

const log = (level, msg, attrs = {}) => {
  process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level, msg, worker: workerName, ...attrs }) + '\n');
};

class TaskFailure extends Error {
  constructor(name, cause) {
    super(cause);
    this.errorName = name;
  }
}

// sfn calls one Step Functions action; errors carry the AWS __type.
async function sfn(action, body, signal) {
  const headers = { 'Content-Type': 'application/x-amz-json-1.0', 'X-Amz-Target': `AWSStepFunctions.${action}` };
  if (apiKey) headers.Authorization = `Bearer ${apiKey}`;
  const res = await fetch(endpoint + '/', { method: 'POST', headers, body: JSON.stringify(body), signal });
  const text = await res.text();
  let out = {};
  try { out = text ? JSON.parse(text) : {}; } catch (e) { out = { message: text }; }
  if (!res.ok) {
    const err = new Error(`${action}: ${res.status} ${out.__type || ''} ${out.message || text}`.trim());
    err.type = out.__type || '';
    err.status = res.status;
    throw err;
  }
  return out;
}

// frame fetches one frame's JPEG, authorised by the task token.
async function frame(key, token) {
  const headers = { 'Landfall-Task-Token': token };
  if (apiKey) headers.Authorization = `Bearer ${apiKey}`;
  const url = endpoint + '/v1/activity-files/' + key.split('/').map(encodeURIComponent).join('/');
  const res = await fetch(url, { headers });
  if (!res.ok) {
    const body = await res.text();
    if (res.status >= 500 || res.status === 429) throw new TaskFailure('Worker.Transient', `GET ${key}: ${res.status} ${body.slice(0, 300)}`);
    throw new TaskFailure('Vision.FrameUnavailable', `GET ${key}: ${res.status} ${body.slice(0, 300)}`);
  }
  return Buffer.from(await res.arrayBuffer());
}

// checkInput validates a task's input, naming the field that is wrong.
function checkInput(input) {
  if (!input || typeof input !== 'object') throw new TaskFailure('Vision.BadInput', 'input: want an object');
  if (!Array.isArray(input.frames)) throw new TaskFailure('Vision.BadInput', '/frames: want an array of {key, time, shot, start, end}');
  input.frames.forEach((f, i) => {
    if (!f || typeof f.key !== 'string' || !f.key) throw new TaskFailure('Vision.BadInput', `/frames/${i}/key: want a bucket key`);
    for (const n of ['time', 'start', 'end']) {
      if (f[n] !== undefined && (typeof f[n] !== 'number' || !Number.isFinite(f[n]) || f[n] < 0)) {
        throw new TaskFailure('Vision.BadInput', `/frames/${i}/${n}: want seconds ≥ 0`);
      }
    }
  });
  const o = input.options || {};
  for (const n of ['min_confidence']) {
    if (o[n] !== undefined && (typeof o[n] !== 'number' || o[n] < 0 || o[n] > 100)) {
      throw new TaskFailure('Vision.BadInput', `/options/${n}: want a number within 0..100`);
    }
  }
}

const ms = (s) => Math.round((s || 0) * 1000);

// run serves one task on every frame and returns its output.
async function run(vision, task, input, token) {
  checkInput(input);
  const video = input.kind === 'video';
  const opts = input.options || {};
  const shots = [];
  const merged = new Map();
  const rek = [];
  const flags = [];
  const started = Date.now();
  for (const f of input.frames) {
    const buf = await frame(f.key, token);
    let img;
    try {
      img = decodeJPEG(buf);
    } catch (e) {
      throw new TaskFailure('Vision.BadFrame', `${f.key}: ${e.message}`);
    }
    const shot = { shot: f.shot || 0, start_ms: ms(f.start), end_ms: ms(f.end), timestamp_ms: ms(f.time), frame: f.key };
    if (task === 'labels') {
      const labels = await vision.labels(img, { minConfidence: opts.min_confidence ?? 40, maxLabels: opts.max_labels ?? 20 });
      shot.labels = labels.map((l) => ({
        name: l.Name,
        confidence: l.Confidence,
        instances: l.Instances.map((i) => ({ box: { left: i.BoundingBox.Left, top: i.BoundingBox.Top, width: i.BoundingBox.Width, height: i.BoundingBox.Height }, confidence: i.Confidence })),
        parents: l.Parents.map((p) => p.Name),
      }));
      for (const l of shot.labels) {
        if (!l.instances.length) delete l.instances;
        if (!l.parents.length) delete l.parents;
      }
      for (const l of labels) {
        rek.push(video ? { Timestamp: ms(f.time), Label: l } : l);
        const m = merged.get(l.Name) || { name: l.Name, confidence: 0, timestamps: [] };
        m.confidence = Math.max(m.confidence, l.Confidence);
        if (video) m.timestamps.push(f.time);
        merged.set(l.Name, m);
      }
    } else {
      const { labels, scores } = await vision.moderate(img, { minConfidence: opts.min_confidence ?? 60 });
      shot.moderation = labels.map((l) => ({ name: l.Name, parent_name: l.ParentName || undefined, confidence: l.Confidence, timestamp: video ? f.time : undefined, taxonomy_level: l.TaxonomyLevel }));
      shot.scores = scores;
      for (const l of labels) {
        rek.push(video ? { Timestamp: ms(f.time), ModerationLabel: l } : l);
        flags.push({ name: l.Name, parent_name: l.ParentName || undefined, confidence: l.Confidence, timestamp: video ? f.time : undefined, taxonomy_level: l.TaxonomyLevel });
      }
    }
    shots.push(shot);
  }
  const seconds = (Date.now() - started) / 1000;
  if (task === 'labels') {
    const labels = [...merged.values()].sort((a, b) => b.confidence - a.confidence || a.name.localeCompare(b.name));
    for (const l of labels) if (!l.timestamps.length) delete l.timestamps;
    return { frames: input.frames.length, labels, Labels: rek, LabelModelVersion: LABEL_MODEL_VERSION, shots, worker: workerName, seconds };
  }
  return { frames: input.frames.length, moderation: flags, ModerationLabels: rek, ModerationModelVersion: MODERATION_MODEL_VERSION, shots, worker: workerName, seconds };
}

let stopping = false;
const inHand = new Set();

// serial runs model work one task at a time (both models share one
// WebAssembly runtime); polls and heartbeats go on meanwhile.
let chain = Promise.resolve();
const serial = (f) => {
  const p = chain.then(f, f);
  chain = p.catch(() => {});
  return p;
};

async function poll(vision, task) {
  const arn = prefix + task;
  let backoff = 1000;
  while (!stopping) {
    let got;
    try {
      got = await sfn('GetActivityTask', { activityArn: arn, workerName });
      backoff = 1000;
    } catch (e) {
      if (stopping) break;
      log('warn', 'GetActivityTask failed; retrying', { activity: arn, err: e.message, retry_ms: backoff });
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, 30000);
      continue;
    }
    if (!got.taskToken) continue;
    const token = got.taskToken;
    inHand.add(token);
    const beat = setInterval(() => {
      sfn('SendTaskHeartbeat', { taskToken: token }).catch((e) => log('warn', 'heartbeat failed', { err: e.message }));
    }, heartbeatMS);
    try {
      let input;
      try {
        input = JSON.parse(got.input || '{}');
      } catch (e) {
        throw new TaskFailure('Vision.BadInput', `input is not JSON: ${e.message}`);
      }
      const out = await serial(() => run(vision, task, input, token));
      await sfn('SendTaskSuccess', { taskToken: token, output: JSON.stringify(out) });
      log('info', 'task done', { task, media_id: input.media && input.media.id, frames: out.frames, seconds: out.seconds });
    } catch (e) {
      const name = e.errorName || 'Vision.Failed';
      log('error', 'task failed', { task, error: name, cause: e.message });
      await sfn('SendTaskFailure', { taskToken: token, error: name, cause: String(e.message).slice(0, 32000) })
        .catch((e2) => log('warn', 'SendTaskFailure failed', { err: e2.message }));
    } finally {
      clearInterval(beat);
      inHand.delete(token);
    }
  }
}

async function main() {
  if (!endpoint) {
    log('error', 'LANDFALL_ENDPOINT is not set: the API base URL, e.g. http://127.0.0.1:8080');
    process.exit(2);
  }
  for (const t of tasks) {
    if (t !== 'labels' && t !== 'moderate') {
      log('error', `LANDFALL_TASKS: unknown task ${JSON.stringify(t)} (want labels, moderate)`);
      process.exit(2);
    }
  }
  const vision = new Vision();
  const t0 = Date.now();
  await vision.load();
  log('info', 'models loaded; polling', { endpoint, tasks, load_ms: Date.now() - t0, rss_mb: Math.round(process.memoryUsage().rss / 1e6) });
  const stop = async (sig) => {
    if (stopping) return;
    stopping = true;
    log('info', 'stopping', { signal: sig, tasks_in_hand: inHand.size });
    // Tasks in hand are handed back at once (the state retries them)
    // rather than left to time out.
    await Promise.all([...inHand].map((token) => sfn('SendTaskFailure', { taskToken: token, error: 'Worker.Transient', cause: `worker ${workerName} stopped (${sig})` }).catch(() => {})));
    process.exit(0);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  await Promise.all(tasks.map((t) => poll(vision, t)));
}

if (require.main === module) {
  main().catch((e) => {
    log('error', 'vision worker failed', { err: e.stack || e.message });
    process.exit(1);
  });
}

module.exports = { run, checkInput };
