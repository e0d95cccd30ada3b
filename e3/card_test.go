package e3

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/e3go/e3go/internal/virgilapi"
)

// Virgil's cross-SDK card vectors (virgil-sdk-javascript,
// src/__tests__/integration/data/data.json), quoted as data.
const (
	// STC-3: a card without signatures and its id.
	stc3JSON   = `{"content_snapshot":"eyJjcmVhdGVkX2F0IjoxNTE1Njg2MjQ1LCJpZGVudGl0eSI6InRlc3QiLCJwdWJsaWNfa2V5IjoiTUNvd0JRWURLMlZ3QXlFQTZkOWJRUUZ1RW5VOHZTbXg5ZkRvMFd4ZWM0MkpkTmc0VlI0Rk9yNC9CVWs9IiwidmVyc2lvbiI6IjUuMCJ9","signatures":[]}`
	stc3ID     = "3ed75603b6edbb8af38c187bdd884dbcda412a6ffb30b49dcbcfc04834b6258d"
	stc3PubKey = "MCowBQYDK2VwAyEA6d9bQQFuEnU8vSmx9fDo0Wxec42JdNg4VR4FOr4/BUk="

	// STC-2: a card with previous_card_id and self/virgil/extra signatures.
	stc2JSON = `{"content_snapshot":"eyJjcmVhdGVkX2F0IjoxNTE1Njg2MjQ1LCJpZGVudGl0eSI6InRlc3QiLCJwcmV2aW91c19jYXJkX2lkIjoiYTY2NjMxODA3MTI3NGFkYjczOGFmM2Y2N2I4YzdlYzI5ZDk1NGRlMmNhYmZkNzFhOTQyZTZlYTM4ZTU5ZmZmOSIsInB1YmxpY19rZXkiOiJNQ293QlFZREsyVndBeUVBNmQ5YlFRRnVFblU4dlNteDlmRG8wV3hlYzQySmROZzRWUjRGT3I0L0JVaz0iLCJ2ZXJzaW9uIjoiNS4wIn0=","signatures":[{"signature":"MFEwDQYJYIZIAWUDBAIDBQAEQNXguibY1cDCfnuJhTK+jX/Qv6v5i5TzqQs3e1fWlbisdUWYh+s10gsLkhf83wOqrm8ZXUCpjgkJn83TDaKYZQ8=","signer":"self"},{"signature":"MFEwDQYJYIZIAWUDBAIDBQAEQNXguibY1cDCfnuJhTK+jX/Qv6v5i5TzqQs3e1fWlbisdUWYh+s10gsLkhf83wOqrm8ZXUCpjgkJn83TDaKYZQ8=","signer":"virgil"},{"signature":"MFEwDQYJYIZIAWUDBAIDBQAEQCA3O35Rk+doRPHkHhJJKJyFxz2APDZOSBZi6QhmI7BP3yTb65gRYwu0HtNNYdMRsEqVj9IEKhtDelf4SKpbJwo=","signer":"extra"}]}`

	// STC-4: the STC-3 content with self, virgil and extra signatures (the
	// test signed "self" and "virgil" with the card's own key).
	stc4JSON = `{"content_snapshot":"eyJjcmVhdGVkX2F0IjoxNTE1Njg2MjQ1LCJpZGVudGl0eSI6InRlc3QiLCJwdWJsaWNfa2V5IjoiTUNvd0JRWURLMlZ3QXlFQTZkOWJRUUZ1RW5VOHZTbXg5ZkRvMFd4ZWM0MkpkTmc0VlI0Rk9yNC9CVWs9IiwidmVyc2lvbiI6IjUuMCJ9","signatures":[{"signature":"MFEwDQYJYIZIAWUDBAIDBQAEQJuTxlQ7r+RG2P8D12OFOdgPsIDmZMd4UBMIG1c1Amqm/oc1wRUzk7ccz1RbTWEt2XP+1GbkF0Z6s6FYf1QEUQI=","signer":"self"},{"signature":"MFEwDQYJYIZIAWUDBAIDBQAEQJuTxlQ7r+RG2P8D12OFOdgPsIDmZMd4UBMIG1c1Amqm/oc1wRUzk7ccz1RbTWEt2XP+1GbkF0Z6s6FYf1QEUQI=","signer":"virgil"},{"signature":"MFEwDQYJYIZIAWUDBAIDBQAEQEvjsUFgzGgdQHO5XqxKbbDN6cyeYBNAoG9GohIV5DiolGmUUXADqFiQl3wIsmzXd8+c18uUv9MrWyD1xMNHHQU=","signer":"extra"}]}`

	// STC-34: a self signature with an extra-fields snapshot, and the keys.
	stc34String  = "eyJjb250ZW50X3NuYXBzaG90IjoiZXlKamNtVmhkR1ZrWDJGMElqb3hOVEU0TlRFek16RXhMQ0pwWkdWdWRHbDBlU0k2SW5SbGMzUWlMQ0p3ZFdKc2FXTmZhMlY1SWpvaVRVTnZkMEpSV1VSTE1sWjNRWGxGUVV3ME5VZzRhMEpuUWs1WVUzVnZORkpEYldKUVQxcGlTM1Z1WTJzeFZWRnRMM2hQVEdKaFVGTkpRalE5SWl3aWRtVnljMmx2YmlJNklqVXVNQ0o5Iiwic2lnbmF0dXJlcyI6W3sic2lnbmF0dXJlIjoiTUZFd0RRWUpZSVpJQVdVREJBSURCUUFFUUZtQVJieDJoTTZ2cFUzM1NKNXhPTzBNRkpzUG03MFUwNGwwWGtsVXpqdkJGNzhMSjU0YjA0ajNIb2lweE8vdVdyTHpLM09ZZ2VaOGNUYlhzTDkyeUFVPSIsInNpZ25lciI6InNlbGYiLCJzbmFwc2hvdCI6ImV5SnBibVp2SWpvaWMyOXRaVjloWkdScGRHbHZibUZzWDJsdVptOGlmUT09In1dfQ=="
	stc34Priv    = "MC4CAQAwBQYDK2VwBCIEIDsKxdR3vYOQpyk+fxssPu3Cgt4lRdzuzl0DS5AKGFDx"
	stc34Pub     = "MCowBQYDK2VwAyEAL45H8kBgBNXSuo4RCmbPOZbKunck1UQm/xOLbaPSIB4="
	stc34Extra   = "eyJpbmZvIjoic29tZV9hZGRpdGlvbmFsX2luZm8ifQ=="
	stc34Content = "eyJjcmVhdGVkX2F0IjoxNTE4NTEzMzExLCJpZGVudGl0eSI6InRlc3QiLCJwdWJsaWNfa2V5IjoiTUNvd0JRWURLMlZ3QXlFQUw0NUg4a0JnQk5YU3VvNFJDbWJQT1piS3VuY2sxVVFtL3hPTGJhUFNJQjQ9IiwidmVyc2lvbiI6IjUuMCJ9"

	// STC-10: a card whose model JSON escapes "/" as "\/" (PHP/Swift
	// style), signed self, extra and virgil; and its private key.
	stc10String = "eyJjb250ZW50X3NuYXBzaG90IjoiZXlKMlpYSnphVzl1SWpvaU5TNHdJaXdpY0hWaWJHbGpYMnRsZVNJNklrMURiM2RDVVZsRVN6SldkMEY1UlVGM2FGZFpLekpFVVU5WlRGSnNURzFpZGtsRWNtcHllRUU1ZG01QlV5dG5kblJZVFZkTmNtNUJUamx6UFNJc0ltbGtaVzUwYVhSNUlqb2lhV1JsYm5ScGRIa2lMQ0pqY21WaGRHVmtYMkYwSWpveE5URTVNVE16TmpRd2ZRPT0iLCJzaWduYXR1cmVzIjpbeyJzaWduYXR1cmUiOiJNRkV3RFFZSllJWklBV1VEQkFJREJRQUVRQVVGbjFWVUpEZXZPS24raTBKZEl0S0kyQlA2MEcxR3dOa085cVRXcUU2eWlFUGxFcGhqZU1wUDJcL256V0l3MG5icFdaOUsxUkR1aTc3NXZTQ0VYSWcwPSIsInNpZ25lciI6InNlbGYifSx7InNpZ25hdHVyZSI6Ik1GRXdEUVlKWUlaSUFXVURCQUlEQlFBRVFDOFVEekRCOU84QTJUQ2FlR011Wlwvbm03eFVBSW5sUmtTeFhGbWx1MFZRSHdMRStkWXpJYzU5VTZraXV5YjJZa2ZvTUxtR2pXMUp2Qk5PTGJpTHMrQVk9Iiwic2lnbmVyIjoiZXh0cmEifSx7InNpZ25hdHVyZSI6Ik1GRXdEUVlKWUlaSUFXVURCQUlEQlFBRVFLVFwvTUdTVGk1TEdROTNkTkhkMlpUR0poeEdMQnN0cGpvbHNhZzAzdnFOQVNWUFBSN3A0cU9GQU9zUFVhXC9ieGJBTWEyMW5aWFlxQ1RqUmhRcnRwd3c4PSIsInNpZ25lciI6InZpcmdpbCJ9XX0="
	stc10Priv   = "MC4CAQAwBQYDK2VwBCIEIHjOZk2swG5hi+3pQ2akLSBQbiabyNZDCVnqYtoM7QkF"
)

// Cards e3kit-node 2.5.1 published (shared/captures/virgil-services/e3kit-full.jsonl).
const (
	capturedCard   = `{"content_snapshot":"eyJpZGVudGl0eSI6ImFsaWNlLTEzMWIwZWJlIiwiY3JlYXRlZF9hdCI6MTc5NjQxMzAyOCwidmVyc2lvbiI6IjUuMCIsInB1YmxpY19rZXkiOiJNQ293QlFZREsyVndBeUVBWFVtdGFvelArdC8wZzE1QlJ3STZBNCtva1duS0xCdWRxT2o4TzNxSFdYOD0ifQ==","signatures":[{"signer":"self","signature":"MFEwDQYJYIZIAWUDBAIDBQAEQA0YZthBRupzhFSB8oA/7c1kEh05iv0rScxx/j+QHl0RvwrTEUG0M0MOIfTrfAqfcZwXuq5OTBcl65cNjkDb1AM="}]}`
	capturedCardID = "5ed063f44fa3728ab64d96f668ca937d6841807839a0b2e50ded142befe3bca6"
	capturedRotate = `{"content_snapshot":"eyJpZGVudGl0eSI6ImJvYi1iMTJlYTEwYiIsInByZXZpb3VzX2NhcmRfaWQiOiJhYmQyOWJmZTUyN2NlNzU3YjE5MmE5NDlmMTVkZWNiYTAyZjVjNDE3MzEzMzFlYTI4NjY5Njk0NzIwMDgwZDExIiwiY3JlYXRlZF9hdCI6MTc5NjQxMzAyOSwidmVyc2lvbiI6IjUuMCIsInB1YmxpY19rZXkiOiJNQ293QlFZREsyVndBeUVBeWhXdlgzaE9hUExBTTBIbUUwMDVIdTBXamZBNDh0dERRamVhYWNna3h4bz0ifQ==","signatures":[{"signer":"self","signature":"MFEwDQYJYIZIAWUDBAIDBQAEQCgFtZwM/uhpS0fetVVWpLOQC7JC1rN0vtePwd4nauI5yhORc1T/ZvJkKuOsGpjBdD6rxhyCmZVJ7INeDmCkvQQ="}]}`
)

var selfOnly = &CardVerifier{InsecureSkipServiceSignature: true}

func mustParseCard(t testing.TB, s string) *Card {
	t.Helper()
	c, err := ParseCard([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCardSTC3(t *testing.T) {
	c := mustParseCard(t, stc3JSON)
	if c.ID != stc3ID || c.Identity != "test" || c.CreatedAt.Unix() != 1515686245 || c.PreviousCardID != "" || len(c.Signatures) != 0 {
		t.Errorf("STC-3: %+v", c)
	}
	if !c.PublicKey.Equal(mustPub(t, stc3PubKey)) {
		t.Error("STC-3: public key")
	}
	var cve *CardVerificationError
	if err := selfOnly.Verify(c); !errors.As(err, &cve) || cve.Signer != SignerSelf || !errors.Is(err, ErrInvalidCard) {
		t.Errorf("STC-3 has no self signature: got %v", err)
	}
	// STC-1/STC-3 "as_string": base64 of the same model.
	var s string
	json.Unmarshal([]byte(`"eyJjb250ZW50X3NuYXBzaG90IjoiZXlKamNtVmhkR1ZrWDJGMElqb3hOVEUxTmpnMk1qUTFMQ0pwWkdWdWRHbDBlU0k2SW5SbGMzUWlMQ0p3ZFdKc2FXTmZhMlY1SWpvaVRVTnZkMEpSV1VSTE1sWjNRWGxGUVRaa09XSlJVVVoxUlc1Vk9IWlRiWGc1WmtSdk1GZDRaV00wTWtwa1RtYzBWbEkwUms5eU5DOUNWV3M5SWl3aWRtVnljMmx2YmlJNklqVXVNQ0o5Iiwic2lnbmF0dXJlcyI6W119"`), &s)
	if c2 := mustParseCard(t, string(mustB64(t, s))); c2.ID != stc3ID {
		t.Errorf("STC-3 as_string: id %s", c2.ID)
	}
}

func TestCardSTC2And4(t *testing.T) {
	c := mustParseCard(t, stc2JSON)
	if c.PreviousCardID != "a666318071274adb738af3f67b8c7ec29d954de2cabfd71a942e6ea38e59fff9" || len(c.Signatures) != 3 {
		t.Errorf("STC-2: %+v", c)
	}
	c4 := mustParseCard(t, stc4JSON)
	if c4.ID != stc3ID {
		t.Errorf("STC-4 id %s", c4.ID)
	}
	// Self verifies; "virgil" was made with the card key, not Virgil's.
	if err := selfOnly.Verify(c4); err != nil {
		t.Errorf("STC-4 self: %v", err)
	}
	if err := (&CardVerifier{ServiceKey: c4.PublicKey}).Verify(c4); err != nil {
		t.Errorf("STC-4 with its test service key: %v", err)
	}
	var cve *CardVerificationError
	err := (&CardVerifier{}).Verify(c4)
	if !errors.As(err, &cve) || cve.Signer != SignerVirgil || !errors.Is(err, ErrAuthFailed) {
		t.Errorf("STC-4 against Virgil's real service key: got %v, want a failed virgil signature", err)
	}
	if err := (*CardVerifier)(nil).Verify(c4); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("nil verifier: %v", err)
	}
}

func TestCardSTC34ExtraSnapshot(t *testing.T) {
	c := mustParseCard(t, string(mustB64(t, stc34String)))
	if !bytes.Equal(c.ContentSnapshot, mustB64(t, stc34Content)) || !c.PublicKey.Equal(mustPub(t, stc34Pub)) {
		t.Fatal("STC-34: content or key")
	}
	if !mustPriv(t, stc34Priv).Public().Equal(c.PublicKey) {
		t.Fatal("STC-34: private key")
	}
	s := c.signature(SignerSelf)
	if s == nil || !bytes.Equal(s.Snapshot, mustB64(t, stc34Extra)) {
		t.Fatal("STC-34: self signature snapshot")
	}
	if err := selfOnly.Verify(c); err != nil {
		t.Errorf("STC-34: %v", err)
	}
	// The extra snapshot is signed: dropping it breaks the signature.
	s.Snapshot = nil
	if err := selfOnly.Verify(c); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("STC-34 without its extra snapshot: %v", err)
	}
	// Signing the same bytes again gives the same (deterministic) signature.
	again, _ := Sign(append(mustB64(t, stc34Content), mustB64(t, stc34Extra)...), mustPriv(t, stc34Priv))
	if !bytes.Equal(again, c.Signatures[0].Signature) {
		t.Error("STC-34: re-signing differs")
	}
}

func TestCardSTC10EscapedJSON(t *testing.T) {
	c := mustParseCard(t, string(mustB64(t, stc10String)))
	if c.Identity != "identity" || len(c.Signatures) != 3 {
		t.Fatalf("STC-10: %+v", c)
	}
	if err := selfOnly.Verify(c); err != nil {
		t.Errorf("STC-10 self: %v", err)
	}
	// private_key1 made the "extra" signature.
	if err := verifyCardSignature(c, "extra", mustPriv(t, stc10Priv).Public()); err != nil {
		t.Errorf("STC-10 extra: %v", err)
	}
	if err := verifyCardSignature(c, "extra", c.PublicKey); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("STC-10 extra with the card key: %v", err)
	}
}

func TestCardCapturedE3kit(t *testing.T) {
	c := mustParseCard(t, capturedCard)
	if c.ID != capturedCardID || c.Identity != "alice-131b0ebe" {
		t.Errorf("captured card: %+v", c)
	}
	if err := selfOnly.Verify(c); err != nil {
		t.Errorf("captured card: %v", err)
	}
	r := mustParseCard(t, capturedRotate)
	if r.PreviousCardID != "abd29bfe527ce757b192a949f15decba02f5c41731331ea28669694720080d11" || r.Identity != "bob-b12ea10b" {
		t.Errorf("captured rotation: %+v", r)
	}
	if err := selfOnly.Verify(r); err != nil {
		t.Errorf("captured rotation: %v", err)
	}
	// NewCard writes e3kit's snapshot byte for byte (keys in JS order,
	// previous_card_id second and only when set).
	for _, cc := range []*Card{c, r} {
		b, err := jsonCompact(cardContent{Identity: cc.Identity, PreviousCardID: cc.PreviousCardID, CreatedAt: cc.CreatedAt.Unix(),
			Version: "5.0", PublicKey: base64.StdEncoding.EncodeToString(cc.PublicKey.Export())})
		if err != nil || !bytes.Equal(b, cc.ContentSnapshot) {
			t.Errorf("snapshot\n got %s\nwant %s", b, cc.ContentSnapshot)
		}
	}
	// MarshalJSON reproduces the model e3kit sent.
	if b, err := json.Marshal(c); err != nil || string(b) != capturedCard {
		t.Errorf("MarshalJSON\n got %s\nwant %s", b, capturedCard)
	}
}

func TestNewCard(t *testing.T) {
	key, _ := GenerateKey()
	svc, _ := GenerateKey()
	c, err := NewCard(CardParams{Identity: "alice", PrivateKey: key, CreatedAt: time.Unix(1800000000, 5)})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"identity":"alice","created_at":1800000000,"version":"5.0","public_key":"` + base64.StdEncoding.EncodeToString(key.Public().Export()) + `"}`
	if string(c.ContentSnapshot) != want || c.ID != virgilapi.CardID(c.ContentSnapshot) || c.CreatedAt.Unix() != 1800000000 {
		t.Errorf("NewCard: %s", c.ContentSnapshot)
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseCard(b)
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != c.ID || p.Identity != "alice" || !p.PublicKey.Equal(key.Public()) || !bytes.Equal(p.ContentSnapshot, c.ContentSnapshot) {
		t.Errorf("round trip: %+v", p)
	}
	if err := selfOnly.Verify(p); err != nil {
		t.Fatal(err)
	}
	if err := (&CardVerifier{ServiceKey: svc.Public()}).Verify(p); !errors.Is(err, ErrInvalidCard) {
		t.Errorf("no virgil signature: %v", err)
	}
	vs, _ := Sign(p.ContentSnapshot, svc)
	p.Signatures = append(p.Signatures, CardSignature{Signer: SignerVirgil, Signature: vs})
	if err := (&CardVerifier{ServiceKey: svc.Public()}).Verify(p); err != nil {
		t.Errorf("with the service signature: %v", err)
	}
	other, _ := GenerateKey()
	if err := (&CardVerifier{ServiceKey: other.Public()}).Verify(p); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("another service key: %v", err)
	}

	r, err := NewCard(CardParams{Identity: "alice", PrivateKey: other, PreviousCardID: c.ID})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(r.ContentSnapshot), `"identity":"alice","previous_card_id":"`+c.ID+`","created_at":`) {
		t.Errorf("rotation snapshot %s", r.ContentSnapshot)
	}

	x, _ := GenerateKeyOfType(Curve25519)
	for name, p := range map[string]CardParams{
		"no key":       {Identity: "a"},
		"curve25519":   {Identity: "a", PrivateKey: x},
		"no identity":  {PrivateKey: key},
		"utf-8":        {Identity: "Юзер", PrivateKey: key},
		"latin-1":      {Identity: "café", PrivateKey: key},
		"bad previous": {Identity: "a", PrivateKey: key, PreviousCardID: "ABCD"},
	} {
		if _, err := NewCard(p); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// model builds a card model JSON from a snapshot and signatures.
func model(snapshot []byte, sigs ...virgilapi.RawSignature) string {
	b, _ := json.Marshal(virgilapi.RawCard{ContentSnapshot: snapshot, Signatures: sigs})
	return string(b)
}

func TestCardRejects(t *testing.T) {
	key, _ := GenerateKey()
	pub := base64.StdEncoding.EncodeToString(key.Public().Export())
	snap := func(s string) []byte { return []byte(strings.ReplaceAll(s, "PUB", pub)) }
	sig := func(b []byte) virgilapi.RawSignature {
		s, _ := Sign(b, key)
		return virgilapi.RawSignature{Signer: "self", Signature: s}
	}
	good := snap(`{"identity":"a","created_at":1,"version":"5.0","public_key":"PUB"}`)
	if _, err := ParseCard([]byte(model(good, sig(good)))); err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string]string{
		"not json":            `content_snapshot`,
		"array":               `[]`,
		"null":                `null`,
		"snapshot not base64": `{"content_snapshot":"!!!","signatures":[]}`,
		"no snapshot":         `{"signatures":[]}`,
		"signatures object":   `{"content_snapshot":"e30=","signatures":{}}`,
		"empty content":       model([]byte(`{}`)),
		"content array":       model([]byte(`[1]`)),
		"content not json":    model([]byte(`identity`)),
		"version 4":           model(snap(`{"identity":"a","created_at":1,"version":"4.0","public_key":"PUB"}`)),
		"no version":          model(snap(`{"identity":"a","created_at":1,"public_key":"PUB"}`)),
		"no identity":         model(snap(`{"created_at":1,"version":"5.0","public_key":"PUB"}`)),
		"empty identity":      model(snap(`{"identity":"","created_at":1,"version":"5.0","public_key":"PUB"}`)),
		"numeric identity":    model(snap(`{"identity":5,"created_at":1,"version":"5.0","public_key":"PUB"}`)),
		"no created_at":       model(snap(`{"identity":"a","version":"5.0","public_key":"PUB"}`)),
		"float created_at":    model(snap(`{"identity":"a","created_at":1.5,"version":"5.0","public_key":"PUB"}`)),
		"no key":              model(snap(`{"identity":"a","created_at":1,"version":"5.0"}`)),
		"key not base64":      model(snap(`{"identity":"a","created_at":1,"version":"5.0","public_key":"%%"}`)),
		"key not spki":        model(snap(`{"identity":"a","created_at":1,"version":"5.0","public_key":"AAAA"}`)),
		"bad previous id":     model(snap(`{"identity":"a","previous_card_id":"xyz","created_at":1,"version":"5.0","public_key":"PUB"}`)),
		"latin-1 snapshot":    model(snap("{\"identity\":\"caf\xe9\",\"created_at\":1,\"version\":\"5.0\",\"public_key\":\"PUB\"}")),
		"trailing garbage":    model(append(bytes.Clone(good), 'x')),
		"two self sigs":       model(good, sig(good), sig(good)),
		"empty signer":        model(good, virgilapi.RawSignature{Signature: []byte{1}}),
		"empty signature":     model(good, virgilapi.RawSignature{Signer: "self"}),
	} {
		c, err := ParseCard([]byte(in))
		if err == nil {
			t.Errorf("%s: parsed %+v", name, c)
			continue
		}
		if !errors.Is(err, ErrMalformed) || !errors.Is(err, ErrInvalidCard) {
			t.Errorf("%s: %v does not match ErrMalformed and ErrInvalidCard", name, err)
		}
		if strings.Contains(err.Error(), pub[:16]) {
			t.Errorf("%s: error echoes input: %v", name, err)
		}
	}

	// Verification failures.
	c := mustParseCard(t, model(good, sig(good)))
	bad := bytes.Clone(good)
	bad = bytes.Replace(bad, []byte(`"created_at":1`), []byte(`"created_at":2`), 1)
	forged := mustParseCard(t, model(bad, sig(good)))
	if err := selfOnly.Verify(forged); !errors.Is(err, ErrAuthFailed) || !errors.Is(err, ErrInvalidCard) {
		t.Errorf("content changed after signing: %v", err)
	}
	other, _ := GenerateKey()
	os, _ := Sign(good, other)
	if err := selfOnly.Verify(mustParseCard(t, model(good, virgilapi.RawSignature{Signer: "self", Signature: os}))); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("self-signed by another key: %v", err)
	}
	for name, mutate := range map[string]func(c *Card){
		"id":        func(c *Card) { c.ID = stc3ID },
		"identity":  func(c *Card) { c.Identity = "b" },
		"key":       func(c *Card) { c.PublicKey = other.Public() },
		"previous":  func(c *Card) { c.PreviousCardID = stc3ID },
		"signature": func(c *Card) { c.Signatures[0].Signature = os },
	} {
		cc := *c
		cc.Signatures = append([]CardSignature(nil), c.Signatures...)
		mutate(&cc)
		if err := selfOnly.Verify(&cc); !errors.Is(err, ErrInvalidCard) {
			t.Errorf("card with changed %s: %v", name, err)
		}
	}
	if err := selfOnly.Verify(nil); !errors.Is(err, ErrInvalidCard) {
		t.Errorf("nil card: %v", err)
	}
	if _, err := (&Card{}).MarshalJSON(); err == nil {
		t.Error("empty card marshalled")
	}
}

func TestVirgilCardsServiceKey(t *testing.T) {
	k := VirgilCardsServiceKey()
	if k.Type() != Ed25519 || base64.StdEncoding.EncodeToString(k.Export()) != virgilCardsServiceKey {
		t.Errorf("service key %v", k)
	}
	if VirgilCardsServiceKey() == k {
		t.Error("VirgilCardsServiceKey returned a shared value")
	}
}

func TestLinkCards(t *testing.T) {
	mk := func(id, prev string) *Card { return &Card{ID: id, PreviousCardID: prev} }
	a, b, c, d := mk("a", ""), mk("b", "a"), mk("c", "b"), mk("d", "zz")
	got := linkCards([]*Card{a, c, d, b, c})
	if len(got) != 2 || got[0] != c || got[1] != d {
		t.Fatalf("linked: %v", got)
	}
	if c.PreviousCard != b || b.PreviousCard != a || d.PreviousCard != nil || !a.IsOutdated || !b.IsOutdated || c.IsOutdated || d.IsOutdated {
		t.Errorf("links: %+v %+v %+v %+v", a, b, c, d)
	}
	// Two independent chains stay two active cards (MultipleCards for e3kit).
	x, y := mk("x", ""), mk("y", "")
	if got := linkCards([]*Card{x, y}); len(got) != 2 {
		t.Errorf("independent cards: %v", got)
	}
}

func FuzzParseCard(f *testing.F) {
	key, _ := GenerateKey()
	c, _ := NewCard(CardParams{Identity: "alice", PrivateKey: key})
	nb, _ := json.Marshal(c)
	for _, s := range []string{stc3JSON, stc2JSON, stc4JSON, capturedCard, capturedRotate, string(nb), `{}`, `{"content_snapshot":"e30="}`} {
		f.Add([]byte(s))
	}
	f.Add(mustB64(f, stc34String))
	f.Add(mustB64(f, stc10String))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCard(data)
		if (c == nil) == (err == nil) {
			t.Fatalf("card %v and error %v", c, err)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidCard) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not match ErrInvalidCard and ErrMalformed", err)
			}
			return
		}
		if c.ID != virgilapi.CardID(c.ContentSnapshot) || c.PublicKey == nil || c.Identity == "" {
			t.Fatalf("accepted %+v", c)
		}
		// Marshal and parse again: the same card.
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		c2, err := ParseCard(b)
		if err != nil || c2.ID != c.ID || len(c2.Signatures) != len(c.Signatures) {
			t.Fatalf("round trip: %v", err)
		}
		if err := selfOnly.Verify(c); err != nil && !errors.Is(err, ErrInvalidCard) {
			t.Fatalf("verify error %v does not match ErrInvalidCard", err)
		}
	})
}
