// Group-session ops of the e3go interop suite: op "group.<name>" (see ../worker.js).
//
// virgil-crypto's group sessions (the format e3kit's groups use). Every op
// takes `v` ("5.1.2" or "4.2.2"). A Node-side session is never kept between
// calls: ops that need one take the epoch tickets (`tickets`, an array of
// base64 serialized tickets) and build it with importGroupSession, exactly
// as e3kit does when it loads a group from its storage. Keys travel as DER
// (PKCS#8 private, SPKI public), as in crypto.js.
//
// The WASM core asserts (and aborts the module) instead of failing when a
// GroupSession is given the wrong kind of group message (a regular message
// as a ticket, a ticket to decrypt): checkKind refuses those first.
//
// The det* ops drive the foundation classes directly with a KeyMaterialRng
// seeded from `seed` as the session's random generator, so that their
// output (salt, padding, epoch keys) is reproducible and can be compared
// byte for byte with Go fed the same generator.
'use strict';

// freed returns fn(x), then frees x (a foundation object: its WASM memory
// is not garbage collected), also when fn throws.
function freed(x, fn) {
  try {
    return fn(x);
  } finally {
    x.delete();
  }
}

// serialized returns the bytes of group message m and frees it.
const serialized = (m) => freed(m, () => m.serialize());

function cryptoOf(a, env) {
  return env.crypto(a.v);
}

function foundation(a, env) {
  return env.virgilCrypto(a.v).getFoundationModules();
}

function ticketList(env, list) {
  if (!Array.isArray(list) || list.length === 0) throw new TypeError('tickets: want a non-empty array');
  return list.map((t, i) => env.bin(t, `tickets[${i}]`));
}

// getType() returns the C enum vscf_group_msg_type_t: GROUP_INFO = 1,
// REGULAR = 2. (The JS enum f.GroupMsgType says 0 and 1: it is wrong.)
const MSG_TYPE_GROUP_INFO = 1;
const MSG_TYPE_REGULAR = 2;

function kindOf(m) {
  const t = m.getType();
  if (t === MSG_TYPE_GROUP_INFO) return 'ticket';
  if (t === MSG_TYPE_REGULAR) return 'regular';
  throw new Error(`GroupSessionMessage.getType() returned ${t}`);
}

// checkKind deserializes a group message with the foundation class and
// throws unless it is of the wanted kind ("ticket" or "regular").
function checkKind(f, bytes, want, what) {
  // deserialize throws a FoundationError on malformed input.
  freed(f.GroupSessionMessage.deserialize(bytes), (m) => {
    const isTicket = kindOf(m) === 'ticket';
    if ((want === 'ticket') !== isTicket) {
      const e = new Error(`${what}: is a ${isTicket ? 'ticket' : 'regular message'}, want a ${want === 'ticket' ? 'ticket' : 'regular message'} (the WASM core would abort)`);
      e.name = 'KindError';
      throw e;
    }
  });
}

function importSession(a, env) {
  const f = foundation(a, env);
  const tickets = ticketList(env, a.tickets);
  tickets.forEach((t, i) => checkKind(f, t, 'ticket', `tickets[${i}]`));
  return cryptoOf(a, env).importGroupSession(tickets);
}

function sessionOut(s) {
  return { sessionId: Buffer.from(s.getSessionId(), 'hex'), currentEpoch: s.getCurrentEpochNumber(), epochs: s.export() };
}

// calculateGroupSessionId {v, groupId} -> session id (bytes)
exports.calculateGroupSessionId = (a, env) => Buffer.from(cryptoOf(a, env).calculateGroupSessionId(env.bin(a.groupId, 'groupId')), 'hex');

// generateGroupSession {v, groupId} -> {sessionId, currentEpoch, epochs}
exports.generateGroupSession = (a, env) => sessionOut(cryptoOf(a, env).generateGroupSession(env.bin(a.groupId, 'groupId')));

// importGroupSession {v, tickets} -> {sessionId, currentEpoch, epochs} (export() keeps every ticket given)
exports.importGroupSession = (a, env) => sessionOut(importSession(a, env));

// addNewEpoch {v, tickets} -> {info: {epochNumber, sessionId (bytes), data (ticket)}, currentEpoch, epochs}
exports.addNewEpoch = (a, env) => {
  const s = importSession(a, env);
  const info = s.addNewEpoch();
  return {
    info: { epochNumber: info.epochNumber, sessionId: Buffer.from(info.sessionId, 'hex'), data: Buffer.from(info.data, 'base64') },
    currentEpoch: s.getCurrentEpochNumber(),
    epochs: s.export(),
  };
};

// encrypt {v, tickets, data, privateKey} -> group message
exports.encrypt = (a, env) => {
  const s = importSession(a, env);
  return s.encrypt(env.bin(a.data, 'data'), cryptoOf(a, env).importPrivateKey(env.bin(a.privateKey, 'privateKey')));
};

// decrypt {v, tickets, data, publicKey} -> plaintext
exports.decrypt = (a, env) => {
  const s = importSession(a, env);
  const data = env.bin(a.data, 'data');
  checkKind(foundation(a, env), data, 'regular', 'data');
  return s.decrypt(data, cryptoOf(a, env).importPublicKey(env.bin(a.publicKey, 'publicKey')));
};

// parseMessage {v, tickets, data} -> {epochNumber, sessionId (bytes), data}; works for tickets and messages
exports.parseMessage = (a, env) => {
  const s = importSession(a, env);
  const info = s.parseMessage(env.bin(a.data, 'data'));
  return { epochNumber: info.epochNumber, sessionId: Buffer.from(info.sessionId, 'hex'), data: Buffer.from(info.data, 'base64') };
};

// getCurrentEpochNumber {v, tickets} -> number
exports.getCurrentEpochNumber = (a, env) => importSession(a, env).getCurrentEpochNumber();

// export {v, tickets} -> tickets as the Node session exports them
exports.export = (a, env) => importSession(a, env).export();

// messageInfo {v, data} -> {type: "ticket"|"regular", epoch, sessionId}: what the
// foundation deserializer (nanopb) makes of arbitrary bytes; throws on what it rejects.
exports.messageInfo = (a, env) => {
  const f = foundation(a, env);
  return freed(f.GroupSessionMessage.deserialize(env.bin(a.data, 'data')), (m) => ({
    type: kindOf(m),
    epoch: m.getEpoch(),
    sessionId: m.getSessionId(),
    reserialized: m.serialize(),
  }));
};

// ---- deterministic (KeyMaterialRng) forms, on the foundation classes

function detRng(f, env, seed) {
  const km = env.bin(seed, 'seed');
  if (km.length < 32 || km.length > 512) throw new RangeError(`seed: ${km.length} bytes, want 32..512 (the WASM core aborts otherwise)`);
  const rng = new f.KeyMaterialRng();
  rng.resetKeyMaterial(km);
  return rng;
}

// lowLevelSession builds a foundation GroupSession from tickets with rng.
function lowLevelSession(f, env, tickets, rng) {
  const s = new f.GroupSession();
  s.rng = rng;
  for (const [i, t] of ticketList(env, tickets).entries()) {
    checkKind(f, t, 'ticket', `tickets[${i}]`);
    freed(f.GroupSessionMessage.deserialize(t), (m) => s.addEpoch(m));
  }
  return s;
}

// detNewTicket {v, sessionId, seed} -> epoch-0 ticket (GroupSessionTicket.setupTicketAsNew)
exports.detNewTicket = (a, env) => {
  const f = foundation(a, env);
  const sid = env.bin(a.sessionId, 'sessionId');
  if (sid.length !== 32) throw new RangeError('sessionId: want 32 bytes (the WASM core asserts)');
  return freed(detRng(f, env, a.seed), (rng) =>
    freed(new f.GroupSessionTicket(), (t) => {
      t.rng = rng;
      t.setupTicketAsNew(sid);
      return serialized(t.getTicketMessage());
    }),
  );
};

// detAddNewEpoch {v, tickets, seed} -> next epoch's ticket (GroupSession.createGroupTicket)
exports.detAddNewEpoch = (a, env) => {
  const f = foundation(a, env);
  return freed(detRng(f, env, a.seed), (rng) =>
    freed(lowLevelSession(f, env, a.tickets, rng), (s) => freed(s.createGroupTicket(), (t) => serialized(t.getTicketMessage()))),
  );
};

// detEncrypt {v, tickets, data, privateKey, seed} -> group message (GroupSession.encrypt)
exports.detEncrypt = (a, env) => {
  const f = foundation(a, env);
  const key = cryptoOf(a, env).importPrivateKey(env.bin(a.privateKey, 'privateKey'));
  return freed(detRng(f, env, a.seed), (rng) =>
    freed(lowLevelSession(f, env, a.tickets, rng), (s) => serialized(s.encrypt(env.bin(a.data, 'data'), key.lowLevelPrivateKey))),
  );
};
