package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// Param is one named value in a report (a parameter, a fact, a finding).
type Param struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Goal is a latency target: statistic On ("p50", "p95" or "p99") below Limit.
type Goal struct {
	On    string        `json:"on"`
	Limit time.Duration `json:"limit_ns"`
}

// Measurement is one latency distribution, optionally held against goals.
type Measurement struct {
	Name    string  `json:"name"`
	Summary Summary `json:"summary"`
	Goals   []Goal  `json:"goals,omitempty"`
}

// Result is what one scenario reports.
type Result struct {
	Scenario     string        `json:"scenario"`
	Description  string        `json:"description"`
	Command      string        `json:"command"`
	Params       []Param       `json:"params"`
	Facts        []Param       `json:"facts"`
	Measurements []Measurement `json:"measurements"`
	Notes        []string      `json:"notes,omitempty"`
	Plans        []Param       `json:"plans,omitempty"`
	Elapsed      time.Duration `json:"elapsed_ns"`
	Error        string        `json:"error,omitempty"`
}

// Report is the whole run.
type Report struct {
	Command  string    `json:"command"`
	Started  time.Time `json:"started"`
	Machine  Machine   `json:"machine"`
	Results  []*Result `json:"results"`
	Duration string    `json:"duration"`
}

// PrintHeader writes the machine block.
func PrintHeader(w io.Writer, r *Report) {
	m := r.Machine
	fmt.Fprintf(w, "IAM benchmark — %s\n", r.Started.Format(time.RFC3339))
	fmt.Fprintf(w, "command:  %s\n", r.Command)
	fmt.Fprintf(w, "machine:  nproc=%d GOMAXPROCS=%d, %s, %s RAM, kernel %s\n", m.NumCPU, m.GOMAXPROCS, m.CPUModel, m.MemTotal, m.Kernel)
	fmt.Fprintf(w, "software: %s %s, %s\n", m.GoVersion, m.OSArch, m.Postgres)
	fmt.Fprintln(w, "note:     client, server and PostgreSQL share these cores; the machine is shared and noisy (expect ±5–20 %).")
}

// PrintResult writes one scenario's section.
func PrintResult(w io.Writer, r *Result) {
	fmt.Fprintf(w, "\n=== %s — %s\n", r.Scenario, r.Description)
	fmt.Fprintf(w, "reproduce: %s\n", r.Command)
	if r.Error != "" {
		fmt.Fprintf(w, "FAILED after %s: %s\n", r.Elapsed.Round(time.Millisecond), r.Error)
	}
	printParams(w, "parameters", r.Params)
	printParams(w, "facts", r.Facts)
	if len(r.Measurements) > 0 {
		fmt.Fprintln(w, "latency (exact nearest-rank percentiles of successful operations):")
		printTable(w, r.Measurements)
	}
	for _, p := range r.Plans {
		fmt.Fprintf(w, "plan: %s\n", p.Key)
		for line := range strings.SplitSeq(strings.TrimRight(p.Value, "\n"), "\n") {
			fmt.Fprintf(w, "    %s\n", line)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "* %s\n", n)
	}
	fmt.Fprintf(w, "(scenario took %s)\n", r.Elapsed.Round(time.Millisecond))
}

func printParams(w io.Writer, title string, ps []Param) {
	if len(ps) == 0 {
		return
	}
	fmt.Fprintf(w, "%s:\n", title)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, p := range ps {
		fmt.Fprintf(tw, "  %s\t%s\n", p.Key, p.Value)
	}
	_ = tw.Flush()
}

func printTable(w io.Writer, ms []Measurement) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "  measurement\tn\terr\tmin\tp50\tp95\tp99\tmax\tthroughput\tvs goal\t")
	for _, m := range ms {
		s := m.Summary
		tput := ""
		if s.Throughput > 0 {
			tput = fmt.Sprintf("%.0f/s", s.Throughput)
		}
		fmt.Fprintf(tw, "  %s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", m.Name, s.Count, s.Errors,
			fmtDur(s.Min), fmtDur(s.P50), fmtDur(s.P95), fmtDur(s.P99), fmtDur(s.Max), tput, goalText(m))
	}
	_ = tw.Flush()
	for _, m := range ms {
		for _, e := range m.Summary.ErrSample {
			fmt.Fprintf(w, "  error in %s: %s\n", m.Name, e)
		}
	}
}

// goalText says how a measurement compares with its goals, e.g.
// "p99<500ms ok (0.12×)" or "p50<50ms MISSED (3.40×)": the ratio is the
// measured value over the limit.
func goalText(m Measurement) string {
	if m.Summary.Count == 0 {
		return ""
	}
	var parts []string
	for _, g := range m.Goals {
		v := m.Summary.P50
		switch g.On {
		case "p95":
			v = m.Summary.P95
		case "p99":
			v = m.Summary.P99
		}
		verdict := "ok"
		if v >= g.Limit {
			verdict = "MISSED"
		}
		parts = append(parts, fmt.Sprintf("%s<%s %s (%.2f×)", g.On, fmtDur(g.Limit), verdict, float64(v)/float64(g.Limit)))
	}
	return strings.Join(parts, "; ")
}

// fmtDur prints a duration with three significant digits.
func fmtDur(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < time.Microsecond:
		return fmt.Sprintf("%dns", d.Nanoseconds())
	case d < 10*time.Microsecond:
		return fmt.Sprintf("%.2fµs", float64(d)/float64(time.Microsecond))
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
}

// WriteJSON writes the report as indented JSON to path.
func WriteJSON(path string, r *Report) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("bench: encode report: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("bench: write report: %w", err)
	}
	return nil
}
