// Lifecycle of e3kit-node 2.5.1 EThree instances in the long-lived worker,
// shared by ops/e3kit.js and ops/e3kit_client.js. (It lives outside ops/:
// worker.js turns every file there into ops.)
//
// EThree's constructor starts opening the group storage, a LevelDB
// (leveldown) under groupStorageName wrapped in three levelup instances
// (root, identity sublevel, "GROUPS" sublevel), and does not wait for it.
// An open that fails, for example because a test removed the directory while
// LevelDB was creating its files, is emitted as an 'error' event nobody
// listens to, which ends the worker and the calls of whichever test runs at
// that moment. So:
//
//   - initialize() listens for 'error' on every level, waits until all of
//     them are open, and fails (with levelup's OpenError) otherwise;
//   - close() closes them, sublevels first and the LevelDB last; the caller
//     calls it before the storage directory is removed (on the Go side: a
//     t.Cleanup registered after the t.TempDir).
//
// It also keeps the WASM loaders from turning a stray rejected promise into
// a crash: see guardRejections.
'use strict';

const path = require('path');

// stores maps an EThree to its group storage: {label, levels (levelup
// instances, leaf first), leveldown, opened (a promise that never rejects:
// undefined or the open error), closing}.
const stores = new WeakMap();

// groupLevels finds the levelup instances of e3's group storage, leaf
// first, and the leveldown under them, by walking e3kit's layers (levelup
// ._db, encoding-down/subleveldown/VirgilEncryptDown .db). It throws when
// the layout is not the one e3kit-node 2.5.1 has, rather than skip the
// waiting and closing silently.
function groupLevels(e3) {
  const st = e3 && e3.groupManager && e3.groupManager._localGroupStorage;
  const levels = [];
  let leveldown = null;
  let x = st && st._db;
  for (let depth = 0; x && depth < 16; depth++) {
    if (x.constructor && x.constructor.name === 'LevelUP') {
      levels.push(x);
      x = x._db;
    } else if (x.constructor && x.constructor.name === 'LevelDOWN') {
      leveldown = x;
      break;
    } else {
      x = x.db;
    }
  }
  if (levels.length !== 3 || !leveldown) {
    throw new Error(`e3kit group storage: unexpected layout (${levels.length} levelup layers, leveldown ${leveldown ? 'found' : 'missing'}); did e3kit-node change?`);
  }
  return { levels, leveldown };
}

// whenOpen resolves once level is open and rejects with the error it emits
// if its open fails.
function whenOpen(level) {
  if (level.isOpen()) return Promise.resolve();
  if (level.status !== 'opening') return Promise.reject(new Error(`e3kit group storage: a level is ${level.status}, not opening`));
  return new Promise((resolve, reject) => {
    const onOpen = () => {
      level.removeListener('error', onError);
      resolve();
    };
    const onError = (err) => {
      level.removeListener('open', onOpen);
      reject(err);
    };
    level.once('open', onOpen);
    level.once('error', onError);
  });
}

// initialize is EThree.initialize(getToken, options) that returns only once
// the group storage is open. If it cannot be opened, it closes what did
// open and throws the open error; nothing of the instance is left running.
async function initialize(EThree, getToken, options, label) {
  const e3 = await EThree.initialize(getToken, options);
  guardRejections();
  // Still in the microtask queue after the constructor: leveldown reports
  // its open from a libuv callback, so no 'error' can have been emitted yet.
  const { levels, leveldown } = groupLevels(e3);
  const store = { label: String(label), levels, leveldown, closing: null };
  for (const level of levels) {
    // Kept for the instance's lifetime: a later error (a failed close, a
    // removed directory) is logged instead of ending the worker.
    level.on('error', (err) => console.error(`e3kit session ${store.label}: group storage (${options.groupStorageName}): ${(err && err.message) || err}`));
  }
  // Root first: each sublevel opens once its parent has.
  store.opened = (async () => {
    for (const level of [...levels].reverse()) await whenOpen(level);
  })().then(
    () => undefined,
    (err) => err,
  );
  stores.set(e3, store);
  const err = await store.opened;
  if (err) {
    await close(e3);
    throw err;
  }
  return e3;
}

// close closes e3's group storage: it waits for an open still under way,
// then closes the sublevels and the LevelDB (releasing its LOCK and files).
// Calls after the first wait for the same close. Operations on e3 fail
// afterwards ("Database is not open").
function close(e3) {
  const store = stores.get(e3);
  if (!store) return Promise.resolve(false);
  if (!store.closing) {
    store.closing = (async () => {
      await store.opened;
      // A level that never opened (its parent failed) has nothing to close,
      // and levelup would wait for its 'open' forever.
      for (const level of store.levels) if (level.isOpen()) await level.close();
      // The levelups only closed their wrappers if the root did not open
      // far enough to own the LevelDB: close it directly if still open.
      if (store.leveldown.status === 'open') await new Promise((resolve, reject) => store.leveldown.close((err) => (err ? reject(err) : resolve())));
      return true;
    })();
  }
  return store.closing;
}

// guardRejections replaces the 'unhandledRejection' listeners that
// emscripten's old WASM loaders install (virgil-crypto 4.2.2's
// core-foundation when the worker initialises it, pythia when e3kit first
// initializes): they call the module's abort, which marks the WASM module
// dead and throws from the listener, so one stray rejected promise anywhere
// in the worker ended it (exit status 7). The replacement logs the
// rejection to stderr (which the Go side adds to a failing test's log).
// Rejections of an op's own promise are not affected: worker.js turns them
// into error replies. Calling it again is harmless; it is called at load and
// after every EThree.initialize (pythia's listener arrives then).
function guardRejections() {
  for (const fn of process.listeners('unhandledRejection')) {
    if (fn !== logRejection && /\bonAbort\b/.test(Function.prototype.toString.call(fn))) process.removeListener('unhandledRejection', fn);
  }
  if (!process.listeners('unhandledRejection').includes(logRejection)) process.on('unhandledRejection', logRejection);
}

function logRejection(reason) {
  console.error('worker: unhandled promise rejection (logged, worker goes on):', (reason && reason.stack) || reason);
}

// storagePaths is the options part naming an instance's storage under dir.
function storagePaths(dir) {
  return { storageName: path.join(String(dir), 'keys'), groupStorageName: path.join(String(dir), 'groups') };
}

guardRejections();

module.exports = { initialize, close, guardRejections, storagePaths };
