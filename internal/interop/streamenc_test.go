package interop

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	stream "github.com/GetStream/stream-chat-go/v6"

	"github.com/e3go/e3go/streamenc"
	"github.com/e3go/e3go/streamenc/streamtest"
)

// streamenc against what the seed's React app does with e3kit-node 2.5.1 and
// Stream's REST API (node/ops/stream.js for the REST calls, made with user
// tokens as the JS client makes them; node/ops/e3kit_client.js for e3kit):
//
//   - messages sent through streamenc (text layout, with and without a
//     sealed payload beside the text) are read back by the JS side from
//     Stream and decrypted by e3kit's authDecrypt with the sender's card;
//   - messages e3kit encrypted (authEncrypt(text, cards), base64) and
//     posted to the channel by the JS side are opened by streamenc, with the
//     right sender, for every Go member;
//   - a message e3kit sealed without a Go member is reported to that member
//     as not sealed for it, and the others still open.

// streamJS is what stream.js needs to act as a user.
func streamJS(srv *streamtest.Server, user string) map[string]any {
	return map[string]any{"baseURL": srv.URL, "apiKey": srv.APIKey, "token": srv.UserToken(user), "userId": user,
		"channelType": "messaging", "channelId": "care-team"}
}

func with(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func TestStreamencE3kit(t *testing.T) {
	e := newClientEnv(t)
	ctx := context.Background()
	ss := streamtest.NewServer()
	t.Cleanup(ss.Close)
	sc := ss.Client()

	// alice and carol are Go participants, bob is an e3kit-node user.
	alice, carol := e.goClient("alice", false), e.goClient("carol", false)
	for _, c := range []interface{ Register(context.Context) error }{alice, carol} {
		if err := c.Register(ctx); err != nil {
			t.Fatal(err)
		}
	}
	bob := e.jsUser("bob", false)
	e.must("register", bob, nil, nil)
	for _, u := range []string{"alice", "bob", "carol"} {
		if _, err := sc.UpsertUser(ctx, &stream.User{ID: u}); err != nil {
			t.Fatal(err)
		}
	}
	created, err := sc.CreateChannel(ctx, "messaging", "care-team", "alice", &stream.ChannelRequest{Members: []string{"alice", "bob", "carol"}})
	if err != nil {
		t.Fatal(err)
	}
	opts := &streamenc.ChannelOptions{StreamClient: sc, SensitiveFields: []string{"mrn"}}
	aCh := streamenc.NewChannel(created.Channel, alice, opts)
	cCh := streamenc.NewChannel(created.Channel, carol, opts)

	// Go → e3kit.
	goTexts := []string{"BP 120/80", "", "ünïcødé ✓ 🩺 – 日本語", strings.Repeat("long line ", 200)}
	for _, text := range goTexts {
		if _, err := aCh.SendMessage(ctx, &stream.Message{Text: text}, "alice"); err != nil {
			t.Fatal(err)
		}
	}
	// With a sealed field: the text stays e3kit's, the payload is extra.
	if _, err := aCh.SendMessage(ctx, &stream.Message{Text: "with a sealed field", ExtraData: map[string]any{"mrn": "MRN-1"}}, "alice"); err != nil {
		t.Fatal(err)
	}
	goTexts = append(goTexts, "with a sealed field")
	if _, err := cCh.SendMessage(ctx, &stream.Message{Text: "from carol"}, "carol"); err != nil {
		t.Fatal(err)
	}

	var stored []struct {
		ID   string `json:"id"`
		Text string `json:"text"`
		User string `json:"user"`
	}
	mustCall(t, e.w, "stream.queryMessages", streamJS(ss, "bob"), &stored)
	if len(stored) != len(goTexts)+1 {
		t.Fatalf("bob's client sees %d messages", len(stored))
	}
	e.jsFind(bob, "alice", "carol")
	var aliceTexts []string
	for _, m := range stored[:len(goTexts)] {
		if m.User != "alice" {
			t.Fatalf("message %s from %q", m.ID, m.User)
		}
		aliceTexts = append(aliceTexts, m.Text)
	}
	got := e.jsDecrypt(bob, "alice", time.Time{}, nil, aliceTexts)
	for i, text := range got.Text {
		if text != goTexts[i] {
			t.Errorf("e3kit read %q, streamenc sent %q", text, goTexts[i])
		}
	}
	if got := e.jsDecrypt(bob, "carol", time.Time{}, nil, []string{stored[len(goTexts)].Text}); got.Text[0] != "from carol" {
		t.Errorf("e3kit read %q from carol", got.Text[0])
	}

	// e3kit → Go: bob encrypts for alice and carol as the React app does,
	// and posts with his user token.
	jsTexts := []string{"from the browser", "", "émoji 🧪 and more", strings.Repeat("b", 2000)}
	enc := e.jsEncrypt(bob, []string{"alice", "carol"}, nil, jsTexts)
	var ids []string
	for _, ct := range enc.Text {
		var m struct {
			ID string `json:"id"`
		}
		mustCall(t, e.w, "stream.sendMessage", with(streamJS(ss, "bob"), "text", ct), &m)
		ids = append(ids, m.ID)
	}
	// One for alice only: carol is not a recipient.
	e.jsFind(bob, "alice")
	only := e.jsEncrypt(bob, []string{"alice"}, nil, []string{"for alice only"})
	var onlyMsg struct {
		ID string `json:"id"`
	}
	mustCall(t, e.w, "stream.sendMessage", with(streamJS(ss, "bob"), "text", only.Text[0]), &onlyMsg)

	for _, who := range []*streamenc.Channel{aCh, cCh} {
		ms, err := who.GetMessages(ctx, append(ids, onlyMsg.ID)...)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != len(jsTexts)+1 {
			t.Fatalf("%d messages", len(ms))
		}
		for i, m := range ms[:len(jsTexts)] {
			if m.Err != nil || m.Text != jsTexts[i] || m.Sender.Identity != "bob" || m.Layout != streamenc.LayoutText {
				t.Errorf("message %d: %q from %s, %v", i, m.Text, m.SenderID, m.Err)
			}
		}
		last := ms[len(jsTexts)]
		if who == aCh && (last.Err != nil || last.Text != "for alice only") {
			t.Errorf("alice: %q, %v", last.Text, last.Err)
		}
		if who == cCh && !errors.Is(last.Err, streamenc.ErrNotRecipient) {
			t.Errorf("carol: %v", last.Err)
		}
	}
	// And through a page query, mixed with the Go messages.
	page, err := cCh.Query(ctx, &stream.QueryRequest{Messages: &stream.MessagePaginationParamsRequest{PaginationParamsRequest: stream.PaginationParamsRequest{Limit: 100}}})
	if err != nil {
		t.Fatal(err)
	}
	opened := 0
	for _, m := range page {
		if m.Err == nil {
			opened++
		}
	}
	if opened != len(goTexts)+1+len(jsTexts) {
		t.Errorf("carol opened %d of %d", opened, len(page))
	}
	for _, p := range append(goTexts[:1], "from the browser", "émoji", "for alice only", "MRN-1") {
		if where := ss.Find([]byte(p)); len(where) > 0 {
			t.Errorf("plaintext %q stored at %v", p, where)
		}
	}
}
