package streamenc_test

import (
	"context"
	"fmt"
	"log"

	stream "github.com/GetStream/stream-chat-go/v6"

	"github.com/e3go/e3go/e3"
	"github.com/e3go/e3go/e3/e3test"
	"github.com/e3go/e3go/streamenc"
	"github.com/e3go/e3go/streamenc/streamtest"
)

// A care team of twenty in a group channel: the bot that created the
// channel opts it in (it is the group's initiator, the only participant
// who can change the group's members), and from then on every message is
// encrypted once for the whole team, whatever its size. A nurse added
// later reads once the bot has synced the group.
func ExampleChannel_EnableGroup() {
	ctx := context.Background()
	virgil := e3test.NewServer()
	defer virgil.Close()
	streamSrv := streamtest.NewServer()
	defer streamSrv.Close()
	sc := streamSrv.Client()

	team := []string{"care-bot"}
	for i := 1; i < 20; i++ {
		team = append(team, fmt.Sprintf("clinician-%02d", i))
	}
	ids := map[string]*e3.Client{}
	for _, name := range append(team, "nurse") {
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
	created, err := sc.CreateChannel(ctx, "messaging", "ward-b", "care-bot", &stream.ChannelRequest{Members: team})
	if err != nil {
		log.Fatal(err)
	}
	channel := func(who string) *streamenc.Channel {
		return streamenc.NewChannel(created.Channel, ids[who], &streamenc.ChannelOptions{StreamClient: sc, GroupInitiator: "care-bot"})
	}

	bot := channel("care-bot")
	res, err := bot.EnableGroup(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("group:", res.GroupID)

	sent, err := channel("clinician-07").SendMessage(ctx, &stream.Message{Text: "Bed 4 needs a fluid review."}, "")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("stored characters for 20 members:", len(sent.Raw.Text))
	m, _ := channel("clinician-12").GetMessage(ctx, sent.ID)
	fmt.Printf("clinician-12 read from %s: %s\n", m.Sender.Identity, m.Text)

	// The nurse joins the Stream channel: not in the group until the bot
	// syncs (on Stream's member.added webhook, or its next send).
	if _, err := created.Channel.AddMembers(ctx, []string{"nurse"}); err != nil {
		log.Fatal(err)
	}
	_, err = channel("nurse").GetMessage(ctx, sent.ID)
	fmt.Println("before the sync:", err != nil)
	if _, err := bot.SyncGroup(ctx); err != nil {
		log.Fatal(err)
	}
	m, _ = channel("nurse").GetMessage(ctx, sent.ID)
	fmt.Println("nurse read:", m.Text)
	// Output:
	// group: e3go:messaging:ward-b:care-bot
	// stored characters for 20 members: 432
	// clinician-12 read from clinician-07: Bed 4 needs a fluid review.
	// before the sync: true
	// nurse read: Bed 4 needs a fluid review.
}
