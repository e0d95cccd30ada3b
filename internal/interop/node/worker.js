// Long-lived Node worker of the e3go interop suite (see ../doc.go).
//
// Protocol: one JSON object per line.
//   request  (stdin):  {"id": <uint>, "op": "<file>.<name>", "args": <any>}
//   response (stdout): {"id": <uint>, "ok": true, "result": <any>}
//                   or {"id": <uint>, "ok": false, "error": {"name", "message", "status"?}}
// Binary values travel as base64 strings in both directions: ops decode their
// arguments with env.bin(), and every Buffer/Uint8Array in a result is turned
// into base64 here. Once both virgil-crypto versions are initialised the worker
// writes one line with id 0 (the "ready" line, listing versions and ops).
// Requests run concurrently (each op is awaited on its own; answers may come
// out of order). The worker exits when stdin closes, and with status 70 after
// an op aborted a WASM module.
//
// Ops live in ops/<file>.js: every function exported by that module is op
// "<file>.<export>", called as fn(args, env). Built-in ops are "worker.*".
'use strict';

// stdout carries the protocol only. Everything else that would print there
// (console.log in an op, emscripten's assertion messages from the WASM
// modules) is sent to stderr, which the Go side captures into the test log.
const protocolWrite = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, encoding, cb) => process.stderr.write(chunk, encoding, cb);
for (const m of ['log', 'info', 'debug']) console[m] = (...a) => console.error(...a);

// The old emscripten WASM loaders inside e3kit-node 2.5.1 (virgil-crypto 4.2.2,
// pythia) try fetch() on a file path when a global fetch exists (Node >= 18)
// and fail with "Failed to parse URL". Remove it before anything loads them.
delete globalThis.fetch;

const fs = require('fs');
const path = require('path');
const readline = require('readline');

const nodeDir = __dirname;
const opsDir = path.join(nodeDir, 'ops');

function send(msg) {
  protocolWrite(JSON.stringify(msg) + '\n');
}

// toWire turns Buffers and typed arrays into base64, recursively.
function toWire(v) {
  if (v === undefined) return null;
  if (v === null || typeof v !== 'object') return v;
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  if (Array.isArray(v)) return v.map(toWire);
  if (typeof v.toJSON === 'function' && !(v instanceof Error)) return toWire(v.toJSON());
  const out = {};
  for (const [k, x] of Object.entries(v)) out[k] = toWire(x);
  return out;
}

function errorOf(e) {
  if (e instanceof Error || (e && typeof e === 'object' && 'message' in e)) {
    const err = { name: String(e.name || (e.constructor && e.constructor.name) || 'Error'), message: String(e.message) };
    if (typeof e.status === 'string' || typeof e.status === 'number') err.status = String(e.status);
    return err;
  }
  return { name: 'NonError', message: String(e) };
}

function pkgVersion(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8')).version;
}

async function main() {
  // The two virgil-crypto builds: the top-level 5.1.2 and the 4.2.2 nested
  // under e3kit-node (resolved from e3kit-node's own directory, so it is the
  // very module instance e3kit uses).
  const e3kitDir = path.dirname(require.resolve('@virgilsecurity/e3kit-node/package.json', { paths: [nodeDir] }));
  const vc5Pkg = require.resolve('virgil-crypto/package.json', { paths: [nodeDir] });
  const vc4Pkg = require.resolve('virgil-crypto/package.json', { paths: [e3kitDir] });
  const versions = {
    node: process.version,
    'virgil-crypto': pkgVersion(vc5Pkg),
    'e3kit-node': pkgVersion(path.join(e3kitDir, 'package.json')),
    'e3kit-node/virgil-crypto': pkgVersion(vc4Pkg),
  };
  if (versions['virgil-crypto'] !== '5.1.2' || versions['e3kit-node/virgil-crypto'] !== '4.2.2' || versions['e3kit-node'] !== '2.5.1') {
    throw new Error('unexpected npm package versions (stale node_modules?): ' + JSON.stringify(versions));
  }
  const vc = {
    '5.1.2': require(path.dirname(vc5Pkg)),
    '4.2.2': require(path.dirname(vc4Pkg)),
  };
  await vc['5.1.2'].initCrypto();
  // 4.2.2's emscripten glue (core-foundation 1.2.1) would try fetch() for its
  // wasm on Node 20: hand it the bytes.
  const wasm4 = require.resolve('@virgilsecurity/core-foundation/libfoundation.wasm', { paths: [path.dirname(vc4Pkg)] });
  await vc['4.2.2'].initCrypto({ foundation: [{ wasmBinary: fs.readFileSync(wasm4) }] });

  const cryptoCache = new Map();
  const env = {
    nodeDir,
    e3kitDir,
    versions,
    // virgilCrypto(v) is the initialised module of version v ("5.1.2" or "4.2.2").
    virgilCrypto(v) {
      const m = vc[v];
      if (!m) throw new RangeError(`unknown virgil-crypto version ${JSON.stringify(v)} (want "5.1.2" or "4.2.2")`);
      return m;
    },
    // crypto(v, opts) is a VirgilCrypto instance of version v, cached per options.
    crypto(v, opts = {}) {
      const key = v + '|' + JSON.stringify(opts);
      let c = cryptoCache.get(key);
      if (!c) {
        c = new (env.virgilCrypto(v).VirgilCrypto)(opts);
        cryptoCache.set(key, c);
      }
      return c;
    },
    // bin decodes a base64 argument; what names the argument in the error.
    bin(b64, what = 'argument') {
      if (typeof b64 !== 'string') throw new TypeError(`${what}: want a base64 string, got ${typeof b64}`);
      return Buffer.from(b64, 'base64');
    },
  };

  const ops = new Map();
  ops.set('worker.ping', async () => ({ pong: true, versions }));
  ops.set('worker.echo', async (args) => ({ data: env.bin(args.data, 'data'), len: env.bin(args.data, 'data').length }));
  // block {key} waits until release {key} is called: the harness's proof that
  // ops run concurrently (a serial worker would never see the release).
  const barriers = new Map();
  const barrier = (key) => {
    let b = barriers.get(key);
    if (!b) {
      let open;
      b = { promise: new Promise((r) => (open = r)) };
      b.open = open;
      barriers.set(key, b);
    }
    return b;
  };
  ops.set('worker.block', async (args) => {
    const b = barrier(String(args.key));
    b.waiting = true;
    await b.promise;
    barriers.delete(String(args.key));
    return { released: true };
  });
  ops.set('worker.release', async (args) => {
    barrier(String(args.key)).open();
    return true;
  });
  ops.set('worker.waiting', async (args) => {
    const b = barriers.get(String(args.key));
    return !!(b && b.waiting);
  });
  // abortWasm makes virgil-crypto v's WASM core hit a C assertion, as some
  // malformed inputs do (the harness test of the abort handling below).
  ops.set('worker.abortWasm', async (args) => {
    const rng = new (env.virgilCrypto(args.v).getFoundationModules().KeyMaterialRng)();
    rng.resetKeyMaterial(new Uint8Array(31)); // the C core asserts len >= 32
    return 'not aborted';
  });
  ops.set('worker.exit', async (args) => {
    console.error(`worker: exiting with code ${Number(args.code) || 0} as asked`);
    setImmediate(() => process.exit(Number(args.code) || 0));
    return true;
  });
  ops.set('worker.fail', async (args) => {
    const e = new Error(String(args.message));
    e.name = String(args.name || 'Error');
    if (args.status) e.status = String(args.status);
    throw e;
  });
  ops.set('worker.stderr', async (args) => {
    console.log(String(args.line));
    return true;
  });

  for (const file of fs.readdirSync(opsDir).filter((f) => f.endsWith('.js')).sort()) {
    const prefix = path.basename(file, '.js');
    if (prefix === 'worker' || !/^[a-z][a-z0-9_]*$/i.test(prefix)) throw new Error(`ops/${file}: bad ops file name`);
    const mod = require(path.join(opsDir, file));
    for (const [name, fn] of Object.entries(mod)) {
      if (typeof fn !== 'function') continue;
      ops.set(`${prefix}.${name}`, fn);
    }
  }

  let inflight = 0;
  let closing = false;
  const maybeExit = () => {
    if (closing && inflight === 0) process.exit(0);
  };

  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
  rl.on('line', (line) => {
    if (!line.trim()) return;
    let req;
    try {
      req = JSON.parse(line);
    } catch (e) {
      console.error('worker: unparsable request line:', e.message);
      return;
    }
    const { id, op, args } = req;
    const fn = ops.get(op);
    if (!fn) {
      send({ id, ok: false, error: { name: 'UnknownOp', message: `unknown op ${JSON.stringify(op)}` } });
      return;
    }
    inflight++;
    Promise.resolve()
      .then(() => fn(args === undefined ? {} : args, env))
      .then(
        (result) => send({ id, ok: true, result: toWire(result) }),
        (e) => {
          if (e && e.stack && !(e.name === 'VirgilCryptoError' || e.name === 'FoundationError')) console.error(`worker: op ${op} (id ${id}) failed:`, e.stack);
          send({ id, ok: false, error: errorOf(e) });
          if (e instanceof WebAssembly.RuntimeError) {
            // A WASM core aborted (a C assertion): virgil-crypto 5.1.2's module
            // is unusable afterwards, 4.2.2's is in an unknown state. Exit so
            // that the harness starts a fresh worker for the next test.
            console.error(`worker: op ${op} aborted a WASM module (${e.message}); exiting with status 70`);
            setImmediate(() => process.exit(70));
          }
        },
      )
      .finally(() => {
        inflight--;
        maybeExit();
      });
  });
  rl.on('close', () => {
    closing = true;
    maybeExit();
  });

  send({ id: 0, ok: true, result: { ready: true, versions, ops: [...ops.keys()].sort() } });
}

main().catch((e) => {
  console.error('worker: startup failed:', (e && e.stack) || e);
  send({ id: 0, ok: false, error: errorOf(e) });
  process.exit(1);
});
