package streamtest_test

import (
	"context"
	"fmt"

	stream "github.com/GetStream/stream-chat-go/v6"

	"github.com/e3go/e3go/streamenc/streamtest"
)

func ExampleNewServer() {
	srv := streamtest.NewServer()
	defer srv.Close()
	ctx := context.Background()
	client := srv.Client() // the unmodified stream-chat-go client, pointed at srv

	if _, err := client.UpsertUsers(ctx, &stream.User{ID: "alice"}, &stream.User{ID: "bob"}); err != nil {
		panic(err)
	}
	created, err := client.CreateChannel(ctx, "messaging", "care-team", "alice",
		&stream.ChannelRequest{Members: []string{"alice", "bob"}})
	if err != nil {
		panic(err)
	}
	ch := created.Channel
	sent, err := ch.SendMessage(ctx, &stream.Message{
		Text:      "hello bob",
		ExtraData: map[string]interface{}{"priority": "high"},
	}, "alice")
	if err != nil {
		panic(err)
	}

	got, err := client.GetMessage(ctx, sent.Message.ID)
	if err != nil {
		panic(err)
	}
	fmt.Println(got.Message.Text, got.Message.User.ID, got.Message.ExtraData["priority"])

	// What the emulator stored:
	for _, m := range srv.Messages("messaging:care-team") {
		fmt.Printf("%s %s %q %s\n", m.Type, m.UserID, m.Text, m.Custom["priority"])
	}
	// Output:
	// hello bob alice high
	// regular alice "hello bob" "high"
}
