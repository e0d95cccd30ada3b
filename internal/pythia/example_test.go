package pythia_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log"

	"github.com/e3go/e3go/internal/pythia"
)

// Example shows one BrainKey exchange end to end: the client blinds the
// password, the server transforms the blinded point (in production over
// POST /pythia/v1/brainkey, base64-encoded), the client deblinds the seed.
// The result u is the key material for e3.GenerateKeyFromMaterial; it is the
// same for every blinding of the same password.
func Example() {
	// Server: the transformation key and the tweak are fixed per user forever.
	key, err := pythia.NewTransformationKey([]byte("pythia secret"), []byte("scope secret"), []byte("key id 1"))
	if err != nil {
		log.Fatal(err)
	}
	tweak := []byte("app-id\x00alice\x00")

	derive := func(password string) []byte {
		blinded, secret, err := pythia.Blind([]byte(password)) // client
		if err != nil {
			log.Fatal(err)
		}
		req := base64.StdEncoding.EncodeToString(blinded) // {"blinded_password": req}

		x, _ := base64.StdEncoding.DecodeString(req) // server
		seed, err := pythia.Transform(x, tweak, key)
		if err != nil {
			log.Fatal(err)
		}
		resp := base64.StdEncoding.EncodeToString(seed) // {"seed": resp}

		y, _ := base64.StdEncoding.DecodeString(resp) // client
		u, err := pythia.Deblind(y, secret)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("blinded %d bytes, seed %d bytes, u %d bytes\n", len(blinded), len(seed), len(u))
		return u
	}
	u1 := derive("correct horse battery staple")
	u2 := derive("correct horse battery staple")
	u3 := derive("Tr0ub4dor&3")
	fmt.Println("same password, same u:", bytes.Equal(u1, u2))
	fmt.Println("other password, same u:", bytes.Equal(u1, u3))
	// Output:
	// blinded 49 bytes, seed 384 bytes, u 384 bytes
	// blinded 49 bytes, seed 384 bytes, u 384 bytes
	// blinded 49 bytes, seed 384 bytes, u 384 bytes
	// same password, same u: true
	// other password, same u: false
}

// ExampleNewTransformationKey derives libpythia's transformation key pair
// from the server's secrets (here those of the first WASM-made case of
// testdata/node_batch.json, whose public key WASM libpythia computed). The
// private key never prints.
func ExampleNewTransformationKey() {
	secret, _ := hex.DecodeString("59e22dffb195db12b7726ca4")
	scope, _ := hex.DecodeString("e58ef7f70a1407d35916c71800fc71096bcd90fdefe3")
	keyID, _ := hex.DecodeString("dbfccdb28181baa50cc61640735461c18adbcd98a5afb3a3b01e955c6721ac034d751898dac6999e81f372ba1db7f60792e21d4fa7ba898c16")
	key, err := pythia.NewTransformationKey(secret, scope, keyID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%x\n", key.PublicKey())
	fmt.Println(key)
	// Output:
	// 0319463f268c79d13a8025c4980e7f7ec18a5a3b9fbe8bb67febeba9a2c641ab2ed8bf09057b30cc0bc0070e5d9fd4fb36
	// pythia.TransformationKey(REDACTED)
}

// ExampleDeblind shows how a malformed server answer is reported.
func ExampleDeblind() {
	_, secret, err := pythia.Blind([]byte("password"))
	if err != nil {
		log.Fatal(err)
	}
	_, err = pythia.Deblind(bytes.Repeat([]byte{7}, pythia.SeedSize), secret)
	fmt.Println(err)
	// Output:
	// pythia: invalid seed: not in GT
}
