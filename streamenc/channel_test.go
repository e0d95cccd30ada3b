package streamenc_test

import (
	"errors"
	"testing"

	stream "github.com/GetStream/stream-chat-go/v6"

	"github.com/e3go/e3go/streamenc"
)

func TestSendOpenRoundTrip(t *testing.T) {
	w := newWorld(t, "alice", "bob")
	ctx := ctxT(t)
	ch := w.channel("care", "alice", "bob")
	a := w.enc(ch, "alice", nil)
	b := w.enc(ch, "bob", nil)

	sent, err := a.SendMessage(ctx, &stream.Message{Text: "BP 120/80, recheck Tuesday"}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if sent.Text != "BP 120/80, recheck Tuesday" || sent.Sender.Identity != "alice" {
		t.Fatalf("sent = %+v", sent)
	}
	got, err := b.GetMessage(ctx, sent.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != "BP 120/80, recheck Tuesday" || got.Sender.Identity != "alice" || got.Layout != streamenc.LayoutText {
		t.Fatalf("got = %+v", got)
	}
	page, err := b.Query(ctx, nil)
	if err != nil || len(page) != 1 || page[0].Text != sent.Text {
		t.Fatalf("query: %v %+v", err, page)
	}
	w.assertNoPlaintext("BP 120/80", "recheck Tuesday")
	_ = errors.Is
}
