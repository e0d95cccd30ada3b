package e3_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/e3go/e3go/e3"
	"github.com/e3go/e3go/e3/e3test"
	"github.com/e3go/e3go/internal/pythia"
	"github.com/e3go/e3go/internal/virgilapi"
)

// BenchmarkCardSearchVerify: one search of 20 identities on an e3test
// server, parsing and verifying every card (self and service signature),
// against its floor in the same run: the 40 signature verifications alone.
// Both report ns/card.
func BenchmarkCardSearchVerify(b *testing.B) {
	srv := e3test.NewServer()
	defer srv.Close()
	ctx := context.Background()
	const n = 20
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("user-%02d", i)
		cfg := srv.ClientConfig(ids[i])
		api, _ := virgilapi.New(virgilapi.Config{BaseURL: cfg.APIURL, HTTPClient: cfg.HTTPClient, Tokens: cfg.TokenProvider})
		k, _ := e3.GenerateKey()
		c, _ := e3.NewCard(e3.CardParams{Identity: ids[i], PrivateKey: k})
		var rc virgilapi.RawCard
		j, _ := json.Marshal(c)
		json.Unmarshal(j, &rc)
		if _, err := api.PublishCard(ctx, &rc); err != nil {
			b.Fatal(err)
		}
	}
	cfg := srv.ClientConfig("searcher")
	api, _ := virgilapi.New(virgilapi.Config{BaseURL: cfg.APIURL, HTTPClient: cfg.HTTPClient, Tokens: cfg.TokenProvider})
	ver := srv.CardVerifier()
	searchVerify := func() []*e3.Card {
		raws, err := api.SearchCards(ctx, ids)
		if err != nil || len(raws) != n {
			b.Fatal(err, len(raws))
		}
		cards := make([]*e3.Card, len(raws))
		for i, rc := range raws {
			j, _ := json.Marshal(rc)
			c, err := e3.ParseCard(j)
			if err != nil {
				b.Fatal(err)
			}
			if err := ver.Verify(c); err != nil {
				b.Fatal(err)
			}
			cards[i] = c
		}
		return cards
	}
	cards := searchVerify()
	b.Run("SearchVerify", func(b *testing.B) {
		for b.Loop() {
			searchVerify()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/card")
	})
	b.Run("Signatures/floor", func(b *testing.B) {
		svc := srv.ServiceKey()
		for b.Loop() {
			for _, c := range cards {
				for _, s := range c.Signatures {
					key := c.PublicKey
					if s.Signer == e3.SignerVirgil {
						key = svc
					}
					if err := e3.Verify(c.ContentSnapshot, s.Signature, key); err != nil {
						b.Fatal(err)
					}
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/card")
	})
}

// BenchmarkBrainKey: a password to its BrainKey key pair through an e3test
// server (blind, HTTP, transform, deblind, key from material), against its
// floor in the same run: the same Pythia operations in process.
func BenchmarkBrainKey(b *testing.B) {
	srv := e3test.NewServer()
	defer srv.Close()
	cfg := srv.ClientConfig("alice")
	api, _ := virgilapi.New(virgilapi.Config{BaseURL: cfg.APIURL, HTTPClient: cfg.HTTPClient, Tokens: cfg.TokenProvider})
	ctx := context.Background()
	pw := []byte("correct horse battery staple")
	b.Run("HTTP", func(b *testing.B) {
		for b.Loop() {
			u, err := api.BrainKey(ctx, pw, "")
			if err != nil {
				b.Fatal(err)
			}
			if _, err := e3.GenerateKeyFromMaterial(u); err != nil {
				b.Fatal(err)
			}
		}
	})
	key, _ := pythia.NewTransformationKey([]byte("secret"), []byte("scope"), []byte("brainkey-v1"))
	tweak := []byte("0123456789abcdef0123456789abcdef")
	b.Run("Pythia/floor", func(b *testing.B) {
		for b.Loop() {
			x, s, err := pythia.Blind(pw)
			if err != nil {
				b.Fatal(err)
			}
			seed, err := pythia.Transform(x, tweak, key)
			if err != nil {
				b.Fatal(err)
			}
			u, err := pythia.Deblind(seed, s)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := e3.GenerateKeyFromMaterial(u); err != nil {
				b.Fatal(err)
			}
		}
	})
}
