package pdfdoc

// The table's text: 9 points on 12-point lines, 3 points inside each cell's border.
const (
	tableSize    = 9.0
	tableLeading = 12.0
	cellPad      = 3.0
)

// Table is a table being written row by row: rows stream onto the pages, so a table of
// thousands of rows (a report's score sheet) costs memory for the PDF only, not for the rows.
type Table struct {
	d      *Document
	widths []float64
	head   []string
}

// Table starts a table with columns of the given widths (points; see ContentWidth) and
// writes its shaded head, which every page the table spans repeats.
func (d *Document) Table(widths []float64, head []string) *Table {
	t := &Table{d: d, widths: widths, head: head}
	t.row(head, true)
	return t
}

// Row writes one row, each cell wrapped to its column; a cell missing at the end is empty
// and one beyond the columns is dropped. A row never splits across pages.
func (t *Table) Row(cells ...string) {
	t.row(cells, false)
}

func (t *Table) row(r []string, head bool) {
	d := t.d
	if d.err != nil {
		return
	}
	cells := make([][]string, len(t.widths))
	lines := 1
	for i := range t.widths {
		if i < len(r) {
			cells[i] = d.fs.Wrap(r[i], t.widths[i]-2*cellPad, tableSize)
		}
		lines = max(lines, len(cells[i]))
	}
	h := float64(lines)*tableLeading + 2*cellPad
	if d.room(h) && !head {
		t.row(t.head, true)
	}
	x := d.margin
	for i, c := range cells {
		if head {
			// The fill colour is also the text's: back to black once the cell is shaded.
			d.pdf.SetFillColor(232, 232, 232)
			d.pdf.RectFromUpperLeftWithStyle(x, d.y, t.widths[i], h, "FD")
			d.pdf.SetFillColor(0, 0, 0)
		} else {
			d.pdf.RectFromUpperLeftWithStyle(x, d.y, t.widths[i], h, "D")
		}
		for j, line := range c {
			d.text(x+cellPad, d.y+cellPad+float64(j)*tableLeading, line, tableSize)
		}
		x += t.widths[i]
	}
	d.y += h
}

// Widths shares total among columns: fixed gives the width of some columns (0: shares the
// rest equally with the other zero columns).
func Widths(total float64, fixed ...float64) []float64 {
	rest, free := total, 0
	for _, w := range fixed {
		rest -= w
		if w == 0 {
			free++
		}
	}
	out := make([]float64, len(fixed))
	for i, w := range fixed {
		if w == 0 {
			w = rest / float64(free)
		}
		out[i] = w
	}
	return out
}
