package kaiping_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDomainImportsNoDriver keeps the dependency rule: the domain packages (opening/ and
// evaluation/, their tests included) import no storage adapter, signaling backend or driver;
// those implement the domain's interfaces and are wired in cmd/kaiping/app.
func TestDomainImportsNoDriver(t *testing.T) {
	forbidden := []string{
		"github.com/kaiping/kaiping/storage/",
		"github.com/kaiping/kaiping/signaling/",
		"github.com/kaiping/kaiping/cmd/",
		"github.com/jackc/",
		"github.com/minio/",
		"github.com/livekit/",
	}
	for _, domain := range []string{"./opening/...", "./evaluation/...", "./notice/..."} {
		out, err := exec.Command("go", "list", "-test", "-deps", domain).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", domain, err, out)
		}
		for _, pkg := range strings.Fields(string(out)) {
			for _, f := range forbidden {
				if strings.HasPrefix(pkg, f) {
					t.Errorf("%s depends on %s (tests included)", domain, pkg)
				}
			}
		}
	}
}
