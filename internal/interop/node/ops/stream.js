// Stream Chat REST calls made the way Stream's JavaScript client (stream-chat
// 9.x, under the seed's React app) makes them, for the streamenc interop tests
// (../../streamenc_test.go): op "stream.<name>" (see ../worker.js).
//
// A request carries the bare user JWT in Authorization, "stream-auth-type:
// jwt", X-Stream-Client and x-client-request-id headers, and api_key, user_id
// and connection_id in the query (spec stream-chat.md §8); bodies are JSON.
// Only plain http:// servers (the in-process emulator) are supported.
'use strict';

const http = require('http');
const crypto = require('crypto');

// request {baseURL, apiKey, token, userId, method, path, body?} sends one
// call and returns {status, body} (body parsed when it is JSON).
function request(a) {
  const base = new URL(String(a.baseURL));
  if (base.protocol !== 'http:') throw new Error('stream.request: only http:// base URLs');
  const url = new URL(String(a.path), base);
  url.searchParams.set('api_key', String(a.apiKey));
  url.searchParams.set('user_id', String(a.userId));
  url.searchParams.set('connection_id', crypto.randomUUID());
  const payload = a.body === undefined || a.body === null ? null : Buffer.from(JSON.stringify(a.body));
  const headers = {
    Authorization: String(a.token),
    'stream-auth-type': 'jwt',
    'X-Stream-Client': 'stream-chat-js-v9.53.0-node',
    'x-client-request-id': crypto.randomUUID(),
  };
  if (payload) {
    headers['Content-Type'] = 'application/json';
    headers['Content-Length'] = payload.length;
  }
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: String(a.method), headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body = text;
        try {
          body = JSON.parse(text);
        } catch (e) {
          // not JSON: returned as text
        }
        resolve({ status: res.statusCode, body });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

exports.request = request;

// sendMessage {baseURL, apiKey, token, userId, channelType, channelId, text,
// extra?} posts a message as the React app does: a client-generated id
// ("<user>-<uuid>") and the text, plus any extra message fields. Returns the
// message Stream stored.
exports.sendMessage = async (a) => {
  const message = Object.assign({ id: `${a.userId}-${crypto.randomUUID()}`, text: String(a.text) }, a.extra || {});
  const path = `/channels/${encodeURIComponent(String(a.channelType))}/${encodeURIComponent(String(a.channelId))}/message`;
  const r = await request(Object.assign({}, a, { method: 'POST', path, body: { message } }));
  if (r.status !== 201 && r.status !== 200) throw new Error(`stream.sendMessage: status ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body.message;
};

// queryMessages {baseURL, apiKey, token, userId, channelType, channelId}
// reads the channel's messages as the React app does when it opens a channel
// (POST …/query with state and watch); returns [{id, text, user}].
exports.queryMessages = async (a) => {
  const path = `/channels/${encodeURIComponent(String(a.channelType))}/${encodeURIComponent(String(a.channelId))}/query`;
  const r = await request(Object.assign({}, a, { method: 'POST', path, body: { state: true, watch: true, presence: false, messages: { limit: 100 } } }));
  if (r.status !== 201 && r.status !== 200) throw new Error(`stream.queryMessages: status ${r.status}: ${JSON.stringify(r.body)}`);
  return (r.body.messages || []).map((m) => ({ id: m.id, text: m.text, user: m.user && m.user.id }));
};
