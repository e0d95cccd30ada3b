package streamtest_test

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	stream "github.com/GetStream/stream-chat-go/v6"
)

// Ten senders write to two channels at once while readers query, search,
// react, upload and scan; run with -race. Nothing is lost or duplicated,
// each sender's messages keep their order, in storage and in the webhook
// stream.
func TestConcurrentUse(t *testing.T) {
	srv := newServer(t)
	rcv, hs := newReceiver(t, srv)
	c := srv.Client()
	ctx := ctxT(t)
	var users []string
	for i := range 10 {
		users = append(users, fmt.Sprintf("u%d", i))
	}
	chA := seed(t, c, "a", users...)
	chB := seed(t, c, "b", users...)
	srv.SetWebhookURL(hs.URL)
	const perSender = 30

	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := srv.Client()
			for n := range perSender {
				ch := cl.Channel("messaging", "a")
				if (i+n)%2 == 0 {
					ch = cl.Channel("messaging", "b")
				}
				if _, err := ch.SendMessage(ctx, &stream.Message{Text: fmt.Sprintf("%s#%d", u, n),
					ExtraData: map[string]interface{}{"seq": n}}, u); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for r := range 4 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			cl := srv.Client()
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				var err error
				switch (r + k) % 6 {
				case 0:
					_, err = cl.Channel("messaging", "a").Query(ctx, &stream.QueryRequest{State: true})
				case 1:
					_, err = cl.Search(ctx, stream.SearchRequest{Query: "u1", Filters: map[string]interface{}{"type": "messaging"}})
				case 2:
					_, err = cl.QueryChannels(ctx, &stream.QueryOption{Filter: map[string]interface{}{"members": map[string]interface{}{"$in": []string{"u3"}}}})
				case 3:
					_, err = cl.Channel("messaging", "b").SendFile(ctx, stream.SendFileRequest{Reader: bytes.NewReader([]byte("blob")), FileName: "f.bin", User: &stream.User{ID: "u0"}})
				case 4:
					srv.Find([]byte("needle-that-is-nowhere"))
					_ = srv.Requests()
					_ = srv.WebhookDeliveries()
				case 5:
					ms := srv.Messages("messaging:a")
					if len(ms) > 0 {
						_, err = cl.SendReaction(ctx, &stream.Reaction{Type: "seen"}, ms[len(ms)-1].ID, "u9")
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	// Storage: every message once, each sender in order within a channel.
	total := 0
	for _, ch := range []*stream.Channel{chA, chB} {
		last := map[string]int{}
		seen := map[string]bool{}
		for _, m := range srv.Messages(ch.CID) {
			if seen[m.Text] {
				t.Fatalf("duplicate %s", m.Text)
			}
			seen[m.Text] = true
			u, n := splitSeq(t, m.Text)
			if prev, ok := last[u]; ok && n <= prev {
				t.Fatalf("%s: %s stored after #%d", ch.CID, m.Text, prev)
			}
			last[u] = n
			total++
		}
	}
	if total != len(users)*perSender {
		t.Fatalf("%d messages stored, want %d", total, len(users)*perSender)
	}

	// Webhooks: every message.new once, in the order stored.
	waitWebhooks(t, srv)
	var order []string
	seen := map[string]bool{}
	for _, r := range rcv.events() {
		if r.event.Type != stream.EventMessageNew {
			continue
		}
		if seen[r.event.Message.ID] {
			t.Fatalf("message %s delivered twice", r.event.Message.ID)
		}
		seen[r.event.Message.ID] = true
		order = append(order, r.event.Message.Text)
	}
	if len(order) != total {
		t.Fatalf("%d message.new delivered, want %d", len(order), total)
	}
	last := map[string]int{}
	for _, text := range order {
		u, n := splitSeq(t, text)
		if prev, ok := last[u]; ok && n <= prev {
			t.Fatalf("webhook order: %s after #%d", text, prev)
		}
		last[u] = n
	}
}

func splitSeq(t *testing.T, text string) (string, int) {
	t.Helper()
	u, ns, ok := strings.Cut(text, "#")
	n, err := strconv.Atoi(ns)
	if !ok || err != nil {
		t.Fatalf("unexpected message text %q", text)
	}
	return u, n
}
