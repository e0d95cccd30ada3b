// Package interop proves, against the real JavaScript implementations, that
// e3go reads and writes exactly the bytes Virgil's clients read and write.
// It has no API: everything is in its tests, which drive a Node.js worker
// running the npm packages that browsers and phones use.
//
// # What it proves
//
// For both virgil-crypto 5.1.2 and the virgil-crypto 4.2.2 that
// @virgilsecurity/e3kit-node 2.5.1 bundles, in both directions (Go produces
// and Node consumes, Node produces and Go consumes): key export/import and key
// ids (SHA-512 and SHA-256 schemes), keys from key material, Encrypt/Decrypt,
// SignThenEncrypt/DecryptThenVerify (and the Detached form), SignAndEncrypt/
// DecryptAndVerify, Sign/Verify and the streaming forms, for empty, 1-byte,
// multi-byte UTF-8, 4 KiB and 10 MiB (streamed) messages, with 1 and 25
// recipients whose keys are Ed25519, Curve25519 or a mix. Every check compares
// the recovered plaintext or the verification result, and negative cases check
// that each side rejects what it must (a flipped bit, a foreign signer).
// Other engineers add their own suites (e3kit services, Stream) to the same
// package and worker.
//
// # Running it
//
//	go test ./internal/interop/                          # part of go test ./...
//	go test -run '^$' -bench NodePeer ./internal/interop/   # virgil-crypto timings
//
// The suite takes about 10 s on two busy cores, most of it the 10 MiB
// streams (which pass through files in a t.TempDir, about 200 MB at peak).
// BenchmarkNodePeer reports node-ns/op, virgil-crypto's own hrtime figure for
// SignAndEncrypt/DecryptAndVerify of 200 bytes to 1 and 10 recipients and
// Encrypt/Decrypt of 1 MiB, to set beside go test -bench ./e3/.
//
// The suite needs node (>= 18; tested with 20) and npm in PATH. The
// environment variable E3GO_INTEROP decides what happens without them:
//
//   - unset or empty: the interop tests skip (with the reason) when node or npm
//     is missing, and run otherwise;
//   - "require": a missing node or npm fails the tests (CI sets this, see
//     .ci/run);
//   - "skip" (or "off"): the interop tests always skip.
//
// Any other value fails the tests. When node and npm are present, a failing
// npm install is a test failure, not a skip.
//
// # node_modules
//
// The npm packages are pinned by node/package.json and node/package-lock.json
// (virgil-crypto 5.1.2, @virgilsecurity/e3kit-node 2.5.1 with its nested
// virgil-crypto 4.2.2, virgil-sdk 6.1.2). The test harness installs them itself
// with `npm ci --no-audit --no-fund` into node/node_modules (git-ignored, about
// 180 MB, 10-20 s with a warm npm cache) when that directory is missing or
// was installed from another lockfile: node_modules/.e3go-stamp holds a hash of
// package.json and package-lock.json. Concurrent go test processes serialise
// on the lock file node/.e3go-install.lock, so only one runs npm. To force a
// reinstall, delete node/node_modules.
//
// # The worker
//
// Each test binary starts one long-lived `node worker.js` (in node/) on first
// use and ends it in TestMain. The worker initialises both virgil-crypto
// builds (handing 4.2.2 its libfoundation.wasm bytes) after removing
// globalThis.fetch, which the old emscripten loaders in e3kit-node 2.5.1
// cannot live with. Go talks to it in JSON lines on stdin/stdout:
//
//	{"id": 7, "op": "crypto.decrypt", "args": {...}}
//	{"id": 7, "ok": true, "result": ...}
//	{"id": 7, "ok": false, "error": {"name": "FoundationError", "message": "...", "status": "..."}}
//
// Binary values are base64 strings both ways (a Go []byte field marshals to
// one; a Buffer in a result is turned into one). Ops run concurrently and may
// answer out of order. Whatever the worker or the WASM modules print goes to
// stderr, which is added to a failing test's log. In Go, tests call
// nodeWorker(t) for the shared *Worker and w.Call(ctx, op, args, &result); a
// Node exception comes back as a *NodeError. Large payloads go through files:
// stream ops take input and output paths.
//
// # Adding ops
//
// Drop a CommonJS file into node/ops/: every function it exports becomes op
// "<file>.<function>" and is called as fn(args, env) (it may return a value or
// a promise). env gives the initialised modules: env.crypto(v, opts) is a
// VirgilCrypto instance of version v ("5.1.2" or "4.2.2"),
// env.virgilCrypto(v) the module, env.e3kitDir the directory of
// e3kit-node (require packages from there to get the versions it pins),
// env.bin(b64) decodes a base64 argument. Ops must not print to stdout
// (console.log is redirected to stderr anyway) and must not let the WASM core
// abort: validate inputs the C core only asserts on. The worker's own ops
// are "worker.*" (ping, echo, fail, block/release, ...). The op files:
//
//   - crypto.js: virgil-crypto operations, streaming, the benchmark peer
//   - group.js: virgil-crypto group sessions (tickets, messages)
//   - e3kit.js: e3kit-node against e3test (services_test.go)
//   - e3kit_client.js: e3kit-node sessions for the e3.Client tests
//   - e3kit_group.js: e3kit-node groups for the e3.Group tests
//   - stream.js: Stream REST calls as the JS client makes them
//   - seed.js: the seed app's front end against examples/backend
//
// Code shared by op files lives in node/lib/ (worker.js would turn a file in
// ops/ into ops): lib/e3kit_session.js starts EThree sessions, waits until
// their group storage is open and closes it, so a test must close a session
// before its directories are removed (closeE3kitSession does that in Go).
package interop
