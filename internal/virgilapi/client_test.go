package virgilapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/e3go/e3go/internal/pythia"
)

// fakeToken is a token whose payload has exp; the signature is junk (this
// layer never checks it).
func fakeToken(n int, exp int64) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"VEDS512"}`)) + "." +
		enc.EncodeToString([]byte(fmt.Sprintf(`{"sub":"identity-u%d","exp":%d}`, n, exp))) + ".c2ln"
}

// counter is a token provider that hands out a new token on every call.
type counter struct {
	n   atomic.Int32
	exp func() int64
}

func (c *counter) Token(ctx context.Context) (string, error) {
	n := c.n.Add(1)
	exp := time.Now().Add(time.Hour).Unix()
	if c.exp != nil {
		exp = c.exp()
	}
	return fakeToken(int(n), exp), nil
}

type recorded struct {
	method, path, auth, agent, ctype, prevHash, body string
}

// fake is a scripted server: handler answers, every request is recorded.
type fake struct {
	t       *testing.T
	mu      sync.Mutex
	reqs    []recorded
	handler func(w http.ResponseWriter, r *http.Request, body []byte)
	srv     *httptest.Server
}

func newFake(t *testing.T, h func(w http.ResponseWriter, r *http.Request, body []byte)) *fake {
	f := &fake{t: t, handler: h}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, recorded{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Virgil-Agent"),
			r.Header.Get("Content-Type"), r.Header.Get("Virgil-Keyknox-Previous-Hash"), string(b)})
		f.mu.Unlock()
		f.handler(w, r, b)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.reqs...)
}

func (f *fake) client(t *testing.T, tp TokenProvider, mod ...func(*Config)) *Client {
	cfg := Config{BaseURL: f.srv.URL + "/", Tokens: tp, ThrottleRetryDelay: -1}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func jsonAnswer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func TestHeadersAndBaseURL(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ []byte) { jsonAnswer(w, 200, []any{}) })
	tp := &counter{}
	c := f.client(t, tp, func(cfg *Config) { cfg.BaseURL = f.srv.URL + "/prefix/" })
	if _, err := c.SearchCards(context.Background(), []string{"alice"}); err != nil {
		t.Fatal(err)
	}
	r := f.requests()[0]
	if r.method != "POST" || r.path != "/prefix/card/v5/actions/search" || r.body != `{"identities":["alice"]}` {
		t.Errorf("request %+v", r)
	}
	if !strings.HasPrefix(r.auth, "Virgil ey") || strings.Count(r.auth, ".") != 2 {
		t.Errorf("Authorization %q", r.auth)
	}
	if want := "e3go;go;" + runtime.GOOS + ";"; !strings.HasPrefix(r.agent, want) || r.agent == want {
		t.Errorf("Virgil-Agent %q", r.agent)
	}
	if r.ctype != "application/json" {
		t.Errorf("Content-Type %q", r.ctype)
	}
	if _, err := New(Config{Tokens: tp, BaseURL: "ftp://x"}); err == nil {
		t.Error("ftp base URL accepted")
	}
	if _, err := New(Config{}); err == nil {
		t.Error("no token provider accepted")
	}
	d, _ := New(Config{Tokens: tp})
	if d.BaseURL() != DefaultBaseURL {
		t.Errorf("default base %q", d.BaseURL())
	}
}

func TestErrors(t *testing.T) {
	var status int
	var body string
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.WriteHeader(status)
		io.WriteString(w, body)
	})
	c := f.client(t, &counter{})
	wrapped := f.client(t, &counter{}, func(cfg *Config) {
		cfg.WrapError = func(e *Error) error { return fmt.Errorf("public %d/%d", e.StatusCode, e.Code) }
	})
	for _, tc := range []struct {
		status   int
		body     string
		wantCode int
		wantMsg  string
	}{
		{400, `{"code":40000,"message":"JSON is invalid"}`, 40000, "JSON is invalid"},
		{404, `{"code":10001,"message":"Requested card entity not found."}`, CodeNotFound, "Requested card entity not found."},
		{409, `{"code":"50010","message":"x"}`, 50010, "x"},
		{400, `not json`, 0, "Bad Request"},
		{500, ``, 0, "Internal Server Error"},
		{503, `{"code":10000}`, 10000, "Service Unavailable"},
		{400, `{"code":1,"message":"bad\u0000\nline\u001b[31m"}`, 1, "badline[31m"},
		{400, `{"code":1,"message":"` + strings.Repeat("é", 600) + `"}`, 1, strings.Repeat("é", 256) + "…"},
	} {
		status, body = tc.status, tc.body
		_, err := c.KeyknoxPullV1(context.Background())
		var e *Error
		if !errors.As(err, &e) || e.StatusCode != tc.status || e.Code != tc.wantCode || e.Message != tc.wantMsg || e.Path != "/keyknox/v1" {
			t.Errorf("%d %q: got %#v", tc.status, tc.body, err)
			continue
		}
		if CodeOf(err) != tc.wantCode {
			t.Errorf("CodeOf = %d", CodeOf(err))
		}
		_, err = wrapped.KeyknoxPullV1(context.Background())
		if want := fmt.Sprintf("public %d/%d", tc.status, tc.wantCode); err == nil || err.Error() != want || errors.Unwrap(err) == nil || CodeOf(err) != tc.wantCode {
			t.Errorf("wrapped: %v, want %q", err, want)
		}
	}
}

func TestExpiredTokenRetriedOnce(t *testing.T) {
	var fail atomic.Int32
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		if fail.Add(-1) >= 0 {
			jsonAnswer(w, 401, map[string]any{"code": CodeTokenExpired, "message": "The Virgil access token has expired"})
			return
		}
		jsonAnswer(w, 200, []any{})
	})
	tp := &counter{}
	c := f.client(t, tp)
	ctx := context.Background()

	fail.Store(1)
	if _, err := c.SearchCards(ctx, []string{"a"}); err != nil {
		t.Fatalf("one 20304 then success: %v", err)
	}
	reqs := f.requests()
	if len(reqs) != 2 || reqs[0].auth == reqs[1].auth || tp.n.Load() != 2 {
		t.Fatalf("want two requests with two different tokens, got %d requests, %d tokens", len(reqs), tp.n.Load())
	}
	// The fresh token is cached.
	if _, err := c.SearchCards(ctx, []string{"a"}); err != nil || tp.n.Load() != 2 {
		t.Fatalf("cached token not reused: %v, %d tokens", err, tp.n.Load())
	}
	// Two 20304 in a row: the second is returned, no third request.
	fail.Store(2)
	before := len(f.requests())
	_, err := c.SearchCards(ctx, []string{"a"})
	if CodeOf(err) != CodeTokenExpired || len(f.requests())-before != 2 {
		t.Fatalf("two 20304: %v after %d requests", err, len(f.requests())-before)
	}
	// Other 401s are not retried.
	f.handler = func(w http.ResponseWriter, r *http.Request, _ []byte) {
		jsonAnswer(w, 401, map[string]any{"code": 20300, "message": "invalid"})
	}
	before = len(f.requests())
	if _, err := c.SearchCards(ctx, []string{"a"}); CodeOf(err) != 20300 || len(f.requests())-before != 1 {
		t.Fatalf("20300: %v after %d requests", err, len(f.requests())-before)
	}
	// Nor are 5xx.
	f.handler = func(w http.ResponseWriter, r *http.Request, _ []byte) { w.WriteHeader(502) }
	before = len(f.requests())
	if _, err := c.KeyknoxPushV1(ctx, []byte{1}, []byte{2}, ""); err == nil || len(f.requests())-before != 1 {
		t.Fatalf("502: %v after %d requests", err, len(f.requests())-before)
	}
}

func TestTokenCache(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ []byte) { jsonAnswer(w, 200, []string{}) })
	now := time.Unix(1800000000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	tp := &counter{exp: func() int64 { return clock().Add(60 * time.Second).Unix() }}
	c := f.client(t, tp, func(cfg *Config) { cfg.Now = clock })
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.KeyknoxKeysV2(ctx, "r", "p", "o"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if tp.n.Load() != 1 {
		t.Fatalf("8 concurrent requests fetched %d tokens, want 1", tp.n.Load())
	}
	mu.Lock()
	now = now.Add(54 * time.Second) // 6 s left: still used
	mu.Unlock()
	c.KeyknoxKeysV2(ctx, "r", "p", "o")
	if tp.n.Load() != 1 {
		t.Fatalf("token with 6 s left was replaced")
	}
	mu.Lock()
	now = now.Add(2 * time.Second) // 4 s left: refreshed
	mu.Unlock()
	c.KeyknoxKeysV2(ctx, "r", "p", "o")
	if tp.n.Load() != 2 {
		t.Fatalf("token with 4 s left was not replaced (%d tokens)", tp.n.Load())
	}

	// Provider failures and non-JWT tokens are errors; nothing is sent.
	before := len(f.requests())
	boom := errors.New("backend down")
	bad := f.client(t, providerFunc(func(context.Context) (string, error) { return "", boom }))
	if _, err := bad.KeyknoxPullV1(ctx); !errors.Is(err, boom) {
		t.Errorf("provider error: %v", err)
	}
	for _, tok := range []string{"abc", "a.b.c", "a." + base64.RawURLEncoding.EncodeToString([]byte(`{"exp":"x"}`)) + ".c", "a b.c.d"} {
		bad = f.client(t, providerFunc(func(context.Context) (string, error) { return tok, nil }))
		if _, err := bad.KeyknoxPullV1(ctx); !errors.Is(err, errBadToken) || strings.Contains(err.Error(), tok) {
			t.Errorf("token %q: %v", tok, err)
		}
	}
	if len(f.requests()) != before {
		t.Error("a request was sent without a usable token")
	}
	// A cancelled context while another caller holds the token lock.
	slow := make(chan struct{})
	held := make(chan struct{})
	sc := f.client(t, providerFunc(func(context.Context) (string, error) {
		close(held)
		<-slow
		return fakeToken(1, time.Now().Add(time.Hour).Unix()), nil
	}))
	go sc.KeyknoxPullV1(ctx)
	<-held
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := sc.KeyknoxPullV1(cctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting for the token lock: %v", err)
	}
	close(slow)
}

type providerFunc func(context.Context) (string, error)

func (f providerFunc) Token(ctx context.Context) (string, error) { return f(ctx) }

func TestResponseLimit(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		io.WriteString(w, `{"meta":"`+strings.Repeat("A", 2000)+`","value":""}`)
	})
	c := f.client(t, &counter{}, func(cfg *Config) { cfg.MaxResponseBytes = 1000 })
	if _, err := c.KeyknoxPullV1(context.Background()); !errors.Is(err, ErrMalformedResponse) {
		t.Errorf("oversized answer: %v", err)
	}
	c = f.client(t, &counter{}, func(cfg *Config) { cfg.MaxResponseBytes = 3000 })
	if v, err := c.KeyknoxPullV1(context.Background()); err != nil || len(v.Meta) != 1500 {
		t.Errorf("answer under the limit: %v", err)
	}
}

func TestMalformedAnswers(t *testing.T) {
	var body string
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ []byte) { io.WriteString(w, body) })
	c := f.client(t, &counter{})
	ctx := context.Background()
	for _, tc := range []struct {
		body string
		call func() error
	}{
		{`{`, func() error { _, err := c.KeyknoxPullV1(ctx); return err }},
		{`{"meta":"!!"}`, func() error { _, err := c.KeyknoxPullV1(ctx); return err }},
		{`{"meta":5}`, func() error { _, err := c.KeyknoxPullV1(ctx); return err }},
		{`[]`, func() error { _, err := c.KeyknoxPullV2(ctx, "r", "p", "k", "o"); return err }},
		{`{"identities":"a"}`, func() error { _, err := c.KeyknoxPullV2(ctx, "r", "p", "k", "o"); return err }},
		{`{"a":1}`, func() error { _, err := c.KeyknoxKeysV2(ctx, "r", "p", "o"); return err }},
		{`[1]`, func() error { _, err := c.KeyknoxKeysV2(ctx, "r", "p", "o"); return err }},
		{`{}`, func() error { _, err := c.SearchCards(ctx, []string{"a"}); return err }},
		{`[{}]`, func() error { _, err := c.SearchCards(ctx, []string{"a"}); return err }},
		{`[null]`, func() error { _, err := c.SearchCards(ctx, []string{"a"}); return err }},
		{`{"content_snapshot":1}`, func() error { _, err := c.PublishCard(ctx, &RawCard{ContentSnapshot: []byte("{}")}); return err }},
		{`nope`, func() error { _, _, err := c.GetCard(ctx, strings.Repeat("a", 64)); return err }},
		{`{"seed":"AAAA"}`, func() error { _, err := c.BrainKey(ctx, []byte("pw"), ""); return err }},
		{`{"seed":5}`, func() error { _, err := c.BrainKey(ctx, []byte("pw"), ""); return err }},
	} {
		body = tc.body
		if err := tc.call(); !errors.Is(err, ErrMalformedResponse) {
			t.Errorf("answer %s: %v", tc.body, err)
		}
	}
	// Lenient where e3kit is strict: null/missing meta and value read as
	// empty, null search results as none.
	body = `{"meta":null}`
	if v, err := c.KeyknoxPullV1(ctx); err != nil || len(v.Meta)+len(v.Value) != 0 {
		t.Errorf("null meta: %v", err)
	}
	body = `null`
	if cards, err := c.SearchCards(ctx, []string{"a"}); err != nil || len(cards) != 0 {
		t.Errorf("null search: %v", err)
	}
	if keys, err := c.KeyknoxKeysV2(ctx, "r", "p", "o"); err != nil || keys == nil || len(keys) != 0 {
		t.Errorf("null keys: %v %v", keys, err)
	}
}

func TestArgumentChecks(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ []byte) { jsonAnswer(w, 200, map[string]any{}) })
	c := f.client(t, &counter{})
	ctx := context.Background()
	for name, call := range map[string]func() error{
		"get bad id":      func() error { _, _, err := c.GetCard(ctx, "../keyknox/v1"); return err },
		"get upper id":    func() error { _, _, err := c.GetCard(ctx, strings.Repeat("A", 64)); return err },
		"revoke bad id":   func() error { return c.RevokeCard(ctx, "x") },
		"publish empty":   func() error { _, err := c.PublishCard(ctx, &RawCard{}); return err },
		"publish nil":     func() error { _, err := c.PublishCard(ctx, nil); return err },
		"search none":     func() error { _, err := c.SearchCards(ctx, nil); return err },
		"search empty id": func() error { _, err := c.SearchCards(ctx, []string{"a", ""}); return err },
		"push no root": func() error {
			_, err := c.KeyknoxPushV2(ctx, KeyknoxV2Push{Path: "p", Key: "k", Identities: []string{"a"}})
			return err
		},
		"push no ids": func() error {
			_, err := c.KeyknoxPushV2(ctx, KeyknoxV2Push{Root: "r", Path: "p", Key: "k"})
			return err
		},
		"pull no owner":     func() error { _, err := c.KeyknoxPullV2(ctx, "r", "p", "k", ""); return err },
		"keys no path":      func() error { _, err := c.KeyknoxKeysV2(ctx, "r", "", "o"); return err },
		"reset no root":     func() error { _, err := c.KeyknoxResetV2(ctx, "", "p", "", ""); return err },
		"reset key no path": func() error { _, err := c.KeyknoxResetV2(ctx, "r", "", "k", ""); return err },
		"brainkey empty":    func() error { _, err := c.BrainKey(ctx, nil, ""); return err },
		"brainkey too long": func() error { _, err := c.BrainKey(ctx, make([]byte, pythia.MaxInputSize+1), ""); return err },
	} {
		if err := call(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("%d requests sent for invalid arguments", n)
	}
}
