package groupsession

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"
)

// vectorSet is one virgil-crypto version's group vectors (testdata/vectors.json,
// see testdata/README.md).
type vectorSet struct {
	File         string `json:"file"`
	Library      string `json:"library"`
	Message      hexBytes
	SignerPubDER hexBytes `json:"signerPublicKeyDer"`
	GroupID      hexBytes `json:"groupId"`
	SessionIDHex string   `json:"sessionIdHex"`
	Epoch0       hexBytes `json:"epoch0"`
	Epoch1       hexBytes `json:"epoch1"`
	Epoch1Info   struct {
		EpochNumber uint32 `json:"epochNumber"`
		SessionID   string `json:"sessionId"`
		Data        []byte `json:"data"` // base64 in the file
	} `json:"epoch1Info"`
	MsgEpoch0      hexBytes `json:"msg_epoch0"`
	MsgEpoch1      hexBytes `json:"msg_epoch1"`
	MsgEpoch1Empty hexBytes `json:"msg_epoch1_empty"`
}

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

func (v *vectorSet) signer(tb testing.TB) ed25519.PublicKey {
	tb.Helper()
	k, err := x509.ParsePKIXPublicKey(v.SignerPubDER)
	if err != nil {
		tb.Fatal(err)
	}
	return k.(ed25519.PublicKey)
}

func loadVectors(tb testing.TB) []*vectorSet {
	tb.Helper()
	raw, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		tb.Fatal(err)
	}
	var f struct {
		Sets []*vectorSet `json:"sets"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		tb.Fatal(err)
	}
	if len(f.Sets) != 2 {
		tb.Fatalf("testdata/vectors.json: %d vector sets, want 2", len(f.Sets))
	}
	return f.Sets
}

// TestVectorsNode: what virgil-crypto 5.1.2 and 4.2.2 made parses,
// re-marshals byte for byte and decrypts.
func TestVectorsNode(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.File, func(t *testing.T) {
			sid := SessionID(v.GroupID)
			if hex.EncodeToString(sid[:]) != v.SessionIDHex {
				t.Fatalf("SessionID = %x, Node %s", sid, v.SessionIDHex)
			}
			var epochs []*Epoch
			for n, ticket := range [][]byte{v.Epoch0, v.Epoch1} {
				if len(ticket) != 74 {
					t.Errorf("Node ticket %d is %d bytes, want 74", n, len(ticket))
				}
				e, err := ParseEpoch(ticket)
				if err != nil {
					t.Fatalf("ParseEpoch(epoch%d): %v", n, err)
				}
				if e.Number() != uint32(n) || e.SessionID() != sid || e.Version() != 0 {
					t.Errorf("epoch%d: number %d, version %d, session %x", n, e.Number(), e.Version(), e.SessionID())
				}
				if got := e.Marshal(); !bytes.Equal(got, ticket) {
					t.Errorf("epoch%d re-marshals to\n%x\nNode wrote\n%x", n, got, ticket)
				}
				epochs = append(epochs, e)
			}
			if v.Epoch1Info.EpochNumber != 1 || v.Epoch1Info.SessionID != v.SessionIDHex || !bytes.Equal(v.Epoch1Info.Data, v.Epoch1) {
				t.Errorf("addNewEpoch info %+v does not describe epoch1", v.Epoch1Info)
			}

			s, err := NewSession(epochs[1], epochs[0]) // any order
			if err != nil {
				t.Fatal(err)
			}
			if s.CurrentEpoch() != 1 || s.ID() != sid || s.Len() != 2 {
				t.Fatalf("session: current %d, id %x, %d epochs", s.CurrentEpoch(), s.ID(), s.Len())
			}
			sender := v.signer(t)
			for _, c := range []struct {
				name  string
				msg   []byte
				epoch uint32
				want  []byte
			}{
				{"msg_epoch0", v.MsgEpoch0, 0, v.Message},
				{"msg_epoch1", v.MsgEpoch1, 1, v.Message},
				{"msg_epoch1_empty", v.MsgEpoch1Empty, 1, []byte{}},
			} {
				m, err := ParseMessage(c.msg)
				if err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				if m.Epoch != c.epoch || m.SessionID != sid || m.Version != 0 || len(m.Header) != 70 {
					t.Errorf("%s: epoch %d, session %x, version %d, header %d bytes", c.name, m.Epoch, m.SessionID, m.Version, len(m.Header))
				}
				if got := m.Marshal(); !bytes.Equal(got, c.msg) {
					t.Errorf("%s does not re-marshal to itself", c.name)
				}
				if len(c.msg) != 322 { // 69 and 0 bytes both pad to 160
					t.Errorf("%s: %d bytes, want 322", c.name, len(c.msg))
				}
				pt, err := s.Decrypt(c.msg, sender)
				if err != nil {
					t.Fatalf("%s: Decrypt: %v", c.name, err)
				}
				if !bytes.Equal(pt, c.want) {
					t.Errorf("%s: got %q, want %q", c.name, pt, c.want)
				}
				// The same through the epoch itself.
				if pt, err := epochs[c.epoch].Open(m, sender); err != nil || !bytes.Equal(pt, c.want) {
					t.Errorf("%s: Epoch.Open: %q, %v", c.name, pt, err)
				}
				// Another key: decrypts under the epoch key, signature fails.
				other, _, _ := ed25519.GenerateKey(nil)
				if _, err := s.Decrypt(c.msg, other); !errors.Is(err, ErrBadSignature) || !errors.Is(err, ErrAuthFailed) {
					t.Errorf("%s with another sender key: %v, want ErrBadSignature", c.name, err)
				}
			}

			// Only epoch 1: the epoch-0 message is an unknown epoch.
			s1, err := NewSession(epochs[1])
			if err != nil {
				t.Fatal(err)
			}
			_, err = s1.Decrypt(v.MsgEpoch0, sender)
			var ue *UnknownEpochError
			if !errors.As(err, &ue) || !errors.Is(err, ErrUnknownEpoch) || ue.Epoch != 0 || ue.Oldest != 1 || ue.Newest != 1 || ue.IsOutdated() {
				t.Errorf("epoch-0 message in a session of epoch 1: %v", err)
			}
			// Only epoch 0: the epoch-1 message says the session is outdated.
			s0, _ := NewSession(epochs[0])
			_, err = s0.Decrypt(v.MsgEpoch1, sender)
			if !errors.As(err, &ue) || ue.Epoch != 1 || !ue.IsOutdated() {
				t.Errorf("epoch-1 message in a session of epoch 0: %v", err)
			}
		})
	}
}

// TestVectorsFromSpec decrypts the Node vectors step by step with the
// standard library alone, at the byte offsets of the spec's worked example
// (virgil-crypto.md §15), independently of the package's parser.
func TestVectorsFromSpec(t *testing.T) {
	for _, v := range loadVectors(t) {
		msg := v.MsgEpoch1
		// 08 00 1a bd 02 0a 46 <hdr 70> 12 40 <sig 64> 1a b0 01 <ct 176>
		if !bytes.HasPrefix(msg, []byte{0x08, 0x00, 0x1a, 0xbd, 0x02, 0x0a, 0x46}) {
			t.Fatalf("%s: unexpected prefix %x", v.File, msg[:7])
		}
		hdr := msg[7:77]
		if !bytes.Equal(msg[77:79], []byte{0x12, 0x40}) || !bytes.Equal(msg[143:146], []byte{0x1a, 0xb0, 0x01}) {
			t.Fatalf("%s: layout differs from the spec", v.File)
		}
		sig, ct := msg[79:143], msg[146:]
		if len(ct) != 176 {
			t.Fatalf("%s: ct %d bytes", v.File, len(ct))
		}
		// header: 0a 20 <sid> 10 01 1a 20 <salt>
		if hdr[0] != 0x0a || hdr[1] != 0x20 || hdr[34] != 0x10 || hdr[35] != 0x01 || hdr[36] != 0x1a || hdr[37] != 0x20 {
			t.Fatalf("%s: header layout %x", v.File, hdr)
		}
		salt := hdr[38:70]
		key := v.Epoch1[len(v.Epoch1)-32:]
		if !ed25519.Verify(v.signer(t), ct, sig) {
			t.Errorf("%s: pure Ed25519 over the ciphertext does not verify", v.File)
		}
		padded := specOpen(t, key, salt, hdr, ct)
		n := int(padded[len(padded)-4]) | int(padded[len(padded)-3])<<8 | int(padded[len(padded)-2])<<16 | int(padded[len(padded)-1])<<24
		if len(padded) != 160 || n != len(v.Message) || !bytes.Equal(padded[:n], v.Message) {
			t.Errorf("%s: padded %d bytes, length field %d", v.File, len(padded), n)
		}
	}
}
