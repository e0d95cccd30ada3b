package e3_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"testing"

	"github.com/e3go/e3go/e3"
	"github.com/e3go/e3go/e3/e3test"
)

// A server-side participant that holds the App Key issues its own tokens.
func ExampleJWTGenerator_TokenProvider() {
	ctx := context.Background()
	srv := e3test.NewServer()
	defer srv.Close()
	gen := srv.JWTGenerator() // a backend builds it from the app's credentials

	cfg := srv.ClientConfig("care-bot") // e3test's URL and service key
	cfg.TokenProvider = gen.TokenProvider("care-bot")
	bot, err := e3.New(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	if err := bot.Register(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println(bot.Identity())
	// Output:
	// care-bot
}

func TestJWTGeneratorTokenProvider(t *testing.T) {
	ctx := context.Background()
	srv := e3test.NewServer()
	defer srv.Close()
	gen := srv.JWTGenerator()

	p := gen.TokenProvider("bot")
	for range 2 {
		tok, err := p.Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		claims, err := e3.ParseJWTClaims(tok)
		if err != nil || claims.Identity != "bot" {
			t.Fatalf("claims %+v, %v", claims, err)
		}
		if _, err := (&e3.JWTVerifier{AppID: gen.AppID, AppKeyID: gen.AppKeyID, AppPublicKey: gen.AppKey.Public()}).Verify(tok); err != nil {
			t.Fatalf("the token does not verify: %v", err)
		}
	}

	// Checked at the first call, which New makes.
	cfg := srv.ClientConfig("bot")
	cfg.TokenProvider = gen.TokenProvider("bad\nidentity")
	if _, err := e3.New(ctx, cfg); !errors.Is(err, e3.ErrInvalidIdentity) {
		t.Errorf("New with an invalid identity: %v", err)
	}
	if _, err := (&e3.JWTGenerator{AppID: gen.AppID, AppKeyID: gen.AppKeyID}).TokenProvider("bot").Token(ctx); err == nil {
		t.Error("a generator without its App Key made a token")
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if tok, err := p.Token(done); !errors.Is(err, context.Canceled) || tok != "" {
		t.Errorf("Token with a cancelled context: %q, %v", tok, err)
	}
}
