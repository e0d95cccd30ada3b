package groupsession_test

import (
	"crypto/ed25519"
	"fmt"

	"github.com/e3go/e3go/internal/groupsession"
)

// A group's creator starts a session and sends; a member imports the
// ticket and reads; after a removal the creator moves to a new epoch.
func Example() {
	alicePub, alice, _ := ed25519.GenerateKey(nil)

	s, err := groupsession.Generate(nil, []byte("care-team:ward-7"))
	if err != nil {
		panic(err)
	}
	ticket0 := s.Epochs()[0].Marshal() // distributed to the members (e3kit: through Keyknox)

	msg, err := s.Encrypt(nil, []byte("bed 12 needs a review"), alice)
	if err != nil {
		panic(err)
	}

	member, err := groupsession.Import(ticket0)
	if err != nil {
		panic(err)
	}
	pt, err := member.Decrypt(msg, alicePub) // the sender's key: the format names no sender
	fmt.Printf("%s (%v), ticket %d bytes, message %d bytes\n", pt, err, len(ticket0), len(msg))

	// Someone is removed: a new epoch, whose ticket only the remaining members get.
	e1, err := s.AddNewEpoch(nil)
	if err != nil {
		panic(err)
	}
	msg, _ = s.Encrypt(nil, []byte("handover at 7"), alice)
	_, err = member.Decrypt(msg, alicePub) // still holds epoch 0 only
	fmt.Println(err)

	if err := member.AddEpoch(e1); err != nil { // a remaining member gets the new ticket
		panic(err)
	}
	pt, err = member.Decrypt(msg, alicePub)
	fmt.Printf("%s (%v)\n", pt, err)
	// Output:
	// bed 12 needs a review (<nil>), ticket 74 bytes, message 322 bytes
	// groupsession: epoch 1 not in the session (it holds 0..0): the session is outdated
	// handover at 7 (<nil>)
}
