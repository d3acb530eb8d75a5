// Command benchtable reads `go test -bench` output and prints one table per benchmark: a row per
// case, a column per metric, each the median over the runs (-count), with the number of runs.
// `make bench` pipes its results through it.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}

type row struct {
	name    string
	metrics map[string][]float64
	order   []string
}

// run parses benchmark lines ("BenchmarkX/case-2  N  v1 unit1  v2 unit2 ...") and prints.
func run(in io.Reader, out io.Writer) error {
	var families []string
	rows := map[string][]*row{} // family -> rows in first-seen order
	byName := map[string]*row{}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		name := f[0]
		if i := strings.LastIndex(name, "-"); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i] // the GOMAXPROCS suffix
			}
		}
		family, cas, _ := strings.Cut(name, "/")
		if cas == "" {
			cas = "-"
		}
		r := byName[name]
		if r == nil {
			r = &row{name: cas, metrics: map[string][]float64{}}
			byName[name] = r
			if _, ok := rows[family]; !ok {
				families = append(families, family)
			}
			rows[family] = append(rows[family], r)
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			unit := f[i+1]
			if _, ok := r.metrics[unit]; !ok {
				r.order = append(r.order, unit)
			}
			r.metrics[unit] = append(r.metrics[unit], v)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	for _, fam := range families {
		printTable(out, fam, rows[fam])
	}
	return nil
}

func printTable(out io.Writer, family string, rows []*row) {
	var units []string
	for _, r := range rows {
		for _, u := range r.order {
			if !slices.Contains(units, u) {
				units = append(units, u)
			}
		}
	}
	header := append([]string{"case", "runs"}, units...)
	cells := [][]string{header}
	for _, r := range rows {
		line := []string{r.name, ""}
		runs := 0
		for _, u := range units {
			vs := r.metrics[u]
			runs = max(runs, len(vs))
			if len(vs) == 0 {
				line = append(line, "")
				continue
			}
			line = append(line, format(median(vs)))
		}
		line[1] = strconv.Itoa(runs)
		cells = append(cells, line)
	}
	width := make([]int, len(header))
	for _, l := range cells {
		for i, c := range l {
			width[i] = max(width[i], len(c))
		}
	}
	fmt.Fprintf(out, "\n%s (medians)\n", family)
	for _, l := range cells {
		for i, c := range l {
			if i == 0 {
				fmt.Fprintf(out, "  %-*s", width[i], c)
			} else {
				fmt.Fprintf(out, "  %*s", width[i], c)
			}
		}
		fmt.Fprintln(out)
	}
}

func median(vs []float64) float64 {
	s := slices.Clone(vs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func format(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 1000 || v == float64(int64(v)):
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case v >= 0.1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}
