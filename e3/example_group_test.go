package e3_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/e3go/e3go/e3"
	"github.com/e3go/e3go/e3/e3test"
)

// A care team as an e3kit group, on an in-process e3test server: alice
// creates it with bob and carol, bob loads it, every message is encrypted
// once for everyone, and after carol is removed she cannot read what
// follows.
func ExampleClient_CreateGroup() {
	ctx := context.Background()
	srv := e3test.NewServer()
	defer srv.Close()
	users := map[string]*e3.Client{}
	for _, id := range []string{"alice", "bob", "carol"} {
		c, err := e3.New(ctx, srv.ClientConfig(id))
		if err != nil {
			log.Fatal(err)
		}
		if err := c.Register(ctx); err != nil {
			log.Fatal(err)
		}
		users[id] = c
	}
	alice, bob, carol := users["alice"], users["bob"], users["carol"]

	// alice creates the group for the channel, with bob and carol.
	members, err := alice.FindUsers(ctx, "bob", "carol")
	if err != nil {
		log.Fatal(err)
	}
	group, err := alice.CreateGroup(ctx, "messaging:care-team-ward-7", members["bob"], members["carol"])
	if err != nil {
		log.Fatal(err)
	}
	ct, err := group.Encrypt([]byte("Bed 4: CT scan at 14:00."))
	if err != nil {
		log.Fatal(err)
	}

	// bob loads it from alice's cloud and decrypts.
	aliceCard, err := bob.FindUser(ctx, "alice")
	if err != nil {
		log.Fatal(err)
	}
	bobGroup, err := bob.LoadGroup(ctx, "messaging:care-team-ward-7", aliceCard)
	if err != nil {
		log.Fatal(err)
	}
	text, err := bobGroup.Decrypt(ct, aliceCard)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(text))
	fmt.Println(bobGroup.Participants())

	// carol leaves the team: a new epoch, without her.
	carolGroup, err := carol.LoadGroup(ctx, "messaging:care-team-ward-7", aliceCard)
	if err != nil {
		log.Fatal(err)
	}
	if err := group.Remove(ctx, members["carol"]); err != nil {
		log.Fatal(err)
	}
	ct, err = group.Encrypt([]byte("Bed 4: results normal."))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := carolGroup.Decrypt(ct, aliceCard); errors.Is(err, e3.ErrGroupOutdated) {
		fmt.Println("carol: outdated")
	}
	if err := carolGroup.Update(ctx); errors.Is(err, e3.ErrGroupNoAccess) {
		fmt.Println("carol: removed")
	}
	if err := bobGroup.Update(ctx); err != nil {
		log.Fatal(err)
	}
	text, err = bobGroup.Decrypt(ct, aliceCard)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(text), bobGroup.Epoch(), bobGroup.Participants())
	// Output:
	// Bed 4: CT scan at 14:00.
	// [alice bob carol]
	// carol: outdated
	// carol: removed
	// Bed 4: results normal. 1 [alice bob]
}
