package testprog

import (
	"slices"
	"testing"
)

func TestEnv(t *testing.T) {
	t.Setenv("STREAM_API_KEY", "real key")
	t.Setenv("SESSION_KEY", "real session key")
	t.Setenv("SESSION_KEYS", "kept: not the exact name")
	t.Setenv("XSTREAM_", "kept: the prefix is at the start only")
	env := Env([]string{"STREAM_", "SESSION_KEY"}, "STREAM_API_KEY=test key")
	for _, kv := range []string{"STREAM_API_KEY=real key", "SESSION_KEY=real session key"} {
		if slices.Contains(env, kv) {
			t.Errorf("Env kept %q", kv)
		}
	}
	for _, kv := range []string{"SESSION_KEYS=kept: not the exact name", "XSTREAM_=kept: the prefix is at the start only"} {
		if !slices.Contains(env, kv) {
			t.Errorf("Env dropped %q", kv)
		}
	}
	if env[len(env)-1] != "STREAM_API_KEY=test key" {
		t.Errorf("Env does not end with extra: %q", env[len(env)-1])
	}
}
