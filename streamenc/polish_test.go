package streamenc_test

import (
	"errors"
	"testing"

	stream "github.com/GetStream/stream-chat-go/v6"

	"github.com/e3go/e3go/e3"
	"github.com/e3go/e3go/streamenc"
)

// perMessageErrs are the reasons that describe one message.
var perMessageErrs = []error{streamenc.ErrNotSealed, streamenc.ErrNotRecipient, streamenc.ErrTampered,
	streamenc.ErrMalformed, streamenc.ErrUnknownSender, streamenc.ErrGroupNoAccess}

// On a device without the private key (a second device before
// RestorePrivateKey), every sealed message fails with an *OpenError that
// matches e3.ErrNoLocalKey and none of the per-message reasons, whatever
// the layout or sealing; a clear message is still ErrNotSealed.
func TestOpenWithoutLocalKeyIsDeviceLevel(t *testing.T) {
	w := newWorld(t, "alice", "bob")
	ctx := ctxT(t)
	ch := w.channel("keyless", "alice", "bob")
	group := w.channel("keyless-group", "alice", "bob")
	alice := w.enc(ch, "alice", nil)
	alicePush := w.enc(ch, "alice", &streamenc.ChannelOptions{Layout: streamenc.LayoutPushSafe})
	aliceGroup := w.enc(group, "alice", &streamenc.ChannelOptions{GroupInitiator: "alice"})
	if _, err := aliceGroup.EnableGroup(ctx); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range []*streamenc.Channel{alice, alicePush, aliceGroup} {
		m, err := c.SendMessage(ctx, &stream.Message{Text: "sealed"}, "")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	clear, err := ch.SendMessage(ctx, &stream.Message{Text: "in clear"}, "alice")
	if err != nil {
		t.Fatal(err)
	}

	// bob on a new device: registered, but no key in this keyring.
	bob2, err := e3.New(ctx, w.es.ClientConfig("bob"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob2.AuthEncryptString("x"); !errors.Is(err, e3.ErrNoLocalKey) {
		t.Fatalf("the new device has a key: %v", err)
	}
	open := func(c *stream.Channel, id string) *streamenc.Message {
		t.Helper()
		m, _ := streamenc.NewChannel(c, bob2, &streamenc.ChannelOptions{StreamClient: w.sc}).GetMessage(ctx, id)
		if m == nil {
			t.Fatalf("message %s: nil", id)
		}
		return m
	}
	for i, m := range []*streamenc.Message{open(ch, ids[0]), open(ch, ids[1]), open(group, ids[2])} {
		var oe *streamenc.OpenError
		if !errors.As(m.Err, &oe) || oe.MessageID != ids[i] || !errors.Is(m.Err, e3.ErrNoLocalKey) {
			t.Errorf("message %d: Err = %v, want an *OpenError matching e3.ErrNoLocalKey", i, m.Err)
		}
		for _, pe := range perMessageErrs {
			if errors.Is(m.Err, pe) {
				t.Errorf("message %d: Err = %v matches the per-message %v", i, m.Err, pe)
			}
		}
		if m.Text != "" || m.Sender != nil {
			t.Errorf("message %d: opened %q from %v without a key", i, m.Text, m.Sender)
		}
	}
	if m := open(ch, clear.Message.ID); !errors.Is(m.Err, streamenc.ErrNotSealed) || errors.Is(m.Err, e3.ErrNoLocalKey) {
		t.Errorf("clear message: Err = %v, want ErrNotSealed", m.Err)
	}
}
