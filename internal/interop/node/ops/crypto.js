// virgil-crypto ops of the e3go interop suite: op "crypto.<name>" (see ../worker.js).
//
// Every op takes `v` ("5.1.2" = top-level virgil-crypto, "4.2.2" = the one
// e3kit-node 2.5.1 bundles) and, where keys are imported, `sha256Ids` (the
// VirgilCrypto option useSha256Identifiers that e3kit exposes). Keys travel as
// DER (base64): private keys PKCS#8 as exportPrivateKey gives them, public
// keys SPKI. Each op is one virgil-crypto call made the way e3kit makes it
// (key lists passed as arrays); decrypt-side ops take a list of private keys
// and return one plaintext per key, so that every recipient of a message is
// checked in one round trip. Stream ops read and write files (paths `in`,
// `out`) in 64 KiB chunks so that large payloads never go through JSON.
'use strict';
const fs = require('fs');

const CHUNK = 64 * 1024;
const ED25519_ALG = Buffer.from('300506032b6570', 'hex'); // AlgorithmIdentifier{1.3.101.112}

function cryptoOf(a, env) {
  return env.crypto(a.v, { useSha256Identifiers: !!a.sha256Ids });
}

function keyPairType(c, name) {
  if (name === undefined || name === null || name === '') return undefined; // library default
  if (name !== 'ED25519' && name !== 'CURVE25519') throw new RangeError(`type ${JSON.stringify(name)}: want "ED25519" or "CURVE25519"`);
  return c.keyPairType[name];
}

function priv(c, env, b64, what = 'privateKey') {
  return c.importPrivateKey(env.bin(b64, what));
}

function privs(c, env, list, what = 'privateKeys') {
  if (!Array.isArray(list) || list.length === 0) throw new TypeError(`${what}: want a non-empty array`);
  return list.map((k, i) => priv(c, env, k, `${what}[${i}]`));
}

function pubs(c, env, list, what = 'publicKeys') {
  if (!Array.isArray(list) || list.length === 0) throw new TypeError(`${what}: want a non-empty array`);
  return list.map((k, i) => c.importPublicKey(env.bin(k, `${what}[${i}]`)));
}

// signer imports a private key that is going to sign. virgil-crypto's WASM core
// does not return an error when asked to sign with a CURVE25519 key: it hits a
// C assertion and aborts the module (vscf_signer.c, vscf_key_signer_is_implemented),
// which would poison the shared worker. Refuse it here instead.
function signer(c, env, b64) {
  const der = env.bin(b64, 'privateKey');
  if (der.indexOf(ED25519_ALG) !== 5) {
    const e = new Error('virgil-crypto can only sign with ED25519 keys (its WASM core aborts on other key types)');
    e.name = 'KeyTypeError';
    throw e;
  }
  return c.importPrivateKey(der);
}

function keyPairOut(c, kp) {
  return {
    privateKey: c.exportPrivateKey(kp.privateKey),
    publicKey: c.exportPublicKey(kp.publicKey),
    id: kp.publicKey.identifier,
    privateId: kp.privateKey.identifier,
  };
}

// ---- keys

// generateKeys {v, type?, sha256Ids?} -> {privateKey, publicKey, id, privateId}
exports.generateKeys = (a, env) => {
  const c = cryptoOf(a, env);
  const t = keyPairType(c, a.type);
  return keyPairOut(c, t === undefined ? c.generateKeys() : c.generateKeys(t));
};

// generateKeysFromKeyMaterial {v, keyMaterial, type?, sha256Ids?} -> {privateKey, publicKey, id, privateId}
exports.generateKeysFromKeyMaterial = (a, env) => {
  const c = cryptoOf(a, env);
  const km = env.bin(a.keyMaterial, 'keyMaterial');
  // Outside 32..512 bytes the C core asserts and aborts the WASM module
  // (vscf_key_material_rng.c) instead of returning an error.
  if (km.length < 32 || km.length > 512) throw new RangeError(`keyMaterial: ${km.length} bytes, virgil-crypto needs 32..512 (its WASM core aborts otherwise)`);
  const t = keyPairType(c, a.type);
  return keyPairOut(c, t === undefined ? c.generateKeysFromKeyMaterial(km) : c.generateKeysFromKeyMaterial(km, t));
};

// importPrivateKey {v, privateKey, sha256Ids?} -> {privateKey (re-exported), publicKey (extracted), id, publicId}
exports.importPrivateKey = (a, env) => {
  const c = cryptoOf(a, env);
  const k = priv(c, env, a.privateKey);
  const p = c.extractPublicKey(k);
  return { privateKey: c.exportPrivateKey(k), publicKey: c.exportPublicKey(p), id: k.identifier, publicId: p.identifier };
};

// importPublicKey {v, publicKey, sha256Ids?} -> {publicKey (re-exported), id}
exports.importPublicKey = (a, env) => {
  const c = cryptoOf(a, env);
  const k = c.importPublicKey(env.bin(a.publicKey, 'publicKey'));
  return { publicKey: c.exportPublicKey(k), id: k.identifier };
};

// ---- one-shot

// encrypt {v, data, publicKeys, enablePadding?, sha256Ids?} -> ciphertext
exports.encrypt = (a, env) => {
  const c = cryptoOf(a, env);
  return c.encrypt(env.bin(a.data, 'data'), pubs(c, env, a.publicKeys), !!a.enablePadding);
};

// decrypt {v, data, privateKeys, sha256Ids?} -> [plaintext per key]
exports.decrypt = (a, env) => {
  const c = cryptoOf(a, env);
  const data = env.bin(a.data, 'data');
  return privs(c, env, a.privateKeys).map((k) => c.decrypt(data, k));
};

// signThenEncrypt {v, data, privateKey, publicKeys, enablePadding?, sha256Ids?} -> ciphertext (e3kit encrypt)
exports.signThenEncrypt = (a, env) => {
  const c = cryptoOf(a, env);
  return c.signThenEncrypt(env.bin(a.data, 'data'), signer(c, env, a.privateKey), pubs(c, env, a.publicKeys), !!a.enablePadding);
};

// decryptThenVerify {v, data, privateKeys, signerPublicKeys, sha256Ids?} -> [plaintext per key] (e3kit decrypt)
exports.decryptThenVerify = (a, env) => {
  const c = cryptoOf(a, env);
  const data = env.bin(a.data, 'data');
  const signers = pubs(c, env, a.signerPublicKeys, 'signerPublicKeys');
  return privs(c, env, a.privateKeys).map((k) => c.decryptThenVerify(data, k, signers));
};

// signThenEncryptDetached {v, data, privateKey, publicKeys, enablePadding?, sha256Ids?} -> {metadata, encryptedData} (Keyknox)
exports.signThenEncryptDetached = (a, env) => {
  const c = cryptoOf(a, env);
  const r = c.signThenEncryptDetached(env.bin(a.data, 'data'), signer(c, env, a.privateKey), pubs(c, env, a.publicKeys), !!a.enablePadding);
  return { metadata: r.metadata, encryptedData: r.encryptedData };
};

// decryptThenVerifyDetached {v, encryptedData, metadata, privateKeys, signerPublicKeys, sha256Ids?} -> [plaintext per key]
exports.decryptThenVerifyDetached = (a, env) => {
  const c = cryptoOf(a, env);
  const body = env.bin(a.encryptedData, 'encryptedData');
  const meta = env.bin(a.metadata, 'metadata');
  const signers = pubs(c, env, a.signerPublicKeys, 'signerPublicKeys');
  return privs(c, env, a.privateKeys).map((k) => c.decryptThenVerifyDetached(body, meta, k, signers));
};

// signAndEncrypt {v, data, privateKey, publicKeys, enablePadding?, sha256Ids?} -> ciphertext (e3kit authEncrypt: padding on)
exports.signAndEncrypt = (a, env) => {
  const c = cryptoOf(a, env);
  return c.signAndEncrypt(env.bin(a.data, 'data'), signer(c, env, a.privateKey), pubs(c, env, a.publicKeys), !!a.enablePadding);
};

// decryptAndVerify {v, data, privateKeys, signerPublicKeys, sha256Ids?} -> [plaintext per key] (e3kit authDecrypt)
exports.decryptAndVerify = (a, env) => {
  const c = cryptoOf(a, env);
  const data = env.bin(a.data, 'data');
  const signers = pubs(c, env, a.signerPublicKeys, 'signerPublicKeys');
  return privs(c, env, a.privateKeys).map((k) => c.decryptAndVerify(data, k, signers));
};

// calculateSignature {v, data, privateKey} -> signature
exports.calculateSignature = (a, env) => {
  const c = cryptoOf(a, env);
  return c.calculateSignature(env.bin(a.data, 'data'), signer(c, env, a.privateKey));
};

// verifySignature {v, data, signature, publicKey} -> boolean
exports.verifySignature = (a, env) => {
  const c = cryptoOf(a, env);
  return c.verifySignature(env.bin(a.data, 'data'), env.bin(a.signature, 'signature'), c.importPublicKey(env.bin(a.publicKey, 'publicKey')));
};

// ---- streaming (files)

// pump reads file `in` in chunks, writes head(), step(chunk)..., tail() to file
// `out` and returns the byte counts.
function pump(a, head, step, tail) {
  const chunkSize = a.chunkSize ? Number(a.chunkSize) : CHUNK;
  if (!(chunkSize > 0)) throw new RangeError('chunkSize: want > 0');
  if (typeof a.in !== 'string' || typeof a.out !== 'string') throw new TypeError('in, out: want file paths');
  const fin = fs.openSync(a.in, 'r');
  try {
    const fout = fs.openSync(a.out, 'w');
    try {
      let read = 0;
      let written = 0;
      let chunks = 0;
      const put = (b) => {
        for (let off = 0; off < b.length; ) off += fs.writeSync(fout, b, off, b.length - off);
        written += b.length;
      };
      put(head(fs.fstatSync(fin).size));
      const buf = Buffer.alloc(chunkSize);
      for (let n; (n = fs.readSync(fin, buf, 0, chunkSize, null)) > 0; ) {
        read += n;
        chunks++;
        put(step(buf.subarray(0, n)));
      }
      put(tail());
      return { read, written, chunks };
    } finally {
      fs.closeSync(fout);
    }
  } finally {
    fs.closeSync(fin);
  }
}

// streamEncrypt {v, in, out, publicKeys, signature?, chunkSize?, sha256Ids?} -> {read, written, chunks}
// createStreamCipher: the output is the same format as encrypt.
exports.streamEncrypt = (a, env) => {
  const c = cryptoOf(a, env);
  const s = a.signature ? c.createStreamCipher(pubs(c, env, a.publicKeys), env.bin(a.signature, 'signature')) : c.createStreamCipher(pubs(c, env, a.publicKeys));
  try {
    return pump(a, () => s.start(), (b) => s.update(b), () => s.final(false));
  } finally {
    if (!s.isDisposed) s.dispose();
  }
};

// streamDecrypt {v, in, out, privateKey, chunkSize?, sha256Ids?} -> {read, written, chunks}
// createStreamDecipher.
exports.streamDecrypt = (a, env) => {
  const c = cryptoOf(a, env);
  const s = c.createStreamDecipher(priv(c, env, a.privateKey));
  try {
    return pump(a, () => Buffer.alloc(0), (b) => s.update(b), () => s.final(false));
  } finally {
    if (!s.isDisposed) s.dispose();
  }
};

// streamSignAndEncrypt {v, in, out, privateKey, publicKeys, enablePadding?, chunkSize?, sha256Ids?} -> {read, written, chunks}
// createStreamSignAndEncrypt with start(file size), as e3kit-browser's authEncryptFile.
exports.streamSignAndEncrypt = (a, env) => {
  const c = cryptoOf(a, env);
  const s = c.createStreamSignAndEncrypt(signer(c, env, a.privateKey), pubs(c, env, a.publicKeys), !!a.enablePadding);
  try {
    return pump(a, (size) => s.start(size), (b) => s.update(b), () => s.final(false));
  } finally {
    if (!s.isDisposed) s.dispose();
  }
};

// streamDecryptAndVerify {v, in, out, privateKey, signerPublicKeys, chunkSize?, sha256Ids?} -> {read, written, chunks}
// createStreamDecryptAndVerify: start(key), update..., final(), verify(keys).
// The op fails if verification fails (the output file is then to be discarded).
exports.streamDecryptAndVerify = (a, env) => {
  const c = cryptoOf(a, env);
  const k = priv(c, env, a.privateKey);
  const signers = pubs(c, env, a.signerPublicKeys, 'signerPublicKeys');
  const s = c.createStreamDecryptAndVerify();
  try {
    s.start(k);
    const r = pump(a, () => Buffer.alloc(0), (b) => s.update(b), () => s.final());
    s.verify(signers, false);
    return r;
  } finally {
    s.dispose();
  }
};

// ---- benchmark peer (BenchmarkNodePeer)

const benches = new Map();
let nextBench = 1;

// benchSetup {v, op, size, recipients} -> handle
// op: "signAndEncrypt" (padding on, as e3kit authEncrypt) | "decryptAndVerify" |
// "encrypt" | "decrypt". Keys are Ed25519 (e3kit's default); recipients does
// not include the signer. The op is checked once and warmed up.
exports.benchSetup = (a, env) => {
  const c = env.crypto(a.v);
  const n = Number(a.recipients) || 1;
  const size = Number(a.size) || 0;
  const sender = c.generateKeys();
  const rcpts = Array.from({ length: n }, () => c.generateKeys());
  const pubKeys = rcpts.map((k) => k.publicKey);
  const data = require('crypto').randomBytes(size);
  let fn;
  let check;
  switch (a.op) {
    case 'signAndEncrypt':
      fn = () => c.signAndEncrypt(data, sender.privateKey, pubKeys, true);
      check = (ct) => c.decryptAndVerify(ct, rcpts[0].privateKey, sender.publicKey);
      break;
    case 'decryptAndVerify': {
      const ct = c.signAndEncrypt(data, sender.privateKey, pubKeys, true);
      fn = () => c.decryptAndVerify(ct, rcpts[0].privateKey, sender.publicKey);
      check = (pt) => pt;
      break;
    }
    case 'encrypt':
      fn = () => c.encrypt(data, pubKeys);
      check = (ct) => c.decrypt(ct, rcpts[0].privateKey);
      break;
    case 'decrypt': {
      const ct = c.encrypt(data, pubKeys);
      fn = () => c.decrypt(ct, rcpts[0].privateKey);
      check = (pt) => pt;
      break;
    }
    default:
      throw new RangeError(`bench op ${JSON.stringify(a.op)}`);
  }
  if (!Buffer.from(check(fn())).equals(data)) throw new Error(`bench ${a.op}: self-check failed`);
  for (let i = 0; i < 3; i++) fn();
  const handle = nextBench++;
  benches.set(handle, fn);
  return handle;
};

// benchRun {handle, iterations} -> {iterations, ns} (process.hrtime.bigint over the loop)
exports.benchRun = (a) => {
  const fn = benches.get(a.handle);
  if (!fn) throw new RangeError(`no bench ${a.handle}`);
  const n = Number(a.iterations);
  if (!(n >= 1)) throw new RangeError('iterations: want >= 1');
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  return { iterations: n, ns: Number(process.hrtime.bigint() - t0) };
};

// benchFree {handle}
exports.benchFree = (a) => benches.delete(a.handle);
