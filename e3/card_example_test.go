package e3_test

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/e3go/e3go/e3"
)

// A card is made and self-signed by its key's holder, published by a Cards
// service that countersigns it, and checked by everyone who uses it.
func ExampleNewCard() {
	key, err := e3.GenerateKey()
	if err != nil {
		panic(err)
	}
	card, err := e3.NewCard(e3.CardParams{Identity: "alice", PrivateKey: key})
	if err != nil {
		panic(err)
	}

	// The wire form is Virgil's card JSON, its content snapshot byte for byte.
	data, err := json.Marshal(card)
	if err != nil {
		panic(err)
	}
	parsed, err := e3.ParseCard(data)
	if err != nil {
		panic(err)
	}
	fmt.Println(parsed.ID == card.ID, parsed.Identity, parsed.PublicKey.Equal(key.Public()))

	// Only self-signed: the default verifier wants Virgil's service
	// signature too.
	err = (&e3.CardVerifier{}).Verify(parsed)
	var cve *e3.CardVerificationError
	fmt.Println(errors.Is(err, e3.ErrInvalidCard), errors.As(err, &cve) && cve.Signer == e3.SignerVirgil)

	// A service (here a stand-in key) countersigns it as "virgil".
	service, _ := e3.GenerateKey()
	sig, _ := e3.Sign(parsed.ContentSnapshot, service)
	parsed.Signatures = append(parsed.Signatures, e3.CardSignature{Signer: e3.SignerVirgil, Signature: sig})
	fmt.Println((&e3.CardVerifier{ServiceKey: service.Public()}).Verify(parsed))
	// Output:
	// true alice true
	// true true
	// <nil>
}
