// Package gcmstream implements streaming AES-GCM (12-byte nonce, 16-byte
// tag, with additional data) whose bytes are exactly those of the standard
// library's one-shot AEAD: the output of an [Encrypter] on any sequence of
// writes equals
//
//	cipher.NewGCM(aes).Seal(nil, nonce, plaintext, aad)
//
// and a [Decrypter] reads what Seal produced. Memory stays at one 64 KiB
// chunk buffer (pooled) whatever the message size. This is what the Virgil
// formats need: their body is one GCM message over the whole file
// (messageInfo ‖ ciphertext ‖ tag, followed by an encrypted footer for
// signAndEncrypt), so chunked AEAD formats such as STREAM cannot be used.
//
// # How
//
// GCM is CTR encryption plus a polynomial MAC, GHASH, over
// AAD ‖ ciphertext ‖ lengths. The standard library exposes neither piece, but
// its assembly AEAD can be used as an oracle for both (SP 800-38D algebra;
// H = E_K(0), Horner's rule Y_i = (Y_{i−1} ⊕ X_i)·H):
//
//   - Seal(nonce, nil, aad = X) returns (Y(X) ⊕ [8·|X|]‖0)·H ⊕ E_K(J0), which
//     yields Y(X)·H for any 16-byte-aligned piece X; pieces are chained with
//     T ← T·Hⁿ ⊕ Y(piece)·H in pure Go.
//   - Encryption uses a "steered J0": for each chunk, a 16-byte nonce N is
//     solved so that GCM's derived counter block GHASH_H(N‖0⁶⁴‖[128]₆₄) is
//     the chunk's counter J_c = nonce‖(1 + blocks so far). One stitched
//     assembly Seal with N then produces exactly the whole message's
//     ciphertext for that chunk, and its tag yields the chunk's GHASH. This
//     runs at one-shot Seal speed. If H = 0 (probability 2⁻¹²⁸: it cannot be
//     inverted) or if the runtime refuses 16-byte GCM nonces, the Encrypter
//     falls back to CTR (cipher.NewCTR) plus the AAD oracle over the
//     ciphertext, which is about 25% slower.
//   - Decryption cannot be one pass with the standard API (Open verifies and
//     wipes; Seal hashes its output), so it is CTR plus the AAD oracle over
//     the ciphertext.
//
// Messages of at most one chunk (64 KiB) are a single one-shot Seal or
// Open: nothing is written before Close, nothing is returned before the tag
// verified.
//
// # Decryption and unauthenticated plaintext
//
// A GCM message has a single tag at its end. A Decrypter therefore returns
// the plaintext of a message longer than one chunk before the tag can be
// checked. It withholds the last window (up to 64 KiB, everything after the
// last full chunk) until the tag verifies, returns io.EOF only after a
// successful check, and otherwise returns [ErrAuth] from every Read. Callers
// must treat everything read before an error as untrusted and discard it
// (write to a temporary file and rename only on success, for example).
//
// The tag's position is found in one of two ways: [NewDecrypter] takes the
// last 16 bytes before the end of the input (it holds back 16 bytes), and
// [NewSizedDecrypter] takes the ciphertext length from the caller (Virgil's
// signAndEncrypt carries it in the message info as dataSize), reads exactly
// size+16 bytes and leaves the rest of the input, such as the encrypted
// footer, to the caller.
//
// # Use in the Virgil formats
//
// encrypt (e3kit encryptFile): write the message info to dst, then
// NewEncrypter(dst, key, nonce, nil), copy the data in, Close. Decrypt:
// parse the message info from src, then NewDecrypter(src, key, nonce, nil)
// reads the rest (the tag is the end of the stream). If the message info was
// parsed through a bufio.Reader, pass that reader as src so no buffered
// bytes are lost.
//
// signAndEncrypt (authEncryptFile): write the message info, then
// NewEncrypter(dst, dataKey, dataNonce, signedDataInfoDER), write the data
// and the padding, Close (which writes the tag), then write the encrypted
// footer to dst yourself. Decrypt with NewSizedDecrypter(src, dataKey,
// dataNonce, signedDataInfoDER, dataSize) and register
// [Decrypter.SetFinalCheck] with a SHA-512 hash and a function that reads
// the encrypted footer from src and verifies the signature: the last window
// of plaintext is released only if both the tag and that check pass. With
// padding, the signature covers the unpadded data only, and the padding
// (at most 164 bytes) may straddle the last two windows: hold back the last
// 164 bytes of what the Decrypter returns, hash only what you release, and
// in the check combine the held-back bytes with the last window (passed to
// the check) to strip the padding and finish the hash.
//
// # Limits
//
// A message holds at most 2³²−2 blocks ([MaxPlaintextSize], 64 GiB − 32 B);
// the Encrypter refuses to go beyond it ([ErrTooLarge]) and the Decrypter
// fails with ErrAuth. The limit also guarantees that the 128-bit counter of
// cipher.NewCTR and GCM's 32-bit counter agree.
//
// # Constant time
//
// AES and the per-piece GHASH are the standard library's (AES-NI and
// PCLMULQDQ on amd64, the equivalent on arm64; the generic fallbacks on
// other platforms are the standard library's too). The pure-Go part works on
// secrets — H, its powers, H⁻², the running GHASH state, the per-chunk
// oracle tags and steered nonces — only through constant-time GF(2^128)
// arithmetic: a multiplier after BearSSL's ctmul64 (integer multiplications
// with masked carries, no tables, no secret branches; constant time wherever
// the 64-bit MUL is, which includes amd64 and arm64 server and desktop
// cores), squaring by bit spreading, and Itoh–Tsujii inversion with a fixed
// chain. Exponents and branches depend only on public lengths. Per-chunk
// secrets never leave the package and are cleared from the pooled buffers.
// The tag is compared with crypto/subtle.
//
// The package is not usable with GODEBUG=fips140=only, where the standard
// library refuses caller-chosen GCM nonces (and so does the Virgil format).
package gcmstream
