package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"time"
)

// defaultCallTimeout bounds a Call whose context has no deadline.
const defaultCallTimeout = 2 * time.Minute

// readyTimeout bounds the worker's start-up (loading and initialising both
// virgil-crypto WASM builds).
const readyTimeout = 90 * time.Second

// Worker is a running node/worker.js process. Calls may be made from any
// goroutine; the worker runs them concurrently and answers by id.
type Worker struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *tailBuffer

	wmu sync.Mutex // serialises request lines on stdin

	mu      sync.Mutex
	nextID  uint64
	pending map[uint64]chan workerReply
	exitErr error         // why the worker is gone; set before done is closed
	done    chan struct{} // closed once the worker's stdout has ended and it has exited

	// Ready is what the worker reported once initialised.
	Ready ReadyInfo
}

// ReadyInfo is the worker's start-up report.
type ReadyInfo struct {
	Ready    bool              `json:"ready"`
	Versions map[string]string `json:"versions"`
	Ops      []string          `json:"ops"`
}

// NodeError is an error thrown by a Node op.
type NodeError struct {
	Op      string // the op that failed, e.g. "crypto.decrypt"
	Name    string // the JS error's name, e.g. "FoundationError", "VirgilCryptoError"
	Message string // the JS error's message
	Status  string // the JS error's status property, if any (VirgilCryptoError: "SIGNER_NOT_FOUND", ...)
}

func (e *NodeError) Error() string {
	s := fmt.Sprintf("interop: node op %s: %s: %s", e.Op, e.Name, e.Message)
	if e.Status != "" {
		s += " (status " + e.Status + ")"
	}
	return s
}

type workerRequest struct {
	ID   uint64 `json:"id"`
	Op   string `json:"op"`
	Args any    `json:"args"`
}

type workerReply struct {
	ID     uint64          `json:"id"`
	OK     bool            `json:"ok"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Name    string `json:"name"`
		Message string `json:"message"`
		Status  string `json:"status"`
	} `json:"error"`
}

// startWorker starts `node worker.js` in nodeDir and waits for its ready line.
func startWorker(node, nodeDir string) (*Worker, error) {
	w := &Worker{
		stderr:  newTailBuffer(1 << 20),
		pending: make(map[uint64]chan workerReply),
		done:    make(chan struct{}),
	}
	cmd := exec.Command(node, "worker.js")
	cmd.Dir = nodeDir
	cmd.Stderr = w.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("interop: node worker stdin: %v", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("interop: node worker stdout: %v", err)
	}
	w.cmd, w.stdin = cmd, stdin

	ready := make(chan workerReply, 1)
	w.pending[0] = ready
	w.nextID = 1
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("interop: starting %s worker.js: %v", node, err)
	}
	go w.readLoop(stdout)

	timer := time.NewTimer(readyTimeout)
	defer timer.Stop()
	select {
	case r := <-ready:
		if !r.OK {
			w.Close()
			return nil, fmt.Errorf("interop: node worker failed to start: %v\nworker stderr:\n%s", replyError("worker.start", r), w.stderr.Since(0))
		}
		if err := json.Unmarshal(r.Result, &w.Ready); err != nil || !w.Ready.Ready {
			w.Close()
			return nil, fmt.Errorf("interop: node worker sent a bad ready line %q (%v)", r.Result, err)
		}
		return w, nil
	case <-w.done:
		return nil, fmt.Errorf("interop: node worker exited during start-up: %v", w.exitErr)
	case <-timer.C:
		w.Close()
		return nil, fmt.Errorf("interop: node worker not ready after %v\nworker stderr:\n%s", readyTimeout, w.stderr.Since(0))
	}
}

func (w *Worker) readLoop(stdout io.Reader) {
	br := bufio.NewReaderSize(stdout, 1<<20)
	var readErr error
	for {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var r workerReply
			if jerr := json.Unmarshal(line, &r); jerr != nil {
				readErr = fmt.Errorf("unparsable line on the worker's stdout (%v): %.200q", jerr, line)
				break
			}
			w.mu.Lock()
			ch := w.pending[r.ID]
			delete(w.pending, r.ID)
			w.mu.Unlock()
			if ch != nil {
				ch <- r
			}
		}
		if err != nil {
			break
		}
	}
	if readErr != nil {
		_ = w.cmd.Process.Kill()
	}
	waitErr := w.cmd.Wait()
	w.mu.Lock()
	switch {
	case readErr != nil:
		w.exitErr = fmt.Errorf("protocol error: %v; exit: %v; stderr tail:\n%s", readErr, waitErr, w.stderr.Tail(4096))
	case waitErr != nil:
		w.exitErr = fmt.Errorf("node worker exited: %v; stderr tail:\n%s", waitErr, w.stderr.Tail(4096))
	default:
		w.exitErr = errors.New("node worker exited")
	}
	w.pending = nil
	w.mu.Unlock()
	close(w.done)
}

// Call runs op in the worker with args (marshalled to JSON; []byte fields
// travel as base64) and unmarshals its result into result (if non-nil).
// A failing op returns a *NodeError. Without a deadline on ctx the call is
// bounded by defaultCallTimeout.
func (w *Worker) Call(ctx context.Context, op string, args, result any) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultCallTimeout)
		defer cancel()
	}
	if args == nil {
		args = struct{}{}
	}
	ch := make(chan workerReply, 1)
	w.mu.Lock()
	if w.pending == nil {
		err := w.exitErr
		w.mu.Unlock()
		return fmt.Errorf("interop: node op %s: %v", op, err)
	}
	id := w.nextID
	w.nextID++
	w.pending[id] = ch
	w.mu.Unlock()
	forget := func() {
		w.mu.Lock()
		if w.pending != nil {
			delete(w.pending, id)
		}
		w.mu.Unlock()
	}

	line, err := json.Marshal(workerRequest{ID: id, Op: op, Args: args})
	if err != nil {
		forget()
		return fmt.Errorf("interop: node op %s: marshalling args: %v", op, err)
	}
	line = append(line, '\n')
	w.wmu.Lock()
	_, err = w.stdin.Write(line)
	w.wmu.Unlock()
	if err != nil {
		forget()
		select {
		case <-w.done:
			return fmt.Errorf("interop: node op %s: %v", op, w.exitErr)
		case <-time.After(time.Second):
			return fmt.Errorf("interop: node op %s: writing request: %v", op, err)
		}
	}

	handle := func(r workerReply) error {
		if !r.OK {
			return replyError(op, r)
		}
		if result != nil {
			if err := json.Unmarshal(r.Result, result); err != nil {
				return fmt.Errorf("interop: node op %s: decoding result into %T: %v", op, result, err)
			}
		}
		return nil
	}
	select {
	case r := <-ch:
		return handle(r)
	case <-w.done:
		select {
		case r := <-ch: // answered just before exiting
			return handle(r)
		default:
		}
		return fmt.Errorf("interop: node op %s: %v", op, w.exitErr)
	case <-ctx.Done():
		forget()
		return fmt.Errorf("interop: node op %s: %w", op, ctx.Err())
	}
}

func replyError(op string, r workerReply) error {
	if r.Error == nil {
		return &NodeError{Op: op, Name: "Error", Message: "worker answered ok=false without an error"}
	}
	return &NodeError{Op: op, Name: r.Error.Name, Message: r.Error.Message, Status: r.Error.Status}
}

// Exited reports whether the worker process has ended.
func (w *Worker) Exited() bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

// ExitErr says why the worker ended (nil while it runs).
func (w *Worker) ExitErr() error {
	if !w.Exited() {
		return nil
	}
	return w.exitErr
}

// StderrMark returns a position in the worker's stderr, for StderrSince.
func (w *Worker) StderrMark() int64 { return w.stderr.Mark() }

// StderrSince returns what the worker wrote to stderr since mark.
func (w *Worker) StderrSince(mark int64) string { return w.stderr.Since(mark) }

// Close ends the worker: it closes its stdin (the worker exits once its
// in-flight ops are done) and kills it if it has not exited within 10s.
func (w *Worker) Close() error {
	w.wmu.Lock()
	_ = w.stdin.Close()
	w.wmu.Unlock()
	select {
	case <-w.done:
	case <-time.After(10 * time.Second):
		_ = w.cmd.Process.Kill()
		<-w.done
	}
	return nil
}

// tailBuffer is an io.Writer keeping the last max bytes written to it and the
// running total, so that callers can ask what was written since a mark.
type tailBuffer struct {
	mu    sync.Mutex
	max   int
	buf   []byte
	total int64 // bytes ever written; buf holds bytes [total-len(buf), total)
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	b.total += int64(len(p))
	return len(p), nil
}

func (b *tailBuffer) Mark() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.total
}

func (b *tailBuffer) Since(mark int64) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	start := b.total - int64(len(b.buf))
	if mark < start {
		return fmt.Sprintf("[... %d bytes dropped]\n%s", start-mark, b.buf)
	}
	return string(b.buf[mark-start:])
}

func (b *tailBuffer) Tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.buf) > n {
		return "[...]\n" + string(b.buf[len(b.buf)-n:])
	}
	return string(b.buf)
}
