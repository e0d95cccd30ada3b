package streamtest_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	stream "github.com/GetStream/stream-chat-go/v6"

	"github.com/e3go/e3go/streamenc/streamtest"
)

// receiver is a webhook endpoint that checks every delivery the way spec
// §5.1 describes and records it.
type receiver struct {
	t      *testing.T
	secret string
	apiKey string
	verify *stream.Client
	// respond decides the answer to each attempt (nil: 200).
	respond func(id string, attempt int) int

	mu       sync.Mutex
	got      []received
	attempts map[string][]int
}

type received struct {
	id    string
	event stream.Event
	body  []byte
}

func newReceiver(t *testing.T, srv *streamtest.Server) (*receiver, *httptest.Server) {
	r := &receiver{t: t, secret: srv.APISecret, apiKey: srv.APIKey, verify: srv.Client(), attempts: map[string][]int{}}
	hs := httptest.NewServer(r)
	t.Cleanup(hs.Close)
	return r, hs
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		r.t.Errorf("reading webhook body: %v", err)
		return
	}
	// The spec's algorithm: lowercase hex HMAC-SHA256 of the raw body, keyed
	// with the API secret.
	mac := hmac.New(sha256.New, []byte(r.secret))
	mac.Write(body)
	want := hex.EncodeToString(mac.Sum(nil))
	sig := req.Header.Get("X-Signature")
	if sig != want {
		r.t.Errorf("X-Signature = %q, want %q", sig, want)
	}
	if !r.verify.VerifyWebhook(body, []byte(sig)) {
		r.t.Errorf("stream-chat-go VerifyWebhook refused the signature")
	}
	if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" || req.Header.Get("X-Api-Key") != r.apiKey {
		r.t.Errorf("webhook request: %s, Content-Type %q, X-Api-Key %q", req.Method, req.Header.Get("Content-Type"), req.Header.Get("X-Api-Key"))
	}
	id := req.Header.Get("X-Webhook-Id")
	attempt, err := strconv.Atoi(req.Header.Get("X-Webhook-Attempt"))
	if id == "" || err != nil || attempt < 1 {
		r.t.Errorf("X-Webhook-Id %q, X-Webhook-Attempt %q", id, req.Header.Get("X-Webhook-Attempt"))
	}
	status := 200
	if r.respond != nil {
		status = r.respond(id, attempt)
	}
	r.mu.Lock()
	r.attempts[id] = append(r.attempts[id], attempt)
	if status == 200 {
		var ev stream.Event
		if err := json.Unmarshal(body, &ev); err != nil {
			r.t.Errorf("webhook body does not decode into stream.Event: %v", err)
		}
		r.got = append(r.got, received{id: id, event: ev, body: body})
	}
	r.mu.Unlock()
	w.WriteHeader(status)
}

func (r *receiver) events() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

func waitWebhooks(t *testing.T, srv *streamtest.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.WaitWebhooks(ctx); err != nil {
		t.Fatalf("WaitWebhooks: %v", err)
	}
}

func TestWebhooksDeliveredSignedInOrder(t *testing.T) {
	srv := newServer(t)
	rcv, hs := newReceiver(t, srv)
	c := srv.Client()
	ctx := ctxT(t)
	if _, err := c.UpdateAppSettings(ctx, stream.NewAppSettings().SetWebhookURL(hs.URL+"/hook")); err != nil {
		t.Fatal(err)
	}
	ch := seed(t, c, "hooks", "alice", "bob")
	var ids []string
	for i := range 20 {
		resp, err := ch.SendMessage(ctx, &stream.Message{Text: fmt.Sprintf("m%d", i), ExtraData: map[string]interface{}{"x_e2ee": map[string]interface{}{"v": 1}}}, "alice")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, resp.Message.ID)
	}
	if _, err := c.UpdateMessage(ctx, &stream.Message{Text: "m0 edited"}, ids[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteMessage(ctx, ids[1]); err != nil {
		t.Fatal(err)
	}
	if _, err := c.HardDeleteMessage(ctx, ids[2]); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SendReaction(ctx, &stream.Reaction{Type: "like"}, ids[3], "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpsertUser(ctx, &stream.User{ID: "carol"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.AddMembers(ctx, []string{"carol"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.RemoveMembers(ctx, []string{"carol"}, nil); err != nil {
		t.Fatal(err)
	}
	waitWebhooks(t, srv)

	got := rcv.events()
	var types []string
	var newIDs []string
	for _, r := range got {
		types = append(types, string(r.event.Type))
		if r.event.Type == stream.EventMessageNew {
			newIDs = append(newIDs, r.event.Message.ID)
			if r.event.CID != "messaging:hooks" || r.event.User.ID != "alice" || r.event.ExtraData["message_id"] != r.event.Message.ID ||
				r.event.ExtraData["channel_type"] != "messaging" || r.event.ExtraData["channel_id"] != "hooks" || len(r.event.Members) != 2 {
				t.Fatalf("message.new event = %+v", r.event)
			}
			if v := r.event.Message.ExtraData["x_e2ee"]; v == nil {
				t.Fatalf("custom field missing from webhook message: %v", r.event.Message.ExtraData)
			}
		}
	}
	if fmt.Sprint(newIDs) != fmt.Sprint(ids) {
		t.Fatalf("message.new order = %v, want %v", newIDs, ids)
	}
	want := []string{"channel.created", "member.added", "member.added"}
	for range ids {
		want = append(want, "message.new")
	}
	want = append(want, "message.updated", "message.deleted", "message.deleted", "reaction.new", "member.added", "member.removed")
	if fmt.Sprint(types) != fmt.Sprint(want) {
		t.Fatalf("event types = %v\nwant %v", types, want)
	}
	upd := got[len(got)-6].event
	if upd.Message.Text != "m0 edited" {
		t.Fatalf("message.updated = %+v", upd.Message)
	}
	soft, hard := got[len(got)-5].event, got[len(got)-4].event
	if soft.ExtraData["hard_delete"] != false || soft.Message.Type != "deleted" || hard.ExtraData["hard_delete"] != true {
		t.Fatalf("message.deleted soft %v / hard %v", soft.ExtraData["hard_delete"], hard.ExtraData["hard_delete"])
	}
	if r := got[len(got)-3].event; r.Reaction == nil || r.Reaction.Type != "like" || r.Message == nil || r.Channel == nil {
		t.Fatalf("reaction.new = %+v", r)
	}
	if m := got[len(got)-2].event; m.Member == nil || m.Member.UserID != "carol" || m.Channel == nil {
		t.Fatalf("member.added = %+v", m)
	}
	// The record agrees with what was received.
	dels := srv.WebhookDeliveries()
	if len(dels) != len(got) {
		t.Fatalf("%d deliveries recorded, %d received", len(dels), len(got))
	}
	for i, d := range dels {
		if !d.Delivered || !d.Done || len(d.Attempts) != 1 || d.Attempts[0].Status != 200 || d.ID != got[i].id || string(d.Body) != string(got[i].body) || d.URL != hs.URL+"/hook" {
			t.Fatalf("delivery %d = %+v", i, d)
		}
	}
	if evs := srv.Events(); len(evs) != len(got) {
		t.Fatalf("Events() has %d, want %d", len(evs), len(got))
	}
}

func TestWebhookRetries(t *testing.T) {
	srv := newServer(t, streamtest.Config{WebhookBackoff: time.Millisecond, WebhookTimeout: 200 * time.Millisecond})
	rcv, hs := newReceiver(t, srv)
	c := srv.Client()
	ch := seed(t, c, "retry", "alice")
	srv.SetWebhookURL(hs.URL)

	var mu sync.Mutex
	plan := map[string]func(attempt int) int{} // by message text
	rcv.respond = func(id string, attempt int) int {
		mu.Lock()
		defer mu.Unlock()
		for _, d := range srv.WebhookDeliveries() {
			if d.ID != id {
				continue
			}
			var ev struct {
				Message struct{ Text string } `json:"message"`
			}
			json.Unmarshal(d.Body, &ev)
			if f := plan[ev.Message.Text]; f != nil {
				return f(attempt)
			}
		}
		return 200
	}
	plan["flaky"] = func(a int) int {
		if a < 3 {
			return 500
		}
		return 200
	}
	plan["always 503"] = func(int) int { return 503 }
	plan["bad request"] = func(int) int { return 400 }
	plan["rate limited"] = func(a int) int {
		if a == 1 {
			return 429
		}
		return 200
	}
	for _, text := range []string{"flaky", "always 503", "bad request", "rate limited", "fine"} {
		send(t, ch, "alice", text)
	}
	waitWebhooks(t, srv)
	byText := map[string]streamtest.WebhookDelivery{}
	for _, d := range srv.WebhookDeliveries() {
		var ev struct {
			Message struct{ Text string } `json:"message"`
		}
		json.Unmarshal(d.Body, &ev)
		byText[ev.Message.Text] = d
	}
	check := func(text string, attempts int, delivered bool) {
		t.Helper()
		d := byText[text]
		if len(d.Attempts) != attempts || d.Delivered != delivered || !d.Done {
			t.Fatalf("%s: %d attempts, delivered %v, done %v; want %d, %v", text, len(d.Attempts), d.Delivered, d.Done, attempts, delivered)
		}
		for i, a := range d.Attempts {
			if a.Number != i+1 {
				t.Fatalf("%s: attempt numbers %+v", text, d.Attempts)
			}
		}
		rcv.mu.Lock()
		seen := rcv.attempts[d.ID]
		rcv.mu.Unlock()
		if len(seen) != attempts {
			t.Fatalf("%s: receiver saw attempts %v with one X-Webhook-Id", text, seen)
		}
	}
	check("flaky", 3, true)
	check("always 503", 3, false)
	check("bad request", 1, false)
	check("rate limited", 2, true)
	check("fine", 1, true)
	// Order held: "fine" was received last.
	got := rcv.events()
	if last := got[len(got)-1].event; last.Message == nil || last.Message.Text != "fine" {
		t.Fatalf("last delivered event = %+v", last)
	}
}

func TestWebhookNetworkErrorsAndTimeouts(t *testing.T) {
	srv := newServer(t, streamtest.Config{WebhookBackoff: time.Millisecond, WebhookTimeout: 100 * time.Millisecond})
	c := srv.Client()
	ch := seed(t, c, "neterr", "alice")

	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	srv.SetWebhookURL(deadURL)
	send(t, ch, "alice", "to nowhere")
	waitWebhooks(t, srv)

	slowDone := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-slowDone:
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(slowDone) })
	srv.SetWebhookURL(slow.URL)
	send(t, ch, "alice", "too slow")
	waitWebhooks(t, srv)

	dels := srv.WebhookDeliveries()
	net, to := dels[len(dels)-2], dels[len(dels)-1]
	if len(net.Attempts) != 2 || net.Delivered || net.Attempts[0].Err == "" || net.Attempts[0].Status != 0 {
		t.Fatalf("network error delivery = %+v", net)
	}
	if len(to.Attempts) != 3 || to.Delivered || to.Attempts[2].Err == "" {
		t.Fatalf("timeout delivery = %+v", to)
	}
}

func TestWebhookEventFilterAndWait(t *testing.T) {
	srv := newServer(t)
	rcv, hs := newReceiver(t, srv)
	c := srv.Client()
	ctx := ctxT(t)
	ch := seed(t, c, "filter", "alice") // before the URL is set: not delivered
	settings := stream.NewAppSettings().SetWebhookURL(hs.URL)
	settings.WebhookEvents = []string{"message.new"}
	if _, err := c.UpdateAppSettings(ctx, settings); err != nil {
		t.Fatal(err)
	}
	m := send(t, ch, "alice", "counted")
	if _, err := c.DeleteMessage(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	waitWebhooks(t, srv)
	got := rcv.events()
	if len(got) != 1 || got[0].event.Type != stream.EventMessageNew {
		t.Fatalf("filtered events = %v", got)
	}
	if n := len(srv.Events()); n < 3 {
		t.Fatalf("Events() = %d, want every event recorded even when not delivered", n)
	}

	// WaitWebhooks honours its context while a delivery hangs.
	block := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(block) })
	srv.SetWebhookURL(hang.URL)
	send(t, ch, "alice", "hangs")
	wctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := srv.WaitWebhooks(wctx); err != context.DeadlineExceeded {
		t.Fatalf("WaitWebhooks = %v, want context.DeadlineExceeded", err)
	}
}

// The captured webhook bodies (webhooks.json) decode into stream.Event the
// same way the emulator's do: the same keys land in ExtraData.
func TestWebhookShapeMatchesCapture(t *testing.T) {
	raw, err := readTestdata("webhooks.json")
	if err != nil {
		t.Fatal(err)
	}
	var captured struct {
		SampleBodies []map[string]any `json:"sample_bodies"`
	}
	if err := json.Unmarshal(raw, &captured); err != nil {
		t.Fatal(err)
	}
	var capNew map[string]any
	for _, b := range captured.SampleBodies {
		if b["type"] == "message.new" {
			capNew = b
			break
		}
	}
	if capNew == nil {
		t.Fatal("no message.new sample in testdata/webhooks.json")
	}
	// The probe's scenario: alice with custom fields, a message with an
	// attachment and custom fields.
	srv := newServer(t)
	_, hs := newReceiver(t, srv)
	srv.SetWebhookURL(hs.URL)
	c := srv.Client()
	ctx := ctxT(t)
	if _, err := c.UpsertUser(ctx, &stream.User{ID: "alice", Name: "Alice", ExtraData: map[string]interface{}{"public_key": "pk", "tier": 2}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpsertUser(ctx, &stream.User{ID: "bob", Name: "Bob"}); err != nil {
		t.Fatal(err)
	}
	cr, err := c.CreateChannel(ctx, "messaging", "general", "alice", &stream.ChannelRequest{Members: []string{"alice", "bob"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cr.Channel.SendMessage(ctx, &stream.Message{Text: "hello world",
		Attachments: []*stream.Attachment{{Type: "file", Title: "a.bin", AssetURL: "https://example.invalid/a.bin",
			ExtraData: map[string]interface{}{"enc_key_wrapped": "base64..."}}},
		ExtraData: map[string]interface{}{"ciphertext": true, "enc": map[string]interface{}{"alg": "AES-256-GCM", "nonce": "bm9uY2U=", "v": 1}}}, "alice"); err != nil {
		t.Fatal(err)
	}
	waitWebhooks(t, srv)
	var ours map[string]any
	for _, e := range srv.Events() {
		if e.Type == "message.new" {
			json.Unmarshal(e.Body, &ours)
		}
	}
	if diffs := shapeDiff("", capNew, ours); len(diffs) > 0 {
		t.Fatalf("message.new differs from the capture:\n%v", diffs)
	}
}
