package interop

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	stream "github.com/GetStream/stream-chat-go/v6"

	"github.com/e3go/e3go/e3"
	"github.com/e3go/e3go/e3/e3test"
	"github.com/e3go/e3go/internal/testprog"
	"github.com/e3go/e3go/keyring"
	"github.com/e3go/e3go/streamenc"
	"github.com/e3go/e3go/streamenc/streamtest"
)

// The seed system end to end: examples/backend (the built binary, as a
// user runs it) issues the credentials; the seed's front end, played by
// e3kit-node 2.5.1 and Stream REST calls with the issued user token
// (node/ops/seed.js), and a Go participant (e3.Client with tokens from the
// same backend, streamenc) exchange sealed messages through the Stream
// emulator, on an e3test server.
//
// The backend runs in its "real services" mode, pointed through its
// environment at the e3test server and Stream emulator of this test
// (STREAM_CHAT_URL, the e3test app's credentials): that way the test holds
// the services the backend issues credentials for, and can check what
// Stream stored.

// backendBinary is examples/backend, built once per test run (removed by
// TestMain).
var backendBinary = &testprog.Binary{Pkg: "github.com/e3go/e3go/examples/backend", Name: "backend"}

// seedBackend builds examples/backend and starts it against virgil and st;
// it returns its URL and a function returning its log so far.
func seedBackend(t *testing.T, virgil *e3test.Server, st *streamtest.Server, password string) (string, func() string) {
	t.Helper()
	gen := virgil.JWTGenerator()
	cmd := exec.Command(backendBinary.Path(t), "-addr", "127.0.0.1:0", "-demo-users", "alice,bob")
	cmd.Env = testprog.Env([]string{"STREAM_", "VIRGIL_", "SESSION_KEY", "DEMO_PASSWORD"},
		"STREAM_API_KEY="+st.APIKey,
		"STREAM_API_SECRET="+st.APISecret,
		"STREAM_CHAT_URL="+st.URL,
		"VIRGIL_APP_ID="+gen.AppID,
		"VIRGIL_APP_KEY="+base64.StdEncoding.EncodeToString(gen.AppKey.Export()),
		"VIRGIL_APP_KEY_ID="+gen.AppKeyID,
		"DEMO_PASSWORD="+password,
	)
	p := testprog.Start(t, cmd)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("backend log:\n%s", p.Stderr)
		}
	})
	u, _ := p.Listening["url"].(string)
	return u, p.Stderr.String
}

// backendPost is a front end's call to the backend, from Go.
func backendPost(ctx context.Context, backend, path, authToken string, body any) (int, map[string]any, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, backend+path, bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if authToken != "" {
		req.Header.Set("Authorization", "Bearer "+authToken)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return resp.StatusCode, nil, err
	}
	return resp.StatusCode, out, nil
}

func TestSeedFrontEndE3kit(t *testing.T) {
	w := nodeWorker(t) // skips without Node (unless E3GO_INTEROP=require)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	virgil := e3test.NewServer()
	t.Cleanup(virgil.Close)
	st := streamtest.NewServer()
	t.Cleanup(st.Close)
	const password = "seed test password"
	backend, backendLog := seedBackend(t, virgil, st, password)

	// The backend refuses credentials to anyone not signed in, and a wrong
	// password.
	var refused struct {
		Status int            `json:"status"`
		Body   map[string]any `json:"body"`
	}
	mustCall(t, w, "seed.post", map[string]any{"backend": backend, "path": "/v1/virgil-credentials"}, &refused)
	if refused.Status != http.StatusUnauthorized {
		t.Errorf("virgil-credentials without authToken: %d %v", refused.Status, refused.Body)
	}
	mustCall(t, w, "seed.post", map[string]any{"backend": backend, "path": "/v1/stream-credentials", "authToken": "not-a-session"}, &refused)
	if refused.Status != http.StatusUnauthorized {
		t.Errorf("stream-credentials with a made-up authToken: %d %v", refused.Status, refused.Body)
	}
	mustCall(t, w, "seed.post", map[string]any{"backend": backend, "path": "/v1/authenticate", "body": map[string]string{"identity": "alice", "password": "guess"}}, &refused)
	if refused.Status != http.StatusUnauthorized {
		t.Errorf("authenticate with a wrong password: %d %v", refused.Status, refused.Body)
	}

	// alice signs in on the seed's front end: e3kit registers her with
	// tokens fetched from the backend.
	h := "seed/alice"
	dir := t.TempDir()
	t.Cleanup(func() { w.Call(context.Background(), "seed.close", map[string]string{"h": h}, nil) })
	var conn struct {
		Authenticate struct {
			AuthToken string `json:"authToken"`
			ExpiresAt string `json:"expiresAt"`
		} `json:"authenticate"`
		AuthenticateCORS  string `json:"authenticateCORS"`
		StreamCredentials struct {
			APIKey string            `json:"apiKey"`
			Token  string            `json:"token"`
			User   map[string]string `json:"user"`
		} `json:"streamCredentials"`
		Identity     string `json:"identity"`
		VirgilTokens int    `json:"virgilTokens"`
	}
	if err := w.Call(ctx, "seed.connect", map[string]any{"h": h, "backend": backend, "identity": "alice", "password": password, "apiUrl": virgil.URL, "dir": dir}, &conn); err != nil {
		t.Fatal(err)
	}
	if conn.Authenticate.AuthToken == "" || conn.Authenticate.ExpiresAt == "" || conn.AuthenticateCORS != "http://localhost:3000" {
		t.Errorf("authenticate answered %+v (CORS %q)", conn.Authenticate, conn.AuthenticateCORS)
	}
	sc := conn.StreamCredentials
	if sc.APIKey != st.APIKey || sc.Token == "" || sc.User["id"] != "alice" || sc.User["role"] != "user" {
		t.Errorf("stream-credentials answered %+v", sc)
	}
	if conn.Identity != "alice" || conn.VirgilTokens < 1 {
		t.Errorf("e3kit identity %q after %d Virgil tokens", conn.Identity, conn.VirgilTokens)
	}
	if cards := virgil.Cards("alice"); len(cards) != 1 {
		t.Fatalf("alice has %d cards after e3kit's register", len(cards))
	}

	// bob is a Go participant signed in with the same backend: his Virgil
	// tokens come from /v1/virgil-credentials, his Stream user from
	// /v1/stream-credentials.
	status, auth, err := backendPost(ctx, backend, "/v1/authenticate", "", map[string]string{"identity": "bob", "password": password})
	if err != nil || status != 200 {
		t.Fatalf("bob signs in: %d %v %v", status, auth, err)
	}
	bobAuth, _ := auth["authToken"].(string)
	status, bobStream, err := backendPost(ctx, backend, "/v1/stream-credentials", bobAuth, map[string]any{})
	if err != nil || status != 200 {
		t.Fatalf("bob's Stream credentials: %d %v", status, err)
	}
	bobStreamToken, _ := bobStream["token"].(string)
	bob, err := e3.New(ctx, e3.Config{
		APIURL: virgil.URL,
		TokenProvider: e3.TokenProviderFunc(func(ctx context.Context) (string, error) {
			status, r, err := backendPost(ctx, backend, "/v1/virgil-credentials", bobAuth, map[string]any{})
			if err != nil {
				return "", err
			}
			tok, _ := r["token"].(string)
			if status != 200 || tok == "" {
				return "", fmt.Errorf("virgil-credentials: HTTP %d", status)
			}
			return tok, nil
		}),
		CardVerifier: virgil.CardVerifier(),
		Keyring:      keyring.NewMemory(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := bob.Register(ctx); err != nil {
		t.Fatal(err)
	}

	// alice's front end opens a channel with bob and writes to him.
	channelID := "seed-care"
	streamArgs := func(kv ...any) map[string]any {
		return with(map[string]any{"h": h, "streamURL": st.URL, "channelId": channelID}, kv...)
	}
	var opened struct {
		CID     string   `json:"cid"`
		Members []string `json:"members"`
	}
	mustCall(t, w, "seed.openChannel", streamArgs("members", []string{"alice", "bob"}), &opened)
	if opened.CID != "messaging:"+channelID || len(opened.Members) != 2 {
		t.Fatalf("opened %+v", opened)
	}
	const fromJS = "Hi Bob, my lab results came back. Can we talk? (from the seed's front end)"
	var sent struct {
		ID   string `json:"id"`
		Text string `json:"text"`
	}
	mustCall(t, w, "seed.send", streamArgs("to", []string{"bob"}, "text", fromJS), &sent)
	if !strings.HasPrefix(sent.Text, "MII") {
		t.Fatalf("the front end posted %q", sent.Text)
	}

	// bob reads it with his own user token, as a client would (a GET of
	// the message), and opens it with streamenc.
	bobCh := streamenc.NewChannel(st.Client().Channel("messaging", channelID), bob, nil)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		st.URL+"/messages/"+url.PathEscape(sent.ID)+"?api_key="+url.QueryEscape(st.APIKey)+"&user_id=bob", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", bobStreamToken)
	req.Header.Set("Stream-Auth-Type", "jwt")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Message stream.Message `json:"message"`
	}
	err = json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("bob's GET of the message with his backend-issued token: %d %v", resp.StatusCode, err)
	}
	m, err := bobCh.Open(ctx, &got.Message)
	if err != nil || m.Text != fromJS || m.Sender.Identity != "alice" || m.Layout != streamenc.LayoutText {
		t.Fatalf("bob opened %q from %s: %v", m.Text, m.SenderID, err)
	}

	// bob answers through streamenc (server side, as bob); alice's front
	// end reads both messages from Stream and decrypts them with e3kit.
	const fromGo = "Yes: your potassium is slightly high, nothing urgent. (from Go)"
	reply, err := bobCh.SendMessage(ctx, &stream.Message{Text: fromGo}, "bob")
	if err != nil {
		t.Fatal(err)
	}
	var read struct {
		Messages []struct {
			ID     string `json:"id"`
			User   string `json:"user"`
			Stored string `json:"stored"`
			Text   string `json:"text"`
			Error  string `json:"error"`
		} `json:"messages"`
		VirgilTokens int `json:"virgilTokens"`
	}
	mustCall(t, w, "seed.read", streamArgs(), &read)
	if read.VirgilTokens < conn.VirgilTokens {
		t.Errorf("e3kit fetched %d Virgil tokens from the backend", read.VirgilTokens)
	}
	if len(read.Messages) != 2 {
		t.Fatalf("the front end reads %d messages", len(read.Messages))
	}
	for i, want := range []struct{ id, user, text string }{{sent.ID, "alice", fromJS}, {reply.ID, "bob", fromGo}} {
		r := read.Messages[i]
		if r.ID != want.id || r.User != want.user || r.Text != want.text || r.Error != "" {
			t.Errorf("front end message %d: %+v, want %q from %s", i, r, want.text, want.user)
		}
		if strings.Contains(r.Stored, want.text[:10]) {
			t.Errorf("Stream returned message %d in clear", i)
		}
	}

	// Stream never saw a plaintext; the backend logged none, nor the
	// password or the tokens it issued.
	logs := backendLog()
	if !strings.Contains(logs, `"msg":"credentials issued"`) {
		t.Errorf("the backend log has no issued credentials:\n%s", logs)
	}
	for _, p := range []string{fromJS, fromGo, "lab results", "potassium"} {
		if where := st.Find([]byte(p)); len(where) > 0 {
			t.Errorf("%q reached Stream at %v", p, where)
		}
	}
	for _, secret := range []string{fromJS, fromGo, password, conn.Authenticate.AuthToken, bobAuth, sc.Token, bobStreamToken} {
		if strings.Contains(logs, secret) {
			t.Errorf("the backend logged %q", secret)
		}
	}
}
