package main

import (
	"fmt"
	"strings"

	"github.com/dadash/dadash/builtins/report"
	"github.com/dadash/dadash/internal/page"
)

// dadash compare: one page comparing training runs, grouped by settings
// with the spread over seeds.
func init() {
	addCommand(&command{"compare", "DIR... [-o page.html]", "compare training runs (mean and spread over seeds) on one page", (*cli).compareCommand})
	// Pages record which dadash wrote them.
	page.SetVersion(versionString)
}

const compareUsage = `usage: dadash compare DIR... [-o page.html] [--title TITLE]

Reads the runs in the folders given (a folder holding log.csv, as the training loop writes
it, or a folder of such runs, searched three levels down; runs in progress count with the
epochs they have), groups the runs whose settings differ only by seed, and writes one page:
the final and best value of each metric per group as mean ± standard deviation with the
count, the metric curves with the spread over each group's runs, the settings in which the
groups differ, and the runs with links to their own pages.

Flags:
  -o, --output PAGE   where to write the page (default compare.html)
  --title TITLE       the page's title (default "Comparison of N runs")
`

func (c *cli) compareCommand(args []string) int {
	out, title := "compare.html", ""
	var dirs []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		value := func() (string, error) {
			if k, v, ok := strings.Cut(a, "="); ok && strings.HasPrefix(k, "-") {
				return v, nil
			}
			if i+1 == len(args) {
				return "", usagef("compare: %s needs a value (see dadash compare --help)", a)
			}
			i++
			return args[i], nil
		}
		name, _, _ := strings.Cut(a, "=")
		var err error
		switch {
		case a == "-h" || a == "--help":
			fmt.Fprint(c.stdout, compareUsage)
			return exitOK
		case name == "-o" || name == "--output" || name == "-output":
			out, err = value()
		case name == "--title" || name == "-title":
			title, err = value()
		case a == "--":
			dirs = append(dirs, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(a, "-") && a != "-":
			err = usagef("compare: unknown flag %s (see dadash compare --help)", a)
		default:
			dirs = append(dirs, a)
		}
		if err != nil {
			return c.fail(err)
		}
	}
	if len(dirs) == 0 {
		return c.fail(usagef("compare: give the run folders to compare (usage: dadash compare DIR... [-o page.html])"))
	}
	cmp, err := report.Compare(dirs)
	if err != nil {
		fmt.Fprintf(c.stderr, "dadash compare: %v\n", err)
		return exitError
	}
	if err := report.WriteComparison(cmp, out, title); err != nil {
		fmt.Fprintf(c.stderr, "dadash compare: writing %s: %v\n", out, err)
		return exitError
	}
	fmt.Fprintf(c.stdout, "%d run%s in %d group%s", len(cmp.Runs), plural(len(cmp.Runs)), len(cmp.Groups), plural(len(cmp.Groups)))
	if len(cmp.LeftOut) > 0 {
		fmt.Fprintf(c.stdout, "; left out (not in every run): %s", strings.Join(cmp.LeftOut, ", "))
	}
	fmt.Fprintf(c.stdout, "\ncompare: %s\n", out)
	return exitOK
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
