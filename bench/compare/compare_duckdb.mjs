// DuckDB side of bench/compare.sh, through the npm package @duckdb/node-api
// (installed by compare.sh into a cache under the build directory).
//
//   node compare_duckdb.mjs DATA_DIR QUERIES WORK_DIR REPS BUDGET_S SUBSET [ATTR_QUERIES COLUMNS]
//
// Loads DATA_DIR/pairs.csv (the same memberships as tags.bin) with
// read_csv into ct(tag, customer), sorted by tag so that DuckDB's zone maps
// skip row groups (DuckDB recommends no indexes for analytical filters), in
// a database file under WORK_DIR. Every query is timed in the
// INTERSECT/EXCEPT and EXISTS/NOT EXISTS forms; the driver keeps the faster.
// With ATTR_QUERIES (and COLUMNS, e.g. age,spend,ts) it also loads
// DATA_DIR/attrs.csv into ca(id, <columns>) and times the attribute shapes
// in the SQL forms of compare_data.h's AttrSql.
// Prints one JSON object a line, like the C++ runners (compare_data.h).
import { DuckDBInstance } from '@duckdb/node-api';
import fs from 'node:fs';
import path from 'node:path';

const [dataDir, queriesPath, workDir, repsArg, budgetArg, subsetArg, attrQueriesPath, columnsArg] =
  process.argv.slice(2);
if (!workDir) {
  console.error('usage: node compare_duckdb.mjs DATA_DIR QUERIES WORK_DIR REPS BUDGET_S SUBSET');
  process.exit(2);
}
const reps = Math.max(1, Number(repsArg ?? 5));
const budget = Number(budgetArg ?? 0.5);
const subset = subsetArg ?? 'all';

const queries = fs.readFileSync(queriesPath, 'utf8').split('\n')
  .filter((l) => l && !l.startsWith('#'))
  .map((l) => {
    const [name, shape, bucket, tags] = l.split('\t');
    return { name, shape, bucket, tags: tags.split(',').map(Number) };
  });
const cardinality = new Map(fs.readFileSync(path.join(dataDir, 'tags.tsv'), 'utf8').split('\n')
  .filter((l) => l).map((l) => { const f = l.split('\t'); return [Number(f[0]), Number(f[1])]; }));

const members = (t) => `SELECT customer FROM ct WHERE tag = ${t}`;
const exists = (t) =>
  `EXISTS (SELECT 1 FROM ct b WHERE b.customer = a.customer AND b.tag = ${t})`;

function setForm(q, count) {
  const t = q.tags;
  let body;
  if (q.shape === 'and2' || q.shape === 'andall') body = t.map(members).join(' INTERSECT ');
  else if (q.shape === 'andnot3' || q.shape === 'mat3') {
    body = `${members(t[0])} INTERSECT ${members(t[1])} EXCEPT ${members(t[2])}`;
  } else if (q.shape === 'andor') {
    body = `${members(t[0])} INTERSECT SELECT customer FROM ct WHERE tag IN (${t.slice(1)})`;
  } else throw new Error(`duckdb: unsupported shape ${q.shape}`);
  return `SELECT ${count ? 'count(*)' : 'customer'} FROM (${body}) s`;
}

function existsForm(q, count) {
  const t = q.tags;
  let pos;
  let extra = '';
  if (q.shape === 'and2' || q.shape === 'andall') pos = [...t];
  else if (q.shape === 'andnot3' || q.shape === 'mat3') {
    pos = [t[0], t[1]];
    extra = ` AND NOT ${exists(t[2])}`;
  } else if (q.shape === 'andor') {
    pos = [t[0]];
    extra = ` AND EXISTS (SELECT 1 FROM ct b WHERE b.customer = a.customer AND b.tag IN (${t.slice(1)}))`;
  } else throw new Error(`duckdb: unsupported shape ${q.shape}`);
  pos.sort((x, y) => cardinality.get(x) - cardinality.get(y));
  const where = [`a.tag = ${pos[0]}`, ...pos.slice(1).map(exists)].join(' AND ');
  return `SELECT ${count ? 'count(*)' : 'a.customer'} FROM ct a WHERE ${where}${extra}`;
}

const now = () => Number(process.hrtime.bigint()) / 1000; // µs

async function time(fn) {
  const warm = now();
  await fn();
  // Slow queries: three timed runs are enough (as in compare_data.h).
  const minReps = now() - warm > 2e5 ? Math.min(reps, 3) : reps;
  const us = [];
  const start = now();
  while (us.length < minReps || (now() - start < budget * 1e6 && us.length < 1000)) {
    const t0 = now();
    await fn();
    us.push(now() - t0);
  }
  us.sort((a, b) => a - b);
  const m = us.length;
  const median = m % 2 ? us[(m - 1) / 2] : (us[m / 2 - 1] + us[m / 2]) / 2;
  return { median_us: median, min_us: us[0], reps: m };
}

function print(obj) { process.stdout.write(`${JSON.stringify(obj)}\n`); }

const dbPath = path.join(workDir, 'duck.db');
for (const f of [dbPath, `${dbPath}.wal`]) fs.rmSync(f, { force: true });
const instance = await DuckDBInstance.create(dbPath);
const con = await instance.connect();

const loaded = new Set();
if (subset === 'queried') queries.forEach((q) => q.tags.forEach((t) => loaded.add(t)));
else if (subset !== 'all') throw new Error('subset must be all or queried');
const filter = subset === 'queried' ? ` WHERE tag IN (${[...loaded]})` : '';
const csv = path.join(dataDir, 'pairs.csv').replaceAll("'", "''");
const t0 = now();
await con.run(`CREATE TABLE ct AS SELECT * FROM read_csv('${csv}', header = false, ` +
  `columns = {'tag': 'INTEGER', 'customer': 'INTEGER'})${filter} ORDER BY tag, customer`);
await con.run('CHECKPOINT');
const loadS = (now() - t0) / 1e6;
const assignments = Number((await con.runAndReadAll('SELECT count(*) FROM ct')).getColumns()[0][0]);
const bytes = fs.statSync(dbPath).size;
const version = (await con.runAndReadAll('SELECT version()')).getColumns()[0][0];
print({ type: 'load', system: 'duckdb', load_s: loadS, storage_bytes: bytes, assignments,
  bytes_per_assignment: bytes / assignments, version, threads: Number(
    (await con.runAndReadAll("SELECT current_setting('threads')")).getColumns()[0][0]) });

print({ type: 'query', system: 'duckdb', query: 'floor', variant: '', count: 0, checksum: 0,
  ...(await time(async () => { await con.runAndReadAll('SELECT 1'); })) });

for (const q of queries) {
  const count = q.shape !== 'mat3';
  for (const [variant, sql] of [['intersect', setForm(q, count)], ['exists', existsForm(q, count)]]) {
    let r = { count: 0, checksum: 0 };
    const t = await time(async () => {
      const col = (await con.runAndReadAll(sql)).getColumns()[0] ?? []; // none when empty
      if (count) r = { count: Number(col[0]), checksum: 0 };
      else {
        let sum = 0;
        for (const v of col) sum += Number(v);
        r = { count: col.length, checksum: sum };
      }
    });
    print({ type: 'query', system: 'duckdb', query: q.name, variant, ...r, ...t });
  }
}
if (attrQueriesPath) {
  const columns = columnsArg.split(',');
  const attrCsv = path.join(dataDir, 'attrs.csv').replaceAll("'", "''");
  const a0 = now();
  const spec = [`'id': 'INTEGER'`, ...columns.map((c) => `'${c}': 'BIGINT'`)].join(', ');
  await con.run(`CREATE TABLE ca AS SELECT * FROM read_csv('${attrCsv}', header = false, ` +
    `columns = {${spec}})`);
  await con.run('CHECKPOINT');
  print({ type: 'attr_load', system: 'duckdb', load_s: (now() - a0) / 1e6 });
  const attrQueries = fs.readFileSync(attrQueriesPath, 'utf8').split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [name, shape, bucket, tag, column, lo, hi] = l.split('\t');
      return { name, shape, bucket, tag, column, lo, hi };
    });
  for (const q of attrQueries) {
    const col = `ca.${q.column}`;
    const range = `${col} BETWEEN ${q.lo} AND ${q.hi}`;
    let forms;
    if (q.shape === 'range') forms = [`SELECT count(*) FROM ca WHERE ${range}`];
    else if (q.shape === 'range_tag') {
      forms = [
        `SELECT count(*) FROM ct JOIN ca ON ca.id = ct.customer WHERE ct.tag = ${q.tag} AND ${range}`,
        `SELECT count(*) FROM ca WHERE ${range} AND EXISTS (SELECT 1 FROM ct WHERE ct.tag = ${q.tag} ` +
          'AND ct.customer = ca.id)'];
    } else {
      forms = [`SELECT count(${col}), coalesce(sum(${col}), 0) FROM ct JOIN ca ON ca.id = ` +
        `ct.customer WHERE ct.tag = ${q.tag}`];
    }
    for (let f = 0; f < forms.length; f += 1) {
      let r = { count: 0, checksum: 0 };
      const t = await time(async () => {
        const cols = (await con.runAndReadAll(forms[f])).getColumns();
        // Sums pass 2^53: keep them exact as BigInt digits in the JSON.
        r = { count: Number(cols[0][0]), checksum: cols.length > 1 ? String(cols[1][0]) : '0' };
      });
      const line = JSON.stringify({ type: 'query', system: 'duckdb', query: q.name,
        variant: f === 0 ? 'join' : 'exists', ...r, ...t });
      process.stdout.write(`${line.replace(/"checksum":"(\d+)"/, '"checksum":$1')}\n`);
    }
  }
}
con.closeSync();
