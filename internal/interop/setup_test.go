package interop

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// envInterop selects what happens when Node.js or npm is missing (see doc.go).
const envInterop = "E3GO_INTEROP"

const (
	stampName   = ".e3go-stamp"        // in node_modules: hash of the files npm ci installed from
	lockName    = ".e3go-install.lock" // in the node directory: cross-process install lock
	npmTimeout  = 10 * time.Minute
	lockTimeout = 15 * time.Minute // how long to wait for another process's install
)

// shared is the one worker of this test binary: started by the first test
// that needs it, closed by TestMain.
var shared struct {
	once          sync.Once
	mu            sync.Mutex // guards w
	w             *Worker
	node, nodeDir string
	skip          string        // non-empty: skip every interop test with this reason
	err           error         // set-up failure: fail every interop test with it
	setup         []string      // what the set-up did (install, start-up times)
	logged        sync.Once     // the set-up log goes to the first test's log
	took          time.Duration // total set-up time
}

func TestMain(m *testing.M) {
	code := m.Run()
	shared.mu.Lock()
	if shared.w != nil {
		shared.w.Close()
	}
	shared.mu.Unlock()
	backendBinary.Remove() // seed_test.go
	os.Exit(code)
}

// nodeWorker returns the shared Node worker, starting it (and installing the
// npm packages) on first use. Without Node.js or npm it skips tb, or fails it
// when E3GO_INTEROP=require. On failure of tb, what the worker wrote to
// stderr during tb is added to tb's log. A worker that has exited (after a
// WASM abort, see worker.js) is replaced by a fresh one.
func nodeWorker(tb testing.TB) *Worker {
	tb.Helper()
	shared.once.Do(setupShared)
	shared.logged.Do(func() {
		for _, l := range shared.setup {
			tb.Log(l)
		}
	})
	if shared.skip != "" {
		tb.Skip(shared.skip)
	}
	if shared.err != nil {
		tb.Fatal(shared.err)
	}
	shared.mu.Lock()
	if shared.w.Exited() {
		tb.Logf("interop: the shared node worker is gone (%v); starting a new one", shared.w.ExitErr())
		w, err := startWorker(shared.node, shared.nodeDir)
		if err != nil {
			shared.mu.Unlock()
			tb.Fatal(err)
		}
		shared.w = w
	}
	w := shared.w
	shared.mu.Unlock()
	mark := w.StderrMark()
	tb.Cleanup(func() {
		if tb.Failed() {
			if s := w.StderrSince(mark); s != "" {
				tb.Logf("node worker stderr during this test:\n%s", s)
			}
		}
	})
	return w
}

// mustCall is w.Call that fails tb on error.
func mustCall(tb testing.TB, w *Worker, op string, args, result any) {
	tb.Helper()
	if err := w.Call(context.Background(), op, args, result); err != nil {
		tb.Fatal(err)
	}
}

func setupShared() {
	start := time.Now()
	defer func() { shared.took = time.Since(start) }()
	logf := func(format string, a ...any) { shared.setup = append(shared.setup, fmt.Sprintf(format, a...)) }

	mode := os.Getenv(envInterop)
	switch mode {
	case "", "require":
	case "skip", "off":
		shared.skip = envInterop + "=" + mode + ": Node interop tests skipped"
		return
	default:
		shared.err = fmt.Errorf("interop: %s=%q: want unset, \"require\" or \"skip\"", envInterop, mode)
		return
	}
	node, npm, err := findNode()
	if err != nil {
		if mode == "require" {
			shared.err = fmt.Errorf("interop: %s=require but %v; install Node.js (>= 18) with npm, or unset %s to skip the Node interop suite", envInterop, err, envInterop)
		} else {
			shared.skip = fmt.Sprintf("interop: %v; skipping the Node interop suite (set %s=require to make this a failure)", err, envInterop)
		}
		return
	}
	nodeDir, err := filepath.Abs("node")
	if err != nil {
		shared.err = err
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), lockTimeout+npmTimeout)
	defer cancel()
	installed, took, err := ensureNodeModules(ctx, nodeDir, npm, logf)
	if err != nil {
		shared.err = err
		return
	}
	if installed {
		logf("interop: npm ci --no-audit --no-fund in %s took %v", nodeDir, took.Round(time.Millisecond))
	}
	t0 := time.Now()
	w, err := startWorker(node, nodeDir)
	if err != nil {
		shared.err = err
		return
	}
	shared.w, shared.node, shared.nodeDir = w, node, nodeDir
	logf("interop: node worker ready in %v (%v)", time.Since(t0).Round(time.Millisecond), w.Ready.Versions)
}

// findNode locates the node and npm executables.
func findNode() (node, npm string, err error) {
	node, err = exec.LookPath("node")
	if err != nil {
		return "", "", errors.New("node not found in PATH")
	}
	npm, err = exec.LookPath("npm")
	if err != nil {
		return "", "", errors.New("npm not found in PATH")
	}
	return node, npm, nil
}

// installStamp identifies what `npm ci` installs: a hash of package.json and
// package-lock.json.
func installStamp(nodeDir string) (string, error) {
	h := sha256.New()
	for _, f := range []string{"package.json", "package-lock.json"} {
		b, err := os.ReadFile(filepath.Join(nodeDir, f))
		if err != nil {
			return "", fmt.Errorf("interop: %v", err)
		}
		fmt.Fprintf(h, "%s %d\n", f, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// installed reports whether node_modules holds an install made from stamp.
func installed(nodeDir, stamp string) bool {
	got, err := os.ReadFile(filepath.Join(nodeDir, "node_modules", stampName))
	if err != nil || strings.TrimSpace(string(got)) != stamp {
		return false
	}
	for _, f := range []string{
		"node_modules/virgil-crypto/package.json",
		"node_modules/@virgilsecurity/e3kit-node/package.json",
		"node_modules/@virgilsecurity/e3kit-node/node_modules/virgil-crypto/package.json",
	} {
		if _, err := os.Stat(filepath.Join(nodeDir, filepath.FromSlash(f))); err != nil {
			return false
		}
	}
	return true
}

// ensureNodeModules runs `npm ci` in nodeDir unless node_modules is already
// installed from the current lockfile. Concurrent callers (several go test
// processes) serialise on a lock file; the second one finds the work done.
func ensureNodeModules(ctx context.Context, nodeDir, npm string, logf func(string, ...any)) (didInstall bool, took time.Duration, err error) {
	stamp, err := installStamp(nodeDir)
	if err != nil {
		return false, 0, err
	}
	if installed(nodeDir, stamp) {
		return false, 0, nil
	}
	unlock, err := lockInstall(ctx, filepath.Join(nodeDir, lockName), logf)
	if err != nil {
		return false, 0, err
	}
	defer unlock()
	if installed(nodeDir, stamp) {
		return false, 0, nil // another process installed while we waited
	}
	stampPath := filepath.Join(nodeDir, "node_modules", stampName)
	_ = os.Remove(stampPath)

	start := time.Now()
	npmCtx, cancel := context.WithTimeout(ctx, npmTimeout)
	defer cancel()
	cmd := exec.CommandContext(npmCtx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = nodeDir
	out, err := cmd.CombinedOutput()
	took = time.Since(start)
	if err != nil {
		return false, took, fmt.Errorf("interop: `npm ci --no-audit --no-fund` in %s failed after %v: %v\nnpm output:\n%s", nodeDir, took.Round(time.Millisecond), err, out)
	}
	tmp := stampPath + ".tmp"
	if err := os.WriteFile(tmp, []byte(stamp+"\n"), 0o644); err != nil {
		return false, took, fmt.Errorf("interop: writing install stamp: %v", err)
	}
	if err := os.Rename(tmp, stampPath); err != nil {
		return false, took, fmt.Errorf("interop: writing install stamp: %v", err)
	}
	if !installed(nodeDir, stamp) {
		return false, took, fmt.Errorf("interop: `npm ci` in %s succeeded but the pinned packages are missing\nnpm output:\n%s", nodeDir, out)
	}
	return true, took, nil
}

// lockInstall takes the cross-process install lock at path, waiting for
// another holder up to ctx's deadline. See lock_*_test.go.
func lockInstall(ctx context.Context, path string, logf func(string, ...any)) (unlock func(), err error) {
	start := time.Now()
	said := false
	for {
		unlock, ok, err := tryLock(path)
		if err != nil {
			return nil, fmt.Errorf("interop: install lock %s: %v", path, err)
		}
		if ok {
			if said {
				logf("interop: waited %v for another process's npm install", time.Since(start).Round(time.Millisecond))
			}
			return unlock, nil
		}
		said = true
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("interop: install lock %s still held by another process after %v", path, time.Since(start).Round(time.Second))
		case <-time.After(250 * time.Millisecond):
		}
	}
}
