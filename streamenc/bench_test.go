package streamenc_test

import (
	"fmt"
	"testing"
	"time"

	stream "github.com/GetStream/stream-chat-go/v6"

	"github.com/e3go/e3go/streamenc"
)

// BenchmarkSendOpen measures one message sent and read back through the
// emulator: Plain is stream-chat-go alone (SendMessage + GetMessage), the
// floor; Sealed is streamenc (SendMessage, which also reads the members
// and the channel's group opt-in, + GetMessage, which opens). Their
// difference is streamenc's overhead per message, in the same run. Two
// members, 200-byte text. Each runs in a channel of its own: the emulator's
// channel queries scan the channel's messages, so a channel filled by the
// other run would slow this one down.
func BenchmarkSendOpen(b *testing.B) {
	w := newWorld(b, "alice", "bob")
	ctx := ctxT(b)
	ch := w.channel("bench-plain", "alice", "bob")
	text := fmt.Sprintf("%0200d", 42)
	b.Run("Plain", func(b *testing.B) {
		for b.Loop() {
			resp, err := ch.SendMessage(ctx, &stream.Message{Text: text}, "alice")
			if err != nil {
				b.Fatal(err)
			}
			if _, err := w.sc.GetMessage(ctx, resp.Message.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	ch = w.channel("bench-sealed", "alice", "bob")
	a := w.enc(ch, "alice", nil)
	r := w.enc(ch, "bob", nil)
	sealed := func(a *streamenc.Channel) func(b *testing.B) {
		return func(b *testing.B) {
			for b.Loop() {
				m, err := a.SendMessage(ctx, &stream.Message{Text: text}, "alice")
				if err != nil {
					b.Fatal(err)
				}
				if _, err := r.GetMessage(ctx, m.ID); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.Run("Sealed", sealed(a))
	// SealedMembersTTL reuses the member list and the group opt-in for a
	// minute (ChannelOptions.MembersTTL): the send makes one Stream request,
	// as Plain does, so what remains over Plain is the sealing and opening.
	ch = w.channel("bench-sealed-ttl", "alice", "bob")
	r = w.enc(ch, "bob", nil)
	b.Run("SealedMembersTTL", sealed(w.enc(ch, "alice", &streamenc.ChannelOptions{MembersTTL: time.Minute})))
}

// BenchmarkOpenPage100 opens a page of 100 sealed messages (from three
// senders, cards cached): Parallel uses every core (the default), Serial
// one goroutine, its peer in the same run.
func BenchmarkOpenPage100(b *testing.B) {
	w := newWorld(b, "alice", "bob", "carol")
	ctx := ctxT(b)
	ch := w.channel("bench", "alice", "bob", "carol")
	senders := []*streamenc.Channel{w.enc(ch, "alice", nil), w.enc(ch, "bob", nil), w.enc(ch, "carol", nil)}
	ids := []string{"alice", "bob", "carol"}
	var raws []*stream.Message
	for i := 0; i < 100; i++ {
		m, err := senders[i%3].SendMessage(ctx, &stream.Message{Text: fmt.Sprintf("message %d: %0180d", i, i)}, ids[i%3])
		if err != nil {
			b.Fatal(err)
		}
		raws = append(raws, m.Raw)
	}
	for _, bc := range []struct {
		name string
		n    int
	}{{"Parallel", 0}, {"Serial", 1}} {
		r := w.enc(ch, "bob", &streamenc.ChannelOptions{Concurrency: bc.n})
		r.OpenAll(ctx, raws) // warm the card cache
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				for _, m := range r.OpenAll(ctx, raws) {
					if m.Err != nil {
						b.Fatal(m.Err)
					}
				}
			}
		})
	}
}
