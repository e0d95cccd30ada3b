package streamenc_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"strings"

	stream "github.com/GetStream/stream-chat-go/v6"

	"github.com/e3go/e3go/e3"
	"github.com/e3go/e3go/e3/e3test"
	"github.com/e3go/e3go/streamenc"
	"github.com/e3go/e3go/streamenc/streamtest"
)

// A care-team channel on the Stream emulator, with identities on the
// Virgil emulator: alice sends, bob reads, and Stream holds only
// ciphertext. Against the real services only the clients' configuration
// differs.
func ExampleChannel_SendMessage() {
	ctx := context.Background()
	virgil := e3test.NewServer()
	defer virgil.Close()
	streamSrv := streamtest.NewServer()
	defer streamSrv.Close()
	sc := streamSrv.Client() // stream-chat-go, server side

	// Each participant has an e3 identity (a registered card) and a Stream
	// user of the same name.
	ids := map[string]*e3.Client{}
	for _, name := range []string{"alice", "bob"} {
		c, err := e3.New(ctx, virgil.ClientConfig(name))
		if err != nil {
			log.Fatal(err)
		}
		if err := c.Register(ctx); err != nil {
			log.Fatal(err)
		}
		if _, err := sc.UpsertUser(ctx, &stream.User{ID: name}); err != nil {
			log.Fatal(err)
		}
		ids[name] = c
	}
	created, err := sc.CreateChannel(ctx, "messaging", "care-team", "alice",
		&stream.ChannelRequest{Members: []string{"alice", "bob"}})
	if err != nil {
		log.Fatal(err)
	}
	opts := &streamenc.ChannelOptions{StreamClient: sc}

	alice := streamenc.NewChannel(created.Channel, ids["alice"], opts)
	sent, err := alice.SendMessage(ctx, &stream.Message{Text: "Lab results are in: all normal."}, "alice")
	if err != nil {
		log.Fatal(err)
	}

	bob := streamenc.NewChannel(created.Channel, ids["bob"], opts)
	msgs, err := bob.Query(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range msgs {
		fmt.Printf("%s: %s (err: %v)\n", m.Sender.Identity, m.Text, m.Err)
	}

	stored, _ := streamSrv.Message(sent.ID)
	fmt.Println("Stream stored plaintext:", strings.Contains(stored.Text, "Lab results"))
	fmt.Println("Stream stored a sealed text:", strings.HasPrefix(stored.Text, "M"))
	// Output:
	// alice: Lab results are in: all normal. (err: <nil>)
	// Stream stored plaintext: false
	// Stream stored a sealed text: true
}

// A bot receives messages through Stream's webhooks: the handler verifies
// each delivery and opens message events for the bot's identity.
func ExampleNewWebhookHandler() {
	ctx := context.Background()
	virgil := e3test.NewServer()
	defer virgil.Close()
	streamSrv := streamtest.NewServer()
	defer streamSrv.Close()
	sc := streamSrv.Client()
	ids := map[string]*e3.Client{}
	for _, name := range []string{"alice", "triage-bot"} {
		c, err := e3.New(ctx, virgil.ClientConfig(name))
		if err != nil {
			log.Fatal(err)
		}
		if err := c.Register(ctx); err != nil {
			log.Fatal(err)
		}
		if _, err := sc.UpsertUser(ctx, &stream.User{ID: name}); err != nil {
			log.Fatal(err)
		}
		ids[name] = c
	}
	created, err := sc.CreateChannel(ctx, "messaging", "triage", "alice",
		&stream.ChannelRequest{Members: []string{"alice", "triage-bot"}})
	if err != nil {
		log.Fatal(err)
	}

	handler, err := streamenc.NewWebhookHandler(streamenc.WebhookConfig{
		Secret: streamSrv.APISecret, // the Stream app's API secret
		Client: ids["triage-bot"],
		Handle: func(ctx context.Context, ev *streamenc.Event) error {
			m := ev.Message
			if ev.Type != "message.new" || m.Err != nil || m.SenderID == "triage-bot" {
				return nil // other events, unreadable messages, its own replies
			}
			fmt.Printf("bot got %q from %s\n", m.Text, m.Sender.Identity)
			// A reply Stream's redeliveries cannot send twice: its id
			// derives from the question's.
			ch, err := ev.Channel(sc, ids["triage-bot"], nil)
			if err != nil {
				return err
			}
			replyID := "reply-" + m.ID
			_, err = ch.SendMessage(ctx, &stream.Message{Text: "A nurse will call you within 10 minutes.",
				ParentID: m.ParentID, ExtraData: map[string]any{"id": replyID}}, "")
			if err != nil {
				if prev, gerr := ch.GetMessage(ctx, replyID); gerr == nil && prev.SenderID == "triage-bot" {
					return nil // sent by an earlier delivery
				}
				return err // answered 500: Stream delivers the event again
			}
			return nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	hook := httptest.NewServer(handler)
	defer hook.Close()
	streamSrv.SetWebhookURL(hook.URL) // on Stream: UpdateAppSettings with the webhook URL

	alice := streamenc.NewChannel(created.Channel, ids["alice"], nil)
	q, err := alice.SendMessage(ctx, &stream.Message{Text: "Chest pain since 3am"}, "alice")
	if err != nil {
		log.Fatal(err)
	}
	if err := streamSrv.WaitWebhooks(ctx); err != nil {
		log.Fatal(err)
	}
	reply, err := alice.GetMessage(ctx, "reply-"+q.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("alice reads %q from %s\n", reply.Text, reply.Sender.Identity)
	// Output:
	// bot got "Chest pain since 3am" from alice
	// alice reads "A nurse will call you within 10 minutes." from triage-bot
}
