package kmrng

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"
)

type vectorFile struct {
	Cases []struct {
		Source   string `json:"source"`
		Material string `json:"material"`
		Draws    []struct {
			N   int    `json:"n"`
			Out string `json:"out"`
		} `json:"draws"`
	} `json:"cases"`
}

func TestVectors(t *testing.T) {
	raw, err := os.ReadFile("testdata/kmrng.json")
	if err != nil {
		t.Fatal(err)
	}
	var vf vectorFile
	if err := json.Unmarshal(raw, &vf); err != nil {
		t.Fatal(err)
	}
	if len(vf.Cases) == 0 {
		t.Fatal("no vectors")
	}
	for _, c := range vf.Cases {
		material, _ := hex.DecodeString(c.Material)
		r, err := New(material)
		if err != nil {
			t.Fatalf("%s: %v", c.Source, err)
		}
		for i, d := range c.Draws {
			want, _ := hex.DecodeString(d.Out)
			got := make([]byte, d.N)
			if n, err := r.Read(got); err != nil || n != d.N {
				t.Fatalf("%s: draw %d: n=%d err=%v", c.Source, i, n, err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s: draw %d (%d bytes):\n got %x\nwant %x", c.Source, i, d.N, got, want)
			}
		}
	}
}

func TestLimits(t *testing.T) {
	for _, n := range []int{0, 1, 31, 513, 4096} {
		if _, err := New(make([]byte, n)); !errors.Is(err, ErrMaterialLength) {
			t.Errorf("New(%d bytes) err = %v, want ErrMaterialLength", n, err)
		}
	}
	for _, n := range []int{32, 512} {
		if _, err := New(make([]byte, n)); err != nil {
			t.Errorf("New(%d bytes): %v", n, err)
		}
	}
	r, _ := New(make([]byte, 32))
	if _, err := r.Read(make([]byte, MaxRequest+1)); !errors.Is(err, ErrRequestTooBig) {
		t.Errorf("oversized read err = %v", err)
	}
	// A rejected or empty request draws nothing: the next output is the
	// first draw of a fresh generator.
	if n, err := r.Read(nil); n != 0 || err != nil {
		t.Errorf("empty read = %d, %v", n, err)
	}
	fresh, _ := New(make([]byte, 32))
	a, b := make([]byte, 32), make([]byte, 32)
	r.Read(a)
	fresh.Read(b)
	if !bytes.Equal(a, b) {
		t.Error("a rejected or empty request changed the generator state")
	}
}

func TestReseedInterval(t *testing.T) {
	r, _ := New(make([]byte, 32))
	buf := make([]byte, 1)
	for i := 0; i < ReseedInterval; i++ {
		if _, err := r.Read(buf); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
	}
	if _, err := r.Read(buf); !errors.Is(err, ErrReseed) {
		t.Fatalf("request %d err = %v, want ErrReseed", ReseedInterval+1, err)
	}
}
