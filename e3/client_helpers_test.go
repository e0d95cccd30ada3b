package e3_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/e3go/e3go/e3"
	"github.com/e3go/e3go/e3/e3test"
	"github.com/e3go/e3go/keyring"
)

// Test helpers for the Client tests, which all run on an e3test server.

func newServer(t testing.TB) *e3test.Server {
	t.Helper()
	srv := e3test.NewServer()
	t.Cleanup(srv.Close)
	return srv
}

// auditLog records audit events.
type auditLog struct {
	mu     sync.Mutex
	events []e3.AuditEvent
}

func (a *auditLog) Audit(_ context.Context, e e3.AuditEvent) {
	a.mu.Lock()
	a.events = append(a.events, e)
	a.mu.Unlock()
}

func (a *auditLog) all() []e3.AuditEvent {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]e3.AuditEvent(nil), a.events...)
}

// of returns the events of type typ.
func (a *auditLog) of(typ e3.AuditEventType) []e3.AuditEvent {
	var out []e3.AuditEvent
	for _, e := range a.all() {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// last returns the last event of type typ, failing the test if there is
// none.
func (a *auditLog) last(t testing.TB, typ e3.AuditEventType) e3.AuditEvent {
	t.Helper()
	evs := a.of(typ)
	if len(evs) == 0 {
		t.Fatalf("no %q audit event; have %v", typ, a.all())
	}
	return evs[len(evs)-1]
}

// device is one Client with its keyring and audit log.
type device struct {
	*e3.Client
	ring  keyring.Store
	audit *auditLog
	cfg   e3.Config
}

// newDevice returns a Client for identity on srv with a fresh memory
// keyring (a new "device"); mods adjust the configuration first.
func newDevice(t testing.TB, srv *e3test.Server, identity string, mods ...func(*e3.Config)) *device {
	t.Helper()
	cfg := srv.ClientConfig(identity)
	al := &auditLog{}
	cfg.Audit = al
	cfg.BrainKeyRetryDelay = -1
	for _, m := range mods {
		m(&cfg)
	}
	c, err := e3.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New(%s): %v", identity, err)
	}
	return &device{Client: c, ring: cfg.Keyring, audit: al, cfg: cfg}
}

// registered returns a registered device for identity.
func registered(t testing.TB, srv *e3test.Server, identity string, mods ...func(*e3.Config)) *device {
	t.Helper()
	d := newDevice(t, srv, identity, mods...)
	if err := d.Register(context.Background()); err != nil {
		t.Fatalf("Register(%s): %v", identity, err)
	}
	return d
}

// privateKey reads the device's private key from its keyring.
func (d *device) privateKey(t testing.TB) *e3.PrivateKey {
	t.Helper()
	e, err := d.ring.Load(context.Background(), keyringName(d.Identity()))
	if err != nil {
		t.Fatalf("keyring: %v", err)
	}
	der, err := base64.StdEncoding.DecodeString(string(e.Data))
	if err != nil {
		t.Fatalf("keyring entry is not base64: %v", err)
	}
	k, err := e3.ParsePrivateKey(der)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// keyringName mirrors the Client's entry name for identities without
// spaces or percent signs.
func keyringName(identity string) string { return identity }

// entryNames lists the keyring's entry names.
func (d *device) entryNames(t testing.TB) []string {
	t.Helper()
	infos, err := d.ring.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, i := range infos {
		names = append(names, i.Name)
	}
	return names
}

func mustFind(t testing.TB, d *device, identity string) *e3.Card {
	t.Helper()
	c, err := d.FindUser(context.Background(), identity)
	if err != nil {
		t.Fatalf("%s: FindUser(%s): %v", d.Identity(), identity, err)
	}
	return c
}

// requestsSince returns "METHOD path" of the server's requests after the
// first n.
func requestsSince(srv *e3test.Server, n int) []string {
	var out []string
	for _, r := range srv.Requests()[n:] {
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}

func checkSequence(t testing.TB, what string, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s sent\n  %s\nwant\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// activeCards returns the identity's cards on the server that are neither
// superseded nor revoked.
func activeCards(srv *e3test.Server, identity string) []e3test.CardRecord {
	var out []e3test.CardRecord
	for _, c := range srv.Cards(identity) {
		if !c.Outdated() {
			out = append(out, c)
		}
	}
	return out
}

// rawCall sends one request to srv with identity's token and returns the
// status, the Virgil-Keyknox-Hash header and the body.
func rawCall(t testing.TB, srv *e3test.Server, identity, method, path string, body any, prevHash string) (int, string, []byte) {
	t.Helper()
	tok, err := srv.JWTGenerator().Generate(identity)
	if err != nil {
		t.Fatal(err)
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Virgil "+tok)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if prevHash != "" {
		req.Header.Set("Virgil-Keyknox-Previous-Hash", prevHash)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Virgil-Keyknox-Hash"), b
}

// publishRaw publishes a card for a fresh key of identity behind the
// Client's back, as another device (or a racing register) would.
func publishRaw(t testing.TB, srv *e3test.Server, identity string) *e3.PrivateKey {
	t.Helper()
	k, err := e3.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	card, err := e3.NewCard(e3.CardParams{Identity: identity, PrivateKey: k})
	if err != nil {
		t.Fatal(err)
	}
	var model json.RawMessage
	if model, err = card.MarshalJSON(); err != nil {
		t.Fatal(err)
	}
	if st, _, b := rawCall(t, srv, identity, http.MethodPost, "/card/v5", model, ""); st != http.StatusOK {
		t.Fatalf("publishing a raw card: %d %s", st, b)
	}
	return k
}

// faultTransport makes requests matching match fail on the client side:
// mode "500" answers 500 without sending, "400" answers 400 with a Virgil
// error body without sending, "lost" sends the request and then drops the
// answer, "lost-until-done" sends it and then waits for the request's
// context to end. Each matching request consumes one of times.
type faultTransport struct {
	base  http.RoundTripper
	match func(*http.Request) bool
	mode  string
	times atomic.Int32
	hits  atomic.Int32
}

func (f *faultTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if !f.match(r) || f.times.Add(-1) < 0 {
		return f.base.RoundTrip(r)
	}
	f.hits.Add(1)
	switch f.mode {
	case "500", "400":
		status := 500
		body := "internal error"
		if f.mode == "400" {
			status, body = 400, `{"code":40000,"message":"injected rejection"}`
		}
		if r.Body != nil {
			r.Body.Close()
		}
		return &http.Response{StatusCode: status, Status: fmt.Sprint(status), Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
	case "lost":
		res, err := f.base.RoundTrip(r)
		if err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
		return nil, errors.New("connection reset by peer (injected: the answer was lost)")
	case "lost-until-done":
		res, err := f.base.RoundTrip(r)
		if err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
		<-r.Context().Done()
		return nil, r.Context().Err()
	}
	panic("bad fault mode " + f.mode)
}

// withTransport puts the RoundTripper wrap makes, around the transport
// cfg's HTTP client had (http.DefaultTransport if none), on a copy of that
// client.
func withTransport(wrap func(base http.RoundTripper) http.RoundTripper) func(*e3.Config) {
	return func(cfg *e3.Config) {
		hc := *cfg.HTTPClient
		base := hc.Transport
		if base == nil {
			base = http.DefaultTransport
		}
		hc.Transport = wrap(base)
		cfg.HTTPClient = &hc
	}
}

// withFault installs a faultTransport on cfg's HTTP client.
func withFault(f *faultTransport) func(*e3.Config) {
	return withTransport(func(base http.RoundTripper) http.RoundTripper {
		f.base = base
		return f
	})
}

// isPublish matches the card publish request (not search or revoke).
func isPublish(r *http.Request) bool {
	return r.Method == http.MethodPost && r.URL.Path == "/card/v5"
}

// settableClock is a Config.Now that tests move.
type settableClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *settableClock { return &settableClock{t: time.Now()} }

func (c *settableClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *settableClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func encodeB64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
