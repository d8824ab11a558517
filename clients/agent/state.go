package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// pairing is one paired origin as the state file keeps it.
type pairing struct {
	TokenSHA256 string    `json:"token_sha256"`
	PairedAt    time.Time `json:"paired_at"`
}

// stateFile is the agent's pairings, kept in a file only its user can read (0600), so that
// a page stays paired across restarts of the agent.
type stateFile struct {
	path string
	mu   sync.Mutex
	data struct {
		Pairings map[string]pairing `json:"pairings"` // by origin
	}
}

func loadState(path string) (*stateFile, error) {
	s := &stateFile{path: path}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("读取签名助手状态文件: %w", err)
	default:
		if err := json.Unmarshal(b, &s.data); err != nil {
			return nil, fmt.Errorf("签名助手状态文件 %s 已损坏: %w", path, err)
		}
	}
	if s.data.Pairings == nil {
		s.data.Pairings = map[string]pairing{}
	}
	return s, nil
}

// get returns origin's pairing.
func (s *stateFile) get(origin string) (pairing, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.data.Pairings[origin]
	return p, ok
}

// put records origin's pairing, replacing any earlier one, and writes the file (a temporary
// file renamed over it, so that a crash leaves the old pairings or the new, never half).
func (s *stateFile) put(origin string, p pairing) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, had := s.data.Pairings[origin]
	s.data.Pairings[origin] = p
	if err := s.write(); err != nil {
		if had {
			s.data.Pairings[origin] = old
		} else {
			delete(s.data.Pairings, origin)
		}
		return err
	}
	return nil
}

func (s *stateFile) write() error {
	b, err := json.MarshalIndent(s.data, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), ".agent-state-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), s.path)
}
