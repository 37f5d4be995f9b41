// ort_bench.js times an ONNX image tower with ONNX Runtime (npm's
// onnxruntime-node, CPU execution provider) the way goclip bench times its
// own: one warm-up run per batch size, then runs until the duration has
// passed and at least 3 were timed; median and minimum per image.
//
//   node bench/ort_bench.js MODEL.onnx [--threads 2] [--batches 1,8,32]
//        [--duration 3] [--check PREFIX]
//
// The module is found through NODE_PATH (compare.sh installs it in a
// temporary folder). --check PREFIX reads PREFIX.in.f32 and PREFIX.out.f32
// (written by export_onnx.py: the kit's images and PyTorch's float32
// embeddings of them) and reports ONNX Runtime's largest difference from
// PyTorch and its worst centred cosine to it (each side's mean embedding
// subtracted first, as goclip's precision tests measure). Prints one JSON
// object.
'use strict';

const fs = require('fs');
const ort = require('onnxruntime-node');

function parseArgs(argv) {
  const a = { model: null, threads: 2, batches: [1, 8, 32], duration: 3, check: null };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    switch (argv[i]) {
      case '--threads': a.threads = parseInt(v, 10); i++; break;
      case '--batches': a.batches = v.split(',').map((s) => parseInt(s, 10)); i++; break;
      case '--duration': a.duration = parseFloat(v); i++; break;
      case '--check': a.check = v; i++; break;
      default:
        if (argv[i].startsWith('--') || a.model) throw new Error(`unexpected argument ${argv[i]}`);
        a.model = argv[i];
    }
  }
  if (!a.model) throw new Error('usage: node ort_bench.js MODEL.onnx [--threads N] [--batches 1,8,32] [--duration S] [--check PREFIX]');
  return a;
}

function readF32(path) {
  const b = fs.readFileSync(path);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}

function median(xs) {
  const s = [...xs].sort((x, y) => x - y);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

// centredCosines returns, for each of the n rows of a and b, the cosine of
// the two rows after subtracting each side's mean row.
function centredCosines(a, b, n) {
  const p = a.length / n;
  const ma = new Float64Array(p);
  const mb = new Float64Array(p);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < p; j++) {
      ma[j] += a[i * p + j] / n;
      mb[j] += b[i * p + j] / n;
    }
  }
  const cos = [];
  for (let i = 0; i < n; i++) {
    let ab = 0, aa = 0, bb = 0;
    for (let j = 0; j < p; j++) {
      const x = a[i * p + j] - ma[j], y = b[i * p + j] - mb[j];
      ab += x * y; aa += x * x; bb += y * y;
    }
    cos.push(ab / Math.sqrt(aa * bb));
  }
  return cos;
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const session = await ort.InferenceSession.create(a.model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: a.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const input = session.inputNames[0];
  const output = session.outputNames[0];
  const [c, s] = [3, 224];
  const per = c * s * s;
  const out = { engine: 'onnxruntime-node', version: require('onnxruntime-node/package.json').version, threads: a.threads, points: [] };

  if (a.check) {
    const x = readF32(a.check + '.in.f32');
    const want = readF32(a.check + '.out.f32');
    const n = x.length / per;
    const r = await session.run({ [input]: new ort.Tensor('float32', x, [n, c, s, s]) });
    const got = r[output].data;
    let d = 0;
    for (let i = 0; i < want.length; i++) d = Math.max(d, Math.abs(got[i] - want[i]));
    out.check_max_abs_diff = d;
    out.check_images = n;
    out.check_worst_centred_cosine = Math.min(...centredCosines(got, want, n));
  }

  let seed = 12345;
  const rand = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed / 2 ** 32 * 4 - 2; };
  for (const b of a.batches) {
    const x = new Float32Array(b * per);
    for (let i = 0; i < x.length; i++) x[i] = rand();
    const feeds = { [input]: new ort.Tensor('float32', x, [b, c, s, s]) };
    await session.run(feeds); // warm-up
    const times = [];
    let total = 0;
    while (times.length < 3 || total < a.duration * 1000) {
      const t0 = process.hrtime.bigint();
      await session.run(feeds);
      const dt = Number(process.hrtime.bigint() - t0) / 1e6;
      times.push(dt);
      total += dt;
    }
    out.points.push({ batch: b, runs: times.length, median_ms_per_image: median(times) / b, min_ms_per_image: Math.min(...times) / b });
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => { console.error(`ort_bench: ${e.stack || e}`); process.exit(1); });
