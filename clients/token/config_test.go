package token

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestParseURI(t *testing.T) {
	pinFile := filepath.Join(t.TempDir(), "pin")
	if err := os.WriteFile(pinFile, []byte("123456\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		uri      string
		want     Config
		wantCode string
	}{
		{"compact", "token=CFCA;object=sign", Config{TokenLabel: "CFCA", KeyLabel: "sign"}, ""},
		{"RFC 7512 with query", "pkcs11:token=My%20Token;object=key;id=%01%A0;type=private?module-path=/usr/lib/libukey.so&pin-value=1234",
			Config{Module: "/usr/lib/libukey.so", TokenLabel: "My Token", PIN: "1234", KeyLabel: "key", KeyID: []byte{0x01, 0xa0}}, ""},
		{"percent-encoded Chinese", "token=%E5%BC%80%E8%AF%84", Config{TokenLabel: "开评"}, ""},
		{"raw Chinese", "token=开评;object=签名", Config{TokenLabel: "开评", KeyLabel: "签名"}, ""},
		{"pin-source path", "token=t?pin-source=" + pinFile, Config{TokenLabel: "t", PIN: "123456"}, ""},
		{"pin-source file URI", "token=t?pin-source=file://" + pinFile, Config{TokenLabel: "t", PIN: "123456"}, ""},
		{"empty", "", Config{}, ""},
		{"unknown attribute", "token=t;slot-id=1", Config{}, CodeURI},
		{"type other than private", "token=t;type=cert", Config{}, CodeURI},
		{"attribute twice", "token=a;token=b", Config{}, CodeURI},
		{"no value", "token", Config{}, CodeURI},
		{"bad percent encoding", "token=%zz", Config{}, CodeURI},
		{"both PIN forms", "token=t?pin-value=1&pin-source=" + pinFile, Config{}, CodeURI},
		{"missing PIN file", "token=t?pin-source=/nonexistent/pin", Config{}, CodeURI},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseURI(tt.uri)
			if code := codeOf(err); code != tt.wantCode {
				t.Fatalf("code %q (%v), want %q", code, err, tt.wantCode)
			}
			if err == nil && !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
