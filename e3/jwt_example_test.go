package e3_test

import (
	"fmt"
	"time"

	"github.com/e3go/e3go/e3"
)

// An app backend issues a Virgil access token to a signed-in user (what
// e3kit's getToken fetches), and a server checks one.
func ExampleJWTGenerator() {
	appKey, err := e3.GenerateKey() // in production: the App Key from Virgil's dashboard (e3.ParsePrivateKey)
	if err != nil {
		panic(err)
	}
	gen := &e3.JWTGenerator{
		AppID:    "bfdf4b2a39ff3f4c8e557e26e463ba1e",
		AppKey:   appKey,
		AppKeyID: "52c6f81abb1b510b410ae6ef49b9a5bf",
		Now:      func() time.Time { return time.Unix(1796413028, 0) }, // fixed for the example
	}
	token, err := gen.Generate("alice")
	if err != nil {
		panic(err)
	}

	// A client learns its identity from its token.
	claims, err := e3.ParseJWTClaims(token)
	if err != nil {
		panic(err)
	}
	fmt.Println(claims.Identity, claims.ExpiresAt.Sub(claims.IssuedAt))

	// A server verifies it.
	v := &e3.JWTVerifier{AppID: gen.AppID, AppKeyID: gen.AppKeyID, AppPublicKey: appKey.Public(), Leeway: time.Minute, Now: gen.Now}
	_, err = v.Verify(token)
	fmt.Println(err)

	// Identities are ASCII only.
	_, err = gen.Generate("Юзер")
	fmt.Println(err)
	// Output:
	// alice 20m0s
	// <nil>
	// e3: cannot issue a token for "Юзер": e3: identity must be non-empty printable ASCII
}
