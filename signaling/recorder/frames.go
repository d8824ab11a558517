package recorder

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"
)

// CountFrames parses a recorded file named name (by its extension: .ivf or .ogg) from r
// and counts what it holds: VP8 frames, or Opus audio pages. A file that does not parse to
// its end is an error: what a recording verification, or a test, needs to know.
func CountFrames(name string, r io.Reader) (int, error) {
	n := 0
	switch {
	case strings.HasSuffix(name, ".ivf"):
		ivf, _, err := ivfreader.NewWith(r)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		for {
			if _, _, err := ivf.ParseNextFrame(); err != nil {
				if errors.Is(err, io.EOF) {
					return n, nil
				}
				return n, fmt.Errorf("%s: frame %d: %w", name, n, err)
			}
			n++
		}
	case strings.HasSuffix(name, ".ogg"):
		ogg, _, err := oggreader.NewWith(r)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		for {
			page, h, err := ogg.ParseNextPage()
			if err != nil {
				if errors.Is(err, io.EOF) {
					return n, nil
				}
				return n, fmt.Errorf("%s: page %d: %w", name, n, err)
			}
			if _, header := h.HeaderType(page); !header {
				n++
			}
		}
	}
	return 0, fmt.Errorf("%s: not a recorded file (.ivf or .ogg)", name)
}
