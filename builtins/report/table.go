package report

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/dadash/dadash/internal/page"
)

// Table is a table block. Cells are strings, integers, floats, bools or
// nil (an empty cell); numbers are formatted by FormatNumber and aligned
// right.
type Table struct {
	Caption   string
	Header    []string
	Rows      [][]any
	Highlight []int // rows to highlight (e.g. the best epoch)
}

// Table appends a table.
func (r *Report) Table(t Table) error {
	for i, row := range t.Rows {
		if t.Header != nil && len(row) != len(t.Header) {
			return fmt.Errorf("report: table row %d has %d cells, the header has %d", i, len(row), len(t.Header))
		}
	}
	hl := map[int]bool{}
	for _, i := range t.Highlight {
		if i < 0 || i >= len(t.Rows) {
			return fmt.Errorf("report: highlighted row %d does not exist (the table has %d rows)", i, len(t.Rows))
		}
		hl[i] = true
	}
	return r.add(func(w io.Writer, id string) error {
		var b bytes.Buffer
		fmt.Fprintf(&b, "<table class=\"data\" id=\"%s\">", id)
		if t.Caption != "" {
			fmt.Fprintf(&b, "<caption>%s</caption>", page.Escape(t.Caption))
		}
		if t.Header != nil {
			b.WriteString("<thead><tr>")
			for _, h := range t.Header {
				fmt.Fprintf(&b, "<th>%s</th>", page.Escape(h))
			}
			b.WriteString("</tr></thead>")
		}
		b.WriteString("<tbody>\n")
		for i, row := range t.Rows {
			if hl[i] {
				b.WriteString("<tr class=\"best\" title=\"best\">")
			} else {
				b.WriteString("<tr>")
			}
			for _, c := range row {
				text, num := FormatCell(c)
				if num {
					fmt.Fprintf(&b, "<td class=\"num\">%s</td>", page.Escape(text))
				} else {
					fmt.Fprintf(&b, "<td>%s</td>", page.Escape(text))
				}
			}
			b.WriteString("</tr>\n")
		}
		b.WriteString("</tbody></table>\n")
		_, err := w.Write(b.Bytes())
		return err
	})
}

// FormatCell formats a table cell and says whether it is a number.
func FormatCell(c any) (string, bool) {
	switch v := c.(type) {
	case nil:
		return "", false
	case string:
		return v, false
	case bool:
		if v {
			return "True", false
		}
		return "False", false
	case int:
		return strconv.Itoa(v), true
	case int64:
		return strconv.FormatInt(v, 10), true
	case float32:
		return FormatNumber(float64(v)), true
	case float64:
		return FormatNumber(v), true
	case fmt.Stringer:
		return v.String(), false
	}
	return fmt.Sprint(c), false
}

// FormatNumber formats a float for a table: four significant digits
// (0.7291, 12.35, 1235), exponent notation for very small or large
// magnitudes (1.2e-04), whole numbers without a fraction.
func FormatNumber(v float64) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	case v == 0:
		return "0"
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	a := math.Abs(v)
	if a < 1e-3 || a >= 1e6 {
		s := strconv.FormatFloat(v, 'e', 3, 64)
		mant, exp, _ := strings.Cut(s, "e")
		if strings.Contains(mant, ".") {
			mant = strings.TrimRight(strings.TrimRight(mant, "0"), ".")
		}
		return mant + "e" + exp
	}
	digits := max(0, 3-int(math.Floor(math.Log10(a))))
	s := strconv.FormatFloat(v, 'f', digits, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}
