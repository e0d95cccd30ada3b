package streamtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	stream "github.com/GetStream/stream-chat-go/v6"

	"github.com/e3go/e3go/streamenc/streamtest"
)

func newServer(t testing.TB, cfg ...streamtest.Config) *streamtest.Server {
	t.Helper()
	var srv *streamtest.Server
	if len(cfg) > 0 {
		srv = streamtest.NewServerWithConfig(cfg[0])
	} else {
		srv = streamtest.NewServer()
	}
	t.Cleanup(srv.Close)
	return srv
}

func ctxT(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// seed creates users and a channel "messaging:<id>" created by the first
// member, with all of them as members.
func seed(t testing.TB, c *stream.Client, chID string, members ...string) *stream.Channel {
	t.Helper()
	ctx := ctxT(t)
	var us []*stream.User
	for _, m := range members {
		us = append(us, &stream.User{ID: m, Name: m})
	}
	if _, err := c.UpsertUsers(ctx, us...); err != nil {
		t.Fatalf("UpsertUsers: %v", err)
	}
	resp, err := c.CreateChannel(ctx, "messaging", chID, members[0], &stream.ChannelRequest{Members: members})
	if err != nil {
		t.Fatalf("CreateChannel: %v", err)
	}
	return resp.Channel
}

func send(t testing.TB, ch *stream.Channel, user, text string) *stream.Message {
	t.Helper()
	resp, err := ch.SendMessage(ctxT(t), &stream.Message{Text: text}, user)
	if err != nil {
		t.Fatalf("SendMessage(%q): %v", text, err)
	}
	if resp.Message == nil || resp.Message.ID == "" {
		t.Fatalf("SendMessage(%q): no message in response", text)
	}
	return resp.Message
}

// wantAPIError checks err is a stream.Error with the given status and code.
func wantAPIError(t testing.TB, err error, status, code int) stream.Error {
	t.Helper()
	var e stream.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want a stream.Error with status %d code %d", err, err, status, code)
	}
	if e.StatusCode != status || e.Code != code {
		t.Fatalf("error = status %d code %d %q, want status %d code %d", e.StatusCode, e.Code, e.Message, status, code)
	}
	if e.MoreInfo == "" || e.Duration == "" {
		t.Fatalf("error envelope lacks more_info or duration: %+v", e)
	}
	return e
}

// do sends a raw request and decodes the JSON answer.
func do(t testing.TB, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s: status %d, body is not a JSON object: %q", req.Method, req.URL.Path, resp.StatusCode, b)
	}
	return resp.StatusCode, out
}

// wantEnvelope checks a raw error answer is Stream's envelope with the
// given status and code.
func wantEnvelope(t testing.TB, status int, body map[string]any, wantStatus, wantCode int) {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("status = %d (%v), want %d", status, body, wantStatus)
	}
	if code, _ := body["code"].(float64); int(code) != wantCode {
		t.Fatalf("code = %v (%v), want %d", body["code"], body["message"], wantCode)
	}
	if sc, _ := body["StatusCode"].(float64); int(sc) != wantStatus {
		t.Fatalf("StatusCode = %v, want %d", body["StatusCode"], wantStatus)
	}
	for _, k := range []string{"message", "duration", "more_info", "details"} {
		if _, ok := body[k]; !ok {
			t.Fatalf("error envelope lacks %q: %v", k, body)
		}
	}
}

// rawServerRequest builds a request authenticated as the server, the way
// stream-chat-go builds one.
func rawServerRequest(t testing.TB, srv *streamtest.Server, method, path string, body []byte) *http.Request {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctxT(t), method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	q := req.URL.Query()
	q.Set("api_key", srv.APIKey)
	req.URL.RawQuery = q.Encode()
	req.Header.Set("Authorization", srv.Token(map[string]any{"server": true}))
	req.Header.Set("Stream-Auth-Type", "jwt")
	req.Header.Set("Content-Type", "application/json")
	return req
}
