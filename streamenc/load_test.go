package streamenc_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	stream "github.com/GetStream/stream-chat-go/v6"

	"github.com/e3go/e3go/streamenc"
)

// 1,000 messages through send → webhook → open, from 10 concurrent
// senders: none lost, none duplicated, every one opened to what was sent.
// Run it with -race.
func TestLoadSendWebhookOpen(t *testing.T) {
	const senders, perSender = 10, 100
	if testing.Short() {
		t.Skip("load test")
	}
	users := []string{"bot"}
	for i := 0; i < senders; i++ {
		users = append(users, fmt.Sprintf("nurse%02d", i))
	}
	w := newWorld(t, users...)
	// Generous: under -race on two shared cores this takes minutes.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	ch := w.channel("ward", users...)
	bt := w.startBot("bot", nil)

	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, senders)
	for i := 0; i < senders; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			me := users[i+1]
			c := w.enc(ch, me, &streamenc.ChannelOptions{SensitiveFields: []string{"bed"}})
			for j := 0; j < perSender; j++ {
				_, err := c.SendMessage(ctx, &stream.Message{Text: fmt.Sprintf("%s says %d", me, j),
					ExtraData: map[string]any{"bed": fmt.Sprintf("bed-%d-%d", i, j)}}, me)
				if err != nil {
					errs <- fmt.Errorf("%s message %d: %w", me, j, err)
					return
				}
			}
		}(i)
	}
	wg.Wait()
	t.Logf("sent in %v", time.Since(start))
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := w.ss.WaitWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("delivered in %v", time.Since(start))

	seen := map[string]bool{}
	next := map[string]int{} // per sender, messages arrive in send order
	for _, m := range bt.messages() {
		if m.Err != nil {
			t.Fatalf("bot could not open %s: %v", m.ID, m.Err)
		}
		if seen[m.ID] {
			t.Fatalf("message %s handed over twice", m.ID)
		}
		seen[m.ID] = true
		me := m.Sender.Identity
		want := fmt.Sprintf("%s says %d", me, next[me])
		if m.Text != want || m.SenderID != me {
			t.Fatalf("got %q from %s, want %q", m.Text, m.SenderID, want)
		}
		i := 0
		fmt.Sscanf(me, "nurse%d", &i)
		if m.Fields["bed"] != fmt.Sprintf("bed-%d-%d", i, next[me]) {
			t.Fatalf("field %v", m.Fields["bed"])
		}
		next[me]++
	}
	if len(seen) != senders*perSender {
		t.Fatalf("bot got %d distinct messages, want %d", len(seen), senders*perSender)
	}
	for _, d := range w.ss.WebhookDeliveries() {
		if !d.Delivered || len(d.Attempts) != 1 {
			t.Fatalf("delivery %s of %s: delivered %v after %d attempts", d.ID, d.EventType, d.Delivered, len(d.Attempts))
		}
	}
	if rej := bt.rejects(); len(rej) != 0 {
		t.Fatalf("rejections: %v", rej)
	}
}
