// The seed's front end (Stream's "HIPAA compliant end-to-end encrypted chat
// with Stream React Chat and Virgil Security" tutorial) in Node, for the
// examples/backend interop test (../../seed_test.go): op "seed.<name>" (see
// ../worker.js).
//
// A session is one signed-in user of the front end, kept under the handle
// `h` the Go test chooses. connect does what the React app does on sign-in:
// POST /v1/authenticate, POST /v1/stream-credentials and EThree.initialize
// with a getToken that POSTs /v1/virgil-credentials every time e3kit asks
// (as examples/backend/README.md's front end does), then registers the user
// with Virgil. Messages go through Stream's REST API with the Stream user
// token the backend issued, the way Stream's JavaScript client sends them
// (./stream.js); texts are sealed with e3kit's authEncrypt for the members'
// cards and opened with authDecrypt and the sender's card, as the seed did.
// Sessions start and close through ../lib/e3kit_session.js (close before
// their storage directory is removed).
'use strict';

const http = require('http');
const e3session = require('../lib/e3kit_session.js');
const stream = require('./stream.js');

const sessions = new e3session.Sessions('seed session', 'seed.connect');
const session = (a) => sessions.get(a);

// post is the front end's call to its backend: POST a JSON body, with
// "Authorization: Bearer <authToken>" when signed in. Returns {status,
// body} (body parsed when it is JSON).
function post(backend, path, body, authToken) {
  const url = new URL(String(path), String(backend));
  if (url.protocol !== 'http:') throw new Error('seed.post: only http:// backends');
  const payload = Buffer.from(JSON.stringify(body === undefined ? {} : body));
  const headers = { 'Content-Type': 'application/json', 'Content-Length': payload.length, Origin: 'http://localhost:3000' };
  if (authToken) headers.Authorization = `Bearer ${authToken}`;
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed = text;
        try {
          parsed = JSON.parse(text);
        } catch (e) {
          // not JSON: returned as text
        }
        resolve({ status: res.statusCode, body: parsed, cors: res.headers['access-control-allow-origin'] || '' });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

// post {backend, path, body?, authToken?}: one backend call, for the test's
// own checks (refusals).
exports.post = async (a) => post(a.backend, a.path, a.body, a.authToken);

// connect {h, backend, identity, password, apiUrl, dir} signs in and starts
// e3kit. Returns what the backend answered and what e3kit made of it.
exports.connect = async (a, env) => {
  const h = String(a.h);
  sessions.checkFree(h);
  const auth = await post(a.backend, '/v1/authenticate', { identity: String(a.identity), password: String(a.password) });
  if (auth.status !== 200) throw new Error(`authenticate: HTTP ${auth.status}: ${JSON.stringify(auth.body)}`);
  const authToken = auth.body.authToken;
  const creds = await post(a.backend, '/v1/stream-credentials', {}, authToken);
  if (creds.status !== 200) throw new Error(`stream-credentials: HTTP ${creds.status}: ${JSON.stringify(creds.body)}`);

  const s = { h, authToken, stream: creds.body, cards: new Map(), virgilTokens: 0 };
  // e3kit calls getToken whenever it needs a token (at initialize, then
  // when the one it has is about to expire): ask the backend each time.
  const getToken = async () => {
    const r = await post(a.backend, '/v1/virgil-credentials', {}, authToken);
    if (r.status !== 200) throw new Error(`virgil-credentials: HTTP ${r.status}: ${JSON.stringify(r.body)}`);
    s.virgilTokens++;
    return r.body.token;
  };
  const { EThree } = require(env.e3kitDir);
  await sessions.start(s, EThree, getToken, { apiUrl: String(a.apiUrl), ...e3session.storagePaths(a.dir) });
  if (!(await s.e3.hasLocalPrivateKey())) await s.e3.register();
  return {
    authenticate: auth.body,
    authenticateCORS: auth.cors,
    streamCredentials: creds.body,
    identity: s.e3.identity,
    virgilTokens: s.virgilTokens,
  };
};

// close {h} ends a session and closes its storage; false if there was none.
exports.close = async (a) => sessions.close(a);

// streamArgs is what ./stream.js needs to act as the session's user.
function streamArgs(s, a) {
  return { baseURL: String(a.streamURL), apiKey: s.stream.apiKey, token: s.stream.token, userId: s.stream.user.id };
}

async function cardsOf(s, identities) {
  const missing = identities.filter((id) => !s.cards.has(id));
  if (missing.length) {
    const found = await s.e3.findUsers(missing);
    for (const [id, c] of Object.entries(found)) s.cards.set(id, c);
  }
  return identities.map((id) => s.cards.get(id));
}

// openChannel {h, streamURL, channelId, members} creates (or opens) the
// channel as the React app does (channel(...).watch()).
exports.openChannel = async (a) => {
  const s = session(a);
  const path = `/channels/messaging/${encodeURIComponent(String(a.channelId))}/query`;
  const r = await stream.request(
    Object.assign(streamArgs(s, a), { method: 'POST', path, body: { data: { members: a.members.map(String) }, state: true, watch: true, presence: false } }),
  );
  if (r.status !== 201 && r.status !== 200) throw new Error(`open channel: status ${r.status}: ${JSON.stringify(r.body)}`);
  return { cid: r.body.channel.cid, members: (r.body.members || []).map((m) => m.user_id) };
};

// send {h, streamURL, channelId, to, text} seals text for the cards of `to`
// (e3kit adds the sender's own key) and posts the ciphertext. Returns the
// message Stream stored.
exports.send = async (a) => {
  const s = session(a);
  const cards = await cardsOf(s, a.to.map(String));
  const ciphertext = await s.e3.authEncrypt(String(a.text), cards.length === 1 ? cards[0] : Object.fromEntries(a.to.map((id, i) => [String(id), cards[i]])));
  return stream.sendMessage(Object.assign(streamArgs(s, a), { channelType: 'messaging', channelId: String(a.channelId), text: ciphertext }));
};

// read {h, streamURL, channelId} reads the channel's messages and opens
// each with its sender's card. Returns [{id, user, stored, text?, error?}].
exports.read = async (a) => {
  const s = session(a);
  const msgs = await stream.queryMessages(Object.assign(streamArgs(s, a), { channelType: 'messaging', channelId: String(a.channelId) }));
  const senders = [...new Set(msgs.map((m) => m.user).filter((u) => u !== s.e3.identity))];
  await cardsOf(s, senders);
  const out = [];
  for (const m of msgs) {
    const r = { id: m.id, user: m.user, stored: m.text };
    try {
      // A message of one's own is verified against one's own key.
      r.text = m.user === s.e3.identity ? await s.e3.authDecrypt(m.text) : await s.e3.authDecrypt(m.text, s.cards.get(m.user));
    } catch (e) {
      r.error = `${e.name}: ${e.message}`;
    }
    out.push(r);
  }
  return { messages: out, virgilTokens: s.virgilTokens };
};
