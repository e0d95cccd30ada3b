package streamenc_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	stream "github.com/GetStream/stream-chat-go/v6"

	"github.com/e3go/e3go/streamenc"
)

// The thresholds of the package documentation, at the boundary, against
// the emulator's own 5000-character check.
func TestTextSizeBoundary(t *testing.T) {
	users := []string{"alice"}
	for i := 1; i <= 13; i++ {
		users = append(users, fmt.Sprintf("m%02d", i))
	}
	w := newWorld(t, users...)
	ctx := ctxT(t)

	cases := []struct {
		members int // including the sender
		fits    int // longest text that fits, in bytes
	}{
		{1, 3195},
		{2, 2875},
		{3, 2555},
		{13, 155},
		{14, -1}, // nothing fits
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%d keys", tc.members), func(t *testing.T) {
			ch := w.channel(fmt.Sprintf("size-%d", tc.members), users[:tc.members]...)
			a := w.enc(ch, "alice", nil)
			if tc.fits >= 0 {
				m, err := a.SendMessage(ctx, &stream.Message{Text: strings.Repeat("a", tc.fits)}, "alice")
				if err != nil {
					t.Fatalf("%d bytes: %v", tc.fits, err)
				}
				if n := len(m.Raw.Text); n > streamenc.DefaultMaxTextLength || n < streamenc.DefaultMaxTextLength-4*160/3-4 {
					t.Errorf("sealed length %d is not just under the limit", n)
				}
			}
			n := len(w.ss.Messages(ch.CID))
			_, err := a.SendMessage(ctx, &stream.Message{Text: strings.Repeat("a", tc.fits+1)}, "alice")
			var tl *streamenc.TooLongError
			if !errors.As(err, &tl) || !errors.Is(err, streamenc.ErrTooLong) || tl.What != "text" || tl.Limit != 5000 || tl.Recipients != tc.members || tl.Size <= 5000 {
				t.Fatalf("%d bytes: %v", tc.fits+1, err)
			}
			if len(w.ss.Messages(ch.CID)) != n {
				t.Error("an oversized message was sent")
			}
		})
	}

	// A text longer than the limit fails before sealing; multi-byte text
	// counts in bytes (the ciphertext is base64 of them).
	ch := w.channel("size-utf8", "alice", "m01")
	a := w.enc(ch, "alice", nil)
	if _, err := a.SendMessage(ctx, &stream.Message{Text: strings.Repeat("é", 1437)}, "alice"); err != nil { // 2874 bytes
		t.Errorf("2874 bytes of UTF-8: %v", err)
	}
	if _, err := a.SendMessage(ctx, &stream.Message{Text: strings.Repeat("é", 1438)}, "alice"); !errors.Is(err, streamenc.ErrTooLong) {
		t.Errorf("2876 bytes of UTF-8: %v", err)
	}
	if _, err := a.SendMessage(ctx, &stream.Message{Text: strings.Repeat("a", 20000)}, "alice"); !errors.Is(err, streamenc.ErrTooLong) {
		t.Errorf("20000 bytes: %v", err)
	}
	// A lower channel limit is honoured.
	small := w.enc(ch, "alice", &streamenc.ChannelOptions{MaxTextLength: 1000})
	if _, err := small.SendMessage(ctx, &stream.Message{Text: "short"}, "alice"); !errors.Is(err, streamenc.ErrTooLong) {
		t.Errorf("limit 1000: %v", err)
	}
}

func TestCustomDataSizeBoundary(t *testing.T) {
	w := newWorld(t, "alice", "bob")
	ctx := ctxT(t)
	ch := w.channel("care", "alice", "bob")
	a := w.enc(ch, "alice", &streamenc.ChannelOptions{Layout: streamenc.LayoutPushSafe})
	// Find the longest text whose sealed payload fits; the next 160-byte
	// padding step must fail with a custom-data TooLongError, never reach
	// Stream.
	last := -1
	for n := 2000; n <= 4000; n += 40 {
		_, err := a.SendMessage(ctx, &stream.Message{Text: strings.Repeat("p", n)}, "alice")
		if err == nil {
			last = n
			continue
		}
		var tl *streamenc.TooLongError
		if !errors.As(err, &tl) || tl.What != "custom data" || tl.Limit != streamenc.MaxCustomDataBytes {
			t.Fatalf("%d bytes: %v", n, err)
		}
		break
	}
	t.Logf("longest push-safe text that fits with two keys: about %d bytes", last)
	if last < 2500 || last > 3000 {
		t.Fatalf("longest push-safe text that fits: %d", last)
	}
	// Clear custom fields count too.
	_, err := a.SendMessage(ctx, &stream.Message{Text: strings.Repeat("p", last),
		ExtraData: map[string]any{"note": strings.Repeat("n", 400)}}, "alice")
	if !errors.Is(err, streamenc.ErrTooLong) {
		t.Errorf("with a clear field: %v", err)
	}
}
