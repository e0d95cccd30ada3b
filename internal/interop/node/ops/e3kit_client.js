// e3kit EThree sessions for the e3.Client interop tests: op
// "e3kit_client.<name>" (see ../worker.js).
//
// Each session is a real @virgilsecurity/e3kit-node 2.5.1 EThree, kept in
// the worker between calls under the handle `h` the Go test chooses, with its
// own key and group storage directories (a "device"). Tokens come from Go
// (e3test's JWTGenerator): `init` takes one, `setToken` replaces it.
//
// Cards found with findUsers are kept in the session by identity, so that
// later ops name senders and recipients by identity; authEncrypt/authDecrypt
// take batches of messages. Binary messages travel as base64 (`data`);
// `text` messages go through e3kit's string forms (UTF-8 in, base64 out).
// e3kit's errors come back as the worker's {name, message} (for example
// name "UsersNotFoundError"). Sessions are started and closed through
// ../lib/e3kit_session.js: init returns once their group storage is open,
// close closes it (call it before removing their directory).
'use strict';

const e3session = require('../lib/e3kit_session.js');

const { optString, optDate } = e3session;
const sessions = new e3session.Sessions('e3kit session', 'e3kit_client.init');
const session = (a) => sessions.get(a);

// cardOf is the found card of identity, or none (the own key) for null.
function cardOf(s, identity) {
  if (identity === null || identity === undefined) return undefined;
  return e3session.cardOf(s, identity);
}

function cardInfo(c) {
  const chain = [];
  for (let p = c.previousCard; p; p = p.previousCard) chain.push(p.id);
  return { id: c.id, identity: c.identity, previousCardId: c.previousCardId || '', createdAt: c.createdAt.getTime(), chain };
}

// init {h, apiUrl, token, dir, sha256?} starts a session (an EThree whose
// storage lives under dir). Returns its identity and whether it found a
// private key in its storage.
exports.init = async (a, env) => {
  const { EThree } = require(env.e3kitDir);
  const s = { h: String(a.h), token: String(a.token), cards: new Map() };
  const getToken = async () => s.token;
  await sessions.start(s, EThree, getToken, { apiUrl: String(a.apiUrl), ...e3session.storagePaths(a.dir), useSha256Identifiers: !!a.sha256 });
  return { identity: s.e3.identity, hasLocalPrivateKey: await s.e3.hasLocalPrivateKey() };
};

exports.setToken = async (a) => {
  session(a).token = String(a.token);
  return true;
};

// close {h} ends a session and closes its storage (call it before its
// directory is removed); false if there was no such session.
exports.close = async (a) => sessions.close(a);

exports.register = async (a) => {
  await session(a).e3.register();
  return true;
};

exports.rotatePrivateKey = async (a) => {
  await session(a).e3.rotatePrivateKey();
  return true;
};

exports.unregister = async (a) => {
  await session(a).e3.unregister();
  return true;
};

exports.cleanup = async (a) => {
  await session(a).e3.cleanup();
  return true;
};

exports.hasLocalPrivateKey = async (a) => session(a).e3.hasLocalPrivateKey();

// findUsers {h, identities} looks the identities up (one e3kit findUsers
// call), keeps the cards, and returns their ids and chains by identity.
exports.findUsers = async (a) => e3session.findUsers(session(a), a.identities, cardInfo);

// authEncrypt {h, to: [identity...], data?: [b64...], text?: [string...]}
// encrypts each message for the found cards of `to` (e3kit adds the own
// key). Returns {data: [b64 ciphertext...], text: [base64 string...]}.
exports.authEncrypt = async (a, env) => {
  const s = session(a);
  const to = (a.to || []).map(String);
  let recipients;
  if (to.length === 1) recipients = cardOf(s, to[0]);
  else if (to.length > 1) recipients = e3session.cardsOf(s, to);
  const out = { data: [], text: [] };
  for (const [i, m] of (a.data || []).entries()) out.data.push(await s.e3.authEncrypt(env.bin(m, `data[${i}]`), recipients));
  for (const m of a.text || []) out.text.push(await s.e3.authEncrypt(String(m), recipients));
  return out;
};

// authDecrypt {h, from: identity|null, date?: ms, data?: [b64...], text?:
// [base64 string...]} decrypts each message, verified against the found card
// of `from` (active at `date` when given; the own key when from is null).
// Returns {data: [b64 plaintext...], text: [string...]}; a failure of one
// message fails the op.
exports.authDecrypt = async (a, env) => {
  const s = session(a);
  const from = cardOf(s, a.from);
  const date = optDate(a.date);
  const out = { data: [], text: [] };
  for (const [i, m] of (a.data || []).entries()) out.data.push(await s.e3.authDecrypt(env.bin(m, `data[${i}]`), from, date));
  for (const m of a.text || []) out.text.push(await s.e3.authDecrypt(String(m), from, date));
  return out;
};

// authDecryptEach is authDecrypt of binary messages that reports each
// message's outcome instead of failing: [{ok, data?} | {ok: false, name,
// message}].
exports.authDecryptEach = async (a, env) => {
  const s = session(a);
  const from = cardOf(s, a.from);
  const date = optDate(a.date);
  const out = [];
  for (const [i, m] of (a.data || []).entries()) {
    try {
      out.push({ ok: true, data: await s.e3.authDecrypt(env.bin(m, `data[${i}]`), from, date) });
    } catch (e) {
      out.push({ ok: false, name: String(e.name), message: String(e.message) });
    }
  }
  return out;
};

exports.backupPrivateKey = async (a) => {
  await session(a).e3.backupPrivateKey(String(a.password), optString(a.keyName));
  return true;
};

exports.restorePrivateKey = async (a) => {
  await session(a).e3.restorePrivateKey(String(a.password), optString(a.keyName));
  return true;
};

exports.changePassword = async (a) => {
  await session(a).e3.changePassword(String(a.oldPassword), String(a.newPassword), optString(a.keyName));
  return true;
};

exports.resetPrivateKeyBackup = async (a) => {
  const s = session(a);
  const keyName = optString(a.keyName);
  if (keyName === undefined) await s.e3.resetPrivateKeyBackup();
  else await s.e3.resetPrivateKeyBackupWithKeyName(keyName);
  return true;
};

// derivePasswords {password} returns e3kit's EThree.derivePasswords.
exports.derivePasswords = async (a, env) => {
  const { EThree } = require(env.e3kitDir);
  const r = await EThree.derivePasswords(String(a.password));
  return { loginPassword: r.loginPassword, backupPassword: r.backupPassword };
};
