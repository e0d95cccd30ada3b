// Package testprog builds this module's commands and runs them as a user
// would, for the tests of examples/backend, examples/bot,
// examples/quickstart and internal/interop: go build into a temporary
// directory, an environment cleared of the variables a command reads, and a
// running process whose standard streams are kept for the test to read.
//
// It is test support only: it fails the testing.TB it is given rather than
// returning errors, and nothing outside tests imports it.
package testprog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Binary is a command built once per test binary. Declare it as a package
// variable, and remove it after the tests with Main (or Remove in a TestMain
// of your own).
type Binary struct {
	// Pkg is the package to build, as go build takes it: "." for the
	// package under test, or an import path.
	Pkg string
	// Name is the file name of the binary (".exe" is added on Windows);
	// errors name the command by it.
	Name string

	once sync.Once
	dir  string
	path string
	err  error
}

// Path builds the binary on first use and returns its path. A failed build
// fails tb, and every later caller.
func (b *Binary) Path(tb testing.TB) string {
	tb.Helper()
	b.once.Do(b.build)
	if b.err != nil {
		tb.Fatal(b.err)
	}
	return b.path
}

func (b *Binary) build() {
	goBin, err := exec.LookPath("go")
	if err != nil {
		b.err = fmt.Errorf("the go command is needed to build the %s: %w", b.Name, err)
		return
	}
	if b.dir, b.err = os.MkdirTemp("", "e3go-"+b.Name+"-test-"); b.err != nil {
		return
	}
	b.path = filepath.Join(b.dir, b.Name)
	if runtime.GOOS == "windows" {
		b.path += ".exe"
	}
	out, err := exec.Command(goBin, "build", "-o", b.path, b.Pkg).CombinedOutput()
	if err != nil {
		b.err = fmt.Errorf("go build %s: %v\n%s", b.Pkg, err, out)
	}
}

// Remove deletes the built binary and its directory, if Path built one.
func (b *Binary) Remove() {
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
}

// Main runs the tests of m, removes bins and exits with the tests' status:
// the whole TestMain of a package whose tests build commands.
func Main(m *testing.M, bins ...*Binary) {
	code := m.Run()
	for _, b := range bins {
		b.Remove()
	}
	os.Exit(code)
}

// Env returns the environment of this process without the variables drop
// names, then extra. An entry of drop that ends in "_" drops every variable
// with that prefix ("STREAM_"); any other entry drops the variable of that
// exact name. Tests use it so that a developer's real credentials never
// reach a test run.
func Env(drop []string, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !dropped(name, drop) {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

func dropped(name string, drop []string) bool {
	for _, d := range drop {
		if name == d || strings.HasSuffix(d, "_") && strings.HasPrefix(name, d) {
			return true
		}
	}
	return false
}

// Buffer is a bytes.Buffer that a process may write while a test reads it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p to the buffer.
func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns what has been written so far.
func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Process is a running command that has announced that it is listening.
type Process struct {
	Cmd    *exec.Cmd
	Stdout *Buffer // the standard output so far
	Stderr *Buffer // the standard error so far, by whole lines
	// Listening is the log record that announced the process: the first
	// line of its standard error that is a JSON object with "msg":"listening".
	Listening map[string]any

	name   string
	exited chan struct{}
	err    error
}

// Start starts cmd (whose Stdout and Stderr it sets) and waits up to a
// minute for its "listening" log record. It fails tb if the command exits
// first or does not announce itself in time. The process is killed when tb
// ends, unless it has exited.
func Start(tb testing.TB, cmd *exec.Cmd) *Process {
	tb.Helper()
	p := &Process{
		Cmd:    cmd,
		Stdout: &Buffer{},
		Stderr: &Buffer{},
		name:   strings.TrimSuffix(filepath.Base(cmd.Path), ".exe"),
		exited: make(chan struct{}),
	}
	cmd.Stdout = p.Stdout
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	ready := make(chan map[string]any, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Bytes()
			p.Stderr.Write(append(line, '\n'))
			var rec map[string]any
			if json.Unmarshal(line, &rec) == nil && rec["msg"] == "listening" {
				select {
				case ready <- rec:
				default:
				}
			}
		}
		io.Copy(io.Discard, pr)
	}()
	go func() {
		p.err = cmd.Wait()
		pw.Close()
		<-scanned // every line is in p.Stderr
		close(p.exited)
	}()
	tb.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			cmd.Process.Kill()
			<-p.exited
		}
	})
	select {
	case p.Listening = <-ready:
	case <-p.exited:
		tb.Fatalf("the %s exited before listening (%v):\n%s", p.name, p.err, p.Stderr)
	case <-time.After(time.Minute):
		tb.Fatalf("the %s did not announce its address:\n%s", p.name, p.Stderr)
	}
	return p
}

// Interrupt asks the process to stop, with SIGINT (on Windows, which has
// none, it kills the process).
func (p *Process) Interrupt(tb testing.TB) {
	tb.Helper()
	if runtime.GOOS == "windows" {
		p.Cmd.Process.Kill()
		return
	}
	if err := p.Cmd.Process.Signal(os.Interrupt); err != nil {
		tb.Fatal(err)
	}
}

// Wait waits up to 30 seconds for the process to exit and returns its exit
// code; it fails tb if the process is still running.
func (p *Process) Wait(tb testing.TB) int {
	tb.Helper()
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		tb.Fatalf("the %s did not exit:\n%s", p.name, p.Stderr)
	}
	return p.Cmd.ProcessState.ExitCode()
}
