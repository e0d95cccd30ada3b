package e3

import (
	"bytes"
	"errors"
	"testing"

	wire "github.com/e3go/e3go/internal/der"
	"github.com/e3go/e3go/internal/envelope"
)

// isOurError reports whether err is one of the package's matchable errors.
func isOurError(err error) bool {
	var pe *ParseError
	return errors.Is(err, ErrAuthFailed) || errors.Is(err, ErrNotRecipient) ||
		errors.Is(err, ErrKeyType) || (errors.Is(err, ErrMalformed) && errors.As(err, &pe))
}

type badCase struct {
	name    string
	ct      []byte
	want    []byte
	decrypt func(ct []byte) ([]byte, error)
}

func badInputCases(t *testing.T) []badCase {
	v := loadVectors(t)[0]
	ks := v.keys(t)
	msg := v.Message
	goSAE, err := SignAndEncrypt(msg, ks.alice, ks.carolPub)
	if err != nil {
		t.Fatal(err)
	}
	goEnc, err := Encrypt(msg, ks.carolPub)
	if err != nil {
		t.Fatal(err)
	}
	dec := func(k *PrivateKey) func([]byte) ([]byte, error) {
		return func(c []byte) ([]byte, error) { return Decrypt(c, k) }
	}
	return []badCase{
		{"Node encrypt", v.Ops.EncryptBob, msg, dec(ks.bob)},
		{"Node encrypt padded", v.Ops.EncryptBobPadded, msg, dec(ks.bob)},
		{"Node signThenEncrypt", v.Ops.SignThenEncryptAliceToBob, msg, func(c []byte) ([]byte, error) {
			// Two keys: the signer is chosen by the (otherwise unauthenticated)
			// signer id, so a changed id must fail too.
			return DecryptThenVerify(c, ks.bob, ks.bobPub, ks.alicePub)
		}},
		{"Node signAndEncrypt", v.Ops.SignAndEncryptAliceToBob, msg, func(c []byte) ([]byte, error) { return DecryptAndVerify(c, ks.bob, ks.alicePub) }},
		{"Node signAndEncrypt padded empty", v.Ops.SignAndEncryptEmptyPadded, []byte{}, func(c []byte) ([]byte, error) { return DecryptAndVerify(c, ks.bob, ks.alicePub) }},
		{"Go signAndEncrypt to Curve25519", goSAE, msg, func(c []byte) ([]byte, error) { return DecryptAndVerify(c, ks.carol, ks.alicePub) }},
		{"Go encrypt to Curve25519", goEnc, msg, dec(ks.carol)},
	}
}

// signBitOffsets returns the offsets of the sign bit byte (bit 7) of every
// Ed25519 ephemeral key in ct: flipping that bit is the one change the
// format cannot detect (it decrypts to the same plaintext; see
// internal/ecies).
func signBitOffsets(t *testing.T, ct []byte) map[int]bool {
	mi, _, err := envelope.Parse(ct)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]bool{}
	for _, r := range mi.Recipients {
		if r.Alg != wire.Ed25519 {
			continue
		}
		off := bytes.Index(ct, r.EncryptedKey)
		if off < 0 {
			t.Fatal("envelope not found")
		}
		out[off+49] = true
	}
	return out
}

// TestBitFlips flips every bit of every byte of each ciphertext in turn.
// Every change must fail with a matchable error and no plaintext, except
// the sign bit of an Ed25519 ephemeral key, which must give back exactly
// the original plaintext.
func TestBitFlips(t *testing.T) {
	bits := []byte{1, 2, 4, 8, 16, 32, 64, 128}
	if testing.Short() {
		bits = []byte{1, 128}
	}
	for _, c := range badInputCases(t) {
		if got, err := c.decrypt(c.ct); err != nil || !bytes.Equal(got, c.want) {
			t.Fatalf("%s: unmodified ciphertext: %v", c.name, err)
		}
		signBits := signBitOffsets(t, c.ct)
		mod := append([]byte(nil), c.ct...)
		for i := range mod {
			for _, b := range bits {
				mod[i] ^= b
				got, err := c.decrypt(mod)
				mod[i] ^= b
				if signBits[i] && b == 0x80 {
					if err != nil || !bytes.Equal(got, c.want) {
						t.Fatalf("%s: ephemeral sign bit at %d: %v", c.name, i, err)
					}
					continue
				}
				if err == nil || got != nil {
					t.Fatalf("%s: byte %d ^ %#x accepted", c.name, i, b)
				}
				if !isOurError(err) {
					t.Fatalf("%s: byte %d ^ %#x: unmatchable error %v", c.name, i, b, err)
				}
			}
		}
	}
}

func TestTruncationAndExtension(t *testing.T) {
	for _, c := range badInputCases(t) {
		for n := 0; n < len(c.ct); n++ {
			got, err := c.decrypt(c.ct[:n])
			if err == nil || got != nil || !isOurError(err) {
				t.Fatalf("%s: truncated to %d: %v", c.name, n, err)
			}
		}
		for _, extra := range [][]byte{{0}, {0xFF}, make([]byte, 16), make([]byte, 200)} {
			got, err := c.decrypt(append(append([]byte(nil), c.ct...), extra...))
			if err == nil || got != nil || !isOurError(err) {
				t.Fatalf("%s: %d extra bytes: %v", c.name, len(extra), err)
			}
		}
	}
}

func TestWrongKeys(t *testing.T) {
	v := loadVectors(t)[0]
	ks := v.keys(t)
	o := v.Ops
	// Not a recipient.
	for _, ct := range [][]byte{o.EncryptBob, o.SignThenEncryptAliceToBob, o.SignAndEncryptAliceToBob} {
		if got, err := Decrypt(ct, ks.carol); !errors.Is(err, ErrNotRecipient) || got != nil {
			t.Errorf("carol decrypts: %v", err)
		}
		if _, err := Decrypt(ct, ks.alice); !errors.Is(err, ErrNotRecipient) {
			t.Errorf("alice decrypts: %v", err)
		}
		// The SHA-256 identifier scheme does not match 8-byte ids.
		if _, err := Decrypt(ct, ks.bob.WithSHA256ID()); !errors.Is(err, ErrNotRecipient) {
			t.Errorf("SHA-256-id bob decrypts: %v", err)
		}
	}
	// Wrong signer, signThenEncrypt: a single key is used whatever the
	// signer id says (virgil-crypto's rule), so the signature fails.
	if got, err := DecryptThenVerify(o.SignThenEncryptAliceToBob, ks.bob, ks.bobPub); !errors.Is(err, ErrAuthFailed) || errors.Is(err, ErrSignerNotFound) || got != nil {
		t.Errorf("STE wrong single signer: %v", err)
	}
	if _, err := DecryptThenVerify(o.SignThenEncryptAliceToBob, ks.bob, ks.bobPub, ks.carolPub); !errors.Is(err, ErrSignerNotFound) || !errors.Is(err, ErrAuthFailed) {
		t.Errorf("STE signer not among two keys: %v", err)
	}
	// A Curve25519 "signer" key never verifies (virgil-crypto's verifier
	// wrongly accepts anything in that case).
	if _, err := DecryptThenVerify(o.SignThenEncryptAliceToBob, ks.bob, ks.carolPub); !errors.Is(err, ErrAuthFailed) || !errors.Is(err, ErrKeyType) {
		t.Errorf("STE Curve25519 signer: %v", err)
	}
	// Wrong signer, signAndEncrypt: the footer's signer id must match.
	if got, err := DecryptAndVerify(o.SignAndEncryptAliceToBob, ks.bob, ks.bobPub); !errors.Is(err, ErrSignerNotFound) || !errors.Is(err, ErrAuthFailed) || got != nil {
		t.Errorf("SAE wrong signer: %v", err)
	}
	if _, err := DecryptAndVerify(o.SignAndEncryptAliceToBob, ks.bob); !errors.Is(err, ErrSignerNotFound) {
		t.Errorf("SAE no signer keys: %v", err)
	}
	if _, err := DecryptThenVerify(o.SignThenEncryptAliceToBob, ks.bob); !errors.Is(err, ErrSignerNotFound) {
		t.Errorf("STE no signer keys: %v", err)
	}
	// A Curve25519 key posing under the signer's id: the algorithm differs.
	carolAsAlice := *ks.carolPub
	carolAsAlice.id = ks.alicePub.id
	if _, err := DecryptAndVerify(o.SignAndEncryptAliceToBob, ks.bob, &carolAsAlice); !errors.Is(err, ErrKeyType) || !errors.Is(err, ErrAuthFailed) {
		t.Errorf("SAE Curve25519 key with the signer's id: %v", err)
	}
	// Unsigned or differently signed formats.
	if _, err := DecryptAndVerify(o.EncryptBob, ks.bob, ks.alicePub); !errors.Is(err, ErrNotSigned) || !errors.Is(err, ErrAuthFailed) {
		t.Errorf("DecryptAndVerify(encrypt): %v", err)
	}
	if _, err := DecryptAndVerify(o.SignThenEncryptAliceToBob, ks.bob, ks.alicePub); !errors.Is(err, ErrNotSigned) {
		t.Errorf("DecryptAndVerify(signThenEncrypt): %v", err)
	}
	if _, err := DecryptThenVerify(o.EncryptBob, ks.bob, ks.alicePub); !errors.Is(err, ErrNotSigned) {
		t.Errorf("DecryptThenVerify(encrypt): %v", err)
	}
	if _, err := DecryptThenVerify(o.SignAndEncryptAliceToBob, ks.bob, ks.alicePub); !errors.Is(err, ErrNotSigned) {
		t.Errorf("DecryptThenVerify(signAndEncrypt): %v", err)
	}
	// The recipient entry claims the wrong algorithm for the key id.
	mi, n, _ := envelope.Parse(o.EncryptBob)
	mi.Recipients[0].Alg = wire.X25519
	info, _ := mi.Marshal()
	if _, err := Decrypt(append(info, o.EncryptBob[n:]...), ks.bob); !errors.Is(err, ErrKeyType) {
		t.Errorf("recipient algorithm mismatch: %v", err)
	}
}

func TestSignatureStripped(t *testing.T) {
	v := loadVectors(t)[0]
	ks := v.keys(t)
	o := v.Ops

	// signThenEncrypt with its custom parameters removed.
	mi, n, _ := envelope.Parse(o.SignThenEncryptAliceToBob)
	mi.CustomParams = nil
	info, _ := mi.Marshal()
	stripped := append(info, o.SignThenEncryptAliceToBob[n:]...)
	if got, err := DecryptThenVerify(stripped, ks.bob, ks.alicePub); !errors.Is(err, ErrNotSigned) || !errors.Is(err, ErrAuthFailed) || got != nil {
		t.Errorf("STE without custom params: %v", err)
	}
	// Only the signature removed, the signer id kept.
	mi, _, _ = envelope.Parse(o.SignThenEncryptAliceToBob)
	idOnly := []envelope.Param{}
	for _, p := range mi.CustomParams {
		if p.Key == envelope.ParamSignerID {
			idOnly = append(idOnly, p)
		}
	}
	mi.CustomParams = idOnly
	info, _ = mi.Marshal()
	if _, err := DecryptThenVerify(append(info, o.SignThenEncryptAliceToBob[n:]...), ks.bob, ks.alicePub); !errors.Is(err, ErrNotSigned) {
		t.Errorf("STE without the signature param: %v", err)
	}
	// Signature replaced by a signature of other data.
	other, _ := Sign([]byte("other"), ks.alice)
	mi, _, _ = envelope.Parse(o.SignThenEncryptAliceToBob)
	for i := range mi.CustomParams {
		if mi.CustomParams[i].Key == envelope.ParamSignature {
			mi.CustomParams[i].Value = other
		}
	}
	info, _ = mi.Marshal()
	if _, err := DecryptThenVerify(append(info, o.SignThenEncryptAliceToBob[n:]...), ks.bob, ks.alicePub); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("STE with a transplanted signature: %v", err)
	}

	// signAndEncrypt with its footer removed.
	sae := o.SignAndEncryptAliceToBob
	mi, n, _ = envelope.Parse(sae)
	bodyEnd := n + int(mi.Footer.DataSize) + tagSize
	if got, err := DecryptAndVerify(sae[:bodyEnd], ks.bob, ks.alicePub); !errors.Is(err, ErrAuthFailed) || got != nil {
		t.Errorf("SAE without footer: %v", err)
	}
	if _, err := Decrypt(sae[:bodyEnd], ks.bob); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("Decrypt of SAE without footer: %v", err)
	}
	// Footer info and KDF removed from the message info (version 0): the
	// body no longer opens.
	mi.KDF, mi.Footer = false, nil
	info, _ = mi.Marshal()
	if _, err := DecryptAndVerify(append(info, sae[n:]...), ks.bob, ks.alicePub); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("SAE with footer info removed: %v", err)
	}
	if _, err := DecryptAndVerify(append(info, sae[n:bodyEnd]...), ks.bob, ks.alicePub); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("SAE with footer info and footer removed: %v", err)
	}
	// The footer of another message (same signer, same recipient) does not
	// open under this message's footer key.
	other2, _ := SignAndEncrypt(v.Message, ks.alice, ks.bobPub)
	mi2, n2, _ := envelope.Parse(other2)
	footer2 := other2[n2+int(mi2.Footer.DataSize)+tagSize:]
	if _, err := DecryptAndVerify(append(append([]byte(nil), sae[:bodyEnd]...), footer2...), ks.bob, ks.alicePub); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("SAE with a transplanted footer: %v", err)
	}
}

// TestRecipientOrder: the wire order is sorted by identifier whatever the
// call order, and a reordered recipient SET (which virgil-crypto accepts)
// still decrypts, to the same plaintext, for every recipient.
func TestRecipientOrder(t *testing.T) {
	v := loadVectors(t)[0]
	ks := v.keys(t)
	a, _ := Encrypt(v.Message, ks.alicePub, ks.bobPub, ks.carolPub)
	b, _ := Encrypt(v.Message, ks.carolPub, ks.bobPub, ks.alicePub)
	ma, na, _ := envelope.Parse(a)
	mb, _, _ := envelope.Parse(b)
	for i := range ma.Recipients {
		if !bytes.Equal(ma.Recipients[i].ID, mb.Recipients[i].ID) {
			t.Fatal("wire order depends on call order")
		}
		if i > 0 && bytes.Compare(ma.Recipients[i-1].ID, ma.Recipients[i].ID) > 0 {
			t.Fatal("recipients not sorted by id")
		}
	}
	for _, ct := range [][]byte{a, v.Ops.EncryptMultiBobCarolAlice} {
		mi, n, _ := envelope.Parse(ct)
		for i, j := 0, len(mi.Recipients)-1; i < j; i, j = i+1, j-1 {
			mi.Recipients[i], mi.Recipients[j] = mi.Recipients[j], mi.Recipients[i]
		}
		info, err := mi.MarshalInOrder()
		if err != nil {
			t.Fatal(err)
		}
		re := append(info, ct[n:]...)
		if bytes.Equal(re, ct) {
			t.Fatal("reordering changed nothing")
		}
		for _, k := range []*PrivateKey{ks.alice, ks.bob, ks.carol} {
			got, err := Decrypt(re, k)
			if err != nil || !bytes.Equal(got, v.Message) {
				t.Errorf("reordered recipients, %v: %v", k.Public(), err)
			}
		}
	}
	_ = na
}

// TestSingleSignerIgnoresSignerID documents virgil-crypto's rule that
// DecryptThenVerify with exactly one key ignores the signer id (e3kit's
// decrypt passes one key): an altered id changes nothing, the signature is
// still checked against that key.
func TestSingleSignerIgnoresSignerID(t *testing.T) {
	v := loadVectors(t)[0]
	ks := v.keys(t)
	mi, n, _ := envelope.Parse(v.Ops.SignThenEncryptAliceToBob)
	for i := range mi.CustomParams {
		if mi.CustomParams[i].Key == envelope.ParamSignerID {
			mi.CustomParams[i].Value = []byte("whatever")
		}
	}
	info, _ := mi.Marshal()
	ct := append(info, v.Ops.SignThenEncryptAliceToBob[n:]...)
	if got, err := DecryptThenVerify(ct, ks.bob, ks.alicePub); err != nil || !bytes.Equal(got, v.Message) {
		t.Errorf("single key: %v", err)
	}
	if _, err := DecryptThenVerify(ct, ks.bob, ks.alicePub, ks.bobPub); !errors.Is(err, ErrSignerNotFound) {
		t.Errorf("two keys: %v", err)
	}
}

func TestInconsistentPadding(t *testing.T) {
	for _, c := range []struct {
		in []byte
		ok bool
	}{
		{append(make([]byte, 156), 156, 0, 0, 0), true},
		{append(make([]byte, 160), 160, 0, 0, 0), true},
		{append(make([]byte, 160), 161, 0, 0, 0), false},
		{append(make([]byte, 156), 0, 0, 0, 0), false},
		{append(make([]byte, 10), 11, 0, 0, 0), false},
		{append(make([]byte, 10), 10, 0, 0, 0), true},
		{append(make([]byte, 156), 0, 0, 0, 1), false},
		{[]byte{1, 0, 0}, false},
		{nil, false},
	} {
		_, err := unpad(c.in)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrMalformed)) {
			t.Errorf("unpad(%d bytes, P=%v): %v", len(c.in), c.in[len(c.in)-min(4, len(c.in)):], err)
		}
	}
	// A Go-made padded body with an inconsistent length field, properly
	// encrypted, is rejected after decryption.
	k, _ := GenerateKey()
	s, err := newSealer(zeroReader{}, sealParams{padding: true}, []*PublicKey{k.Public()})
	if err != nil {
		t.Fatal(err)
	}
	body := append(make([]byte, 156), 200, 0, 0, 0)
	ct := s.aead.Seal(append([]byte(nil), s.info...), s.nonce, body, nil)
	if _, err := Decrypt(ct, k); !errors.Is(err, ErrMalformed) {
		t.Errorf("inconsistent padding accepted: %v", err)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 7
	}
	return len(p), nil
}
