package interop

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// e3kitOps runs the ops of one node/ops file that keeps e3kit sessions
// ("e3kit", "e3kit_client" or "e3kit_group") for one test.
type e3kitOps struct {
	t       *testing.T
	w       *Worker
	prefix  string
	handles []string
}

// start opens a session for identity with fresh storage (a new device):
// op "<prefix>.init" with args, plus the session's handle h and its
// directory dir; the answer goes to result. The session is closed (its
// storage with it) before its directory is removed. It returns the handle.
func (o *e3kitOps) start(identity string, args map[string]any, result any) string {
	o.t.Helper()
	h := fmt.Sprintf("%s/%s/%d", o.t.Name(), identity, len(o.handles))
	dir := o.t.TempDir()
	closeE3kitSession(o.t, o.w, o.prefix, h) // after TempDir: closed before the removal
	a := withHandle(h, args)
	a["dir"] = dir
	mustCall(o.t, o.w, o.prefix+".init", a, result)
	o.handles = append(o.handles, h)
	return h
}

// closeE3kitSession registers the close of session h (op "<prefix>.close")
// as a cleanup of tb. Register it after the t.TempDir holding the session's
// storage: cleanups run last-registered first, so e3kit closes its LevelDB
// before the directory is removed (removing it under an open in progress
// once crashed the shared worker).
func closeE3kitSession(tb testing.TB, w *Worker, prefix, h string) {
	tb.Cleanup(func() {
		if err := w.Call(context.Background(), prefix+".close", map[string]string{"h": h}, nil); err != nil && !tb.Failed() {
			tb.Errorf("closing e3kit session %s: %v", h, err)
		}
	})
}

// withHandle is args with "h": h added.
func withHandle(h string, args map[string]any) map[string]any {
	a := map[string]any{"h": h}
	for k, v := range args {
		a[k] = v
	}
	return a
}

// call runs op "<prefix>.<op>" for session h.
func (o *e3kitOps) call(op, h string, args map[string]any, result any) error {
	return o.w.Call(context.Background(), o.prefix+"."+op, withHandle(h, args), result)
}

// must runs op and fails the test if it fails.
func (o *e3kitOps) must(op, h string, args map[string]any, result any) {
	o.t.Helper()
	if err := o.call(op, h, args, result); err != nil {
		o.t.Fatalf("%s.%s: %v", o.prefix, op, err)
	}
}

// mustFail runs op and checks that e3kit threw an error named name.
func (o *e3kitOps) mustFail(op, h string, args map[string]any, name string) {
	o.t.Helper()
	err := o.call(op, h, args, nil)
	var ne *NodeError
	if !errors.As(err, &ne) || ne.Name != name {
		o.t.Fatalf("%s.%s: got %v, want e3kit's %s", o.prefix, op, err, name)
	}
}
