// e3kit groups for the e3.Group interop tests (../../groups_test.go): op
// "e3kit_group.<name>" (see ../worker.js).
//
// Each session is a real @virgilsecurity/e3kit-node 2.5.1 EThree under the
// handle `h` the Go test chooses, with its own key and group storage
// directories (a "device"); its token comes from Go (e3test's
// JWTGenerator). Cards found with findUsers are kept by identity and groups
// by id, so later ops name them. Messages travel as base64 (`data`) or go
// through e3kit's string forms (`text`: UTF-8 in, base64 out). decrypt
// reports each message's outcome instead of failing, with e3kit's error
// name and message. A GroupError's name comes with its code:
// "GroupError:NoAccess". Sessions start and close through
// ../lib/e3kit_session.js (init returns once the group storage is open;
// close closes it: call it before removing the session's directory).
'use strict';

const e3session = require('../lib/e3kit_session.js');

const { cardOf, cardsOf, groupOf, optDate } = e3session;
const sessions = new e3session.Sessions('e3kit session', 'e3kit_group.init');
const session = (a) => sessions.get(a);
let e3kit;

function load(env) {
  if (!e3kit) e3kit = require(env.e3kitDir);
  return e3kit;
}

// named gives a GroupError the name of its code.
function named(e) {
  if (e && e.name === 'GroupError' && e3kit && e3kit.GroupErrorCode && e.errorCode !== undefined) {
    e.name = `GroupError:${e3kit.GroupErrorCode[e.errorCode]}`;
  }
  return e;
}

// op wraps a group op so that its GroupErrors are named by code.
function op(fn) {
  return async (a, env) => {
    try {
      return await fn(a, env);
    } catch (e) {
      throw named(e);
    }
  };
}

// info describes a group: sorted participants, initiator, current epoch
// (read from the group session e3kit keeps).
function info(g) {
  return {
    participants: [...g.participants].sort(),
    initiator: g.initiator,
    epoch: g._session.getCurrentEpochNumber(),
  };
}

// init {h, apiUrl, token, dir} starts a session.
exports.init = async (a, env) => {
  const { EThree } = load(env);
  const s = { h: String(a.h), token: String(a.token), cards: new Map(), groups: new Map() };
  await sessions.start(s, EThree, async () => s.token, { apiUrl: String(a.apiUrl), ...e3session.storagePaths(a.dir) });
  return { identity: s.e3.identity };
};

// close {h} ends a session and closes its storage; false if there was no
// such session.
exports.close = async (a) => sessions.close(a);
exports.register = async (a) => (await session(a).e3.register(), true);
exports.cleanup = async (a) => (await session(a).e3.cleanup(), true);
exports.rotatePrivateKey = async (a) => (await session(a).e3.rotatePrivateKey(), true);

// findUsers {h, identities} keeps the cards; returns their ids by identity.
exports.findUsers = async (a) => e3session.findUsers(session(a), a.identities, (c) => c.id);

// createGroup {h, groupId, members: [identity]} → info.
exports.createGroup = op(async (a) => {
  const s = session(a);
  const g = await s.e3.createGroup(String(a.groupId), cardsOf(s, a.members || []));
  s.groups.set(String(a.groupId), g);
  return info(g);
});

// loadGroup {h, groupId, initiator} → info.
exports.loadGroup = op(async (a) => {
  const s = session(a);
  const g = await s.e3.loadGroup(String(a.groupId), cardOf(s, a.initiator));
  s.groups.set(String(a.groupId), g);
  return info(g);
});

// getGroup {h, groupId} → info, or null when e3kit has no local group.
exports.getGroup = op(async (a) => {
  const s = session(a);
  const g = await s.e3.getGroup(String(a.groupId));
  if (!g) return null;
  s.groups.set(String(a.groupId), g);
  return info(g);
});

exports.update = op(async (a) => {
  const g = groupOf(session(a), a.groupId);
  await g.update();
  return info(g);
});

exports.add = op(async (a) => {
  const s = session(a);
  const g = groupOf(s, a.groupId);
  await g.add(cardsOf(s, a.members));
  return info(g);
});

exports.remove = op(async (a) => {
  const s = session(a);
  const g = groupOf(s, a.groupId);
  await g.remove(cardsOf(s, a.members));
  return info(g);
});

exports.reAdd = op(async (a) => {
  const s = session(a);
  const g = groupOf(s, a.groupId);
  await g.reAdd(cardOf(s, a.member));
  return info(g);
});

exports.deleteGroup = op(async (a) => {
  const s = session(a);
  await s.e3.deleteGroup(String(a.groupId));
  s.groups.delete(String(a.groupId));
  return true;
});

// encrypt {h, groupId, data?: [b64], text?: [string]} → {data: [b64],
// text: [base64 string]}.
exports.encrypt = op(async (a, env) => {
  const g = groupOf(session(a), a.groupId);
  const out = { data: [], text: [] };
  for (const [i, m] of (a.data || []).entries()) out.data.push(await g.encrypt(env.bin(m, `data[${i}]`)));
  for (const m of a.text || []) out.text.push(await g.encrypt(String(m)));
  return out;
});

// decrypt {h, groupId, from, date?: ms, data?: [b64], text?: [base64
// string]} → one {ok: true, data | text} or {ok: false, name, message}
// per message, binary messages first.
exports.decrypt = async (a, env) => {
  const s = session(a);
  const g = groupOf(s, a.groupId);
  const from = cardOf(s, a.from);
  const date = optDate(a.date);
  const out = [];
  const one = async (m, key) => {
    try {
      out.push({ ok: true, [key]: await g.decrypt(m, from, date) });
    } catch (e) {
      named(e);
      out.push({ ok: false, name: String(e.name), message: String(e.message) });
    }
  };
  for (const [i, m] of (a.data || []).entries()) await one(env.bin(m, `data[${i}]`), 'data');
  for (const m of a.text || []) await one(String(m), 'text');
  return out;
};
