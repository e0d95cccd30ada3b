package interop

import (
	"context"
	"testing"
	"time"
)

// BenchmarkNodePeer times virgil-crypto in Node, the peer e3go's own
// benchmarks (go test -bench ./e3/) are compared with. Each sub-benchmark
// sets the operation up in the worker (keys, plaintext, ciphertext; outside
// the timer), then runs it b.N times in one worker call, timed in Node with
// process.hrtime. ns/op is the Go-side wall time of that call divided by b.N
// (it includes one JSON round trip); node-ns/op is Node's own figure, the one
// to compare. Keys are Ed25519 (e3kit's default); the recipient count does not
// include the sender; SignAndEncrypt uses padding, as e3kit's authEncrypt and
// e3go's SignAndEncrypt do.
//
//	go test -run '^$' -bench NodePeer ./internal/interop/
func BenchmarkNodePeer(b *testing.B) {
	w := nodeWorker(b)
	cases := []struct {
		name       string
		op         string
		size       int
		recipients int
	}{
		{"SignAndEncrypt/200B/1rcpt", "signAndEncrypt", 200, 1},
		{"SignAndEncrypt/200B/10rcpt", "signAndEncrypt", 200, 10},
		{"DecryptAndVerify/200B/1rcpt", "decryptAndVerify", 200, 1},
		{"DecryptAndVerify/200B/10rcpt", "decryptAndVerify", 200, 10},
		{"Encrypt/1MiB/1rcpt", "encrypt", 1 << 20, 1},
		{"Decrypt/1MiB/1rcpt", "decrypt", 1 << 20, 1},
	}
	for _, v := range versions {
		for _, c := range cases {
			b.Run(v+"/"+c.name, func(b *testing.B) {
				var h int
				mustCall(b, w, "crypto.benchSetup", map[string]any{"v": v, "op": c.op, "size": c.size, "recipients": c.recipients}, &h)
				defer mustCall(b, w, "crypto.benchFree", map[string]int{"handle": h}, nil)
				if c.size >= 1<<20 {
					b.SetBytes(int64(c.size))
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
				defer cancel()
				var r struct {
					Iterations int     `json:"iterations"`
					NS         float64 `json:"ns"`
				}
				b.ResetTimer()
				if err := w.Call(ctx, "crypto.benchRun", map[string]int{"handle": h, "iterations": b.N}, &r); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if r.Iterations != b.N {
					b.Fatalf("Node ran %d iterations, want %d", r.Iterations, b.N)
				}
				b.ReportMetric(r.NS/float64(r.Iterations), "node-ns/op")
			})
		}
	}
}
