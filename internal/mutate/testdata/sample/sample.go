// Package sample is what the mutator's own test mutates: its tests kill some mutants and
// miss others, on purpose.
package sample

// Clamp limits v to [0, max].
func Clamp(v, max int) int {
	if v < 0 {
		return 0
	}
	if v > max {
		return max
	}
	return v
}

// Sum adds 1 to n.
func Sum(n int) int {
	s := 0
	for i := 1; i <= n; i = i + 1 {
		s += i
	}
	return s
}

// full is the largest byte: one more does not compile.
const full byte = 255
