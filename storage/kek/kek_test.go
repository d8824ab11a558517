package kek_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/internal/devenv"
	"github.com/kaiping/kaiping/storage/kek"
)

func TestMain(m *testing.M) { devenv.Main(m, devenv.NeedSoftHSM) }

// kekSource makes KEKs of one implementation: for each set of names, KEKs with their own
// random keys, so a name in two sets is two keys under one name (a KEK file replaced by
// mistake, another cipher machine).
type kekSource struct {
	name string
	open func(t *testing.T, sets ...[]string) [][]kek.Cipher
}

func randomKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

// fileSource: AES-256-GCM key files.
var fileSource = kekSource{name: "key file", open: func(t *testing.T, sets ...[]string) [][]kek.Cipher {
	var out [][]kek.Cipher
	for _, names := range sets {
		dir := t.TempDir()
		var set []kek.Cipher
		for _, n := range names {
			path := filepath.Join(dir, n+".key")
			if err := kek.GenerateKeyFile(path); err != nil {
				t.Fatal(err)
			}
			c, err := kek.LoadKeyFile(path)
			if err != nil {
				t.Fatal(err)
			}
			set = append(set, c)
		}
		out = append(out, set)
	}
	return out
}}

// tokenSource: secret keys on SoftHSM tokens, a token per set, used through PKCS#11
// (CKM_AES_GCM). SoftHSM sees tokens made by softhsm2-util only at C_Initialize, so every
// token is made before the first is opened.
var tokenSource = kekSource{name: "PKCS#11", open: func(t *testing.T, sets ...[]string) [][]kek.Cipher {
	module, err := devenv.SoftHSMModule()
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, names := range sets {
		label := devenv.SoftHSMToken(t)
		for _, n := range names {
			devenv.SoftHSMAESKey(t, label, n)
		}
		labels = append(labels, label)
	}
	var out [][]kek.Cipher
	for i, label := range labels {
		tok, err := kek.OpenToken(kek.TokenConfig{Module: module, TokenLabel: label, PIN: devenv.SoftHSMUserPIN})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tok.Close() })
		var set []kek.Cipher
		for _, n := range sets[i] {
			c, err := tok.Key(n)
			if err != nil {
				t.Fatal(err)
			}
			set = append(set, c)
		}
		out = append(out, set)
	}
	return out
}}

func mustKeyring(t *testing.T, current kek.Cipher, older ...kek.Cipher) *kek.Keyring {
	t.Helper()
	k, err := kek.NewKeyring(current, older...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestKeyring is the one suite every KEK implementation runs.
func TestKeyring(t *testing.T) {
	for _, src := range []kekSource{fileSource, tokenSource} {
		t.Run(src.name, func(t *testing.T) { keyringSuite(t, src) })
	}
}

func keyringSuite(t *testing.T, src kekSource) {
	ctx := context.Background()
	ks := src.open(t, []string{"kek-a", "kek-b"}, []string{"kek-a"})
	a, b := ks[0][0], ks[0][1]
	impostor := ks[1][0] // another key named kek-a
	env, other := kaiping.ID("0b7e4c52-6b1e-4f4e-9f53-7a7c0d1e2f30"), kaiping.ID("5d2c1a0e-1111-4c4c-8888-0a0b0c0d0e0f")
	fileKey := randomKey(t)

	onlyA := mustKeyring(t, a)
	wrapped, err := onlyA.Wrap(ctx, env, fileKey)
	if err != nil {
		t.Fatal(err)
	}
	again, err := onlyA.Wrap(ctx, env, fileKey)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("the wrapped value hides the key and names its KEK", func(t *testing.T) {
		if len(wrapped) == 32 || bytes.Contains(wrapped, fileKey) || bytes.Equal(wrapped, again) {
			t.Errorf("wrapped %x (again %x) for key %x", wrapped, again, fileKey)
		}
		if id, err := onlyA.KeyOf(wrapped); err != nil || id != "kek-a" {
			t.Errorf("KeyOf: %q, %v", id, err)
		}
	})

	tamper := func(i int) []byte {
		w := bytes.Clone(wrapped)
		w[i] ^= 1
		return w
	}
	rotated := mustKeyring(t, b, a)
	for _, tc := range []struct {
		name     string
		ring     *kek.Keyring
		envelope kaiping.ID
		wrapped  []byte
		fails    string // in the internal detail; empty: unwraps to fileKey
	}{
		{"own KEK, own envelope", onlyA, env, wrapped, ""},
		{"after rotation, the old KEK still unwraps", rotated, env, wrapped, ""},
		{"another envelope's ID as associated data", onlyA, other, wrapped, "refused"},
		{"another KEK under the same name", mustKeyring(t, impostor), env, wrapped, "refused"},
		{"a KEK no longer configured", mustKeyring(t, b), env, wrapped, "not configured"},
		{"a flipped bit in the sealed key", onlyA, env, tamper(len(wrapped) - 1), "refused"},
		{"a flipped bit in the nonce", onlyA, env, tamper(2 + len("kek-a")), "refused"},
		{"a plaintext key", onlyA, env, fileKey, "not a wrapped file key"},
		{"a plaintext key that starts like a wrapped one", onlyA, env, append([]byte{1, 158}, fileKey[2:]...), "not a wrapped file key"},
		{"cut short", onlyA, env, wrapped[:40], "wrapped file key of 40 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.ring.Unwrap(ctx, tc.envelope, tc.wrapped)
			if tc.fails == "" {
				if err != nil || !bytes.Equal(got, fileKey) {
					t.Fatalf("unwrap: %x, %v", got, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("unwrapped %x", got)
			}
			if !kaiping.IsKind(err, kaiping.KindInternal) || kaiping.CodeOf(err) != kek.CodeUnwrapFailed || !strings.Contains(err.Error(), tc.fails) {
				t.Errorf("error %v: want internal %s saying %q", err, kek.CodeUnwrapFailed, tc.fails)
			}
		})
	}

	t.Run("rotation wraps with the new KEK, and then the old one can go", func(t *testing.T) {
		w, err := rotated.Wrap(ctx, env, fileKey)
		if err != nil {
			t.Fatal(err)
		}
		if id, _ := rotated.KeyOf(w); id != "kek-b" || rotated.Current() != "kek-b" {
			t.Errorf("rotated keyring wraps with %q (current %q)", id, rotated.Current())
		}
		if got, err := mustKeyring(t, b).Unwrap(ctx, env, w); err != nil || !bytes.Equal(got, fileKey) {
			t.Errorf("new KEK alone: %v", err)
		}
	})
	t.Run("only 32-byte keys are wrapped", func(t *testing.T) {
		if _, err := onlyA.Wrap(ctx, env, fileKey[:16]); !kaiping.IsKind(err, kaiping.KindInternal) {
			t.Errorf("wrapped a 16-byte key: %v", err)
		}
	})
	t.Run("two KEKs of one name are refused", func(t *testing.T) {
		if _, err := kek.NewKeyring(a, impostor); err == nil {
			t.Error("a keyring with two kek-a")
		}
	})
	t.Run("concurrent wraps and unwraps", func(t *testing.T) {
		done := make(chan error, 16)
		for range 16 {
			go func() {
				w, err := rotated.Wrap(ctx, env, fileKey)
				if err == nil {
					var got []byte
					if got, err = rotated.Unwrap(ctx, env, w); err == nil && !bytes.Equal(got, fileKey) {
						err = os.ErrInvalid
					}
				}
				done <- err
			}()
		}
		for range 16 {
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	})
}

// TestKeyFileLoading: a KEK file is 32 bytes raw or in hexadecimal, readable by its owner
// only, and keygen never overwrites one.
func TestKeyFileLoading(t *testing.T) {
	dir := t.TempDir()
	key := randomKey(t)
	hexKey := []byte("  " + strings.ToUpper(hex.EncodeToString(key)) + "\n")
	for _, tc := range []struct {
		name  string
		body  []byte
		mode  os.FileMode
		fails string
	}{
		{"raw", key, 0o600, ""},
		{"hexadecimal", hexKey, 0o400, ""},
		{"readable by the group", key, 0o640, "readable by group or others"},
		{"readable by all", hexKey, 0o644, "readable by group or others"},
		{"too short", key[:16], 0o600, "want 32 random bytes"},
		{"not hexadecimal", bytes.Repeat([]byte("z"), 64), 0o600, "want 32 random bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".key")
			if err := os.WriteFile(path, tc.body, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tc.mode); err != nil {
				t.Fatal(err)
			}
			c, err := kek.LoadKeyFile(path)
			if tc.fails != "" {
				if err == nil || !strings.Contains(err.Error(), tc.fails) {
					t.Fatalf("load: %v, want %q", err, tc.fails)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.ID() != strings.ReplaceAll(tc.name, " ", "-") {
				t.Errorf("ID %q", c.ID())
			}
			same, _ := kek.NewKeyFile(c.ID(), key)
			w, err := mustKeyring(t, c).Wrap(context.Background(), "e", key)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := mustKeyring(t, same).Unwrap(context.Background(), "e", w); err != nil {
				t.Errorf("the file's key is not the key written: %v", err)
			}
		})
	}
	t.Run("keygen never overwrites", func(t *testing.T) {
		path := filepath.Join(dir, "kek-new.key")
		if err := kek.GenerateKeyFile(path); err != nil {
			t.Fatal(err)
		}
		before, _ := os.ReadFile(path)
		if err := kek.GenerateKeyFile(path); err == nil {
			t.Error("a second keygen overwrote the KEK")
		}
		after, _ := os.ReadFile(path)
		if fi, _ := os.Stat(path); !bytes.Equal(before, after) || fi.Mode().Perm() != 0o600 {
			t.Errorf("KEK file changed or mode %v", fi.Mode().Perm())
		}
	})
}
