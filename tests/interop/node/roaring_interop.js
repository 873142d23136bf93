// The npm `roaring` side of the interop tests (tests/interop/run.sh): the
// package bundles CRoaring 4.5 (not Debian's 0.2.66 that tagindex links), so
// it is a second, independent reader and writer of the portable format.
//
//   node roaring_interop.js write DIR PREFIX SEED   DIR/PREFIX_NN.bin + .txt
//   node roaring_interop.js read  DIR PREFIX        checks every DIR/PREFIX_NN.bin
//
// NODE_PATH must reach the installed package. A .txt file is the oracle:
// "# shape=NAME runs=0|1", then one value per line, ascending. runs=1: the
// file holds run containers (cookie 12347), and CRoaring must load them as
// run containers.
"use strict";

const fs = require("fs");
const { RoaringBitmap32 } = require("roaring");

// A small seeded generator (xorshift32), so a failing seed can be replayed.
function rng(seed) {
  let x = (seed >>> 0) || 0x9e3779b9;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x;
  };
}

function makeShapes(seed) {
  const next = rng(seed);
  const below = (n) => next() % n;
  const shapes = [];
  const add = (name, runs, set) => shapes.push({ name, runs, values: [...set].sort((a, b) => a - b) });
  add("empty", false, new Set());
  add("ends", false, new Set([0, 4294967295]));
  const sparse = new Set();
  while (sparse.size < 800 + below(1500)) sparse.add(next());
  add("sparse", false, sparse);
  const dense = new Set();
  const denseBase = below(65536) * 65536;
  while (dense.size < 15000 + below(20000)) dense.add(denseBase + below(65536));
  add("dense", false, dense);
  const runs = new Set();
  for (let r = 0; r < 50; ++r) {
    const start = next();
    const length = 64 + below(6000);
    for (let v = 0; v < length && start + v <= 4294967295; ++v) runs.add(start + v);
  }
  add("runs", true, runs);
  const mixed = new Set();
  const base = below(60000) * 65536;
  for (let v = 0; v < 65536; ++v) mixed.add(base + v);  // a full container
  for (let i = 0; i < 100; ++i) mixed.add(base + 65536 + below(65536));
  for (let i = 0; i < 7000; ++i) mixed.add(base + 2 * 65536 + below(65536));
  for (let v = 0; v < 3000; ++v) mixed.add(4294967295 - v);
  add("mixed", true, mixed);
  return shapes;
}

const fileName = (dir, prefix, i, suffix) =>
  `${dir}/${prefix}_${String(i).padStart(2, "0")}${suffix}`;
const cookieSaysRuns = (blob) => blob.length >= 4 && (blob.readUInt32LE(0) & 0xffff) === 12347;

function write(dir, prefix, seed) {
  const shapes = makeShapes(seed);
  shapes.forEach((shape, i) => {
    const bitmap = new RoaringBitmap32(shape.values);
    if (shape.runs) bitmap.runOptimize();
    fs.writeFileSync(fileName(dir, prefix, i, ".bin"), bitmap.serialize("portable"));
    fs.writeFileSync(fileName(dir, prefix, i, ".txt"),
      `# shape=${shape.name} runs=${shape.runs ? 1 : 0}\n` +
      shape.values.map((v) => `${v}\n`).join(""));
  });
  console.log(`npm roaring (CRoaring ${require("roaring").CRoaringVersion}) wrote ` +
              `${shapes.length} portable files (seed ${seed})`);
}

function read(dir, prefix) {
  let files = 0, total = 0, withRuns = 0;
  for (let i = 0; fs.existsSync(fileName(dir, prefix, i, ".bin")); ++i) {
    const blob = fs.readFileSync(fileName(dir, prefix, i, ".bin"));
    const lines = fs.readFileSync(fileName(dir, prefix, i, ".txt"), "utf8").split("\n");
    const header = lines[0];
    const expected = lines.slice(1).filter((l) => l.length > 0).map(Number);
    const where = `${fileName(dir, prefix, i, ".bin")} (${header})`;
    let bitmap;
    try {
      bitmap = RoaringBitmap32.deserialize(blob, "portable");
    } catch (e) {
      throw new Error(`${where}: CRoaring 4.5 cannot read it: ${e.message}`);
    }
    const got = bitmap.toUint32Array();
    if (got.length !== expected.length) {
      throw new Error(`${where}: ${got.length} values read, ${expected.length} expected`);
    }
    for (let k = 0; k < got.length; ++k) {
      if (got[k] !== expected[k]) {
        throw new Error(`${where}: value ${k} is ${got[k]}, expected ${expected[k]}`);
      }
    }
    // The exact bytes come back when CRoaring 4.5 serialises what it read.
    const again = bitmap.serialize("portable");
    if (!again.equals(blob)) throw new Error(`${where}: re-serialised bytes differ`);
    const runs = header.includes("runs=1");
    const runContainers = bitmap.statistics().runContainers;
    if (runs !== cookieSaysRuns(blob) || runs !== (runContainers > 0)) {
      throw new Error(`${where}: run containers expected ${runs}, cookie says ` +
                      `${cookieSaysRuns(blob)}, CRoaring loaded ${runContainers}`);
    }
    ++files;
    total += expected.length;
    if (runs) ++withRuns;
  }
  if (files === 0) throw new Error(`no ${dir}/${prefix}_NN.bin files to read`);
  console.log(`npm roaring read ${files} files (${total} values, ${withRuns} with run ` +
              `containers) as written, and wrote each back byte for byte`);
}

try {
  const [mode, dir, prefix, seed] = process.argv.slice(2);
  if (mode === "write" && seed !== undefined) write(dir, prefix, Number(seed));
  else if (mode === "read" && prefix !== undefined) read(dir, prefix);
  else throw new Error("usage: roaring_interop.js write DIR PREFIX SEED | read DIR PREFIX");
} catch (e) {
  console.error(`roaring_interop.js: ${e.message}`);
  process.exit(1);
}
