package interop

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/e3go/e3go/e3"
	"github.com/e3go/e3go/internal/groupsession"
	"github.com/e3go/e3go/internal/kmrng"
)

// Group sessions (internal/groupsession) against virgil-crypto 5.1.2 and
// 4.2.2 (node/ops/group.js): session ids, tickets both ways, messages both
// ways at several epochs whose tickets come from both sides, byte-identical
// output with the same deterministic generator, and each side's refusals.

// groupKey is an Ed25519 signing key as groupsession takes it, with the DER
// that Node imports.
type groupKey struct {
	key
	sk ed25519.PrivateKey
	pk ed25519.PublicKey
}

func groupKeyOf(tb testing.TB, k key) groupKey {
	tb.Helper()
	sk, err := x509.ParsePKCS8PrivateKey(k.privDER)
	if err != nil {
		tb.Fatal(err)
	}
	ed, ok := sk.(ed25519.PrivateKey)
	if !ok {
		tb.Fatalf("%s: not an Ed25519 key", k.name)
	}
	return groupKey{key: k, sk: ed, pk: ed.Public().(ed25519.PublicKey)}
}

// nodeSession is what the group.* ops answer about a Node-side session.
type nodeSession struct {
	SessionID    []byte   `json:"sessionId"`
	CurrentEpoch uint32   `json:"currentEpoch"`
	Epochs       [][]byte `json:"epochs"`
}

type nodeMessageInfo struct {
	EpochNumber uint32 `json:"epochNumber"`
	SessionID   []byte `json:"sessionId"`
	Data        []byte `json:"data"`
}

func tickets(s *groupsession.Session) [][]byte {
	var t [][]byte
	for _, e := range s.Epochs() {
		t = append(t, e.Marshal())
	}
	return t
}

func TestGroupSessionIDInterop(t *testing.T) {
	w := nodeWorker(t)
	for _, v := range versions {
		for _, id := range []string{"0123456789", "e3kit-group-id-for-wire-format-tests", "messaging:!members-7f3a…", strings.Repeat("Ω", 300)} {
			var got []byte
			mustCall(t, w, "group.calculateGroupSessionId", map[string]any{"v": v, "groupId": []byte(id)}, &got)
			if want := groupsession.SessionID([]byte(id)); !bytes.Equal(got, want[:]) {
				t.Errorf("%s %q: Node %x, Go %x", v, id, got, want)
			}
		}
		// Node refuses ids under 10 bytes, as Generate does.
		if err := w.Call(context.Background(), "group.generateGroupSession", map[string]any{"v": v, "groupId": []byte("123456789")}, nil); err == nil {
			t.Errorf("%s: Node generated a session for a 9-byte group id", v)
		}
		if _, err := groupsession.Generate(nil, []byte("123456789")); !errors.Is(err, groupsession.ErrGroupIDTooShort) {
			t.Errorf("Go: 9-byte group id: %v", err)
		}
	}
}

// TestGroupTicketsInterop: tickets made on either side are read by the
// other, byte for byte, and sessions mixing them agree.
func TestGroupTicketsInterop(t *testing.T) {
	w := nodeWorker(t)
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			groupID := []byte("tickets-interop-" + v)
			// Node creates the group; Go reads the tickets.
			var ns nodeSession
			mustCall(t, w, "group.generateGroupSession", map[string]any{"v": v, "groupId": groupID}, &ns)
			sid := groupsession.SessionID(groupID)
			if !bytes.Equal(ns.SessionID, sid[:]) || ns.CurrentEpoch != 0 || len(ns.Epochs) != 1 || len(ns.Epochs[0]) != 74 {
				t.Fatalf("Node session: id %x, epoch %d, %d tickets", ns.SessionID, ns.CurrentEpoch, len(ns.Epochs))
			}
			s, err := groupsession.Import(ns.Epochs...)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(s.Epochs()[0].Marshal(), ns.Epochs[0]) {
				t.Error("Node's epoch-0 ticket does not re-marshal to itself")
			}
			// Alternate: Go adds an epoch, then Node, then Go...
			for i := 1; i <= 6; i++ {
				all := tickets(s)
				if i%2 == 1 {
					e, err := s.AddNewEpoch(nil)
					if err != nil {
						t.Fatal(err)
					}
					var n uint32
					mustCall(t, w, "group.getCurrentEpochNumber", map[string]any{"v": v, "tickets": tickets(s)}, &n)
					if n != e.Number() || n != uint32(i) {
						t.Errorf("after Go's epoch %d Node says current epoch %d", e.Number(), n)
					}
					var info nodeMessageInfo
					mustCall(t, w, "group.parseMessage", map[string]any{"v": v, "tickets": all, "data": e.Marshal()}, &info)
					if info.EpochNumber != uint32(i) || !bytes.Equal(info.SessionID, sid[:]) {
						t.Errorf("Node parses Go's ticket as epoch %d of %x", info.EpochNumber, info.SessionID)
					}
				} else {
					var r struct {
						Info         nodeMessageInfo `json:"info"`
						CurrentEpoch uint32          `json:"currentEpoch"`
						Epochs       [][]byte        `json:"epochs"`
					}
					mustCall(t, w, "group.addNewEpoch", map[string]any{"v": v, "tickets": all}, &r)
					if r.Info.EpochNumber != uint32(i) || r.CurrentEpoch != uint32(i) || !bytes.Equal(r.Info.SessionID, sid[:]) || len(r.Info.Data) != 74 {
						t.Fatalf("Node's addNewEpoch: %+v", r.Info)
					}
					e, err := groupsession.ParseEpoch(r.Info.Data)
					if err != nil {
						t.Fatal(err)
					}
					if e.Number() != uint32(i) || !bytes.Equal(e.Marshal(), r.Info.Data) {
						t.Errorf("Node's epoch-%d ticket: number %d, re-marshal equal %v", i, e.Number(), bytes.Equal(e.Marshal(), r.Info.Data))
					}
					if err := s.AddEpoch(e); err != nil {
						t.Fatal(err)
					}
					if !slices.EqualFunc(r.Epochs, tickets(s), bytes.Equal) {
						t.Error("Node's export differs from Go's session")
					}
				}
			}
			// Node's view of the mixed session equals Go's.
			var ex nodeSession
			mustCall(t, w, "group.importGroupSession", map[string]any{"v": v, "tickets": tickets(s)}, &ex)
			if !bytes.Equal(ex.SessionID, sid[:]) || ex.CurrentEpoch != 6 || !slices.EqualFunc(ex.Epochs, tickets(s), bytes.Equal) {
				t.Errorf("Node imports the mixed session as %x, epoch %d, %d tickets", ex.SessionID, ex.CurrentEpoch, len(ex.Epochs))
			}

			// Go creates the group; Node reads the tickets.
			gs, err := groupsession.Generate(nil, groupID)
			if err != nil {
				t.Fatal(err)
			}
			mustCall(t, w, "group.importGroupSession", map[string]any{"v": v, "tickets": tickets(gs)}, &ex)
			if !bytes.Equal(ex.SessionID, sid[:]) || ex.CurrentEpoch != 0 || !bytes.Equal(ex.Epochs[0], tickets(gs)[0]) {
				t.Errorf("Node imports Go's new session as %x, epoch %d", ex.SessionID, ex.CurrentEpoch)
			}
		})
	}
}

// groupMessages are the plaintexts sent each way at every epoch.
func groupMessages() []message {
	ms := messages() // empty, 1 byte, UTF-8, 156 (padding boundary), 4 KiB
	big := make([]byte, groupsession.MaxPlaintextSize)
	for i := range big {
		big[i] = byte(i * 7)
	}
	return append(ms, message{"max=29915B", big})
}

// TestGroupMessagesInterop: at epochs 0..5, whose tickets alternate between
// Go and Node, each side encrypts every message with its own signer and the
// other decrypts it; finally every earlier message is read again from the
// session holding all epochs.
func TestGroupMessagesInterop(t *testing.T) {
	w := nodeWorker(t)
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			goSigner := groupKeyOf(t, goKey(t, e3.Ed25519, "alice"))
			nodeSigner := groupKeyOf(t, nodeKey(t, w, v, e3.Ed25519, "bob"))
			groupID := []byte("messages-interop-" + v)
			var ns nodeSession
			mustCall(t, w, "group.generateGroupSession", map[string]any{"v": v, "groupId": groupID}, &ns)
			s, err := groupsession.Import(ns.Epochs...)
			if err != nil {
				t.Fatal(err)
			}
			type sent struct {
				name string
				ct   []byte
				from groupKey
				want []byte
			}
			var history []sent
			for epoch := uint32(0); epoch <= 5; epoch++ {
				if epoch > 0 {
					if epoch%2 == 0 {
						if _, err := s.AddNewEpoch(nil); err != nil {
							t.Fatal(err)
						}
					} else {
						var r struct {
							Info nodeMessageInfo `json:"info"`
						}
						mustCall(t, w, "group.addNewEpoch", map[string]any{"v": v, "tickets": tickets(s)}, &r)
						e, err := groupsession.ParseEpoch(r.Info.Data)
						if err != nil {
							t.Fatal(err)
						}
						if err := s.AddEpoch(e); err != nil {
							t.Fatal(err)
						}
					}
				}
				all := tickets(s)
				for _, m := range groupMessages() {
					name := fmt.Sprintf("epoch %d/%s", epoch, m.name)
					// Go -> Node
					ct, err := s.Encrypt(nil, m.data, goSigner.sk)
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					var pt []byte
					mustCall(t, w, "group.decrypt", map[string]any{"v": v, "tickets": all, "data": ct, "publicKey": goSigner.pubDER}, &pt)
					if !bytes.Equal(pt, m.data) {
						t.Errorf("%s: Node decrypts Go's message to %d bytes, want %d", name, len(pt), len(m.data))
					}
					var info nodeMessageInfo
					mustCall(t, w, "group.parseMessage", map[string]any{"v": v, "tickets": all, "data": ct}, &info)
					if info.EpochNumber != epoch || !bytes.Equal(info.SessionID, ns.SessionID) {
						t.Errorf("%s: Node parses Go's message as epoch %d of %x", name, info.EpochNumber, info.SessionID)
					}
					history = append(history, sent{name + " (go)", ct, goSigner, m.data})

					// Node -> Go
					var nct []byte
					mustCall(t, w, "group.encrypt", map[string]any{"v": v, "tickets": all, "data": m.data, "privateKey": nodeSigner.privDER}, &nct)
					gm, err := groupsession.ParseMessage(nct)
					if err != nil {
						t.Fatalf("%s: ParseMessage(Node's message): %v", name, err)
					}
					if gm.Epoch != epoch || !bytes.Equal(gm.Marshal(), nct) {
						t.Errorf("%s: Node's message: epoch %d, re-marshal equal %v", name, gm.Epoch, bytes.Equal(gm.Marshal(), nct))
					}
					if got, err := s.Decrypt(nct, nodeSigner.pk); err != nil || !bytes.Equal(got, m.data) {
						t.Errorf("%s: Go decrypts Node's message: %d bytes, %v", name, len(got), err)
					}
					if _, err := s.Decrypt(nct, goSigner.pk); !errors.Is(err, groupsession.ErrBadSignature) {
						t.Errorf("%s: Node's message checked against the wrong sender: %v", name, err)
					}
					history = append(history, sent{name + " (node)", nct, nodeSigner, m.data})
				}
			}
			// Every message again, on both sides, from the full session.
			all := tickets(s)
			for _, h := range history {
				if got, err := s.Decrypt(h.ct, h.from.pk); err != nil || !bytes.Equal(got, h.want) {
					t.Errorf("Go, later: %s: %v", h.name, err)
				}
				if len(h.want) > 4096 {
					continue // spare the JSON round trips
				}
				var pt []byte
				mustCall(t, w, "group.decrypt", map[string]any{"v": v, "tickets": all, "data": h.ct, "publicKey": h.from.pubDER}, &pt)
				if !bytes.Equal(pt, h.want) {
					t.Errorf("Node, later: %s", h.name)
				}
			}
		})
	}
}

// TestGroupDeterministicInterop: with the same KeyMaterialRng as the random
// source, Go's tickets, new epochs and messages are byte-identical to
// virgil-crypto's, including the order and size of the random draws.
func TestGroupDeterministicInterop(t *testing.T) {
	w := nodeWorker(t)
	signer := groupKeyOf(t, goKey(t, e3.Ed25519, "alice"))
	for _, v := range versions {
		seed := bytes.Repeat([]byte{0x42}, 32)
		seed[0] = byte(len(v))
		rng := func() *kmrng.Reader {
			r, err := kmrng.New(seed)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		sid := groupsession.SessionID([]byte("deterministic-group-id"))
		var nt []byte
		mustCall(t, w, "group.detNewTicket", map[string]any{"v": v, "sessionId": sid[:], "seed": seed}, &nt)
		e0, err := groupsession.NewEpoch(rng(), sid)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(e0.Marshal(), nt) {
			t.Fatalf("%s: epoch-0 ticket\nGo   %x\nNode %x", v, e0.Marshal(), nt)
		}
		s, err := groupsession.NewSession(e0)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			mustCall(t, w, "group.detAddNewEpoch", map[string]any{"v": v, "tickets": tickets(s), "seed": seed}, &nt)
			e, err := s.AddNewEpoch(rng())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(e.Marshal(), nt) {
				t.Fatalf("%s: epoch-%d ticket\nGo   %x\nNode %x", v, e.Number(), e.Marshal(), nt)
			}
		}
		for _, n := range []int{0, 1, 69, 155, 156, 1000, groupsession.MaxPlaintextSize} {
			pt := make([]byte, n)
			for i := range pt {
				pt[i] = byte(i)
			}
			var nct []byte
			mustCall(t, w, "group.detEncrypt", map[string]any{"v": v, "tickets": tickets(s), "data": pt, "privateKey": signer.privDER, "seed": seed}, &nct)
			ct, err := s.Encrypt(rng(), pt, signer.sk)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(ct, nct) {
				t.Errorf("%s: %d-byte message: Go and Node differ (%d vs %d bytes)", v, n, len(ct), len(nct))
			}
		}
	}
}

// TestGroupNegativeInterop: Node refuses tampered Go messages, wrong
// senders, unknown epochs and other sessions; and what each side does with
// input only the other accepts.
func TestGroupNegativeInterop(t *testing.T) {
	w := nodeWorker(t)
	ctx := context.Background()
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			alice := groupKeyOf(t, goKey(t, e3.Ed25519, "alice"))
			mallory := groupKeyOf(t, goKey(t, e3.Ed25519, "mallory"))
			s, err := groupsession.Generate(nil, []byte("negative-interop-"+v))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.AddNewEpoch(nil); err != nil {
				t.Fatal(err)
			}
			all := tickets(s)
			msg := []byte("tamper with me")
			ct, err := s.Encrypt(nil, msg, alice.sk)
			if err != nil {
				t.Fatal(err)
			}
			decrypt := func(data []byte, tk [][]byte, pub []byte) ([]byte, error) {
				var pt []byte
				err := w.Call(ctx, "group.decrypt", map[string]any{"v": v, "tickets": tk, "data": data, "publicKey": pub}, &pt)
				return pt, err
			}
			if pt, err := decrypt(ct, all, alice.pubDER); err != nil || !bytes.Equal(pt, msg) {
				t.Fatalf("untampered: %q, %v", pt, err)
			}
			nodeStatus := func(err error) string {
				var ne *NodeError
				if !errors.As(err, &ne) {
					return fmt.Sprintf("not a Node error: %v", err)
				}
				return ne.Name + ": " + ne.Message
			}
			// One bit flipped in the header's session id, epoch and salt, in
			// the signature and all through the ciphertext (offsets of spec §15).
			flips := []int{9, 40, 42, 45, 76, 79, 142}
			for i := 146; i < len(ct); i += 7 {
				flips = append(flips, i)
			}
			if flips[len(flips)-1] != len(ct)-1 {
				flips = append(flips, len(ct)-1)
			}
			outcomes := map[string][]int{} // "Node error | Go error" -> flipped bytes
			var order []string
			for _, i := range flips {
				bad := bytes.Clone(ct)
				bad[i] ^= 1 << (i % 8)
				pt, err := decrypt(bad, all, alice.pubDER)
				if err == nil {
					t.Errorf("byte %d flipped: Node decrypted %q", i, pt)
					continue
				}
				gpt, gerr := s.Decrypt(bad, alice.pk)
				if gerr == nil || gpt != nil {
					t.Errorf("byte %d flipped: Go decrypted %q", i, gpt)
					continue
				}
				k := nodeStatus(err) + " | Go: " + gerr.Error()
				if _, ok := outcomes[k]; !ok {
					order = append(order, k)
				}
				outcomes[k] = append(outcomes[k], i)
			}
			for _, k := range order {
				t.Logf("flipped byte(s) %v: Node %s", outcomes[k], k)
			}
			// Wrong sender, unknown epoch, other session.
			if _, err := decrypt(ct, all, mallory.pubDER); err == nil {
				t.Error("Node decrypted with the wrong sender key")
			} else {
				t.Logf("wrong sender: Node %s", nodeStatus(err))
			}
			if _, err := decrypt(ct, all[:1], alice.pubDER); err == nil {
				t.Error("Node decrypted an epoch-1 message with epoch 0 only")
			} else {
				t.Logf("unknown epoch: Node %s", nodeStatus(err))
			}
			other, _ := groupsession.Generate(nil, []byte("another-group-"+v))
			if _, err := decrypt(ct, tickets(other), alice.pubDER); err == nil {
				t.Error("Node decrypted a message of another session")
			} else {
				t.Logf("other session: Node %s", nodeStatus(err))
			}
			// A non-member who knows the session id and epoch number.
			forged, _ := groupsession.NewSession(groupsession.NewEpochWithKey(s.ID(), 1, [32]byte{0x66}))
			fct, _ := forged.Encrypt(nil, msg, alice.sk)
			if _, err := decrypt(fct, all, alice.pubDER); err == nil {
				t.Error("Node decrypted a non-member's message")
			}
			// Node accepts any version; so does Go.
			v7 := append([]byte{0x08, 0x07}, ct[2:]...)
			if pt, err := decrypt(v7, all, alice.pubDER); err != nil || !bytes.Equal(pt, msg) {
				t.Errorf("version 7: Node: %q, %v", pt, err)
			}
			if pt, err := s.Decrypt(v7, alice.pk); err != nil || !bytes.Equal(pt, msg) {
				t.Errorf("version 7: Go: %q, %v", pt, err)
			}

			// virgil-crypto encrypts up to 30000 bytes, but from 29916 bytes
			// on the message is 30244 bytes and nobody can parse it.
			var big []byte
			mustCall(t, w, "group.encrypt", map[string]any{"v": v, "tickets": all, "data": make([]byte, 29916), "privateKey": alice.privDER}, &big)
			if len(big) != 30244 {
				t.Errorf("Node's 29916-byte message is %d bytes", len(big))
			}
			if _, err := decrypt(big, all, alice.pubDER); err == nil {
				t.Error("Node decrypted its own 30244-byte message")
			}
			if _, err := s.Decrypt(big, alice.pk); !errors.Is(err, groupsession.ErrTooLarge) {
				t.Errorf("Go on Node's 30244-byte message: %v", err)
			}
			if err := w.Call(ctx, "group.encrypt", map[string]any{"v": v, "tickets": all, "data": make([]byte, 30001), "privateKey": alice.privDER}, nil); err == nil {
				t.Error("Node encrypted 30001 bytes")
			}
			if _, err := s.Encrypt(nil, make([]byte, 29916), alice.sk); !errors.Is(err, groupsession.ErrTooLarge) {
				t.Errorf("Go Encrypt of 29916 bytes: %v", err)
			}
		})
	}
}

// TestGroupParserLeniency documents what virgil-crypto's nanopb decoder
// accepts that no Virgil writer produces and groupsession refuses (see the
// package documentation), and checks that both refuse the rest.
func TestGroupParserLeniency(t *testing.T) {
	w := nodeWorker(t)
	sid := groupsession.SessionID([]byte("leniency-group-id"))
	e := groupsession.NewEpochWithKey(sid, 5, [32]byte{0x4b})
	good := e.Marshal()
	inner := good[4:]
	wrap := func(in []byte) []byte { return append([]byte{0x08, 0x00, 0x12, byte(len(in))}, in...) }
	cat := func(p ...[]byte) []byte { return bytes.Join(p, nil) }
	type info struct {
		Type         string `json:"type"`
		Epoch        uint32 `json:"epoch"`
		SessionID    []byte `json:"sessionId"`
		Reserialized []byte `json:"reserialized"`
	}
	// nodeAccept: what virgil-crypto 5.1.2 and 4.2.2 do (they differ on a
	// zero byte after the message: 4.2.2's nanopb takes a zero tag as the
	// end of the message and ignores the rest).
	for _, c := range []struct {
		name       string
		in         []byte
		nodeAccept [2]bool
	}{
		{"canonical", good, [2]bool{true, true}},
		{"version 5", cat([]byte{0x08, 0x05}, good[2:]), [2]bool{true, true}},
		{"unknown outer field", cat(good, []byte{0x20, 0x00}), [2]bool{true, true}},
		{"unknown field in group_info", wrap(cat(inner, []byte{0x20, 0x00})), [2]bool{true, true}},
		{"outer fields reordered", cat(good[2:], good[:2]), [2]bool{true, true}},
		{"version repeated", cat([]byte{0x08, 0x07}, good), [2]bool{true, true}},
		{"non-minimal varint", cat([]byte{0x08, 0x80, 0x00}, good[2:]), [2]bool{true, true}},
		{"empty session id (read as zeros)", wrap(cat([]byte{0x0a, 0x00}, inner[34:])), [2]bool{true, true}},
		{"no version", good[2:], [2]bool{false, false}},
		{"31-byte session id", wrap(cat([]byte{0x0a, 0x1f}, inner[2:33], inner[34:])), [2]bool{false, false}},
		{"epoch 2^32", wrap(cat(inner[:34], []byte{0x10, 0x80, 0x80, 0x80, 0x80, 0x10}, inner[36:])), [2]bool{false, false}},
		{"neither group_info nor regular_message", []byte{0x08, 0x00}, [2]bool{false, false}},
		{"trailing zero byte", cat(good, []byte{0x00}), [2]bool{false, true}},
		{"zero byte, then garbage", cat(good, []byte{0x00, 0xff, 0xff, 0x07}), [2]bool{false, true}},
	} {
		for vi, v := range versions {
			var got info
			err := w.Call(context.Background(), "group.messageInfo", map[string]any{"v": v, "data": c.in}, &got)
			if (err == nil) != c.nodeAccept[vi] {
				t.Errorf("%s: virgil-crypto %s accepts=%v (%v), expected %v", c.name, v, err == nil, err, c.nodeAccept[vi])
			}
			if err == nil {
				t.Logf("%s: virgil-crypto %s reads %s epoch %d of %.8x…, re-serializes to %d bytes", c.name, v, got.Type, got.Epoch, got.SessionID, len(got.Reserialized))
			}
		}
		_, gerr := groupsession.ParseEpoch(c.in)
		if wantGo := c.name == "canonical" || c.name == "version 5"; (gerr == nil) != wantGo {
			t.Errorf("%s: groupsession accepts=%v (%v), want %v", c.name, gerr == nil, gerr, wantGo)
		}
	}
	// The padding length is the plaintext's, little-endian, as groupsession
	// writes it: read back from a Node message through Go's epoch key.
	for _, v := range versions {
		signer := groupKeyOf(t, goKey(t, e3.Ed25519, "alice"))
		var nct []byte
		mustCall(t, w, "group.encrypt", map[string]any{"v": v, "tickets": [][]byte{good}, "data": []byte("seven!!"), "privateKey": signer.privDER}, &nct)
		m, err := groupsession.ParseMessage(nct)
		if err != nil {
			t.Fatal(err)
		}
		pt, err := e.Open(m, signer.pk)
		if err != nil || string(pt) != "seven!!" || len(m.Ciphertext) != 176 {
			t.Errorf("%s: %q, %v, ciphertext %d bytes", v, pt, err, len(m.Ciphertext))
		}
	}
}
