package e3

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
)

// hexBytes is a JSON string of lowercase hex.
type hexBytes []byte

func (h *hexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := hex.DecodeString(s)
	*h = v
	return err
}

type vecKey struct {
	PrivateKeyDer    hexBytes `json:"privateKeyDer"`
	PublicKeyDer     hexBytes `json:"publicKeyDer"`
	Identifier       hexBytes `json:"identifier"`
	IdentifierSha256 hexBytes `json:"identifierSha256"`
}

type vecDet struct {
	MessageInfo hexBytes `json:"messageInfo"`
	Body        hexBytes `json:"body"`
	Footer      hexBytes `json:"footer"`
	All         hexBytes `json:"all"`
}

// vectorSet is one of testdata/virgil-crypto-*.json (see testdata/README.md).
type vectorSet struct {
	file        string
	Library     string            `json:"library"`
	Message     hexBytes          `json:"message"`
	Keys        map[string]vecKey `json:"keys"`
	KeyMaterial struct {
		Km32           hexBytes   `json:"km32"`
		Ed25519Km32    vecKey     `json:"ed25519_km32"`
		Curve25519Km32 vecKey     `json:"curve25519_km32"`
		Km384          hexBytes   `json:"km384"`
		Ed25519Km384   vecKey     `json:"ed25519_km384"`
		RngDraws       []hexBytes `json:"rngDraws_km32"`
	} `json:"keyMaterial"`
	Ops struct {
		EncryptBob                hexBytes `json:"encrypt_bob"`
		EncryptMultiBobCarolAlice hexBytes `json:"encrypt_multi_bob_carol_alice"`
		EncryptBobPadded          hexBytes `json:"encrypt_bob_padded"`
		EncryptBobEmpty           hexBytes `json:"encrypt_bob_empty"`
		SignThenEncryptAliceToBob hexBytes `json:"signThenEncrypt_alice_to_bob"`
		SignThenEncryptDetached   struct {
			Metadata      hexBytes `json:"metadata"`
			EncryptedData hexBytes `json:"encryptedData"`
		} `json:"signThenEncryptDetached_alice_to_bob"`
		SignAndEncryptAliceToBob            hexBytes `json:"signAndEncrypt_alice_to_bob"`
		SignAndEncryptAliceToBobAlicePadded hexBytes `json:"signAndEncrypt_alice_to_bob_alice_padded"`
		SignAndEncryptEmptyPadded           hexBytes `json:"signAndEncrypt_alice_to_bob_empty_padded"`
		CalculateSignature                  hexBytes `json:"calculateSignature_alice"`
		CalculateSignatureAgain             hexBytes `json:"calculateSignature_alice_again"`
		SHA512Msg                           hexBytes `json:"sha512_msg"`
		StreamSignAndEncrypt150000Padded    hexBytes `json:"stream_signAndEncrypt_150000_padded"`
		StreamPlain150000SHA256             hexBytes `json:"stream_plain_150000_sha256"`
		StreamCipherWithSignature           hexBytes `json:"streamCipher_with_signature"`
	} `json:"ops"`
	Deterministic struct {
		RngSeed                        hexBytes `json:"rngSeed"`
		EncryptBob                     vecDet   `json:"encrypt_bob"`
		EncryptBobCarol                vecDet   `json:"encrypt_bob_carol"`
		EncryptAliceBobCarol           vecDet   `json:"encrypt_alice_bob_carol"`
		SignThenEncryptAliceToBobCarol vecDet   `json:"signThenEncrypt_alice_to_bob_carol"`
		EncryptBobPadded               vecDet   `json:"encrypt_bob_padded"`
		SignAndEncryptBob              vecDet   `json:"signAndEncrypt_bob"`
		SignAndEncryptBobPadded        vecDet   `json:"signAndEncrypt_bob_padded"`
	} `json:"deterministic"`
	DerivePasswords struct {
		Password       string   `json:"password"`
		LoginPassword  hexBytes `json:"loginPassword"`
		BackupPassword hexBytes `json:"backupPassword"`
	} `json:"derivePasswords"`
}

var vectorFiles = []string{"testdata/virgil-crypto-5.1.2.json", "testdata/virgil-crypto-4.2.2.json"}

func loadVectors(t testing.TB) []*vectorSet {
	t.Helper()
	var out []*vectorSet
	for _, f := range vectorFiles {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		v := &vectorSet{file: f}
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(v.Message) == 0 || len(v.Keys) != 3 || len(v.Ops.EncryptBob) == 0 || len(v.Deterministic.EncryptBob.All) == 0 {
			t.Fatalf("%s: vector file incomplete", f)
		}
		out = append(out, v)
	}
	return out
}

// vkeys holds the parsed alice (Ed25519), bob (Ed25519), carol (Curve25519).
type vkeys struct {
	alice, bob, carol          *PrivateKey
	alicePub, bobPub, carolPub *PublicKey
}

func (v *vectorSet) keys(t testing.TB) vkeys {
	t.Helper()
	priv := func(n string) *PrivateKey {
		k, err := ParsePrivateKey(v.Keys[n].PrivateKeyDer)
		if err != nil {
			t.Fatalf("%s %s: %v", v.file, n, err)
		}
		return k
	}
	pub := func(n string) *PublicKey {
		k, err := ParsePublicKey(v.Keys[n].PublicKeyDer)
		if err != nil {
			t.Fatalf("%s %s: %v", v.file, n, err)
		}
		return k
	}
	return vkeys{priv("alice"), priv("bob"), priv("carol"), pub("alice"), pub("bob"), pub("carol")}
}
