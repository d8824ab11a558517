package recorder

import (
	"encoding/json"
	"testing"

	"github.com/kaiping/kaiping"
)

func TestParseManifest(t *testing.T) {
	valid := Manifest{Version: ManifestVersion, Recording: kaiping.NewID(), Room: "hall",
		Files: []ManifestFile{{Name: "001-p-audio.ogg"}}}
	with := func(f func(m *Manifest)) []byte {
		m := valid
		m.Files = append([]ManifestFile(nil), valid.Files...)
		f(&m)
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name string
		raw  []byte
		ok   bool
	}{
		{"valid", with(func(*Manifest) {}), true},
		{"not JSON", []byte("{"), false},
		{"another version", with(func(m *Manifest) { m.Version = 2 }), false},
		{"no recording", with(func(m *Manifest) { m.Recording = "" }), false},
		{"bad room", with(func(m *Manifest) { m.Room = "../bids" }), false},
		{"file in a folder", with(func(m *Manifest) { m.Files[0].Name = "../x.ogg" }), false},
		{"file named like the manifest", with(func(m *Manifest) { m.Files[0].Name = ManifestName }), false},
		{"file without a name", with(func(m *Manifest) { m.Files[0].Name = "" }), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseManifest(tt.raw)
			if tt.ok && err != nil {
				t.Fatalf("err = %v", err)
			}
			if !tt.ok && kaiping.CodeOf(err) != CodeManifestInvalid {
				t.Fatalf("err = %v, want %s", err, CodeManifestInvalid)
			}
		})
	}
}
