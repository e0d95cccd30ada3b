// Package examples_test holds the README's code sample, so that it is
// compiled and run by go test: the function between the markers below is
// the sample, byte for byte, and TestReadmeSampleMatches checks that the
// README's copy has not drifted from it.
package examples_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"strings"
	"testing"

	stream "github.com/GetStream/stream-chat-go/v6"

	"github.com/e3go/e3go/e3"
	"github.com/e3go/e3go/e3/e3test"
	"github.com/e3go/e3go/streamenc"
	"github.com/e3go/e3go/streamenc/streamtest"
)

// README sample begin
// careTeam: alice writes to bob through Stream; Stream stores only ciphertext.
// sc is a stream-chat-go client, alice and bob are registered e3 Clients.
func careTeam(ctx context.Context, sc *stream.Client, alice, bob *e3.Client) error {
	resp, err := sc.CreateChannel(ctx, "messaging", "care-team", "alice",
		&stream.ChannelRequest{Members: []string{"alice", "bob"}})
	if err != nil {
		return err
	}
	opts := &streamenc.ChannelOptions{StreamClient: sc}
	out := streamenc.NewChannel(resp.Channel, alice, opts) // seals for every member
	msg := &stream.Message{Text: "BP 120/80, next visit Tue 3pm"}
	if _, err := out.SendMessage(ctx, msg, "alice"); err != nil {
		return err
	}
	in := streamenc.NewChannel(resp.Channel, bob, opts) // opens and verifies
	msgs, err := in.Query(ctx, nil)
	if err != nil {
		return err
	}
	for _, m := range msgs { // m.Err says why a message could not be opened
		fmt.Printf("%s: %s (err: %v)\n", m.Sender.Identity, m.Text, m.Err)
	}
	return nil
}

// README sample end

// The sample on the in-process servers. Against the real services only the
// clients differ: stream.NewClient(key, secret), and e3.New with
// e3.Config{TokenProvider: <your backend's Virgil tokens>}.
func Example_readme() {
	ctx := context.Background()
	virgil := e3test.NewServer()
	defer virgil.Close()
	streamSrv := streamtest.NewServer()
	defer streamSrv.Close()
	sc := streamSrv.Client()

	clients := map[string]*e3.Client{}
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
		clients[name] = c
	}
	if err := careTeam(ctx, sc, clients["alice"], clients["bob"]); err != nil {
		log.Fatal(err)
	}
	fmt.Println("plaintext on Stream:", streamSrv.Find([]byte("120/80")) != nil)
	// Output:
	// alice: BP 120/80, next visit Tue 3pm (err: <nil>)
	// plaintext on Stream: false
}

// TestReadmeSampleMatches checks that README.md shows this file's sample
// exactly, once the README carries it (in a ```go block after a line
// "<!-- sample: examples/readme_test.go -->").
func TestReadmeSampleMatches(t *testing.T) {
	src, err := os.ReadFile("readme_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(src), "// README sample begin\n")
	sample, _, ok2 := strings.Cut(rest, "\n// README sample end")
	if !ok || !ok2 {
		t.Fatal("sample markers missing")
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, found := strings.Cut(string(readme), "<!-- sample: examples/readme_test.go -->")
	if !found {
		t.Skip("README.md does not show the sample yet")
	}
	_, block, ok := strings.Cut(after, "```go\n")
	block, _, ok2 = strings.Cut(block, "```")
	if !ok || !ok2 {
		t.Fatal("no ```go block after the sample marker in README.md")
	}
	if strings.TrimSpace(block) != strings.TrimSpace(sample) {
		t.Fatalf("README.md's sample differs from examples/readme_test.go's:\n--- README\n%s\n--- readme_test.go\n%s", block, sample)
	}
}
