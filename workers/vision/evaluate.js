#!/usr/bin/env node
'use strict';
// Runs both models on JPEG files given as arguments and prints one JSON
// line per image (labels with confidence, moderation scores and flags,
// milliseconds per model), then a summary line with images per second and
// the process's peak resident memory. Used by Landfall's quality table and
// benchmark; needs no server.
const fs = require('fs');
const { Vision, decodeJPEG } = require('./vision');

(async () => {
  const files = process.argv.slice(2);
  const v = new Vision();
  const t0 = Date.now();
  await v.load();
  const loadMS = Date.now() - t0;
  let peak = process.memoryUsage().rss;
  const start = Date.now();
  for (const f of files) {
    const img = decodeJPEG(fs.readFileSync(f));
    let t = Date.now();
    const labels = await v.labels(img, { minConfidence: Number(process.env.MIN_CONFIDENCE || 40) });
    const labelsMS = Date.now() - t;
    t = Date.now();
    const mod = await v.moderate(img);
    const moderateMS = Date.now() - t;
    peak = Math.max(peak, process.memoryUsage().rss);
    process.stdout.write(JSON.stringify({
      file: f,
      labels: labels.filter((l) => l.Instances.length).map((l) => ({ name: l.Name, confidence: l.Confidence })),
      moderation: mod.labels.map((l) => l.Name),
      scores: mod.scores,
      labels_ms: labelsMS,
      moderate_ms: moderateMS,
    }) + '\n');
  }
  const seconds = (Date.now() - start) / 1000;
  process.stdout.write(JSON.stringify({ summary: true, images: files.length, seconds, load_ms: loadMS, peak_rss_mb: Math.round(peak / 1e6) }) + '\n');
})().catch((e) => {
  process.stderr.write(`${e.stack || e.message}\n`);
  process.exit(1);
});
