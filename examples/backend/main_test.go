package main

// These tests build the backend and run it as a user would: a separate
// process on a loopback port, driven over HTTP, its output read from its
// standard streams.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/e3go/e3go/e3"
	"github.com/e3go/e3go/e3/e3test"
	"github.com/e3go/e3go/internal/testprog"
	"github.com/e3go/e3go/streamenc/streamtest"
)

// backendBinary is the command under test, built once per test run.
var backendBinary = &testprog.Binary{Pkg: ".", Name: "backend"}

func TestMain(m *testing.M) { testprog.Main(m, backendBinary) }

// testEnv is the environment without any variable the backend reads, so
// that a developer's real credentials never reach a test run; then extra.
func testEnv(extra ...string) []string {
	return testprog.Env([]string{"STREAM_", "VIRGIL_", "SESSION_KEY", "DEMO_PASSWORD"}, extra...)
}

// backend is a running backend process.
type backend struct {
	*testprog.Process
	url  string
	info map[string]any // the fields of the startup log records
}

// start runs the backend with env (added to testEnv) and args, and waits for
// its "listening" record.
func start(t *testing.T, env []string, args ...string) *backend {
	t.Helper()
	cmd := exec.Command(backendBinary.Path(t), append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = testEnv(env...)
	b := &backend{Process: testprog.Start(t, cmd), info: map[string]any{}}
	for _, line := range strings.Split(b.Stderr.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil {
			for k, v := range rec {
				b.info[k] = v
			}
		}
	}
	b.url = b.str(t, "url")
	return b
}

func (b *backend) str(t *testing.T, key string) string {
	t.Helper()
	s, ok := b.info[key].(string)
	if !ok || s == "" {
		t.Fatalf("no %q in the startup records:\n%s", key, b.Stderr)
	}
	return s
}

// waitLog waits until the logs contain each of want: a record can reach
// the pipe after the response it belongs to.
func (b *backend) waitLog(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for _, w := range want {
		for !strings.Contains(b.Stderr.String(), w) {
			if time.Now().After(deadline) {
				t.Fatalf("logs lack %s:\n%s", w, b.Stderr)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// settle makes one more request and waits for its log record, so that the
// records of the requests before it are in b.Stderr.
func (b *backend) settle(t *testing.T) {
	t.Helper()
	const rec = `"route":"GET /healthz"`
	before := strings.Count(b.Stderr.String(), rec)
	call(t, "GET", b.url+"/healthz", nil, "")
	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(b.Stderr.String(), rec) == before {
		if time.Now().After(deadline) {
			t.Fatalf("no log record for /healthz:\n%s", b.Stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// call sends one request; body is sent as is (JSON unless headers say
// otherwise).
func call(t *testing.T, method, u string, headers map[string]string, body string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := response{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

func (r response) str(t *testing.T, key string) string {
	t.Helper()
	s, ok := r.body[key].(string)
	if !ok || s == "" {
		t.Fatalf("no %q in %d %s", key, r.status, r.raw)
	}
	return s
}

func (b *backend) login(t *testing.T, identity, password string) string {
	t.Helper()
	r := call(t, "POST", b.url+"/v1/authenticate", nil,
		fmt.Sprintf(`{"identity":%q,"password":%q}`, identity, password))
	if r.status != 200 {
		t.Fatalf("authenticate %s: %d %s", identity, r.status, r.raw)
	}
	return r.str(t, "authToken")
}

func bearer(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token}
}

// streamCall sends a request to a Stream-compatible server as Stream's
// JavaScript client does, with a user token.
func streamCall(t *testing.T, base, apiKey, token, userID, method, path string, body any) response {
	t.Helper()
	enc, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	q := url.Values{"api_key": {apiKey}, "user_id": {userID}}
	return call(t, method, base+path+"?"+q.Encode(),
		map[string]string{"Authorization": token, "stream-auth-type": "jwt"}, string(enc))
}

func decodeClaims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %d parts", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func parseKey(t *testing.T, b64 string) *e3.PublicKey {
	t.Helper()
	der, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	k, err := e3.ParsePublicKey(der)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// virgilClient is an e3 Client whose tokens come from the backend's
// /v1/virgil-credentials, as a front end's getToken callback gets them.
func virgilClient(t *testing.T, b *backend, authToken, apiURL string, serviceKey *e3.PublicKey) *e3.Client {
	t.Helper()
	provider := e3.TokenProviderFunc(func(ctx context.Context) (string, error) {
		req, err := http.NewRequestWithContext(ctx, "POST", b.url+"/v1/virgil-credentials", strings.NewReader("{}"))
		if err != nil {
			return "", err
		}
		req.Header.Set("Authorization", "Bearer "+authToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		var out struct{ Token string }
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
			return "", fmt.Errorf("virgil-credentials: HTTP %d %v", resp.StatusCode, err)
		}
		return out.Token, nil
	})
	c, err := e3.New(context.Background(), e3.Config{
		TokenProvider: provider,
		APIURL:        apiURL,
		CardVerifier:  &e3.CardVerifier{ServiceKey: serviceKey},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSeedFlow is the seed front end's sequence on the embedded services:
// authenticate, Stream credentials, Virgil credentials; then the
// credentials are used where they are meant to be used.
func TestSeedFlow(t *testing.T) {
	const password = "correct horse battery staple"
	b := start(t, []string{"DEMO_PASSWORD=" + password})
	if b.info["mode"] != "embedded" {
		t.Fatalf("mode = %v, want embedded", b.info["mode"])
	}
	ctx := context.Background()

	// The seed's request shape ({"identity"}), plus the password; "user"
	// is accepted as a synonym.
	aliceAuth := b.login(t, "alice", password)
	r := call(t, "POST", b.url+"/v1/authenticate", nil, `{"user":"bob","password":"`+password+`"}`)
	if r.status != 200 {
		t.Fatalf("authenticate bob: %d %s", r.status, r.raw)
	}
	bobAuth := r.str(t, "authToken")
	if exp, err := time.Parse(time.RFC3339, r.str(t, "expiresAt")); err != nil || time.Until(exp) < 50*time.Minute || time.Until(exp) > 61*time.Minute {
		t.Fatalf("expiresAt = %s (%v), want in about an hour", r.str(t, "expiresAt"), err)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("Cache-Control = %q", r.header.Get("Cache-Control"))
	}

	// Stream credentials: {apiKey, token, user}. The seed's front end posts
	// "{}"; an empty body works too.
	streamURL, apiKey := b.str(t, "stream_url"), b.str(t, "stream_api_key")
	sa := call(t, "POST", b.url+"/v1/stream-credentials", bearer(aliceAuth), "{}")
	sb := call(t, "POST", b.url+"/v1/stream-credentials", bearer(bobAuth), "")
	for who, s := range map[string]response{"alice": sa, "bob": sb} {
		if s.status != 200 || s.str(t, "apiKey") != apiKey {
			t.Fatalf("stream-credentials %s: %d %s", who, s.status, s.raw)
		}
		u, _ := s.body["user"].(map[string]any)
		if len(u) != 3 || u["id"] != who || u["name"] != who || u["role"] != "user" {
			t.Fatalf("stream-credentials %s: user = %v", who, u)
		}
		c := decodeClaims(t, s.str(t, "token"))
		exp, _ := c["exp"].(float64)
		if c["user_id"] != who || time.Until(time.Unix(int64(exp), 0)) < 50*time.Minute {
			t.Fatalf("stream token claims %v", c)
		}
	}
	aliceStream, bobStream := sa.str(t, "token"), sb.str(t, "token")

	// The Stream tokens work against the emulator exactly as the JS client
	// uses them: alice creates a channel with bob (both were registered
	// with Stream by the backend) and posts; bob reads it with his token.
	cr := streamCall(t, streamURL, apiKey, aliceStream, "alice", "POST", "/channels/messaging/care-1/query",
		map[string]any{"data": map[string]any{"members": []string{"alice", "bob"}}, "state": true})
	if cr.status != 201 {
		t.Fatalf("create channel with alice's token: %d %s", cr.status, cr.raw)
	}
	mr := streamCall(t, streamURL, apiKey, aliceStream, "alice", "POST", "/channels/messaging/care-1/message",
		map[string]any{"message": map[string]any{"id": "m-1", "text": "<ciphertext from e3kit>"}})
	if mr.status != 201 {
		t.Fatalf("send with alice's token: %d %s", mr.status, mr.raw)
	}
	gr := streamCall(t, streamURL, apiKey, bobStream, "bob", "GET", "/messages/m-1", nil)
	if m, _ := gr.body["message"].(map[string]any); gr.status != 200 || m["text"] != "<ciphertext from e3kit>" {
		t.Fatalf("read with bob's token: %d %s", gr.status, gr.raw)
	}
	// A token the backend did not sign is refused by the same server.
	forged, _ := signHS256([]byte("not the app secret"), map[string]any{"user_id": "alice"})
	if fr := streamCall(t, streamURL, apiKey, forged, "alice", "GET", "/messages/m-1", nil); fr.status != 401 {
		t.Fatalf("forged Stream token: %d %s", fr.status, fr.raw)
	}

	// Virgil credentials: {token}, a Virgil JWT for the signed-in identity
	// that verifies with the app's public key.
	vr := call(t, "POST", b.url+"/v1/virgil-credentials", bearer(aliceAuth), "{}")
	if vr.status != 200 || len(vr.body) != 1 {
		t.Fatalf("virgil-credentials: %d %s", vr.status, vr.raw)
	}
	verifier := &e3.JWTVerifier{
		AppID:        b.str(t, "virgil_app_id"),
		AppKeyID:     b.str(t, "virgil_app_key_id"),
		AppPublicKey: parseKey(t, b.str(t, "virgil_app_public_key")),
	}
	claims, err := verifier.Verify(vr.str(t, "token"))
	if err != nil || claims.Identity != "alice" {
		t.Fatalf("Virgil JWT: %v, %+v", err, claims)
	}
	if ttl := claims.ExpiresAt.Sub(claims.IssuedAt); ttl != e3.DefaultJWTTTL {
		t.Fatalf("Virgil JWT lifetime %v", ttl)
	}

	// The embedded Virgil server accepts them: alice and bob register
	// (publishing cards needs a token the server trusts), find each other
	// and exchange a message.
	virgilURL, serviceKey := b.str(t, "virgil_url"), parseKey(t, b.str(t, "virgil_service_key"))
	alice := virgilClient(t, b, aliceAuth, virgilURL, serviceKey)
	bob := virgilClient(t, b, bobAuth, virgilURL, serviceKey)
	if alice.Identity() != "alice" || bob.Identity() != "bob" {
		t.Fatalf("identities %q %q", alice.Identity(), bob.Identity())
	}
	for _, c := range []*e3.Client{alice, bob} {
		if err := c.Register(ctx); err != nil {
			t.Fatalf("register %s: %v", c.Identity(), err)
		}
	}
	bobCard, err := alice.FindUser(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	aliceCard, err := bob.FindUser(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	ct, err := alice.AuthEncrypt([]byte("appointment moved to 3pm"), bobCard)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := bob.AuthDecrypt(ct, aliceCard); err != nil || string(pt) != "appointment moved to 3pm" {
		t.Fatalf("bob decrypts: %q, %v", pt, err)
	}

	// The logs say who signed in and what was issued, and hold no secret.
	b.waitLog(t, `"msg":"signed in","user":"alice"`, `"msg":"credentials issued","user":"bob","service":"stream"`,
		`"msg":"credentials issued","user":"alice","service":"virgil"`, `"route":"POST /v1/authenticate","status":200`)
	b.settle(t)
	logs := b.Stderr.String()
	for _, secret := range []string{password, aliceAuth, bobAuth, aliceStream, bobStream, vr.str(t, "token")} {
		if strings.Contains(logs, secret) || strings.Contains(b.Stdout.String(), secret) {
			t.Errorf("a secret reached the output: %.12s...", secret)
		}
	}
}

// TestServicesFromEnvironment: with the apps' credentials in the
// environment the backend uses the services they name instead of starting
// its own. Here the "real" services are an emulator and an e3test server in
// the test process, reached through STREAM_CHAT_URL and the e3 client's API
// URL, so no request leaves the machine.
func TestServicesFromEnvironment(t *testing.T) {
	st := streamtest.NewServer()
	defer st.Close()
	vs := e3test.NewServer()
	defer vs.Close()
	gen := vs.JWTGenerator()
	b := start(t, []string{
		"DEMO_PASSWORD=pw",
		"STREAM_API_KEY=" + st.APIKey, "STREAM_API_SECRET=" + st.APISecret, "STREAM_CHAT_URL=" + st.URL + "/",
		"VIRGIL_APP_ID=" + gen.AppID, "VIRGIL_APP_KEY_ID=" + gen.AppKeyID,
		"VIRGIL_APP_KEY=" + base64.StdEncoding.EncodeToString(gen.AppKey.Export()),
	})
	if b.info["mode"] != "service" || b.info["stream_url"] != st.URL || b.info["virgil_url"] != nil {
		t.Fatalf("startup records: %v", b.info)
	}
	if logs := b.Stderr.String() + b.Stdout.String(); strings.Contains(logs, st.APISecret) ||
		strings.Contains(logs, base64.StdEncoding.EncodeToString(gen.AppKey.Export())) {
		t.Fatal("an app secret reached the output")
	}
	auth := b.login(t, "alice", "pw")

	s := call(t, "POST", b.url+"/v1/stream-credentials", bearer(auth), "{}")
	if s.status != 200 || s.str(t, "apiKey") != st.APIKey {
		t.Fatalf("stream-credentials: %d %s", s.status, s.raw)
	}
	var registered bool
	for _, u := range st.Users() {
		registered = registered || u.ID == "alice" && u.Role == "user"
	}
	if !registered {
		t.Fatalf("alice not upserted into Stream: %+v", st.Users())
	}
	if r := streamCall(t, st.URL, st.APIKey, s.str(t, "token"), "alice", "POST", "/users",
		map[string]any{"users": map[string]any{"alice": map[string]any{"id": "alice", "name": "Alice"}}}); r.status != 201 {
		t.Fatalf("user request with the issued token: %d %s", r.status, r.raw)
	}

	c := virgilClient(t, b, auth, vs.URL, vs.ServiceKey())
	if err := c.Register(context.Background()); err != nil {
		t.Fatal(err)
	}
	if cards := vs.Cards("alice"); len(cards) != 1 {
		t.Fatalf("cards of alice on the Virgil server: %d", len(cards))
	}

	// Stream refusing the upsert is a 502 for the front end, logged
	// without Stream's message.
	st.InjectFault(streamtest.Fault{Method: "POST", Path: "/users", Status: 403, Code: 17, Message: "detail-from-stream"})
	if r := call(t, "POST", b.url+"/v1/stream-credentials", bearer(auth), ""); r.status != 502 {
		t.Fatalf("Stream refusing: %d %s", r.status, r.raw)
	}
	b.waitLog(t, "HTTP 403 (code 17)")
	if strings.Contains(b.Stderr.String(), "detail-from-stream") {
		t.Fatalf("Stream's message was logged:\n%s", b.Stderr)
	}
}

// TestRefusals: credential endpoints refuse missing, malformed, forged,
// altered and expired session tokens, and sign-in refuses wrong passwords
// (alike for unknown users), throttles guessing and bounds its input.
func TestRefusals(t *testing.T) {
	const password = "demo-pass-1"
	key := bytes.Repeat([]byte{7}, 32)
	b := start(t, []string{"DEMO_PASSWORD=" + password, "SESSION_KEY=" + base64.StdEncoding.EncodeToString(key)},
		"-demo-users", "alice,bob,carol")
	valid := b.login(t, "alice", password)
	now := time.Now().Unix()
	mint := func(k []byte, c any) string {
		tok, err := signHS256(k, c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	claims := func(sub, aud string, iat, exp int64) sessionClaims {
		return sessionClaims{Subject: sub, Audience: aud, IssuedAt: iat, ExpiresAt: exp}
	}
	parts := strings.Split(valid, ".")
	bobPayload := strings.Split(mint(key, claims("bob", sessionAudience, now, now+3600)), ".")[1]
	streamToken := call(t, "POST", b.url+"/v1/stream-credentials", bearer(valid), "{}").str(t, "token")

	// The key is right: a token minted with it is accepted, so each
	// refusal below is for the reason its case names.
	if r := call(t, "POST", b.url+"/v1/virgil-credentials", bearer(mint(key, claims("bob", sessionAudience, now, now+60))), ""); r.status != 200 {
		t.Fatalf("minted token refused: %d %s", r.status, r.raw)
	}
	for _, tc := range []struct {
		name, auth, want string
	}{
		{"no header", "", "missing"},
		{"basic scheme", "Basic YWxpY2U6cHc=", "missing"},
		{"empty bearer", "Bearer ", "missing"},
		{"garbage", "Bearer garbage", "invalid"},
		{"forged with another key", "Bearer " + mint([]byte("another key, another key, 32 b!"), claims("alice", sessionAudience, now, now+3600)), "invalid"},
		{"payload swapped for bob's", "Bearer " + parts[0] + "." + bobPayload + "." + parts[2], "invalid"},
		{"signature cut", "Bearer " + parts[0] + "." + parts[1] + ".", "invalid"},
		{"alg none", "Bearer " + b64.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + ".", "invalid"},
		{"expired", "Bearer " + mint(key, claims("alice", sessionAudience, now-7200, now-3600)), "expired"},
		{"issued in the future", "Bearer " + mint(key, claims("alice", sessionAudience, now+3600, now+7200)), "invalid"},
		{"other audience", "Bearer " + mint(key, claims("alice", "stream", now, now+3600)), "invalid"},
		{"unknown account", "Bearer " + mint(key, claims("dave", sessionAudience, now, now+3600)), "invalid"},
		{"a Stream token", "Bearer " + streamToken, "invalid"},
		{"extra claim", "Bearer " + mint(key, map[string]any{"sub": "alice", "aud": sessionAudience, "iat": now, "exp": now + 60, "role": "admin"}), "invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{}
			if tc.auth != "" {
				h["Authorization"] = tc.auth
			}
			for _, ep := range []string{"/v1/stream-credentials", "/v1/virgil-credentials"} {
				r := call(t, "POST", b.url+ep, h, "{}")
				if r.status != 401 || !strings.Contains(r.str(t, "error"), tc.want) ||
					!strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
					t.Fatalf("%s: %d %v %s", ep, r.status, r.header, r.raw)
				}
			}
		})
	}

	// Sign-in: a wrong password and an unknown user get the same answer.
	wrong := call(t, "POST", b.url+"/v1/authenticate", nil, `{"identity":"alice","password":"nope"}`)
	unknown := call(t, "POST", b.url+"/v1/authenticate", nil, `{"identity":"Tr0ub4dor-typed-as-name","password":"x"}`)
	if wrong.status != 401 || unknown.status != 401 || wrong.raw != unknown.raw {
		t.Fatalf("wrong password %d %s; unknown user %d %s", wrong.status, wrong.raw, unknown.status, unknown.raw)
	}
	// Five failures lock carol out for the window, even with her password.
	for i := 0; i < 5; i++ {
		if r := call(t, "POST", b.url+"/v1/authenticate", nil, `{"identity":"carol","password":"guess"}`); r.status != 401 {
			t.Fatalf("guess %d: %d %s", i, r.status, r.raw)
		}
	}
	locked := call(t, "POST", b.url+"/v1/authenticate", nil, `{"identity":"carol","password":"`+password+`"}`)
	if locked.status != 429 || locked.header.Get("Retry-After") == "" {
		t.Fatalf("after 5 failures: %d %v %s", locked.status, locked.header, locked.raw)
	}
	b.login(t, "bob", password) // others are not affected

	// Bad requests.
	for _, tc := range []struct {
		name, ct, body string
		status         int
	}{
		{"form post", "application/x-www-form-urlencoded", "identity=alice&password=" + password, 415},
		{"no content type", "-", `{"identity":"alice","password":"` + password + `"}`, 415},
		{"malformed JSON", "application/json", `{"identity":"alice",`, 400},
		{"unknown field", "application/json", `{"identity":"alice","password":"` + password + `","role":"admin"}`, 400},
		{"trailing data", "application/json", `{"identity":"alice","password":"` + password + `"} {}`, 400},
		{"identity and user differ", "application/json", `{"identity":"alice","user":"bob","password":"` + password + `"}`, 400},
		{"bad identity", "application/json", `{"identity":"al ice","password":"` + password + `"}`, 400},
		{"non-ASCII identity", "application/json", `{"identity":"Юзер","password":"` + password + `"}`, 400},
		{"too large", "application/json", `{"identity":"alice","password":"` + strings.Repeat("a", 5000) + `"}`, 413},
		{"no password", "application/json", `{"identity":"alice"}`, 401},
	} {
		h := map[string]string{"Content-Type": tc.ct}
		if tc.ct == "-" {
			h["Content-Type"] = ""
		}
		if r := call(t, "POST", b.url+"/v1/authenticate", h, tc.body); r.status != tc.status {
			t.Errorf("authenticate, %s: %d %s, want %d", tc.name, r.status, r.raw, tc.status)
		}
	}
	for body, status := range map[string]int{`[1]`: 400, `null`: 400, `"x"`: 400, `{"a":` + strings.Repeat(" ", 2000) + `1}`: 413} {
		if r := call(t, "POST", b.url+"/v1/virgil-credentials", bearer(valid), body); r.status != status {
			t.Errorf("virgil-credentials with body %.10q: %d %s, want %d", body, r.status, r.raw, status)
		}
	}
	for _, m := range []string{"GET", "PUT", "DELETE"} {
		if r := call(t, m, b.url+"/v1/authenticate", nil, ""); r.status != 405 {
			t.Errorf("%s /v1/authenticate: %d", m, r.status)
		}
	}
	if r := call(t, "GET", b.url+"/v1/nothing-here", nil, ""); r.status != 404 {
		t.Errorf("unknown path: %d", r.status)
	}

	// The logs name known accounts only: the unknown "identity" (maybe a
	// password typed into the wrong field) and the passwords never appear.
	b.waitLog(t, `"msg":"sign-in failed","user":"alice"`, `"msg":"sign-in failed","user":"(unknown)"`,
		`"msg":"sign-in throttled","user":"carol"`, `"msg":"session refused","reason":"expired"`)
	b.settle(t)
	logs := b.Stderr.String()
	for _, s := range []string{"Tr0ub4dor", password, "guess", "nope", "dave"} {
		if strings.Contains(logs, s) {
			t.Errorf("logs contain %q:\n%s", s, logs)
		}
	}
}

// TestCORSAndShutdown: preflight and response headers for allowed and other
// origins; then SIGINT stops the server cleanly with exit status 0.
func TestCORSAndShutdown(t *testing.T) {
	b := start(t, []string{"DEMO_PASSWORD=pw"}, "-allow-origin", "https://app.example.com, http://localhost:5173")
	preflight := func(origin string) response {
		return call(t, "OPTIONS", b.url+"/v1/stream-credentials", map[string]string{
			"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type",
		}, "")
	}
	for _, origin := range []string{"https://app.example.com", "http://localhost:5173"} {
		r := preflight(origin)
		if r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != origin ||
			!strings.Contains(r.header.Get("Access-Control-Allow-Headers"), "Authorization") ||
			!strings.Contains(r.header.Get("Access-Control-Allow-Methods"), "POST") ||
			r.header.Get("Access-Control-Allow-Credentials") != "" {
			t.Fatalf("preflight from %s: %d %v", origin, r.status, r.header)
		}
	}
	for _, origin := range []string{"https://evil.example.com", "https://app.example.com.evil.example", "null"} {
		if r := preflight(origin); r.status != 403 || r.header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("preflight from %s: %d %v", origin, r.status, r.header)
		}
	}
	ok := call(t, "POST", b.url+"/v1/authenticate", map[string]string{"Origin": "https://app.example.com"}, `{"identity":"alice","password":"pw"}`)
	other := call(t, "POST", b.url+"/v1/authenticate", map[string]string{"Origin": "https://evil.example.com"}, `{"identity":"alice","password":"pw"}`)
	if ok.header.Get("Access-Control-Allow-Origin") != "https://app.example.com" || other.header.Get("Access-Control-Allow-Origin") != "" ||
		!strings.Contains(strings.Join(ok.header.Values("Vary"), ","), "Origin") {
		t.Fatalf("response headers: allowed %v; other %v", ok.header, other.header)
	}
	if r := call(t, "GET", b.url+"/healthz", nil, ""); r.status != 200 {
		t.Fatalf("healthz: %d", r.status)
	}

	if runtime.GOOS == "windows" {
		t.Skip("no SIGINT on Windows")
	}
	b.Interrupt(t)
	if code := b.Wait(t); code != 0 {
		t.Fatalf("exit status %d after SIGINT:\n%s", code, b.Stderr)
	}
	if logs := b.Stderr.String(); !strings.Contains(logs, `"msg":"shutting down"`) || !strings.Contains(logs, `"msg":"stopped"`) {
		t.Fatalf("shutdown not logged:\n%s", logs)
	}
}

// TestAnyOrigin: -allow-origin '*' answers every origin.
func TestAnyOrigin(t *testing.T) {
	b := start(t, nil, "-allow-origin", "*")
	r := call(t, "OPTIONS", b.url+"/v1/authenticate", map[string]string{"Origin": "http://127.0.0.1:9999", "Access-Control-Request-Method": "POST"}, "")
	if r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != "http://127.0.0.1:9999" {
		t.Fatalf("%d %v", r.status, r.header)
	}
	// Without DEMO_PASSWORD the demo password is random, printed on the
	// terminal and not in the logs.
	out := b.Stdout.String()
	_, after, found := strings.Cut(out, "password ")
	pw, _, _ := strings.Cut(after, " ")
	if !found || len(pw) < 20 {
		t.Fatalf("no random demo password in:\n%s", out)
	}
	b.login(t, "bob", pw)
	b.settle(t)
	if strings.Contains(b.Stderr.String(), pw) {
		t.Fatal("the demo password reached the logs")
	}
}

// TestConfigErrors: incomplete or malformed configuration stops the
// backend with exit status 2 and a message that names the problem, not the
// secret.
func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	badUsers := filepath.Join(dir, "users")
	if err := os.WriteFile(badUsers, []byte("# accounts\nnurse:$argon2id$v=19$m=0,t=2,p=1$c2VjcmV0LXNhbHQ$c2VjcmV0LWhhc2gtYnl0ZXMtdGhhdC1hcmUtdG9vLXNob3J0\nbad line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
		leak string
	}{
		{"stream key alone", []string{"STREAM_API_KEY=k"}, nil, "STREAM_API_SECRET", ""},
		{"virgil partial", []string{"VIRGIL_APP_ID=a", "VIRGIL_APP_KEY_ID=b"}, nil, "VIRGIL_APP_KEY", ""},
		{"virgil key not base64", []string{"VIRGIL_APP_ID=a", "VIRGIL_APP_KEY_ID=b", "VIRGIL_APP_KEY=s3cr3t!!"}, nil, "not base64", "s3cr3t"},
		{"virgil key not a key", []string{"VIRGIL_APP_ID=a", "VIRGIL_APP_KEY_ID=b", "VIRGIL_APP_KEY=" + base64.StdEncoding.EncodeToString([]byte("TOPSECRETBYTES"))}, nil, "VIRGIL_APP_KEY", "TOPSECRET"},
		{"short session key", []string{"SESSION_KEY=" + base64.StdEncoding.EncodeToString([]byte("short-secret"))}, nil, "32 bytes", "c2hvcnQ"},
		{"bad origin", nil, []string{"-allow-origin", "https://app.example.com/path"}, "not an origin", ""},
		{"users file", nil, []string{"-users", badUsers}, "line 2 (nurse): malformed password hash", "c2VjcmV0"},
		{"no users file", nil, []string{"-users", filepath.Join(dir, "missing")}, "no such file", ""},
		{"bad demo user", nil, []string{"-demo-users", "alice,b b"}, "demo user", ""},
		{"zero ttl", nil, []string{"-session-ttl", "0s"}, "positive", ""},
		{"tls half", nil, []string{"-tls-cert", "x.pem"}, "go together", ""},
		{"tls files missing", nil, []string{"-tls-cert", filepath.Join(dir, "c.pem"), "-tls-key", filepath.Join(dir, "k.pem")}, "backend: TLS:", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(backendBinary.Path(t), append([]string{"-addr", "127.0.0.1:0"}, tc.args...)...)
			cmd.Env = testEnv(tc.env...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			if code := cmd.ProcessState.ExitCode(); code != 2 || !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("exit %d (%v), want 2 with %q:\n%s", code, err, tc.want, &stderr)
			}
			if tc.leak != "" && strings.Contains(stderr.String(), tc.leak) {
				t.Fatalf("the error repeats the secret:\n%s", &stderr)
			}
			if strings.Contains(stderr.String(), `"msg":"listening"`) {
				t.Fatal("listened despite the error")
			}
		})
	}
}

// TestUsersFile: -hash-password makes a line for -users; the account file
// then replaces the demo accounts.
func TestUsersFile(t *testing.T) {
	cmd := exec.Command(backendBinary.Path(t), "-hash-password")
	cmd.Env = testEnv()
	cmd.Stdin = strings.NewReader("n0t-the-demo-password\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	hash := strings.TrimSpace(string(out))
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(hash, "n0t-the") {
		t.Fatalf("hash = %q", hash)
	}
	users := filepath.Join(t.TempDir(), "users")
	if err := os.WriteFile(users, []byte("# care team\n\nnurse.joy:"+hash+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := start(t, []string{"DEMO_PASSWORD=demo"}, "-users", users)
	auth := b.login(t, "nurse.joy", "n0t-the-demo-password")
	if r := call(t, "POST", b.url+"/v1/virgil-credentials", bearer(auth), ""); r.status != 200 {
		t.Fatalf("virgil-credentials: %d %s", r.status, r.raw)
	}
	for _, c := range [][2]string{{"nurse.joy", "demo"}, {"alice", "demo"}} {
		if r := call(t, "POST", b.url+"/v1/authenticate", nil, `{"identity":"`+c[0]+`","password":"`+c[1]+`"}`); r.status != 401 {
			t.Fatalf("%s with %s: %d", c[0], c[1], r.status)
		}
	}
	if strings.Contains(b.Stdout.String(), "demo") {
		t.Fatalf("demo accounts announced with -users:\n%s", b.Stdout)
	}
}

// TestTLS: with -tls-cert and -tls-key the backend serves HTTPS.
func TestTLS(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	b := start(t, []string{"DEMO_PASSWORD=pw"}, "-tls-cert", certFile, "-tls-key", keyFile)
	if !strings.HasPrefix(b.url, "https://") {
		t.Fatalf("url = %s", b.url)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Post(b.url+"/v1/authenticate", "application/json", strings.NewReader(`{"identity":"alice","password":"pw"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil {
		t.Fatalf("HTTPS sign-in: %d", resp.StatusCode)
	}
}
