package interop

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/e3go/e3go/e3"
)

// key is one key pair known to both sides: parsed in Go, DER for Node.
type key struct {
	name    string
	priv    *e3.PrivateKey
	pub     *e3.PublicKey
	privDER []byte // PKCS#8, as virgil-crypto exports it
	pubDER  []byte // SubjectPublicKeyInfo
}

type keys []key

func (ks keys) pubs() []*e3.PublicKey {
	out := make([]*e3.PublicKey, len(ks))
	for i, k := range ks {
		out[i] = k.pub
	}
	return out
}

func (ks keys) privDERs() [][]byte {
	out := make([][]byte, len(ks))
	for i, k := range ks {
		out[i] = k.privDER
	}
	return out
}

func (ks keys) pubDERs() [][]byte {
	out := make([][]byte, len(ks))
	for i, k := range ks {
		out[i] = k.pubDER
	}
	return out
}

var nodeType = map[e3.KeyType]string{e3.Ed25519: "ED25519", e3.Curve25519: "CURVE25519"}

// goKey generates a key in Go.
func goKey(tb testing.TB, typ e3.KeyType, name string) key {
	tb.Helper()
	sk, err := e3.GenerateKeyOfType(typ)
	if err != nil {
		tb.Fatalf("GenerateKeyOfType(%v): %v", typ, err)
	}
	return key{name: name + "(go)", priv: sk, pub: sk.Public(), privDER: sk.Export(), pubDER: sk.Public().Export()}
}

// nodeKey generates a key with virgil-crypto v and imports it into Go.
func nodeKey(tb testing.TB, w *Worker, v string, typ e3.KeyType, name string) key {
	tb.Helper()
	var kp nodeKeyPair
	mustCall(tb, w, "crypto.generateKeys", map[string]any{"v": v, "type": nodeType[typ]}, &kp)
	sk, err := e3.ParsePrivateKey(kp.PrivateKey)
	if err != nil {
		tb.Fatalf("ParsePrivateKey(virgil-crypto %s %v key): %v", v, typ, err)
	}
	if !bytes.Equal(sk.Public().Export(), kp.PublicKey) {
		tb.Fatalf("virgil-crypto %s %v key: Go derives public key %x, Node %x", v, typ, sk.Public().Export(), kp.PublicKey)
	}
	return key{name: name + "(node)", priv: sk, pub: sk.Public(), privDER: kp.PrivateKey, pubDER: kp.PublicKey}
}

// recipientSet is a named list of recipient keys.
type recipientSet struct {
	name string
	keys keys
}

// party holds the keys of one virgil-crypto version's tests.
type party struct {
	v          string
	goSigner   key // Ed25519, made in Go
	nodeSigner key // Ed25519, made by virgil-crypto v
	mallory    key // Ed25519, made in Go: the wrong signer
	sets       []recipientSet
}

// newParty makes the keys: signers, and recipient sets of 1 Ed25519 key, 1
// Curve25519 key, and 25 keys mixing both types and both origins.
func newParty(tb testing.TB, w *Worker, v string) *party {
	tb.Helper()
	p := &party{
		v:          v,
		goSigner:   goKey(tb, e3.Ed25519, "alice"),
		nodeSigner: nodeKey(tb, w, v, e3.Ed25519, "alice"),
		mallory:    goKey(tb, e3.Ed25519, "mallory"),
	}
	var mixed keys
	for i := range 25 {
		typ := e3.Ed25519
		if i%2 == 1 {
			typ = e3.Curve25519
		}
		name := fmt.Sprintf("r%d-%v", i, typ)
		if (i/2)%2 == 0 {
			mixed = append(mixed, goKey(tb, typ, name))
		} else {
			mixed = append(mixed, nodeKey(tb, w, v, typ, name))
		}
	}
	p.sets = []recipientSet{
		{"1xEd25519", keys{nodeKey(tb, w, v, e3.Ed25519, "bob")}},
		{"1xCurve25519", keys{goKey(tb, e3.Curve25519, "carol")}},
		{"25xMixed", mixed},
	}
	return p
}

// message is a named plaintext.
type message struct {
	name string
	data []byte
}

// messages are the plaintexts of the one-shot tests (never nil: JSON null is
// not a base64 string).
func messages() []message {
	rnd := func(n int) []byte {
		b := make([]byte, n)
		rand.Read(b)
		return b
	}
	return []message{
		{"empty", []byte{}},
		{"1B", []byte{0x00}},
		{"utf8", []byte("Grüße, 世界! Привет 👋🔐 — ünïcødé")},
		{"156B", rnd(156)}, // 156+4 = 160, the padding boundary: pads to 320 bytes
		{"4KiB", rnd(4096)},
	}
}

// bflag returns "pad" or "nopad".
func bflag(pad bool) string {
	if pad {
		return "pad"
	}
	return "nopad"
}
