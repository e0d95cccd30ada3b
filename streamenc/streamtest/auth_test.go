package streamtest_test

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	stream "github.com/GetStream/stream-chat-go/v6"

	"github.com/e3go/e3go/streamenc/streamtest"
)

// The probe's captured server token and user token (spec §1.4) verify with
// the same secret, and a client built on that secret is accepted.
func TestCapturedTokenVectors(t *testing.T) {
	srv := newServer(t, streamtest.Config{APIKey: "probe-key", APISecret: "probe-secret"})
	for _, tc := range []struct {
		tok  string
		want string
	}{
		{"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzZXJ2ZXIiOnRydWV9.DWJqR_fUzCwHg_syJQ0ar5alSasuGNXu-qRZXBIGICs", "server"},
		{"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VyX2lkIjoiYWxpY2UifQ.jZ0WnxPz27pfCDa1UIk9upRXDLMj5rOmDSaSl6NdSBA", "user:alice"},
	} {
		req := rawServerRequest(t, srv, "GET", "/app", nil)
		req.Header.Set("Authorization", tc.tok)
		status, body := do(t, req)
		if status != 200 {
			t.Fatalf("captured token %s refused: %d %v", tc.want, status, body)
		}
		reqs := srv.Requests()
		if got := reqs[len(reqs)-1].Auth; got != tc.want {
			t.Fatalf("auth = %q, want %q", got, tc.want)
		}
	}
	if got := srv.UserToken("alice"); got != "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VyX2lkIjoiYWxpY2UifQ.jZ0WnxPz27pfCDa1UIk9upRXDLMj5rOmDSaSl6NdSBA" {
		t.Fatalf("UserToken(alice) = %s, want the token CreateToken makes", got)
	}
	sdkTok, err := srv.Client().CreateToken("alice", time.Time{})
	if err != nil || sdkTok != srv.UserToken("alice") {
		t.Fatalf("CreateToken = %s, %v", sdkTok, err)
	}
}

func TestAuthRejections(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	srv := newServer(t, streamtest.Config{Now: func() time.Time { return now }})

	// Through the client: wrong secret, wrong key.
	bad, err := stream.NewClient(srv.APIKey, "not-the-secret")
	if err != nil {
		t.Fatal(err)
	}
	bad.BaseURL = srv.URL
	_, err = bad.UpsertUser(ctxT(t), &stream.User{ID: "x"})
	e := wantAPIError(t, err, 401, streamtest.CodeTokenSignatureWrong)
	if !strings.Contains(e.Message, "signature is not valid") {
		t.Fatalf("message = %q", e.Message)
	}
	wrongKey, _ := stream.NewClient("other-key", srv.APISecret)
	wrongKey.BaseURL = srv.URL
	_, err = wrongKey.GetMessage(ctxT(t), "x")
	wantAPIError(t, err, 401, streamtest.CodeAccessKey)

	enc := base64.RawURLEncoding.EncodeToString
	serverHdr := enc([]byte(`{"alg":"HS256","typ":"JWT"}`))
	cases := []struct {
		name  string
		mod   func(r *http.Request)
		code  int
		noKey bool
	}{
		{"missing api_key", func(r *http.Request) {}, streamtest.CodeAccessKey, true},
		{"missing Authorization", func(r *http.Request) { r.Header.Del("Authorization") }, streamtest.CodeAuthentication, false},
		{"missing Stream-Auth-Type", func(r *http.Request) { r.Header.Del("Stream-Auth-Type") }, streamtest.CodeAuthentication, false},
		{"anonymous auth", func(r *http.Request) { r.Header.Set("Stream-Auth-Type", "anonymous") }, streamtest.CodeAuthentication, false},
		{"two segments", func(r *http.Request) { r.Header.Set("Authorization", "abc.def") }, streamtest.CodeAuthentication, false},
		{"garbage", func(r *http.Request) { r.Header.Set("Authorization", "%%%.%%%.%%%") }, streamtest.CodeAuthentication, false},
		{"alg none", func(r *http.Request) {
			r.Header.Set("Authorization", enc([]byte(`{"alg":"none"}`))+"."+enc([]byte(`{"server":true}`))+".")
		}, streamtest.CodeAuthentication, false},
		{"alg HS512", func(r *http.Request) {
			r.Header.Set("Authorization", enc([]byte(`{"alg":"HS512"}`))+"."+enc([]byte(`{"server":true}`))+".c2ln")
		}, streamtest.CodeAuthentication, false},
		{"bad signature", func(r *http.Request) {
			r.Header.Set("Authorization", serverHdr+"."+enc([]byte(`{"server":true}`))+"."+enc(make([]byte, 32)))
		}, streamtest.CodeTokenSignatureWrong, false},
		{"flipped payload", func(r *http.Request) {
			tok := srv.Token(map[string]any{"server": true})
			parts := strings.Split(tok, ".")
			r.Header.Set("Authorization", parts[0]+"."+enc([]byte(`{"server":1}`))+"."+parts[2])
		}, streamtest.CodeTokenSignatureWrong, false},
		{"devtoken without disable_auth_checks", func(r *http.Request) {
			r.Header.Set("Authorization", serverHdr+"."+enc([]byte(`{"user_id":"alice"}`))+".devtoken")
		}, streamtest.CodeTokenSignatureWrong, false},
		{"expired", func(r *http.Request) {
			r.Header.Set("Authorization", srv.Token(map[string]any{"server": true, "exp": now.Add(-time.Second).Unix()}))
		}, streamtest.CodeTokenExpired, false},
		{"not valid yet", func(r *http.Request) {
			r.Header.Set("Authorization", srv.Token(map[string]any{"server": true, "nbf": now.Add(time.Hour).Unix()}))
		}, streamtest.CodeTokenNotValidYet, false},
		{"issued in the future", func(r *http.Request) {
			r.Header.Set("Authorization", srv.Token(map[string]any{"server": true, "iat": now.Add(time.Hour).Unix()}))
		}, streamtest.CodeTokenUsedBeforeIAT, false},
		{"exp not a number", func(r *http.Request) {
			r.Header.Set("Authorization", srv.Token(map[string]any{"server": true, "exp": "tomorrow"}))
		}, streamtest.CodeAuthentication, false},
		{"no known claim", func(r *http.Request) {
			r.Header.Set("Authorization", srv.Token(map[string]any{"sub": "alice"}))
		}, streamtest.CodeAuthentication, false},
		{"server false", func(r *http.Request) {
			r.Header.Set("Authorization", srv.Token(map[string]any{"server": false}))
		}, streamtest.CodeAuthentication, false},
		{"claims not an object", func(r *http.Request) {
			r.Header.Set("Authorization", srv.Token(map[string]any{"x": 1})[:0]+serverHdr+"."+enc([]byte(`[1]`))+".x")
		}, streamtest.CodeTokenSignatureWrong, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := rawServerRequest(t, srv, "GET", "/app", nil)
			if tc.noKey {
				req.URL.RawQuery = ""
			}
			tc.mod(req)
			status, body := do(t, req)
			wantEnvelope(t, status, body, 401, tc.code)
		})
	}

	// Valid edge cases: unexpired exp, a Bearer prefix, iat within leeway.
	for _, tok := range []string{
		srv.Token(map[string]any{"server": true, "exp": now.Add(time.Minute).Unix()}),
		"Bearer " + srv.Token(map[string]any{"server": true}),
		srv.Token(map[string]any{"server": true, "iat": now.Add(2 * time.Second).Unix()}),
	} {
		req := rawServerRequest(t, srv, "GET", "/app", nil)
		req.Header.Set("Authorization", tok)
		if status, body := do(t, req); status != 200 {
			t.Fatalf("token refused: %d %v", status, body)
		}
	}
}

func TestDevTokensWithAuthChecksDisabled(t *testing.T) {
	srv := newServer(t)
	c := srv.Client()
	seed(t, c, "dev", "alice")
	enc := base64.RawURLEncoding.EncodeToString
	dev := enc([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc([]byte(`{"user_id":"alice"}`)) + ".devtoken"
	req := srv.NewUserRequest(ctxT(t), "GET", "/app", "alice", nil)
	req.Header.Set("Authorization", dev)
	status, body := do(t, req)
	wantEnvelope(t, status, body, 401, streamtest.CodeTokenSignatureWrong)

	if _, err := c.UpdateAppSettings(ctxT(t), stream.NewAppSettings().SetDisableAuth(true)); err != nil {
		t.Fatal(err)
	}
	req = srv.NewUserRequest(ctxT(t), "POST", "/channels/messaging/dev/message", "alice", map[string]any{"message": map[string]any{"text": "dev"}})
	req.Header.Set("Authorization", dev)
	if status, body := do(t, req); status != 201 {
		t.Fatalf("dev token with auth checks disabled: %d %v", status, body)
	}
	// A dev token never grants server rights.
	devServer := enc([]byte(`{"alg":"HS256"}`)) + "." + enc([]byte(`{"server":true}`)) + ".devtoken"
	req = rawServerRequest(t, srv, "GET", "/app", nil)
	req.Header.Set("Authorization", devServer)
	status, body = do(t, req)
	wantEnvelope(t, status, body, 401, streamtest.CodeAuthentication)
}
