package interop

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/e3go/e3go/e3"
)

// e3.Group against the real @virgilsecurity/e3kit-node 2.5.1 groups on one
// e3test server (node/ops/e3kit_group.js): groups made on either side are
// loaded and used by the other, after additions and removals too; removed
// participants are refused the next epoch on both sides; groups of 100
// participants (pushed in chunks under Keyknox's meta limit) and of more
// than 50 epochs are read by e3kit.

// groupEnv adds e3kit group sessions to a clientEnv.
type groupEnv struct {
	*clientEnv
	group e3kitOps // op "e3kit_group.*" (node/ops/e3kit_group.js)
}

func newGroupEnv(t *testing.T) *groupEnv {
	ce := newClientEnv(t)
	return &groupEnv{clientEnv: ce, group: e3kitOps{t: t, w: ce.w, prefix: "e3kit_group"}}
}

// jsUser starts and registers an e3kit user and returns its handle.
func (e *groupEnv) jsUser(identity string) string {
	e.t.Helper()
	tok, err := e.gen.Generate(identity)
	if err != nil {
		e.t.Fatal(err)
	}
	h := e.group.start(identity, map[string]any{"apiUrl": e.srv.URL, "token": tok}, nil)
	e.group.must("register", h, nil, nil)
	return h
}

// goUser returns a registered Go Client.
func (e *groupEnv) goUser(identity string) *e3.Client {
	e.t.Helper()
	c := e.goClient(identity, false)
	if err := c.Register(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	return c
}

// gfail requires the op to fail with e3kit error name (prefix) want.
func (e *groupEnv) gfail(op, h string, args map[string]any, want string) {
	e.t.Helper()
	err := e.group.call(op, h, args, nil)
	var ne *NodeError
	if !errors.As(err, &ne) || !strings.HasPrefix(ne.Name, want) {
		e.t.Fatalf("e3kit %s: got %v, want e3kit's %s", op, err, want)
	}
}

type jsGroupInfo struct {
	Participants []string `json:"participants"`
	Initiator    string   `json:"initiator"`
	Epoch        uint32   `json:"epoch"`
}

func (e *groupEnv) find(h string, identities ...string) {
	e.t.Helper()
	e.group.must("findUsers", h, map[string]any{"identities": identities}, nil)
}

// jsEncrypt has h encrypt messages in group id.
func (e *groupEnv) jsEncrypt(h, id string, data [][]byte, text []string) jsMessages {
	e.t.Helper()
	var r jsMessages
	e.group.must("encrypt", h, map[string]any{"groupId": id, "data": data, "text": text}, &r)
	if len(r.Data) != len(data) || len(r.Text) != len(text) {
		e.t.Fatalf("e3kit encrypted %d+%d messages, want %d+%d", len(r.Data), len(r.Text), len(data), len(text))
	}
	return r
}

type jsOutcome struct {
	OK   bool   `json:"ok"`
	Data []byte `json:"data"`
	Text string `json:"text"`
	Name string `json:"name"`
}

// jsDecrypt has h decrypt messages of group id from `from`.
func (e *groupEnv) jsDecrypt(h, id, from string, data [][]byte, text []string) []jsOutcome {
	e.t.Helper()
	var r []jsOutcome
	e.group.must("decrypt", h, map[string]any{"groupId": id, "from": from, "data": data, "text": text}, &r)
	if len(r) != len(data)+len(text) {
		e.t.Fatalf("e3kit decrypted %d messages, want %d", len(r), len(data)+len(text))
	}
	return r
}

// jsReads requires h to decrypt every message to its plaintext.
func (e *groupEnv) jsReads(h, id, from string, cts [][]byte, strs []string, data [][]byte, text []string) {
	e.t.Helper()
	for i, o := range e.jsDecrypt(h, id, from, cts, strs) {
		switch {
		case !o.OK:
			e.t.Fatalf("e3kit %s: message %d from %s: %s", h, i, from, o.Name)
		case i < len(data) && !bytes.Equal(o.Data, data[i]):
			e.t.Fatalf("e3kit %s: message %d decrypted to other bytes", h, i)
		case i >= len(data) && o.Text != text[i-len(data)]:
			e.t.Fatalf("e3kit %s: text %d = %q", h, i-len(data), o.Text)
		}
	}
}

// e3kitGroupMessages returns n messages of 0 to 2000 bytes (the first empty, the
// second MaxGroupPlaintextSize, the largest virgil-crypto decrypts) and
// n/5 texts.
func e3kitGroupMessages(n int) ([][]byte, []string) {
	data := make([][]byte, n)
	for i := range data {
		size := mrand.IntN(2000)
		switch i {
		case 0:
			size = 0
		case 1:
			size = e3.MaxGroupPlaintextSize
		case 2:
			size = 155 // the padding frame's edge
		}
		data[i] = make([]byte, size)
		rand.Read(data[i])
	}
	texts := make([]string, n/5)
	for i := range texts {
		texts[i] = fmt.Sprintf("group message %d: Grüße 患者 👋 %x", i, data[i][:min(8, len(data[i]))])
	}
	return data, texts
}

func goGroupEncrypt(t *testing.T, g *e3.Group, data [][]byte, texts []string) ([][]byte, []string) {
	t.Helper()
	cts := make([][]byte, len(data))
	for i, m := range data {
		ct, err := g.Encrypt(m)
		if err != nil {
			t.Fatal(err)
		}
		cts[i] = ct
	}
	strs := make([]string, len(texts))
	for i, s := range texts {
		ct, err := g.EncryptString(s)
		if err != nil {
			t.Fatal(err)
		}
		strs[i] = ct
	}
	return cts, strs
}

func goGroupReads(t *testing.T, g *e3.Group, from *e3.Card, cts [][]byte, strs []string, data [][]byte, texts []string) {
	t.Helper()
	for i, ct := range cts {
		pt, err := g.Decrypt(ct, from)
		if err != nil {
			t.Fatalf("Go: message %d from %s: %v", i, from.Identity, err)
		}
		if !bytes.Equal(pt, data[i]) {
			t.Fatalf("Go: message %d decrypted to other bytes", i)
		}
	}
	for i, s := range strs {
		pt, err := g.DecryptString(s, from)
		if err != nil || pt != texts[i] {
			t.Fatalf("Go: text %d: %q, %v", i, pt, err)
		}
	}
}

// TestGroupsE3kit is the scenario: Go creates, e3kit loads, 50
// messages each way; e3kit adds a member, Go updates and reads; Go removes
// a member, and neither e3kit nor Go lets the removed member read the
// next epoch; e3kit creates and Go loads.
func TestGroupsE3kit(t *testing.T) {
	e := newGroupEnv(t)
	ctx := context.Background()
	alice := e.goUser("alice")
	carol := e.goUser("carol")
	erin := e.goUser("erin")
	bob := e.jsUser("bob")
	dave := e.jsUser("dave")
	const gid = "messaging:care-team-ward-7"

	// Go alice creates the group with e3kit's bob and Go's carol.
	g, err := alice.CreateGroup(ctx, gid, mustFindGo(t, alice, "bob"), mustFindGo(t, alice, "carol"))
	if err != nil {
		t.Fatal(err)
	}
	e.find(bob, "alice", "carol", "dave", "erin")
	var info jsGroupInfo
	e.group.must("loadGroup", bob, map[string]any{"groupId": gid, "initiator": "alice"}, &info)
	if !slices.Equal(info.Participants, []string{"alice", "bob", "carol"}) || info.Initiator != "alice" || info.Epoch != 0 {
		t.Fatalf("e3kit loaded %+v", info)
	}
	cg, err := carol.LoadGroup(ctx, gid, mustFindGo(t, carol, "alice"))
	if err != nil {
		t.Fatal(err)
	}

	// 50 messages (and 10 texts) each way.
	aData, aText := e3kitGroupMessages(50)
	aCT, aStr := goGroupEncrypt(t, g, aData, aText)
	e.jsReads(bob, gid, "alice", aCT, aStr, aData, aText)
	bData, bText := e3kitGroupMessages(50)
	bMsgs := e.jsEncrypt(bob, gid, bData, bText)
	goGroupReads(t, g, mustFindGo(t, alice, "bob"), bMsgs.Data, bMsgs.Text, bData, bText)
	goGroupReads(t, cg, mustFindGo(t, carol, "bob"), bMsgs.Data, bMsgs.Text, bData, bText)
	// Each refuses what the other must: an altered message, a message
	// said to be from another participant.
	bad := bytes.Clone(aCT[3])
	bad[len(bad)-1] ^= 1
	if o := e.jsDecrypt(bob, gid, "alice", [][]byte{bad, aCT[4]}, nil); o[0].OK || !o[1].OK {
		t.Fatalf("e3kit on an altered and a genuine message: %+v", o)
	}
	if o := e.jsDecrypt(bob, gid, "carol", [][]byte{aCT[4]}, nil); o[0].OK {
		t.Fatal("e3kit took alice's message as carol's")
	}
	if _, err := g.Decrypt(bMsgs.Data[3], mustFindGo(t, alice, "carol")); !errors.Is(err, e3.ErrAuthFailed) {
		t.Fatalf("Go took bob's message as carol's: %v", err)
	}
	bad = bytes.Clone(bMsgs.Data[3])
	bad[len(bad)/2] ^= 1
	if _, err := g.Decrypt(bad, mustFindGo(t, alice, "bob")); !errors.Is(err, e3.ErrAuthFailed) {
		t.Fatalf("Go on an altered e3kit message: %v", err)
	}

	t.Run("e3kit creates, Go loads, e3kit adds, Go updates", func(t *testing.T) {
		const gid2 = "messaging:e3kit-made-group"
		e.find(dave, "alice", "bob", "erin", "carol")
		e.group.must("createGroup", dave, map[string]any{"groupId": gid2, "members": []string{"alice", "bob"}}, &info)
		daveCard := mustFindGo(t, alice, "dave")
		ag, err := alice.LoadGroup(ctx, gid2, daveCard)
		if err != nil {
			t.Fatal(err)
		}
		if ag.Initiator() != "dave" || !slices.Equal(ag.Participants(), []string{"alice", "bob", "dave"}) {
			t.Fatalf("Go loaded %v %v", ag, ag.Participants())
		}
		dData, dText := e3kitGroupMessages(10)
		dm := e.jsEncrypt(dave, gid2, dData, dText)
		goGroupReads(t, ag, daveCard, dm.Data, dm.Text, dData, dText)
		a2, s2 := goGroupEncrypt(t, ag, dData, dText)
		e.jsReads(dave, gid2, "alice", a2, s2, dData, dText)
		if err := ag.Add(ctx, mustFindGo(t, alice, "erin")); !errors.Is(err, e3.ErrNotGroupInitiator) {
			t.Fatalf("Go participant adds to e3kit's group: %v", err)
		}

		// e3kit adds Go's erin: alice updates and sees her, erin loads the
		// whole history.
		e.group.must("add", dave, map[string]any{"groupId": gid2, "members": []string{"erin"}}, &info)
		if err := ag.Update(ctx); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ag.Participants(), []string{"alice", "bob", "dave", "erin"}) {
			t.Fatalf("after e3kit's add, Go sees %v", ag.Participants())
		}
		eg, err := erin.LoadGroup(ctx, gid2, mustFindGo(t, erin, "dave"))
		if err != nil {
			t.Fatal(err)
		}
		goGroupReads(t, eg, mustFindGo(t, erin, "dave"), dm.Data, dm.Text, dData, dText)
		goGroupReads(t, eg, mustFindGo(t, erin, "alice"), a2, s2, dData, dText)
		goGroupReads(t, ag, daveCard, dm.Data, dm.Text, dData, dText)

		// e3kit removes Go's alice (e3kit pushes the owner twice in
		// identities): she cannot read the next epoch.
		e.group.must("remove", dave, map[string]any{"groupId": gid2, "members": []string{"alice"}}, &info)
		if info.Epoch != 1 || !slices.Equal(info.Participants, []string{"bob", "dave", "erin"}) {
			t.Fatalf("after e3kit's remove: %+v", info)
		}
		next := e.jsEncrypt(dave, gid2, [][]byte{[]byte("without alice")}, nil)
		if _, err := ag.Decrypt(next.Data[0], daveCard); !errors.Is(err, e3.ErrGroupOutdated) {
			t.Fatalf("removed Go participant: %v", err)
		}
		if err := ag.Update(ctx); !errors.Is(err, e3.ErrGroupNoAccess) {
			t.Fatalf("removed Go participant's Update: %v", err)
		}
		if err := eg.Update(ctx); err != nil {
			t.Fatal(err)
		}
		goGroupReads(t, eg, mustFindGo(t, erin, "dave"), next.Data, nil, [][]byte{[]byte("without alice")}, nil)
		if eg.Epoch() != 1 || !slices.Equal(eg.Participants(), []string{"bob", "dave", "erin"}) {
			t.Fatalf("erin after the removal: %v %v", eg, eg.Participants())
		}

		// e3kit deletes the group: Go loses access.
		e.group.must("deleteGroup", dave, map[string]any{"groupId": gid2}, nil)
		if err := eg.Update(ctx); !errors.Is(err, e3.ErrGroupNoAccess) {
			t.Fatalf("after e3kit's deleteGroup: %v", err)
		}
	})

	t.Run("Go adds, e3kit updates", func(t *testing.T) {
		if err := g.Add(ctx, mustFindGo(t, alice, "dave")); err != nil {
			t.Fatal(err)
		}
		e.group.must("update", bob, map[string]any{"groupId": gid}, &info)
		if !slices.Equal(info.Participants, []string{"alice", "bob", "carol", "dave"}) {
			t.Fatalf("e3kit after Go's Add: %+v", info)
		}
		e.find(dave, "alice")
		e.group.must("loadGroup", dave, map[string]any{"groupId": gid, "initiator": "alice"}, &info)
		e.jsReads(dave, gid, "alice", aCT[:10], aStr, aData[:10], aText) // history
		e.gfail("add", bob, map[string]any{"groupId": gid, "members": []string{"erin"}}, "GroupError:PermissionDenied")
	})

	t.Run("Go removes: nobody lets the removed read on", func(t *testing.T) {
		before, _ := goGroupEncrypt(t, g, [][]byte{[]byte("before")}, nil)
		// Remove e3kit's bob and Go's carol.
		if err := g.Remove(ctx, mustFindGo(t, alice, "bob"), mustFindGo(t, alice, "carol")); err != nil {
			t.Fatal(err)
		}
		secret := [][]byte{[]byte("after the removal: bed 4 is discharged")}
		after, afterStr := goGroupEncrypt(t, g, secret, []string{"after, as text"})

		// e3kit's bob: outdated, then no access, for every message after.
		if o := e.jsDecrypt(bob, gid, "alice", after, afterStr); o[0].OK || o[0].Name != "GroupError:GroupIsOutdated" || o[1].OK {
			t.Fatalf("e3kit's removed bob: %+v", o)
		}
		e.gfail("update", bob, map[string]any{"groupId": gid}, "GroupError:NoAccess")
		e.gfail("loadGroup", bob, map[string]any{"groupId": gid, "initiator": "alice"}, "GroupError:NoAccess")
		var got *jsGroupInfo
		e.group.must("getGroup", bob, map[string]any{"groupId": gid}, &got)
		if got != nil {
			t.Fatalf("e3kit keeps the group after losing access: %+v", got)
		}
		// Go's carol: the same.
		if _, err := cg.Decrypt(after[0], mustFindGo(t, carol, "alice")); !errors.Is(err, e3.ErrGroupOutdated) {
			t.Fatalf("Go's removed carol: %v", err)
		}
		if err := cg.Update(ctx); !errors.Is(err, e3.ErrGroupNoAccess) {
			t.Fatalf("Go's removed carol's Update: %v", err)
		}
		if _, err := carol.LoadGroup(ctx, gid, mustFindGo(t, carol, "alice")); !errors.Is(err, e3.ErrGroupNoAccess) {
			t.Fatalf("Go's removed carol's LoadGroup: %v", err)
		}
		// e3kit's dave, who stayed, reads it after updating; before, he
		// also reads the message from before the removal.
		e.jsReads(dave, gid, "alice", before, nil, [][]byte{[]byte("before")}, nil)
		e.group.must("update", dave, map[string]any{"groupId": gid}, &info)
		if info.Epoch != 1 || !slices.Equal(info.Participants, []string{"alice", "dave"}) {
			t.Fatalf("e3kit's dave after Go's Remove: %+v", info)
		}
		e.jsReads(dave, gid, "alice", after, afterStr, secret, []string{"after, as text"})
		dm := e.jsEncrypt(dave, gid, secret, nil)
		goGroupReads(t, g, mustFindGo(t, alice, "dave"), dm.Data, nil, secret, nil)
	})

	t.Run("Go re-adds a rotated e3kit member", func(t *testing.T) {
		e.group.must("cleanup", dave, nil, nil)
		e.group.must("rotatePrivateKey", dave, nil, nil)
		e.find(dave, "alice")
		e.gfail("loadGroup", dave, map[string]any{"groupId": gid, "initiator": "alice"}, "GroupError:RemoteGroupNotFound")
		alice.ForgetCachedUsers("dave")
		if err := g.ReAdd(ctx, mustFindGo(t, alice, "dave")); err != nil {
			t.Fatal(err)
		}
		e.group.must("loadGroup", dave, map[string]any{"groupId": gid, "initiator": "alice"}, &info)
		msg, _ := goGroupEncrypt(t, g, [][]byte{[]byte("welcome back")}, nil)
		e.jsReads(dave, gid, "alice", msg, nil, [][]byte{[]byte("welcome back")}, nil)
	})

	t.Run("deleteGroup by Go", func(t *testing.T) {
		if err := alice.DeleteGroup(ctx, gid); err != nil {
			t.Fatal(err)
		}
		e.gfail("update", dave, map[string]any{"groupId": gid}, "GroupError:NoAccess")
	})
}

// TestGroupsE3kitLimits: a Go group of 100 participants (e3kit's limit,
// pushed in 4 chunks under the meta limit) is read by e3kit; one of 101
// (GroupOptions) is refused by e3kit, as documented; a Go group of 53
// epochs is read by e3kit, the old ones through its local storage.
func TestGroupsE3kitLimits(t *testing.T) {
	e := newGroupEnv(t)
	ctx := context.Background()
	alice := e.goUser("alice")
	bob := e.jsUser("bob")
	e.find(bob, "alice")
	bobCard := mustFindGo(t, alice, "bob")

	fakes := make([]*e3.Card, 99)
	for i := range fakes {
		k, err := e3.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		fakes[i] = &e3.Card{ID: fmt.Sprintf("%064x", i), Identity: fmt.Sprintf("member-%03d", i), PublicKey: k.Public()}
	}
	g, err := alice.CreateGroup(ctx, "group-of-one-hundred", append(slices.Clone(fakes[:98]), bobCard)...)
	if err != nil {
		t.Fatal(err)
	}
	var info jsGroupInfo
	e.group.must("loadGroup", bob, map[string]any{"groupId": "group-of-one-hundred", "initiator": "alice"}, &info)
	if len(info.Participants) != 100 {
		t.Fatalf("e3kit sees %d participants", len(info.Participants))
	}
	msg, _ := goGroupEncrypt(t, g, [][]byte{[]byte("to a hundred")}, nil)
	e.jsReads(bob, "group-of-one-hundred", "alice", msg, nil, [][]byte{[]byte("to a hundred")}, nil)

	big, err := alice.CreateGroupWithOptions(ctx, "group-of-101-members", e3.GroupOptions{MaxParticipants: 101}, append(slices.Clone(fakes), bobCard)...)
	if err != nil {
		t.Fatal(err)
	}
	if len(big.Participants()) != 101 {
		t.Fatalf("%d participants", len(big.Participants()))
	}
	e.gfail("loadGroup", bob, map[string]any{"groupId": "group-of-101-members", "initiator": "alice"}, "GroupError:InvalidParticipantsCount")

	// Group ids: 10 bytes are enough for both (e3kit's Swift sibling wants
	// more than 10; JS and Go take 10), 9 for neither.
	if _, err := alice.CreateGroup(ctx, "ten-bytes!", bobCard); err != nil {
		t.Fatal(err)
	}
	e.group.must("loadGroup", bob, map[string]any{"groupId": "ten-bytes!", "initiator": "alice"}, &info)
	e.gfail("createGroup", bob, map[string]any{"groupId": "nine-byte", "members": []string{"alice"}}, "TypeError")
	if _, err := alice.CreateGroup(ctx, "nine-byte", bobCard); !errors.Is(err, e3.ErrInvalidGroupID) {
		t.Fatalf("a 9-byte id: %v", err)
	}

	// 53 epochs: e3kit keeps 50 in its session and reads older messages
	// with tickets from its local storage.
	var members []*e3.Card
	for i := 0; i < 52; i++ {
		e.goUser(fmt.Sprintf("leaver-%02d", i))
		members = append(members, mustFindGo(t, alice, fmt.Sprintf("leaver-%02d", i)))
	}
	long, err := alice.CreateGroup(ctx, "group-of-many-epochs", append(members, bobCard)...)
	if err != nil {
		t.Fatal(err)
	}
	var data [][]byte
	var cts [][]byte
	for i := 0; i <= len(members); i++ {
		m := []byte(fmt.Sprintf("in epoch %d", i))
		ct, err := long.Encrypt(m)
		if err != nil {
			t.Fatal(err)
		}
		data, cts = append(data, m), append(cts, ct)
		if i < len(members) {
			if err := long.Remove(ctx, members[i]); err != nil {
				t.Fatal(err)
			}
		}
	}
	e.group.must("loadGroup", bob, map[string]any{"groupId": "group-of-many-epochs", "initiator": "alice"}, &info)
	if info.Epoch != 52 || !slices.Equal(info.Participants, []string{"alice", "bob"}) {
		t.Fatalf("e3kit loaded %+v", info)
	}
	e.jsReads(bob, "group-of-many-epochs", "alice", cts, nil, data, nil)
	bm := e.jsEncrypt(bob, "group-of-many-epochs", [][]byte{[]byte("from bob")}, nil)
	goGroupReads(t, long, bobCard, bm.Data, nil, [][]byte{[]byte("from bob")}, nil)
}
