package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	stream "github.com/GetStream/stream-chat-go/v6"

	"github.com/e3go/e3go/e3"
	"github.com/e3go/e3go/streamenc"
)

// demo plays a patient on the embedded services: maria registers, opens a
// channel with the bot, asks when her appointment is, then where, in the
// thread of the bot's answer, and reads the bot's sealed replies. The bot
// sees her messages only through its webhook, like on the real Stream.
func demo(ctx context.Context, svc *services, b *bot, out io.Writer) error {
	// The patient's side: what her app does (with e3kit in a browser or on
	// a phone; here with an e3.Client).
	maria, err := e3.New(ctx, svc.newE3Config("maria"))
	if err != nil {
		return err
	}
	if err := maria.Register(ctx); err != nil {
		return err
	}
	if _, err := svc.stream.UpsertUser(ctx, &stream.User{ID: "maria", Name: "Maria"}); err != nil {
		return err
	}
	created, err := svc.stream.CreateChannel(ctx, "messaging", "care-maria", "maria",
		&stream.ChannelRequest{Members: []string{"maria", b.e3.Identity()}})
	if err != nil {
		return err
	}
	ch := streamenc.NewChannel(created.Channel, maria, nil)
	fmt.Fprintf(out, "Demo: maria (a patient) and the bot in %s\n", ch.CID())

	// ask sends a question and returns the bot's reply, as maria reads it.
	ask := func(text, parent string) (*streamenc.Message, error) {
		q, err := ch.SendMessage(ctx, &stream.Message{Text: text, ParentID: parent}, "")
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(out, "  %-9s %s\n", "maria", text)
		// The emulator delivers the webhook; the bot answers while
		// handling it. Wait until every delivery is done.
		if err := svc.emu.WaitWebhooks(ctx); err != nil {
			return nil, err
		}
		reply, err := ch.GetMessage(ctx, "reply-"+q.ID)
		if err != nil {
			return nil, fmt.Errorf("no reply from the bot: %w", err)
		}
		if reply.Err != nil || reply.SenderID != b.e3.Identity() {
			return nil, errors.New("the bot's reply did not open for maria")
		}
		where := ""
		if reply.Raw.ParentID != "" {
			where = " (in the thread)"
		}
		fmt.Fprintf(out, "  %-9s %s%s\n", reply.Sender.Identity, reply.Text, where)
		return reply, nil
	}
	first, err := ask("When is my appointment?", "")
	if err != nil {
		return err
	}
	if _, err := ask("Where is it?", first.ID); err != nil {
		return err
	}
	stored, _ := svc.emu.Message(first.ID)
	fmt.Fprintf(out, "  Stream stored the reply as %s… (%d chars of ciphertext)\n", stored.Text[:min(len(stored.Text), 16)], len(stored.Text))
	fmt.Fprintln(out, "  The bot's audit log (standard error) names ids and actions, never the text.")
	return nil
}
