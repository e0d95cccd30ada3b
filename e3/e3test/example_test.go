package e3test_test

import (
	"context"
	"fmt"

	"github.com/e3go/e3go/e3"
	"github.com/e3go/e3go/e3/e3test"
)

// Two e3 Clients talk through an e3test server, as they would through
// Virgil's cloud.
func ExampleNewServer() {
	srv := e3test.NewServer()
	defer srv.Close()
	ctx := context.Background()

	alice, err := e3.New(ctx, srv.ClientConfig("alice"))
	if err != nil {
		panic(err)
	}
	bob, err := e3.New(ctx, srv.ClientConfig("bob"))
	if err != nil {
		panic(err)
	}
	for _, c := range []*e3.Client{alice, bob} {
		if err := c.Register(ctx); err != nil {
			panic(err)
		}
	}

	bobCard, err := alice.FindUser(ctx, "bob")
	if err != nil {
		panic(err)
	}
	ct, err := alice.AuthEncrypt([]byte("hello bob"), bobCard)
	if err != nil {
		panic(err)
	}
	aliceCard, err := bob.FindUser(ctx, "alice")
	if err != nil {
		panic(err)
	}
	pt, err := bob.AuthDecrypt(ct, aliceCard)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(pt))

	// The server holds one countersigned card per user.
	fmt.Println(len(srv.Cards("alice")), srv.CardVerifier().Verify(aliceCard))
	// Output:
	// hello bob
	// 1 <nil>
}
