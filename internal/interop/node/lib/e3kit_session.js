// Lifecycle of e3kit-node 2.5.1 EThree instances in the long-lived worker,
// shared by ops/e3kit.js, ops/e3kit_client.js, ops/e3kit_group.js and
// ops/seed.js, with what those ops files keep per instance (Sessions, and the
// card and group lookups below). (It lives outside ops/: worker.js turns
// every file there into ops.)
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

// Sessions keeps an ops file's EThree instances by the handle `h` the Go
// test chooses. A session is an object {h, e3, ...}: e3 is the EThree, and
// the ops files add what they keep, such as cards (found cards by identity,
// for cardOf) and groups (e3kit groups by id, for groupOf). `what` names a
// session in errors ("e3kit session"); `startOp` is the op that starts one
// ("e3kit_client.init"), whose file name also labels the storage's log lines.
class Sessions {
  constructor(what, startOp) {
    this.what = what;
    this.startOp = startOp;
    this.byHandle = new Map();
  }

  // get returns the session under a.h, or throws.
  get(a) {
    const s = this.byHandle.get(String(a.h));
    if (!s) throw new Error(`no ${this.what} ${JSON.stringify(a.h)} (call ${this.startOp} first)`);
    return s;
  }

  // checkFree throws if a session is kept under h.
  checkFree(h) {
    if (this.byHandle.has(String(h))) throw new Error(`${this.what} ${h} exists`);
  }

  // start sets s.e3 to an EThree made with initialize (so: once its group
  // storage is open) and keeps s under s.h, which must be free.
  async start(s, EThree, getToken, options) {
    this.checkFree(s.h);
    s.e3 = await initialize(EThree, getToken, options, `${this.startOp.split('.')[0]} ${s.h}`);
    this.byHandle.set(String(s.h), s);
    return s;
  }

  // close {h} forgets the session under h and closes its storage (call it
  // before the storage directory is removed); false if there was none.
  async close(a) {
    const s = this.byHandle.get(String(a.h));
    this.byHandle.delete(String(a.h));
    return s ? close(s.e3) : false;
  }
}

// cardOf returns the card session s found for identity.
function cardOf(s, identity) {
  const c = s.cards.get(String(identity));
  if (!c) throw new Error(`session ${s.h}: no card for ${JSON.stringify(identity)} (call findUsers first)`);
  return c;
}

// cardsOf is {identity: card} for the identities, what e3kit's group methods
// and multi-recipient encryption take.
function cardsOf(s, identities) {
  return Object.fromEntries(identities.map(String).map((id) => [id, cardOf(s, id)]));
}

// groupOf returns the e3kit group session s keeps under id.
function groupOf(s, id) {
  const g = s.groups.get(String(id));
  if (!g) throw new Error(`session ${s.h}: no group ${JSON.stringify(id)}`);
  return g;
}

// findUsers looks the identities up with one e3kit findUsers call, keeps the
// cards in s.cards and returns {identity: describe(card)}.
async function findUsers(s, identities, describe) {
  const res = await s.e3.findUsers(identities.map(String));
  const out = {};
  for (const [id, c] of Object.entries(res)) {
    s.cards.set(id, c);
    out[id] = describe(c);
  }
  return out;
}

// optString is undefined for an argument left out (undefined or null), the
// string otherwise: e3kit's optional keyName.
const optString = (v) => (v === undefined || v === null ? undefined : String(v));

// optDate is undefined for an argument left out, otherwise the Date of a
// count of milliseconds since the epoch: e3kit's optional verifying date.
const optDate = (ms) => (ms === undefined || ms === null ? undefined : new Date(Number(ms)));

guardRejections();

module.exports = { initialize, close, guardRejections, storagePaths, Sessions, cardOf, cardsOf, groupOf, findUsers, optString, optDate };
