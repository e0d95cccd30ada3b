package streamtest_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	stream "github.com/GetStream/stream-chat-go/v6"

	"github.com/e3go/e3go/streamenc/streamtest"
)

func TestRejections(t *testing.T) {
	srv := newServer(t)
	c := srv.Client()
	ctx := ctxT(t)
	ch := seed(t, c, "room", "alice", "bob")
	parent := send(t, ch, "alice", "parent")
	reply, err := ch.SendMessage(ctx, &stream.Message{Text: "reply", ParentID: parent.ID}, "bob")
	if err != nil {
		t.Fatal(err)
	}
	other := seed(t, c, "other", "alice")
	otherMsg := send(t, other, "alice", "elsewhere")

	msg := func(m *stream.Message) error {
		_, err := ch.SendMessage(ctx, m, "alice")
		return err
	}
	big := map[string]interface{}{"blob": strings.Repeat("z", 5*1024)}
	var atts []*stream.Attachment
	for range 31 {
		atts = append(atts, &stream.Attachment{Type: "file"})
	}
	var mentions []*stream.User
	for i := range 101 {
		mentions = append(mentions, &stream.User{ID: fmt.Sprint("u", i)})
	}
	cases := []struct {
		name         string
		err          error
		status, code int
	}{
		{"text over 5000 characters", msg(&stream.Message{Text: strings.Repeat("a", 5001)}), 400, streamtest.CodeMessageTooLong},
		{"text over 5000 runes", msg(&stream.Message{Text: strings.Repeat("é", 5001)}), 400, streamtest.CodeMessageTooLong},
		{"custom data over 5 KB", msg(&stream.Message{Text: "x", ExtraData: big}), 400, streamtest.CodeInput},
		{"31 attachments", msg(&stream.Message{Text: "x", Attachments: atts}), 400, streamtest.CodeInput},
		{"101 mentions", msg(&stream.Message{Text: "x", MentionedUsers: mentions}), 400, streamtest.CodeInput},
		{"unknown mention", msg(&stream.Message{Text: "x", MentionedUsers: []*stream.User{{ID: "ghost"}}}), 400, streamtest.CodeInput},
		{"ID over 255", msg(&stream.Message{Text: "x", ExtraData: map[string]interface{}{"id": strings.Repeat("i", 256)}}), 400, streamtest.CodeInput},
		{"duplicate ID", msg(&stream.Message{Text: "x", ExtraData: map[string]interface{}{"id": parent.ID}}), 400, streamtest.CodeInput},
		{"reply to a reply", msg(&stream.Message{Text: "x", ParentID: reply.Message.ID}), 400, streamtest.CodeMultipleNesting},
		{"parent not found", msg(&stream.Message{Text: "x", ParentID: "nope"}), 400, streamtest.CodeInput},
		{"parent in another channel", msg(&stream.Message{Text: "x", ParentID: otherMsg.ID}), 400, streamtest.CodeInput},
		{"quoted not found", msg(&stream.Message{Text: "x", QuotedMessageID: "nope"}), 400, streamtest.CodeInput},
		{"empty message", msg(&stream.Message{}), 400, streamtest.CodeInput},
		{"type ephemeral", msg(&stream.Message{Text: "x", Type: stream.MessageTypeEphemeral}), 400, streamtest.CodeInput},
		{"attachment title not a string", msg(&stream.Message{Text: "x", Attachments: []*stream.Attachment{{ExtraData: map[string]interface{}{"title": 1}}}}), 400, streamtest.CodeInput},
		{"unknown sender", func() error { _, err := ch.SendMessage(ctx, &stream.Message{Text: "x"}, "ghost"); return err }(), 400, streamtest.CodeInput},
		{"unknown channel", func() error {
			_, err := c.Channel("messaging", "nope").SendMessage(ctx, &stream.Message{Text: "x"}, "alice")
			return err
		}(), 404, streamtest.CodeDoesNotExist},
		{"unknown message", func() error { _, err := c.GetMessage(ctx, "nope"); return err }(), 404, streamtest.CodeDoesNotExist},
		{"update unknown message", func() error { _, err := c.UpdateMessage(ctx, &stream.Message{Text: "x"}, "nope"); return err }(), 404, streamtest.CodeDoesNotExist},
		{"react to unknown message", func() error {
			_, err := c.SendReaction(ctx, &stream.Reaction{Type: "like"}, "nope", "alice")
			return err
		}(), 404, streamtest.CodeDoesNotExist},
		{"replies of unknown message", func() error { _, err := ch.GetReplies(ctx, "nope", nil); return err }(), 404, streamtest.CodeDoesNotExist},
		{"get messages without ids", func() error { _, err := ch.GetMessages(ctx, nil); return err }(), 400, streamtest.CodeInput},
		{"search without channel filter", func() error { _, err := c.Search(ctx, stream.SearchRequest{Query: "x"}); return err }(), 400, streamtest.CodeInput},
		{"search without query", func() error {
			_, err := c.Search(ctx, stream.SearchRequest{Filters: map[string]interface{}{"type": "messaging"}})
			return err
		}(), 400, streamtest.CodeInput},
		{"query users without filter", func() error { _, err := c.QueryUsers(ctx, &stream.QueryOption{}); return err }(), 400, streamtest.CodeInput},
		{"over 100 members", func() error {
			var ids []string
			for i := range 101 {
				ids = append(ids, fmt.Sprint("m", i))
			}
			_, err := ch.AddMembers(ctx, ids)
			return err
		}(), 400, streamtest.CodeInput},
		{"invalid user id", func() error { _, err := c.UpsertUser(ctx, &stream.User{ID: "has space"}); return err }(), 400, streamtest.CodeInput},
		{"user custom data over 5 KB", func() error { _, err := c.UpsertUser(ctx, &stream.User{ID: "big", ExtraData: big}); return err }(), 400, streamtest.CodeInput},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { wantAPIError(t, tc.err, tc.status, tc.code) })
	}
	// Limits are inclusive.
	if err := msg(&stream.Message{Text: strings.Repeat("é", 5000)}); err != nil {
		t.Fatalf("5000 runes refused: %v", err)
	}
	if err := msg(&stream.Message{Text: "x", ExtraData: map[string]interface{}{"id": strings.Repeat("i", 255)}}); err != nil {
		t.Fatalf("255-char ID refused: %v", err)
	}

	// Raw requests: malformed JSON, wrong types, unknown routes, missing
	// created_by.
	raw := []struct {
		name, method, path, body string
		status, code             int
	}{
		{"malformed JSON", "POST", "/channels/messaging/room/message", `{"message":`, 400, streamtest.CodeInput},
		{"trailing garbage", "POST", "/channels/messaging/room/message", `{"message":{"text":"x","user_id":"alice"}} {}`, 400, streamtest.CodeInput},
		{"body is an array", "POST", "/users", `[1,2]`, 400, streamtest.CodeInput},
		{"text not a string", "POST", "/channels/messaging/room/message", `{"message":{"text":5,"user_id":"alice"}}`, 400, streamtest.CodeInput},
		{"message not an object", "POST", "/channels/messaging/room/message", `{"message":"hi"}`, 400, streamtest.CodeInput},
		{"no message", "POST", "/channels/messaging/room/message", `{}`, 400, streamtest.CodeInput},
		{"no sender server-side", "POST", "/channels/messaging/room/message", `{"message":{"text":"x"}}`, 400, streamtest.CodeInput},
		{"create without created_by", "POST", "/channels/messaging/new/query", `{"data":{"members":["alice"]}}`, 400, streamtest.CodeInput},
		{"distinct without members", "POST", "/channels/messaging/query", `{"data":{"created_by_id":"alice"}}`, 400, streamtest.CodeInput},
		{"unknown route", "GET", "/nope", ``, 404, streamtest.CodeDoesNotExist},
		{"double slash", "POST", "//users", `{}`, 404, streamtest.CodeDoesNotExist},
		{"wrong method", "PUT", "/users", `{}`, 405, streamtest.CodeDoesNotExist},
		{"channel update that changes nothing", "POST", "/channels/messaging/room", `{}`, 400, streamtest.CodeInput},
		{"partial update without set", "PUT", "/messages/" + parent.ID, `{"set":{},"unset":[]}`, 400, streamtest.CodeInput},
		{"bad payload", "GET", "/users?payload=%7Bnope", ``, 400, streamtest.CodeInput},
		{"bad filter operator", "GET", "/users?payload=" + `%7B%22filter_conditions%22%3A%7B%22id%22%3A%7B%22%24regex%22%3A%22a%22%7D%7D%7D`, ``, 400, streamtest.CodeInput},
		{"upload not multipart", "POST", "/channels/messaging/room/file", `{}`, 400, streamtest.CodeInput},
		{"webhook URL not http", "PATCH", "/app", `{"webhook_url":"javascript:alert(1)"}`, 400, streamtest.CodeInput},
	}
	for _, tc := range raw {
		t.Run(tc.name, func(t *testing.T) {
			var body []byte
			if tc.body != "" {
				body = []byte(tc.body)
			}
			req := rawServerRequest(t, srv, tc.method, "", body)
			req.URL.Opaque = tc.path
			if i := strings.IndexByte(tc.path, '?'); i >= 0 {
				req.URL.Opaque = tc.path[:i]
				req.URL.RawQuery = tc.path[i+1:] + "&api_key=" + srv.APIKey
			}
			status, out := do(t, req)
			wantEnvelope(t, status, out, tc.status, tc.code)
		})
	}
	// Nothing was stored by the refused requests.
	for _, m := range srv.Messages("messaging:room") {
		if m.Text != "parent" && m.Text != "reply" && !strings.HasPrefix(m.Text, "é") && m.Text != "x" {
			t.Fatalf("unexpected stored message %q", m.Text)
		}
	}
	if n := len(srv.Messages("messaging:room")); n != 4 {
		t.Fatalf("%d messages stored in room, want 4 (parent, reply, two accepted at the limits)", n)
	}
}

func TestOversizedBodies(t *testing.T) {
	srv := newServer(t) // default 5 MB JSON body limit
	c := srv.Client()
	ch := seed(t, c, "big", "alice")
	huge := bytes.Repeat([]byte("a"), 6<<20)
	_, err := ch.SendMessage(ctxT(t), &stream.Message{Text: string(huge)}, "alice")
	wantAPIError(t, err, 413, streamtest.CodePayloadTooBig)
	// A 20 MB raw body too, and the server keeps serving.
	req := rawServerRequest(t, srv, "POST", "/channels/messaging/big/message", bytes.Repeat([]byte("{"), 20<<20))
	status, body := do(t, req)
	wantEnvelope(t, status, body, 413, streamtest.CodePayloadTooBig)
	send(t, ch, "alice", "still serving")
}

func TestFaultInjection(t *testing.T) {
	srv := newServer(t)
	c := srv.Client()
	ctx := ctxT(t)
	ch := seed(t, c, "faulty", "alice")

	srv.InjectFault(streamtest.Fault{Method: "POST", Path: "/channels/*/*/message", Times: 2, Status: 503})
	for range 2 {
		_, err := ch.SendMessage(ctx, &stream.Message{Text: "x"}, "alice")
		wantAPIError(t, err, 503, streamtest.CodeInternal)
	}
	send(t, ch, "alice", "third goes through")

	srv.InjectFault(streamtest.Fault{Path: "/messages/*", Status: 429})
	_, err := c.GetMessage(ctx, "whatever")
	e := wantAPIError(t, err, 429, streamtest.CodeRateLimit)
	if e.RateLimit == nil || e.RateLimit.Remaining != 0 || e.RateLimit.Limit == 0 {
		t.Fatalf("429 fault rate limit = %+v", e.RateLimit)
	}

	// A non-JSON edge answer.
	srv.InjectFault(streamtest.Fault{Path: "/users", Status: 429, Body: []byte("Too Many Requests")})
	_, err = c.UpsertUser(ctx, &stream.User{ID: "x"})
	var se stream.Error
	if !errors.As(err, &se) || se.StatusCode != 429 || se.Message != "Too Many Requests" || se.RateLimit != nil {
		t.Fatalf("non-JSON fault = %+v", err)
	}

	// Dropped connection.
	// (A POST: net/http would retry an idempotent GET on a reused connection.)
	srv.InjectFault(streamtest.Fault{Method: "POST", Path: "/users", CloseConnection: true})
	if _, err := c.UpsertUser(ctx, &stream.User{ID: "y"}); err == nil {
		t.Fatal("dropped connection gave no error")
	}
	if _, err := c.UpsertUser(ctx, &stream.User{ID: "y"}); err != nil {
		t.Fatalf("after the dropped connection: %v", err)
	}

	// Latency: a delay fault, and SetLatency against a client timeout.
	srv.InjectFault(streamtest.Fault{Path: "/app", Delay: 50 * time.Millisecond})
	start := time.Now()
	if _, err := c.GetAppSettings(ctx); err != nil || time.Since(start) < 50*time.Millisecond {
		t.Fatalf("delay fault: %v after %v", err, time.Since(start))
	}
	srv.SetLatency(300 * time.Millisecond)
	impatient := srv.Client()
	impatient.HTTP.Timeout = 50 * time.Millisecond
	if _, err := impatient.GetAppSettings(ctx); err == nil {
		t.Fatal("latency did not trip the client timeout")
	}
	srv.SetLatency(0)
	srv.InjectFault(streamtest.Fault{Status: 500, Times: 5})
	srv.ClearFaults()
	if _, err := c.GetAppSettings(ctx); err != nil {
		t.Fatalf("after ClearFaults: %v", err)
	}
	reqs := srv.Requests()
	if reqs[0].Status == 0 && reqs[0].Method == "" {
		t.Fatal("requests not recorded")
	}
	_ = http.StatusOK
}
