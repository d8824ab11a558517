package sample

import "testing"

func TestClamp(t *testing.T) {
	for _, c := range []struct{ v, want int }{{-1, 0}, {3, 3}, {7, 5}} {
		if got := Clamp(c.v, 5); got != c.want {
			t.Errorf("Clamp(%d, 5) = %d, want %d", c.v, got, c.want)
		}
	}
}

func TestSum(t *testing.T) {
	if got := Sum(3); got != 6 {
		t.Errorf("Sum(3) = %d, want 6", got)
	}
}
