// The real @virgilsecurity/e3kit-node 2.5.1 and virgil-sdk 6.1.2 against an
// e3test server, for the services interop tests (../../services_test.go):
// op "e3kit.<name>" (see ../worker.js).
//
// Users are EThree instances kept under a handle `h` chosen by the Go test,
// each with its own storage directories (one "device"). Their getToken asks
// for a fresh token on every call, either from a Go token endpoint
// (tokens.url: GET <url>?identity=<id>, what an app backend does) or from
// virgil-sdk's own JwtGenerator with the app credentials (tokens.app).
// Cards returned by findUsers are kept per user by identity, and groups by
// id, so that later ops name them. e3kit's errors reach Go as the worker's
// {name, message} (e.g. name "UsersNotFoundError"). Users are started and
// closed through ../lib/e3kit_session.js: init returns once their group
// storage is open, close closes it (call it before removing their
// directory).
'use strict';

const http = require('http');
const e3session = require('../lib/e3kit_session.js');

const { cardOf, cardsOf, groupOf, optString } = e3session;
const users = new e3session.Sessions('e3kit user', 'e3kit.init');
const user = (a) => users.get(a);
let mods;

// load resolves e3kit-node and the virgil-sdk it uses, from e3kit's
// directory, and virgil-crypto 5.1.2 for the SDK-level ops.
function load(env) {
  if (!mods) {
    const sdkPath = require.resolve('virgil-sdk', { paths: [env.e3kitDir] });
    mods = { e3kit: require(env.e3kitDir), sdk: require(sdkPath), vc: env.virgilCrypto('5.1.2'), crypto: env.crypto('5.1.2') };
  }
  return mods;
}

function getURL(url) {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (body += c));
        res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`token endpoint: ${res.statusCode} ${body}`))));
      })
      .on('error', reject);
  });
}

// jsGenerator is virgil-sdk's JwtGenerator for app credentials {appId,
// appKeyId, appKey (base64 PKCS#8), ttlMs?}.
function jsGenerator(env, app) {
  const { sdk, vc, crypto } = load(env);
  return new sdk.JwtGenerator({
    appId: String(app.appId),
    apiKeyId: String(app.appKeyId),
    apiKey: crypto.importPrivateKey(env.bin(app.appKey, 'appKey')),
    accessTokenSigner: new vc.VirgilAccessTokenSigner(crypto),
    millisecondsToLive: app.ttlMs ? Number(app.ttlMs) : 20 * 60 * 1000,
  });
}

function cardInfo(u, c) {
  const chain = [];
  for (let p = c.previousCard; p; p = p.previousCard) chain.push(p.id);
  return {
    id: c.id,
    identity: c.identity,
    previousCardId: c.previousCardId || '',
    isOutdated: !!c.isOutdated,
    chain,
    publicKey: Buffer.from(u.e3.virgilCrypto.exportPublicKey(c.publicKey)),
  };
}

// init {h, identity, apiUrl, dir, tokens: {url} | {app: {...}}} makes a user.
exports.init = async (a, env) => {
  const { e3kit } = load(env);
  const h = String(a.h);
  users.checkFree(h);
  const identity = String(a.identity);
  let getToken;
  if (a.tokens && a.tokens.url) {
    const url = `${a.tokens.url}?identity=${encodeURIComponent(identity)}`;
    getToken = () => getURL(url);
  } else if (a.tokens && a.tokens.app) {
    const gen = jsGenerator(env, a.tokens.app);
    getToken = async () => gen.generateToken(identity).toString();
  } else {
    throw new Error('init: tokens.url or tokens.app is required');
  }
  const u = { h, cards: new Map(), groups: new Map(), tokenCalls: 0 };
  await users.start(
    u,
    e3kit.EThree,
    async (ctx) => {
      u.tokenCalls++;
      return getToken(ctx);
    },
    { apiUrl: String(a.apiUrl), ...e3session.storagePaths(a.dir) },
  );
  return { identity: u.e3.identity, hasLocalPrivateKey: await u.e3.hasLocalPrivateKey() };
};

// close {h} forgets user h and closes its storage; false if there was no
// such user.
exports.close = async (a) => users.close(a);

exports.register = async (a) => (await user(a).e3.register(), true);
exports.unregister = async (a) => (await user(a).e3.unregister(), true);
exports.rotatePrivateKey = async (a) => (await user(a).e3.rotatePrivateKey(), true);
exports.cleanup = async (a) => (await user(a).e3.cleanup(), true);
exports.hasLocalPrivateKey = async (a) => user(a).e3.hasLocalPrivateKey();

// findUsers {h, identities} → {identity: card info}; keeps the cards.
exports.findUsers = async (a) => {
  const u = user(a);
  return e3session.findUsers(u, a.identities, (c) => cardInfo(u, c));
};

// authEncrypt {h, to: [identity], text} → base64 ciphertext (e3kit adds
// the own key).
exports.authEncrypt = async (a) => {
  const u = user(a);
  const to = a.to.map(String);
  const recipients = to.length === 1 ? cardOf(u, to[0]) : cardsOf(u, to);
  return u.e3.authEncrypt(String(a.text), recipients);
};

// authDecrypt {h, from, text: base64 ciphertext} → plaintext string.
exports.authDecrypt = async (a) => {
  const u = user(a);
  return u.e3.authDecrypt(String(a.text), cardOf(u, a.from));
};

const keyName = (a) => optString(a.keyName);

exports.backupPrivateKey = async (a) => (await user(a).e3.backupPrivateKey(String(a.password), keyName(a)), true);
exports.restorePrivateKey = async (a) => (await user(a).e3.restorePrivateKey(String(a.password), keyName(a)), true);
exports.changePassword = async (a) => (await user(a).e3.changePassword(String(a.oldPassword), String(a.newPassword), keyName(a)), true);
// resetPrivateKeyBackup {h, keyName?}: all v1 backups, or one named backup.
exports.resetPrivateKeyBackup = async (a) => {
  const u = user(a);
  if (keyName(a) === undefined) await u.e3.resetPrivateKeyBackup();
  else await u.e3.resetPrivateKeyBackupWithKeyName(keyName(a));
  return true;
};

// Groups: {h, groupId, ...}; participants come back sorted.
const participants = (g) => [...g.participants].sort();

exports.createGroup = async (a) => {
  const u = user(a);
  const g = await u.e3.createGroup(String(a.groupId), cardsOf(u, a.members));
  u.groups.set(String(a.groupId), g);
  return participants(g);
};
exports.loadGroup = async (a) => {
  const u = user(a);
  const g = await u.e3.loadGroup(String(a.groupId), cardOf(u, a.initiator));
  u.groups.set(String(a.groupId), g);
  return participants(g);
};
exports.groupAdd = async (a) => {
  const u = user(a);
  const g = groupOf(u, a.groupId);
  await g.add(cardsOf(u, a.members));
  return participants(g);
};
exports.groupRemove = async (a) => {
  const u = user(a);
  const g = groupOf(u, a.groupId);
  await g.remove(cardsOf(u, a.members));
  return participants(g);
};
exports.groupUpdate = async (a) => {
  const g = groupOf(user(a), a.groupId);
  await g.update();
  return participants(g);
};
exports.groupEncrypt = async (a) => groupOf(user(a), a.groupId).encrypt(String(a.text));
exports.groupDecrypt = async (a) => {
  const u = user(a);
  return groupOf(u, a.groupId).decrypt(String(a.text), cardOf(u, a.from));
};
exports.deleteGroup = async (a) => {
  const u = user(a);
  await u.e3.deleteGroup(String(a.groupId));
  u.groups.delete(String(a.groupId));
  return true;
};

// strayRejection {message} leaves a promise rejected with nobody to handle
// it, as a bug in e3kit could: the check that the worker logs it and goes on
// (see guardRejections in ../lib/e3kit_session.js).
exports.strayRejection = async (a) => {
  Promise.reject(new Error(String(a.message)));
  return true;
};

// jwtGenerate {app: {appId, appKeyId, appKey, ttlMs?}, identity, ada?} →
// a token made by virgil-sdk's JwtGenerator.
exports.jwtGenerate = async (a, env) => jsGenerator(env, a.app).generateToken(String(a.identity), a.ada || undefined).toString();

// jwtVerify {token, appPublicKey (base64 SPKI), appKeyId} → what
// virgil-sdk's JwtVerifier and Jwt make of a token.
exports.jwtVerify = async (a, env) => {
  const { sdk, vc, crypto } = load(env);
  const jwt = sdk.Jwt.fromString(String(a.token));
  const verifier = new sdk.JwtVerifier({
    accessTokenSigner: new vc.VirgilAccessTokenSigner(crypto),
    apiPublicKey: crypto.importPublicKey(env.bin(a.appPublicKey, 'appPublicKey')),
    apiKeyId: String(a.appKeyId),
  });
  return {
    valid: verifier.verifyToken(jwt),
    identity: jwt.identity(),
    appId: jwt.appId(),
    expired: jwt.isExpired(),
    header: jwt.header,
    body: jwt.body,
  };
};

// cardManagerGet {apiUrl, token, cardId, serviceKey (base64 SPKI)} gets a
// card with virgil-sdk's CardManager, verifying its self signature and a
// "virgil" signature by serviceKey (the whitelist route of spec §5.2).
exports.cardManagerGet = async (a, env) => {
  const { sdk, vc, crypto } = load(env);
  const cardCrypto = new vc.VirgilCardCrypto(crypto);
  const verifier = new sdk.VirgilCardVerifier(cardCrypto, {
    verifySelfSignature: true,
    verifyVirgilSignature: false,
    whitelists: [[{ signer: 'virgil', publicKeyBase64: String(a.serviceKey) }]],
  });
  const cm = new sdk.CardManager({
    cardCrypto,
    cardVerifier: verifier,
    accessTokenProvider: new sdk.ConstAccessTokenProvider(sdk.Jwt.fromString(String(a.token))),
    retryOnUnauthorized: false,
    apiUrl: String(a.apiUrl),
  });
  const c = await cm.getCard(String(a.cardId));
  return { id: c.id, identity: c.identity, isOutdated: c.isOutdated, signers: c.signatures.map((s) => s.signer) };
};
