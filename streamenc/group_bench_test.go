package streamenc_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	stream "github.com/GetStream/stream-chat-go/v6"

	"github.com/e3go/e3go/streamenc"
)

// BenchmarkGroupSendOpen measures one 200-byte message sent by a member
// (m01) and opened by another (m02) through the emulators, in channels of
// 10 and 50 members. PerRecipient (e3kit's authEncrypt for every member,
// the peer in the same run) grows with the members and cannot send to 50
// at all (more than 13 keys do not fit Stream's text limit; the
// sub-benchmark checks that and skips); Group (the channel's group
// session) does not. Both read one list from Stream before the send (the
// members, or the channel's opt-in). text-chars is what Stream stores.
func BenchmarkGroupSendOpen(b *testing.B) {
	text := strings.Repeat("BP 120/80, HR 72; ", 12)[:200]
	for _, n := range []int{10, 50} {
		w, ch, ids := careTeam(b, n, nil)
		ctx := ctxT(b)
		run := func(name string, ch *stream.Channel, sender *streamenc.Channel) {
			reader := w.enc(ch, "m02", nil)
			b.Run(fmt.Sprintf("%s/%d", name, n), func(b *testing.B) {
				var chars int
				for b.Loop() {
					m, err := sender.SendMessage(ctx, &stream.Message{Text: text}, "")
					if errors.Is(err, streamenc.ErrTooLong) {
						b.Skipf("per recipient, %d members do not fit: %v", n, err)
					}
					if err != nil {
						b.Fatal(err)
					}
					got, err := reader.GetMessage(ctx, m.ID)
					if err != nil || got.Text != text {
						b.Fatal(err)
					}
					chars = len(m.Raw.Text)
				}
				b.ReportMetric(float64(chars), "text-chars")
			})
		}
		run("PerRecipient", ch, w.enc(ch, "m01", &streamenc.ChannelOptions{Sealing: streamenc.SealPerRecipient}))
		// The group run gets a channel of its own (the emulator's channel
		// queries scan the channel's messages).
		gch := w.channel("team-group", ids...)
		if _, err := w.enc(gch, "bot", nil).EnableGroup(ctx); err != nil {
			b.Fatal(err)
		}
		run("Group", gch, w.enc(gch, "m01", nil))
	}
}
