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
// nil (an empty cell). Numbers are aligned right and formatted at one
// precision per column (ColumnFormat), so that 0.5000 stands above 0.9094.
type Table struct {
	Caption   string
	Header    []string
	Rows      [][]any
	Highlight []int       // rows to highlight
	Best      []BestCol   // columns whose best cell is marked
	Precision map[int]int // decimals of a column instead of the automatic choice; key -1: every column
	Class     string      // an extra class for the <table> element (e.g. "results")
}

// BestCol asks for the best cell of a column to be marked: the highest, or
// the lowest when Lowest is set. Each column is judged on its own: a row
// may hold the best of one column and not of another.
type BestCol struct {
	Col    int
	Lowest bool
}

// Table appends a table.
func (r *Report) Table(t Table) error {
	if _, err := t.HTML(""); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return r.add(func(w io.Writer, id string) error {
		body, err := t.HTML(id)
		if err == nil {
			_, err = w.Write(body)
		}
		return err
	})
}

// HTML renders the table; id may be empty.
func (t Table) HTML(id string) ([]byte, error) {
	ncols := len(t.Header)
	for i, row := range t.Rows {
		if t.Header != nil && len(row) != len(t.Header) {
			return nil, fmt.Errorf("table row %d has %d cells, the header has %d", i, len(row), len(t.Header))
		}
		ncols = max(ncols, len(row))
	}
	hl := map[int]bool{}
	for _, i := range t.Highlight {
		if i < 0 || i >= len(t.Rows) {
			return nil, fmt.Errorf("highlighted row %d does not exist (the table has %d rows)", i, len(t.Rows))
		}
		hl[i] = true
	}
	best := map[[2]int]bool{}
	for _, bc := range t.Best {
		if bc.Col < 0 || bc.Col >= ncols {
			return nil, fmt.Errorf("best: column %d does not exist (the table has %d columns)", bc.Col, ncols)
		}
		for _, i := range BestRows(t.Rows, bc.Col, !bc.Lowest) {
			best[[2]int{i, bc.Col}] = true
		}
	}
	formats := make([]func(any) (string, bool), ncols)
	for j := range formats {
		prec, fixed := t.Precision[j]
		if !fixed {
			prec, fixed = t.Precision[-1]
		}
		if !fixed {
			prec = -1
		}
		formats[j] = ColumnFormat(t.Rows, j, prec)
	}
	var b bytes.Buffer
	class := "data"
	if t.Class != "" {
		class += " " + t.Class
	}
	b.WriteString("<table class=\"" + page.Escape(class) + "\"")
	if id != "" {
		fmt.Fprintf(&b, " id=\"%s\"", page.Escape(id))
	}
	b.WriteString(">")
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
			b.WriteString("<tr class=\"best\">")
		} else {
			b.WriteString("<tr>")
		}
		for j, c := range row {
			if l, ok := c.(Link); ok {
				fmt.Fprintf(&b, "<td><a href=\"%s\">%s</a></td>", page.Escape(l.Href), page.Escape(l.Text))
				continue
			}
			text, num := formats[j](c)
			var cls []string
			if num {
				cls = append(cls, "num")
			}
			if best[[2]int{i, j}] {
				cls = append(cls, "best")
			}
			if len(cls) > 0 {
				fmt.Fprintf(&b, "<td class=\"%s\">%s</td>", strings.Join(cls, " "), page.Escape(text))
			} else {
				fmt.Fprintf(&b, "<td>%s</td>", page.Escape(text))
			}
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</tbody></table>\n")
	return b.Bytes(), nil
}

// BestRows are the rows holding the highest (or lowest) number in column
// col: several when they tie. NaN and non-numbers never win.
func BestRows(rows [][]any, col int, highest bool) []int {
	var out []int
	bv := 0.0
	for i, row := range rows {
		if col >= len(row) {
			continue
		}
		f, ok := number(row[col])
		if !ok || math.IsNaN(f) {
			continue
		}
		switch {
		case len(out) == 0 || (highest && f > bv) || (!highest && f < bv):
			out, bv = []int{i}, f
		case f == bv:
			out = append(out, i)
		}
	}
	return out
}

// MeanStd is a cell of comparison tables: a mean and standard deviation
// over N values; Of, when above N, is how many there could have been.
type MeanStd struct {
	Stat
	Of int
}

// Link is a cell that links to a page.
type Link struct{ Text, Href string }

func number(c any) (float64, bool) {
	switch v := c.(type) {
	case MeanStd:
		return v.Mean, v.N > 0
	case float64:
		return v, true
	case float32:
		return float64(v), true
	case int64:
		return float64(v), true
	case int:
		return float64(v), true
	}
	return 0, false
}

// ColumnFormat returns the formatter of column col: integers as they are;
// floats with the same number of decimals down the column, enough for four
// significant digits of the column's largest magnitude (0.9094 and 0.5000;
// 12.35 and 0.50), or all in exponent notation when that magnitude is
// below 1e-3 or from 1e6 up. decimals >= 0 fixes the decimals instead.
// The second result says whether the cell is a number.
func ColumnFormat(rows [][]any, col, decimals int) func(any) (string, bool) {
	maxAbs, floats := 0.0, false
	for _, row := range rows {
		if col >= len(row) {
			continue
		}
		switch v := row[col].(type) {
		case float64, float32, MeanStd:
			f, _ := number(v)
			floats = true
			if !math.IsNaN(f) && !math.IsInf(f, 0) {
				maxAbs = math.Max(maxAbs, math.Abs(f))
			}
		}
	}
	exp := false
	if decimals < 0 {
		switch {
		case maxAbs == 0:
			decimals = 0
		case maxAbs < 1e-3 || maxAbs >= 1e6:
			exp, decimals = true, 2
		default:
			decimals = min(max(0, 3-int(math.Floor(math.Log10(maxAbs)))), 6)
		}
	}
	format := func(f float64) string {
		switch {
		case math.IsNaN(f):
			return "nan"
		case math.IsInf(f, 1):
			return "inf"
		case math.IsInf(f, -1):
			return "-inf"
		case exp:
			return strconv.FormatFloat(f, 'e', decimals, 64)
		}
		return strconv.FormatFloat(f, 'f', decimals, 64)
	}
	return func(c any) (string, bool) {
		if ms, ok := c.(MeanStd); ok {
			if ms.N == 0 {
				return "–", true
			}
			s := format(ms.Mean)
			if ms.N > 1 {
				s += " ± " + format(ms.Std)
			}
			if ms.Of > ms.N {
				s += fmt.Sprintf(" (%d of %d)", ms.N, ms.Of)
			}
			return s, true
		}
		f, ok := c.(float64)
		if v, is32 := c.(float32); is32 {
			f, ok = float64(v), true
		}
		if !ok || !floats {
			return FormatCell(c)
		}
		return format(f), true
	}
}

// FormatCell formats a table cell on its own and says whether it is a number.
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

// FormatNumber formats one float: four significant digits (0.7291, 12.35,
// 1235), exponent notation for very small or large magnitudes (1.2e-04),
// whole numbers without a fraction.
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
