package interop

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Harness self-tests: the worker protocol, and a first Node -> Go fact that
// needs no e3go code (Go's x509 parses the keys virgil-crypto exports).

func TestWorkerReady(t *testing.T) {
	w := nodeWorker(t)
	want := map[string]string{
		"virgil-crypto":            "5.1.2",
		"e3kit-node":               "2.5.1",
		"e3kit-node/virgil-crypto": "4.2.2",
	}
	for k, v := range want {
		if got := w.Ready.Versions[k]; got != v {
			t.Errorf("worker reports %s %q, want %q", k, got, v)
		}
	}
	for _, op := range []string{"worker.ping", "crypto.encrypt", "crypto.decryptAndVerify", "crypto.streamSignAndEncrypt"} {
		if !slices.Contains(w.Ready.Ops, op) {
			t.Errorf("worker does not offer op %s (has %v)", op, w.Ready.Ops)
		}
	}
	var pong struct {
		Pong     bool              `json:"pong"`
		Versions map[string]string `json:"versions"`
	}
	mustCall(t, w, "worker.ping", nil, &pong)
	if !pong.Pong || pong.Versions["virgil-crypto"] != "5.1.2" {
		t.Errorf("ping answered %+v", pong)
	}
	t.Logf("node %s; set-up took %v", w.Ready.Versions["node"], shared.took.Round(time.Millisecond))
}

func TestWorkerBinaryRoundTrip(t *testing.T) {
	w := nodeWorker(t)
	for _, n := range []int{0, 1, 255, 256, 4096, 1 << 20} {
		in := make([]byte, n)
		for i := range in {
			in[i] = byte(i)
		}
		if n > 256 {
			rand.Read(in)
		}
		var out struct {
			Data []byte `json:"data"`
			Len  int    `json:"len"`
		}
		mustCall(t, w, "worker.echo", map[string][]byte{"data": in}, &out)
		if out.Len != n || !bytes.Equal(out.Data, in) {
			t.Errorf("echo of %d bytes: Node saw %d bytes, returned %d bytes, equal=%v", n, out.Len, len(out.Data), bytes.Equal(out.Data, in))
		}
	}
}

func TestWorkerErrors(t *testing.T) {
	w := nodeWorker(t)
	ctx := context.Background()
	err := w.Call(ctx, "worker.fail", map[string]string{"name": "VirgilCryptoError", "message": "boom", "status": "SIGNER_NOT_FOUND"}, nil)
	var ne *NodeError
	if !errors.As(err, &ne) {
		t.Fatalf("worker.fail: got %v (%T), want a *NodeError", err, err)
	}
	if ne.Op != "worker.fail" || ne.Name != "VirgilCryptoError" || ne.Message != "boom" || ne.Status != "SIGNER_NOT_FOUND" {
		t.Errorf("worker.fail: got %+v", *ne)
	}
	if s := err.Error(); !strings.Contains(s, "VirgilCryptoError: boom") || !strings.Contains(s, "SIGNER_NOT_FOUND") {
		t.Errorf("error text %q lacks the Node name/message/status", s)
	}

	err = w.Call(ctx, "nosuch.op", nil, nil)
	if !errors.As(err, &ne) || ne.Name != "UnknownOp" {
		t.Errorf("unknown op: got %v, want a *NodeError named UnknownOp", err)
	}

	// A real virgil-crypto failure, both versions.
	for _, v := range versions {
		err = w.Call(ctx, "crypto.importPrivateKey", map[string]any{"v": v, "privateKey": []byte("not a key")}, nil)
		if !errors.As(err, &ne) || ne.Name != "FoundationError" {
			t.Errorf("%s: importing garbage: got %v, want a FoundationError", v, err)
		}
	}

	// The worker survives all of that.
	mustCall(t, w, "worker.ping", nil, nil)
}

func TestWorkerConcurrentAndTimeout(t *testing.T) {
	w := nodeWorker(t)
	key := t.Name() + "-" + time.Now().Format(time.RFC3339Nano)

	// A call that cannot finish before its context: the caller gets the
	// context's error, the worker is unaffected.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := w.Call(ctx, "worker.block", map[string]string{"key": key + "-timeout"}, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("blocked call with a 200ms deadline: got %v, want context.DeadlineExceeded", err)
	}
	mustCall(t, w, "worker.release", map[string]string{"key": key + "-timeout"}, nil)

	// block waits in Node until release arrives; it can only arrive if the
	// worker serves requests while block is pending.
	done := make(chan error, 1)
	go func() {
		var r struct {
			Released bool `json:"released"`
		}
		err := w.Call(context.Background(), "worker.block", map[string]string{"key": key}, &r)
		if err == nil && !r.Released {
			err = errors.New("block returned without released=true")
		}
		done <- err
	}()
	waitBlocked(t, w, key)
	mustCall(t, w, "worker.release", map[string]string{"key": key}, nil)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// waitBlocked waits until a worker.block call with key is pending in Node.
func waitBlocked(t *testing.T, w *Worker, key string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		var waiting bool
		mustCall(t, w, "worker.waiting", map[string]string{"key": key}, &waiting)
		if waiting {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("worker.block %q never became pending", key)
		}
	}
}

func TestWorkerStderrCaptured(t *testing.T) {
	w := nodeWorker(t)
	mark := w.StderrMark()
	line := "interop-stderr-probe " + time.Now().Format(time.RFC3339Nano)
	mustCall(t, w, "worker.stderr", map[string]string{"line": line}, nil)
	// stderr is a separate pipe: wait for it to be drained.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(w.StderrSince(mark), line) {
		if time.Now().After(deadline) {
			t.Fatalf("console.log output of an op not seen on the worker's stderr; got %q", w.StderrSince(mark))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWorkerExit starts a worker of its own and kills it with a call pending.
func TestWorkerExit(t *testing.T) {
	nodeWorker(t) // skip/require semantics, node_modules installed
	node, _, err := findNode()
	if err != nil {
		t.Fatal(err)
	}
	w, err := startWorker(node, filepath.Join(".", "node"))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	pending := make(chan error, 1)
	go func() {
		pending <- w.Call(context.Background(), "worker.block", map[string]string{"key": "never"}, nil)
	}()
	waitBlocked(t, w, "never")
	mustCall(t, w, "worker.exit", map[string]int{"code": 3}, nil)
	err = <-pending
	if err == nil || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "exiting with code 3") {
		t.Errorf("pending call when the worker exited: got %v, want the exit status and the stderr tail", err)
	}
	if err := w.Call(context.Background(), "worker.ping", nil, nil); err == nil {
		t.Error("call on an exited worker succeeded")
	}
}

// TestWorkerWasmAbort: an op that aborts a WASM module (a C assertion in
// virgil-crypto's core) fails with a RuntimeError, the worker exits, and the
// next nodeWorker call gets a fresh, working worker.
func TestWorkerWasmAbort(t *testing.T) {
	for _, v := range versions {
		w := nodeWorker(t)
		err := w.Call(context.Background(), "worker.abortWasm", map[string]string{"v": v}, nil)
		var ne *NodeError
		if !errors.As(err, &ne) || ne.Name != "RuntimeError" {
			t.Fatalf("%s: abortWasm: got %v, want a RuntimeError", v, err)
		}
		<-w.done
		if err := w.ExitErr(); err == nil || !strings.Contains(err.Error(), "exit status 70") {
			t.Errorf("%s: worker exit after a WASM abort: %v, want exit status 70", v, err)
		}
		w2 := nodeWorker(t)
		if w2 == w {
			t.Fatalf("%s: nodeWorker returned the exited worker", v)
		}
		var kp nodeKeyPair
		mustCall(t, w2, "crypto.generateKeys", map[string]string{"v": v}, &kp)
		if len(kp.PublicKey) != 44 {
			t.Errorf("%s: fresh worker's generateKeys gave %d-byte public key", v, len(kp.PublicKey))
		}
	}
}

var versions = []string{"5.1.2", "4.2.2"}

type nodeKeyPair struct {
	PrivateKey []byte `json:"privateKey"`
	PublicKey  []byte `json:"publicKey"`
	ID         []byte `json:"id"`
	PrivateID  []byte `json:"privateId"`
}

// TestNodeKeysParseInGoX509: keys virgil-crypto generates are the PKCS#8 and
// SPKI that Go's crypto/x509 reads and writes, byte for byte, and their ids
// are SHA-512(SPKI)[:8] or, with useSha256Identifiers, SHA-256(SPKI).
func TestNodeKeysParseInGoX509(t *testing.T) {
	w := nodeWorker(t)
	for _, v := range versions {
		for _, typ := range []string{"ED25519", "CURVE25519", ""} {
			for _, sha256IDs := range []bool{false, true} {
				var kp nodeKeyPair
				mustCall(t, w, "crypto.generateKeys", map[string]any{"v": v, "type": typ, "sha256Ids": sha256IDs}, &kp)
				name := v + "/" + typ
				if len(kp.PrivateKey) != 48 || len(kp.PublicKey) != 44 {
					t.Errorf("%s: key sizes %d/%d, want 48/44", name, len(kp.PrivateKey), len(kp.PublicKey))
				}
				spki, err := x509.ParsePKIXPublicKey(kp.PublicKey)
				if err != nil {
					t.Fatalf("%s: x509.ParsePKIXPublicKey: %v", name, err)
				}
				sk, err := x509.ParsePKCS8PrivateKey(kp.PrivateKey)
				if err != nil {
					t.Fatalf("%s: x509.ParsePKCS8PrivateKey: %v", name, err)
				}
				switch sk := sk.(type) {
				case ed25519.PrivateKey:
					if typ == "CURVE25519" {
						t.Errorf("%s: got an Ed25519 key", name)
					}
					if !sk.Public().(ed25519.PublicKey).Equal(spki) {
						t.Errorf("%s: public key does not match the private key", name)
					}
				case *ecdh.PrivateKey:
					if typ != "CURVE25519" || sk.Curve() != ecdh.X25519() {
						t.Errorf("%s: got an X25519 key", name)
					}
					if !sk.PublicKey().Equal(spki) {
						t.Errorf("%s: public key does not match the private key", name)
					}
				default:
					t.Errorf("%s: unexpected key type %T", name, sk)
				}
				der, err := x509.MarshalPKCS8PrivateKey(sk)
				if err != nil || !bytes.Equal(der, kp.PrivateKey) {
					t.Errorf("%s: Go re-encodes the private key as %x, Node exported %x", name, der, kp.PrivateKey)
				}
				der, err = x509.MarshalPKIXPublicKey(spki)
				if err != nil || !bytes.Equal(der, kp.PublicKey) {
					t.Errorf("%s: Go re-encodes the public key as %x, Node exported %x", name, der, kp.PublicKey)
				}
				var wantID []byte
				if sha256IDs {
					h := sha256.Sum256(kp.PublicKey)
					wantID = h[:]
				} else {
					h := sha512.Sum512(kp.PublicKey)
					wantID = h[:8]
				}
				if !bytes.Equal(kp.ID, wantID) || !bytes.Equal(kp.PrivateID, wantID) {
					t.Errorf("%s sha256Ids=%v: Node ids %x/%x, want %x", name, sha256IDs, kp.ID, kp.PrivateID, wantID)
				}
			}
		}
	}
}

// TestInstallStamp checks the staleness rule without running npm.
func TestInstallStamp(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("package.json", `{"name":"x"}`)
	write("package-lock.json", `{"lockfileVersion":3}`)
	stamp, err := installStamp(dir)
	if err != nil {
		t.Fatal(err)
	}
	if installed(dir, stamp) {
		t.Fatal("installed() with no node_modules")
	}
	for _, f := range []string{
		"node_modules/virgil-crypto/package.json",
		"node_modules/@virgilsecurity/e3kit-node/package.json",
		"node_modules/@virgilsecurity/e3kit-node/node_modules/virgil-crypto/package.json",
	} {
		write(f, "{}")
	}
	if installed(dir, stamp) {
		t.Fatal("installed() without a stamp")
	}
	write("node_modules/"+stampName, stamp+"\n")
	if !installed(dir, stamp) {
		t.Fatal("not installed() with a matching stamp")
	}
	write("package-lock.json", `{"lockfileVersion":3,"changed":true}`)
	stamp2, err := installStamp(dir)
	if err != nil {
		t.Fatal(err)
	}
	if stamp2 == stamp || installed(dir, stamp2) {
		t.Fatal("a changed lockfile still counts as installed")
	}
}

// TestInstallLock checks that the install lock excludes a second holder.
func TestInstallLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), lockName)
	unlock, ok, err := tryLock(path)
	if err != nil || !ok {
		t.Fatalf("first tryLock: ok=%v err=%v", ok, err)
	}
	if _, ok, err := tryLock(path); err != nil || ok {
		t.Fatalf("second tryLock while held: ok=%v err=%v, want not ok", ok, err)
	}
	got := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		u, err := lockInstall(ctx, path, t.Logf)
		if err == nil {
			u()
		}
		got <- err
	}()
	unlock()
	if err := <-got; err != nil {
		t.Fatalf("lockInstall after release: %v", err)
	}
}

// TestInstallFailureReportsNpmOutput: a failing npm ci is reported with npm's
// own output (here: a lockfile out of sync with package.json, which npm
// rejects without touching the network).
func TestInstallFailureReportsNpmOutput(t *testing.T) {
	nodeWorker(t) // skip/require semantics
	_, npm, err := findNode()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name":"x","version":"1.0.0","dependencies":{"left-pad":"1.3.0"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "package-lock.json"), []byte(`{"name":"x","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{"":{"name":"x","version":"1.0.0"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	did, _, err := ensureNodeModules(ctx, dir, npm, t.Logf)
	if err == nil || did {
		t.Fatalf("npm ci of an out-of-sync lockfile: installed=%v err=%v, want a failure", did, err)
	}
	if msg := err.Error(); !strings.Contains(msg, "npm ci") || !strings.Contains(msg, "left-pad") {
		t.Errorf("failure message does not carry npm's output: %s", msg)
	}
}
