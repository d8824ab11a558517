package bench

import (
	"bytes"
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// cpuSeconds is CPU time (user and system) by process name.
type cpuSeconds map[string]float64

// treeCPU is the CPU time so far of this process (the kaiping server and the bidders) and
// of its descendants by name: PostgreSQL's backends, MinIO. It reads /proc (nothing where
// there is none) and assumes 100 clock ticks a second, Linux's USER_HZ.
func treeCPU() cpuSeconds {
	type proc struct {
		ppid  int
		name  string
		ticks float64
	}
	procs := map[int]proc{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
		if err != nil || open < 0 || end < open {
			continue
		}
		// After "pid (comm)": state ppid … utime (14th field) stime (15th).
		f := strings.Fields(string(b[end+1:]))
		if len(f) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		utime, _ := strconv.ParseFloat(f[11], 64)
		stime, _ := strconv.ParseFloat(f[12], 64)
		procs[pid] = proc{ppid: ppid, name: string(b[open+1 : end]), ticks: utime + stime}
	}
	self := os.Getpid()
	out := cpuSeconds{}
	for pid, p := range procs {
		for a := pid; a > 1; a = procs[a].ppid {
			if a == self {
				name := p.name
				if pid == self {
					name = "kaiping"
				}
				out[name] += p.ticks / 100
				break
			}
			if _, ok := procs[a]; !ok {
				break
			}
		}
	}
	return out
}

// since is the CPU time used from before to c, by name.
func (c cpuSeconds) since(before cpuSeconds) cpuSeconds {
	out := cpuSeconds{}
	for name, t := range c {
		out[name] = t - before[name]
	}
	return out
}

// total is the CPU time of every process together.
func (c cpuSeconds) total() float64 {
	var t float64
	for _, s := range c {
		t += s
	}
	return t
}

// String lists the names by CPU time, largest first.
func (c cpuSeconds) String() string {
	names := make([]string, 0, len(c))
	for name := range c {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int { return cmp.Compare(c[b], c[a]) })
	parts := make([]string, len(names))
	for i, name := range names {
		parts[i] = fmt.Sprintf("%s %.1f", name, c[name])
	}
	if len(parts) == 0 {
		return "not measured (no /proc)"
	}
	return strings.Join(parts, ", ")
}
