package interop

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/e3go/e3go/e3"
)

// The streaming forms, both directions, for both virgil-crypto versions:
// Go's EncryptStream/DecryptStream and SignAndEncryptStream/
// DecryptAndVerifyStream against virgil-crypto's createStreamCipher/
// createStreamDecipher and createStreamSignAndEncrypt/
// createStreamDecryptAndVerify, fed in 64 KiB chunks through files, up to
// 10 MiB. Small sizes are also crossed with the one-shot forms (the formats
// are the same).

const streamChunk = 64 << 10

type nodeStreamResult struct {
	Read    int64 `json:"read"`
	Written int64 `json:"written"`
	Chunks  int   `json:"chunks"`
}

// goStreamEncrypt writes file in through the WriteCloser mk makes over file
// out, in streamChunk writes.
func goStreamEncrypt(t *testing.T, in, out string, mk func(dst io.Writer) (io.WriteCloser, error)) {
	t.Helper()
	fin, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer fin.Close()
	fout, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer fout.Close()
	wc, err := mk(fout)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, streamChunk)
	for {
		n, rerr := fin.Read(buf)
		if n > 0 {
			if _, err := wc.Write(buf[:n]); err != nil {
				t.Fatalf("stream Write: %v", err)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			t.Fatal(rerr)
		}
	}
	if err := wc.Close(); err != nil {
		t.Fatalf("stream Close: %v", err)
	}
	if err := fout.Close(); err != nil {
		t.Fatal(err)
	}
}

// goStreamDecrypt reads file in through the Reader mk makes and returns
// everything it yields, with the first error other than io.EOF.
func goStreamDecrypt(t *testing.T, in string, mk func(src io.Reader) (io.Reader, error)) ([]byte, error) {
	t.Helper()
	fin, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer fin.Close()
	r, err := mk(fin)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	buf := make([]byte, streamChunk)
	_, err = io.CopyBuffer(&out, struct{ io.Reader }{r}, buf)
	return out.Bytes(), err
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sameBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s: got %d bytes %.16x..., want %d bytes %.16x...", what, len(got), got, len(want), want)
	}
}

func TestStreamInterop(t *testing.T) {
	sizes := []struct {
		name string
		n    int
	}{
		{"empty", 0}, {"1B", 1}, {"4KiB", 4 << 10}, {"64KiB+1", streamChunk + 1}, {"10MiB", 10 << 20},
	}
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			w := nodeWorker(t)
			p := newParty(t, w, v)
			dir := t.TempDir()
			for _, size := range sizes {
				plain := make([]byte, size.n)
				rand.Read(plain)
				plainPath := filepath.Join(dir, "plain-"+size.name)
				if err := os.WriteFile(plainPath, plain, 0o600); err != nil {
					t.Fatal(err)
				}
				big := size.n > 1<<20
				sets := p.sets
				if big {
					sets = p.sets[len(p.sets)-1:] // the 25 mixed recipients only
				}
				for _, rs := range sets {
					t.Run(size.name+"/"+rs.name, func(t *testing.T) {
						// Recipients that decrypt: the first and the last of the set
						// (Ed25519 and Curve25519 in the mixed set).
						probe := keys{rs.keys[0]}
						if len(rs.keys) > 1 {
							probe = append(probe, rs.keys[len(rs.keys)-1])
						}
						path := func(name string) string { return filepath.Join(dir, size.name+"-"+rs.name+"-"+name) }
						nodeStream := func(op string, args map[string]any, in, out string, wantRead int) {
							t.Helper()
							args["v"], args["in"], args["out"] = v, in, out
							var r nodeStreamResult
							mustCall(t, w, op, args, &r)
							if r.Read != int64(wantRead) {
								t.Errorf("%s read %d bytes of %s, want %d", op, r.Read, filepath.Base(in), wantRead)
							}
						}

						// Go -> Node: EncryptStream -> createStreamDecipher
						goCT := path("go-encrypt")
						goStreamEncrypt(t, plainPath, goCT, func(dst io.Writer) (io.WriteCloser, error) {
							return e3.EncryptStream(dst, rs.keys.pubs()...)
						})
						goCTBytes := readFile(t, goCT)
						for _, k := range probe {
							nodeStream("crypto.streamDecrypt", map[string]any{"privateKey": k.privDER}, goCT, path("node-decrypted"), len(goCTBytes))
							sameBytes(t, "streamDecrypt(Go EncryptStream) as "+k.name, readFile(t, path("node-decrypted")), plain)
						}
						if !big {
							nodeDecryptAll(t, w, "crypto.decrypt", map[string]any{"v": v, "data": goCTBytes}, rs, plain)
						}

						// Go -> Node: SignAndEncryptStream -> createStreamDecryptAndVerify
						goSCT := path("go-signAndEncrypt")
						goStreamEncrypt(t, plainPath, goSCT, func(dst io.Writer) (io.WriteCloser, error) {
							return e3.SignAndEncryptStream(dst, int64(len(plain)), p.goSigner.priv, rs.keys.pubs()...)
						})
						goSCTBytes := readFile(t, goSCT)
						for _, k := range probe {
							nodeStream("crypto.streamDecryptAndVerify", map[string]any{"privateKey": k.privDER, "signerPublicKeys": [][]byte{p.goSigner.pubDER}}, goSCT, path("node-verified"), len(goSCTBytes))
							sameBytes(t, "streamDecryptAndVerify(Go SignAndEncryptStream) as "+k.name, readFile(t, path("node-verified")), plain)
						}
						if !big {
							nodeDecryptAll(t, w, "crypto.decryptAndVerify", map[string]any{"v": v, "data": goSCTBytes, "signerPublicKeys": [][]byte{p.goSigner.pubDER}}, rs, plain)
						}

						// Node -> Go: createStreamCipher -> DecryptStream
						nodeCT := path("node-encrypt")
						nodeStream("crypto.streamEncrypt", map[string]any{"publicKeys": rs.keys.pubDERs()}, plainPath, nodeCT, len(plain))
						for _, k := range probe {
							got, err := goStreamDecrypt(t, nodeCT, func(src io.Reader) (io.Reader, error) { return e3.DecryptStream(src, k.priv) })
							if err != nil {
								t.Errorf("DecryptStream(node streamEncrypt) as %s: %v", k.name, err)
							}
							sameBytes(t, "DecryptStream(node streamEncrypt) as "+k.name, got, plain)
						}
						if !big {
							ct := readFile(t, nodeCT)
							goDecryptAll(t, "Decrypt(node streamEncrypt)", rs, plain, func(k *e3.PrivateKey) ([]byte, error) { return e3.Decrypt(ct, k) })

							// e3kit-browser's legacy encryptFile: a stream cipher carrying a
							// detached signature in its custom params.
							sig, err := e3.Sign(plain, p.nodeSigner.priv)
							if err != nil {
								t.Fatal(err)
							}
							nodeStream("crypto.streamEncrypt", map[string]any{"publicKeys": rs.keys.pubDERs(), "signature": sig}, plainPath, path("node-encrypt-sig"), len(plain))
							got, err := goStreamDecrypt(t, path("node-encrypt-sig"), func(src io.Reader) (io.Reader, error) { return e3.DecryptStream(src, probe[0].priv) })
							if err != nil {
								t.Errorf("DecryptStream(node streamEncrypt with a signature param): %v", err)
							}
							sameBytes(t, "DecryptStream(node streamEncrypt with a signature param)", got, plain)
						}

						// Node -> Go: createStreamSignAndEncrypt (padding on, as
						// e3kit-browser's authEncryptFile, and off) -> DecryptAndVerifyStream
						for _, pad := range []bool{true, false} {
							nodeSCT := path("node-signAndEncrypt-" + bflag(pad))
							nodeStream("crypto.streamSignAndEncrypt", map[string]any{"privateKey": p.nodeSigner.privDER, "publicKeys": rs.keys.pubDERs(), "enablePadding": pad}, plainPath, nodeSCT, len(plain))
							for _, k := range probe {
								got, err := goStreamDecrypt(t, nodeSCT, func(src io.Reader) (io.Reader, error) {
									return e3.DecryptAndVerifyStream(src, k.priv, p.nodeSigner.pub)
								})
								if err != nil {
									t.Errorf("DecryptAndVerifyStream(node streamSignAndEncrypt %s) as %s: %v", bflag(pad), k.name, err)
								}
								sameBytes(t, fmt.Sprintf("DecryptAndVerifyStream(node streamSignAndEncrypt %s) as %s", bflag(pad), k.name), got, plain)
							}
							if !big {
								ct := readFile(t, nodeSCT)
								goDecryptAll(t, "DecryptAndVerify(node streamSignAndEncrypt "+bflag(pad)+")", rs, plain, func(k *e3.PrivateKey) ([]byte, error) {
									return e3.DecryptAndVerify(ct, k, p.nodeSigner.pub)
								})
							}
						}

						if !big {
							return
						}
						// One flipped bit in the middle of a 10 MiB body: each side
						// rejects the other's stream.
						bad := bytes.Clone(goSCTBytes)
						bad[len(bad)/2] ^= 0x10
						if err := os.WriteFile(path("go-signAndEncrypt-flipped"), bad, 0o600); err != nil {
							t.Fatal(err)
						}
						err := w.Call(t.Context(), "crypto.streamDecryptAndVerify", map[string]any{"v": v, "in": path("go-signAndEncrypt-flipped"), "out": path("node-flipped"),
							"privateKey": probe[0].privDER, "signerPublicKeys": [][]byte{p.goSigner.pubDER}}, nil)
						var ne *NodeError
						if !errors.As(err, &ne) {
							t.Errorf("Node streamDecryptAndVerify of a flipped Go stream: %v, want a rejection", err)
						}
						bad = readFile(t, path("node-signAndEncrypt-pad"))
						bad[len(bad)/2] ^= 0x10
						if err := os.WriteFile(path("node-signAndEncrypt-flipped"), bad, 0o600); err != nil {
							t.Fatal(err)
						}
						_, err = goStreamDecrypt(t, path("node-signAndEncrypt-flipped"), func(src io.Reader) (io.Reader, error) {
							return e3.DecryptAndVerifyStream(src, probe[0].priv, p.nodeSigner.pub)
						})
						if !errors.Is(err, e3.ErrAuthFailed) {
							t.Errorf("DecryptAndVerifyStream of a flipped Node stream: %v, want ErrAuthFailed", err)
						}
					})
				}
			}
		})
	}
}
