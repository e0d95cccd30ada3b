package virgilapi

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/e3go/e3go/internal/pythia"
)

// BrainKey runs e3kit's BrainKey exchange for password (1 to
// pythia.MaxInputSize bytes): blind it, POST /pythia/v1/brainkey
// {"blinded_password": <base64>[, "brainkey_id": <id>]}, deblind the 384-byte
// seed. It returns the deblinded value, the key material e3kit feeds to
// virgil-crypto's generateKeysFromKeyMaterial (e3.GenerateKeyFromMaterial).
// e3kit never sends a brainkey id; pass "" to match it.
//
// A throttling answer (code 60007) is retried once after
// Config.ThrottleRetryDelay, as e3kit does; a second one is returned.
func (c *Client) BrainKey(ctx context.Context, password []byte, brainkeyID string) ([]byte, error) {
	blinded, secret, err := pythia.Blind(password)
	if err != nil {
		return nil, fmt.Errorf("virgilapi: brainkey: %w", err)
	}
	body := struct {
		BlindedPassword []byte `json:"blinded_password"`
		BrainKeyID      string `json:"brainkey_id,omitempty"`
	}{blinded, brainkeyID}
	r := request{method: http.MethodPost, path: "/pythia/v1/brainkey", body: &body}
	res, err := c.do(ctx, r)
	if err != nil && CodeOf(err) == CodeThrottled {
		if c.throttle > 0 {
			t := time.NewTimer(c.throttle)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			}
		}
		res, err = c.do(ctx, r)
	}
	if err != nil {
		return nil, err
	}
	var out struct {
		Seed []byte `json:"seed"`
	}
	if err := decodeJSON("brainkey seed", res.body, &out); err != nil {
		return nil, err
	}
	u, err := pythia.Deblind(out.Seed, secret)
	if err != nil {
		return nil, malformed("brainkey seed", err)
	}
	return u, nil
}
