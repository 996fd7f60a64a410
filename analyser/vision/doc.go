// Package vision measures Landfall's offline vision worker
// (workers/vision: CenterNet COCO-80 labels and nsfwjs MobileNetV2Mid
// moderation on TensorFlow.js's WebAssembly backend) on a labelled set of
// Debian's sample photos and generated frames: labels precision and
// recall, the moderation false-positive rate on harmless images, and the
// worker's speed and memory. The worker itself runs as a Step Functions
// activity worker in its own process; this package has no code of its own.
package vision
