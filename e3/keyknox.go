package e3

import (
	"context"
	"errors"
	"fmt"

	"github.com/e3go/e3go/internal/virgilapi"
)

// KeyknoxCrypto, as @virgilsecurity/keyknox 1.0.3 (e3kit's backups and
// group tickets) does it: the plaintext e3kit hands Keyknox is a base64
// string, and what gets encrypted is its decoded bytes — here, the bytes
// themselves. Encryption is virgil-crypto's signThenEncryptDetached: meta
// is the message info (recipients, and the writer's signature and signer id
// in its custom parameters), value the AES-256-GCM ciphertext.

// errKeyknoxHalfEmpty reports a Keyknox value with only one of meta and
// value set.
var errKeyknoxHalfEmpty = &ParseError{What: "keyknox value", Err: errors.New("meta and value must both be empty or both be set")}

// keyknoxEncrypt encrypts data for the recipients, signed by signer.
func keyknoxEncrypt(data []byte, signer *PrivateKey, to ...*PublicKey) (meta, value []byte, err error) {
	return SignThenEncryptDetached(data, signer, to...)
}

// keyknoxDecrypt decrypts a Keyknox value with key and checks that one of
// signers signed it. Empty meta and value mean "no entry": ok is false and
// err nil. A wrong BrainKey (wrong password) gives ErrNotRecipient; a
// foreign writer ErrSignerNotFound (matching ErrAuthFailed).
func keyknoxDecrypt(meta, value []byte, key *PrivateKey, signers ...*PublicKey) (data []byte, ok bool, err error) {
	switch {
	case len(meta) == 0 && len(value) == 0:
		return nil, false, nil
	case len(meta) == 0 || len(value) == 0:
		return nil, false, errKeyknoxHalfEmpty
	}
	data, err = DecryptThenVerifyDetached(value, meta, key, signers...)
	if err != nil {
		return nil, false, err
	}
	return data, true, nil
}

// brainKey derives the BrainKey key pair e3kit derives for password:
// Pythia BrainKey through the service (see virgilapi.Client.BrainKey),
// then GenerateKeyFromMaterial on the 384-byte deblinded value. e3kit
// passes no brainkey id; use "".
func brainKey(ctx context.Context, api *virgilapi.Client, password, brainkeyID string) (*PrivateKey, error) {
	u, err := api.BrainKey(ctx, []byte(password), brainkeyID)
	if err != nil {
		return nil, fmt.Errorf("e3: BrainKey: %w", err)
	}
	return GenerateKeyFromMaterial(u)
}
