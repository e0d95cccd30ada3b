package keyringtest_test

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/e3go/e3go/keyring"
	"github.com/e3go/e3go/keyring/keyringtest"
)

func TestMemory(t *testing.T) {
	keyringtest.TestStore(t, func(*testing.T) keyring.Store { return keyring.NewMemory() })
}

// A mutant is a Store with one deliberate contract violation; the suite
// must notice each one (TestSuiteCatchesMutants).
var mutants = map[string]struct {
	wrap func(keyring.Store) keyring.Store
	// failing names a subtest that must fail.
	failing string
}{
	"overwrite":   {func(s keyring.Store) keyring.Store { return overwrite{s} }, "SaveExisting"},
	"unsorted":    {func(s keyring.Store) keyring.Store { return unsorted{s} }, "List"},
	"ignorectx":   {func(s keyring.Store) keyring.Store { return ignoreCtx{s} }, "Context"},
	"aliasing":    {func(s keyring.Store) keyring.Store { return &aliasing{Store: s} }, "Copies"},
	"permissive":  {func(s keyring.Store) keyring.Store { return permissive{s} }, "InvalidNames"},
	"foldcase":    {func(s keyring.Store) keyring.Store { return foldCase{s} }, "ValidNames"},
	"racysave":    {func(s keyring.Store) keyring.Store { return racySave{s} }, "Concurrent"},
	"dropmeta":    {func(s keyring.Store) keyring.Store { return dropMeta{s} }, "RoundTrip"},
	"resetcreate": {func(s keyring.Store) keyring.Store { return resetCreated{s} }, "Put"},
}

// TestMutant runs the suite against the mutant named by
// KEYRINGTEST_MUTANT; it is only meaningful inside
// TestSuiteCatchesMutants, which expects it to fail.
func TestMutant(t *testing.T) {
	m, ok := mutants[os.Getenv("KEYRINGTEST_MUTANT")]
	if !ok {
		t.Skip("run by TestSuiteCatchesMutants")
	}
	keyringtest.TestStore(t, func(*testing.T) keyring.Store { return m.wrap(keyring.NewMemory()) })
}

func TestSuiteCatchesMutants(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	for name, m := range mutants {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestMutant$", "-test.v")
			cmd.Env = append(os.Environ(), "KEYRINGTEST_MUTANT="+name)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a store that violates the contract:\n%s", out)
			}
			if !strings.Contains(string(out), "--- FAIL: TestMutant/"+m.failing+" ") {
				t.Errorf("subtest %s did not fail:\n%s", m.failing, out)
			}
		})
	}
}

type overwrite struct{ keyring.Store }

func (s overwrite) Save(ctx context.Context, n string, d []byte, md map[string]string) error {
	return s.Put(ctx, n, d, md)
}

type unsorted struct{ keyring.Store }

func (s unsorted) List(ctx context.Context) ([]keyring.Info, error) {
	infos, err := s.Store.List(ctx)
	slices.Reverse(infos)
	return infos, err
}

type ignoreCtx struct{ keyring.Store }

func (s ignoreCtx) Save(_ context.Context, n string, d []byte, md map[string]string) error {
	return s.Store.Save(context.Background(), n, d, md)
}

// aliasing hands out the same *Entry on every Load of a name.
type aliasing struct {
	keyring.Store
	mu    sync.Mutex
	cache map[string]*keyring.Entry
}

func (s *aliasing) Load(ctx context.Context, n string) (*keyring.Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.cache[n]; ok {
		return e, nil
	}
	e, err := s.Store.Load(ctx, n)
	if err == nil {
		if s.cache == nil {
			s.cache = map[string]*keyring.Entry{}
		}
		s.cache[n] = e
	}
	return e, err
}

// permissive maps names it should reject onto a valid one.
type permissive struct{ keyring.Store }

func (s permissive) Save(ctx context.Context, n string, d []byte, md map[string]string) error {
	if keyring.ValidateName(n) != nil {
		n = "x" + strings.Map(func(r rune) rune {
			if r > 0x20 && r < 0x7f {
				return r
			}
			return '_'
		}, n)
		if len(n) > keyring.MaxNameLen {
			n = n[:keyring.MaxNameLen]
		}
	}
	return s.Store.Save(ctx, n, d, md)
}

// foldCase stores names case-insensitively, as a naive file store on macOS
// or Windows would.
type foldCase struct{ keyring.Store }

func (s foldCase) Save(ctx context.Context, n string, d []byte, md map[string]string) error {
	return s.Store.Save(ctx, strings.ToLower(n), d, md)
}

func (s foldCase) Load(ctx context.Context, n string) (*keyring.Entry, error) {
	e, err := s.Store.Load(ctx, strings.ToLower(n))
	if e != nil {
		e.Name = n
	}
	return e, err
}

// racySave checks for existence and then stores, without holding a lock
// across the two.
type racySave struct{ keyring.Store }

func (s racySave) Save(ctx context.Context, n string, d []byte, md map[string]string) error {
	if _, err := s.Store.Load(ctx, n); err == nil {
		return keyring.ErrExists
	}
	time.Sleep(20 * time.Millisecond) // widen the window
	return s.Store.Put(ctx, n, d, md)
}

type dropMeta struct{ keyring.Store }

func (s dropMeta) Load(ctx context.Context, n string) (*keyring.Entry, error) {
	e, err := s.Store.Load(ctx, n)
	if e != nil {
		delete(e.Metadata, "unicode")
	}
	return e, err
}

// resetCreated implements Put as Delete then Save.
type resetCreated struct{ keyring.Store }

func (s resetCreated) Put(ctx context.Context, n string, d []byte, md map[string]string) error {
	s.Store.Delete(ctx, n)
	return s.Store.Save(ctx, n, d, md)
}
