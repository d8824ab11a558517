package agent_test

import (
	"net/http"
	"os"
	"testing"
)

// TestRouteAndMethodRefusals: an unknown path is agent.not_found and a route called with the
// wrong method is agent.method (before any pairing check), and neither shows a code, pairs
// or writes the state file.
func TestRouteAndMethodRefusals(t *testing.T) {
	r := mustRig(t)
	for _, c := range []struct {
		method, path, want string
		status             int
	}{
		{"GET", "/v1/nothing", "agent.not_found", http.StatusNotFound},
		{"POST", "/v1/status", "agent.method", http.StatusMethodNotAllowed},
		{"GET", "/v1/pair", "agent.method", http.StatusMethodNotAllowed},
		{"GET", "/v1/sign-login", "agent.method", http.StatusMethodNotAllowed},
		{"GET", "/v1/sign", "agent.method", http.StatusMethodNotAllowed},
	} {
		if st, out, _ := r.call(c.method, c.path, platform, "", nil); st != c.status || code(out) != c.want {
			t.Errorf("%s %s: %d %v, want %d %s", c.method, c.path, st, out, c.status, c.want)
		}
	}
	select {
	case c := <-r.codes:
		t.Errorf("a refused request had code %s shown", c)
	default:
	}
	if st, out, _ := r.call("GET", "/v1/status", platform, "", nil); st != 200 || out["paired"] != false {
		t.Errorf("status after the refusals: %d %v", st, out)
	}
	if _, err := os.Stat(r.state); !os.IsNotExist(err) {
		t.Errorf("the refusals wrote the state file: %v", err)
	}
}
