#!/usr/bin/env node
// run_tfjs.js: runs human 3.3.6's CenterNet graph model with the official TF.js runtime
// (pure-JS CPU backend or the WASM backend shipped inside its npm package) and writes the
// reference tensors for vidsift's fidelity checks.
//
//   node run_tfjs.js --model DIR/centernet.json --out OUTDIR [--backend wasm|cpu]
//                    (--frames A.ppm B.ppm ... | --input input.nhwc.f32)
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

const SIZE = 512;

function die(msg) {
  process.stderr.write(`run_tfjs: error: ${msg}\n`);
  process.exit(1);
}

function parseArgs(argv) {
  const args = { backend: 'wasm', frames: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--model') args.model = argv[++i];
    else if (a === '--out') args.out = argv[++i];
    else if (a === '--backend') args.backend = argv[++i];
    else if (a === '--input') args.input = argv[++i];
    else if (a === '--frames') { while (i + 1 < argv.length && !argv[i + 1].startsWith('--')) args.frames.push(argv[++i]); }
    else die(`unknown argument ${a}`);
  }
  if (!args.model || !args.out || (!args.input && args.frames.length === 0)) {
    die('usage: run_tfjs.js --model centernet.json --out DIR [--backend wasm|cpu] (--frames F.ppm... | --input input.nhwc.f32)');
  }
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

function writeF32(file, chunks) {
  const fd = fs.openSync(file, 'w');
  for (const c of chunks) fs.writeSync(fd, Buffer.from(c.buffer, c.byteOffset, c.byteLength));
  fs.closeSync(fd);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
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
        return tf.image.resizeBilinear(x, [SIZE, SIZE]); // centernet.ts: legacy resize, stretch
      });
      inputs.push(t.dataSync().slice());
      t.dispose();
    }
    writeF32(path.join(args.out, 'input.nhwc.f32'), inputs);
  } else {
    const buf = fs.readFileSync(args.input);
    const per = SIZE * SIZE * 3;
    if (buf.length % (per * 4)) die(`${args.input}: size ${buf.length} is not a multiple of 512*512*3 floats`);
    const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
    for (let i = 0; i < all.length / per; i++) inputs.push(all.subarray(i * per, (i + 1) * per));
  }

  const heatmaps = [], boxes = [], detections = [], ms = [];
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
  const meta = {
    frames: inputs.length, sources: args.frames, backend: tf.getBackend(),
    tfjs: tf.version_core, model: path.resolve(args.model),
    shapes: { input: [inputs.length, SIZE, SIZE, 3], heatmap: [inputs.length, 80, 128, 128],
      boxes: [inputs.length, 4, 128, 128], detections: [inputs.length, 100, 6] },
    ms_per_frame: ms,
  };
  fs.writeFileSync(path.join(args.out, 'meta.json'), JSON.stringify(meta, null, 1) + '\n');
  process.stdout.write(`run_tfjs: ${inputs.length} frames on ${tf.getBackend()} (tfjs ${tf.version_core}), ms/frame ${ms.join(' ')}\n`);
}

main().catch((e) => die(e.stack || String(e)));
