// Package e3go is the root of e3go, a pure-Go SDK for end-to-end encrypted
// chat on Stream Chat with key management compatible with Virgil Security's
// e3kit.
//
// The root package holds no code; import the subpackages:
//
//   - [github.com/e3go/e3go/e3]: keys, Virgil cards and JWTs, the one-shot and
//     streaming sign+encrypt / decrypt+verify operations byte-compatible with
//     virgil-crypto, and Client, the Go counterpart of e3kit's EThree
//     (register, find users, authEncrypt/authDecrypt, backup and restore,
//     key rotation, groups).
//   - [github.com/e3go/e3go/e3/e3test]: an in-process server speaking the
//     Virgil Cards v5, Keyknox and Pythia (BrainKey) APIs, for tests, examples
//     and offline development; the real e3kit clients work against it.
//   - [github.com/e3go/e3go/keyring]: where private keys live on the machine:
//     an in-memory store and a passphrase-encrypted file store behind one
//     interface.
//   - [github.com/e3go/e3go/streamenc]: Stream Chat channels that seal
//     messages and attachments on send and open them on receive, and a
//     webhook handler for server-side participants such as bots.
//   - [github.com/e3go/e3go/streamenc/streamtest]: an in-process Stream Chat
//     emulator that stream-chat-go works against unmodified.
//
// Everything is pure Go (CGO_ENABLED=0). Ciphertexts, signatures, cards,
// tokens and backups are byte-compatible with virgil-crypto 5.1.2 and with
// @virgilsecurity/e3kit-node 2.5.1 (which bundles virgil-crypto 4.2.2); the
// interop suite in internal/interop proves it against the real npm packages.
package e3go
