package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Options are the command-line settings shared by all scenarios.
type Options struct {
	Scenarios      string
	Quick          bool
	JSONPath       string
	Timeout        time.Duration
	Verbose        bool
	SubtreeSizes   []int
	SubtreeReps    int
	LoadWorkers    int
	MutDuration    time.Duration
	MutConcurrency []int
	MutMaxOps      int
	ColdRuns       int
	// Signin holds the flags of the sign-in scenarios (signin.go).
	Signin SigninOptions
	// Delta holds the flags of the delta scenarios (scen_deltas.go).
	Delta DeltaOptions
	// Decide holds the flags of the edge decision scenarios (scen_decisions.go).
	Decide DecideOptions
	// Device holds the flags of the device sync scenario (scen_devices.go).
	Device DeviceOptions

	// explicit holds the flags given on the command line (name=value), for
	// the per-scenario reproduce command.
	explicit []string
}

// reproduce returns the command that runs only scenario name with the same
// explicit flags.
func (o Options) reproduce(name string) string {
	parts := []string{"go run ./bench -scenario " + name}
	parts = append(parts, o.explicit...)
	return strings.Join(parts, " ")
}

func main() {
	if os.Getenv(devClientEnv) != "" {
		// A device client process of the device-sync scenario.
		os.Exit(runDeviceClientProcess())
	}
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	opts, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	selected, err := selectScenarios(opts.Scenarios)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if !opts.Verbose {
		level = slog.LevelWarn
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()

	env := &Env{Opts: opts, Log: log}
	defer env.Close()
	rep := &Report{Command: "go run ./bench " + strings.Join(args, " "), Started: time.Now(), Machine: DescribeMachine()}
	rep.Command = strings.TrimSpace(rep.Command)
	PrintHeader(stdout, rep)
	failed := 0
	for _, s := range selected {
		fmt.Fprintf(stderr, "bench: running %s …\n", s.Name)
		res := runScenario(ctx, env, s)
		rep.Results = append(rep.Results, res)
		PrintResult(stdout, res)
		if res.Error != "" {
			failed++
		}
		if ctx.Err() != nil {
			break
		}
	}
	rep.Duration = time.Since(rep.Started).Round(time.Millisecond).String()
	fmt.Fprintf(stdout, "\ntotal: %s\n", rep.Duration)
	if opts.JSONPath != "" {
		if err := WriteJSON(opts.JSONPath, rep); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "JSON report written to %s\n", opts.JSONPath)
	}
	if failed > 0 {
		return fmt.Errorf("%d scenario(s) failed", failed)
	}
	return ctx.Err()
}

func parseFlags(args []string, stderr io.Writer) (Options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o Options
	var sizes, conc string
	fs.StringVar(&o.Scenarios, "scenario", "", "comma-separated scenarios to run (default: the foundation set: "+scenarioNames()+")")
	fs.BoolVar(&o.Quick, "quick", false, "shrink sizes and durations for a smoke run")
	fs.StringVar(&o.JSONPath, "json", "", "also write the report as JSON to this file")
	fs.DurationVar(&o.Timeout, "timeout", 30*time.Minute, "abort the whole run after this long")
	fs.BoolVar(&o.Verbose, "v", false, "log progress (info level) to stderr")
	fs.StringVar(&sizes, "subtree-sizes", "", "subtree: organization counts (default 1000,100000; -quick 1000,5000)")
	fs.IntVar(&o.SubtreeReps, "subtree-reps", 0, "subtree: full listings per size and layer (0: 20 below 10,000 orgs, else 5; -quick 3)")
	fs.IntVar(&o.LoadWorkers, "load-workers", 2, "subtree: concurrent transactions that load the tree")
	fs.DurationVar(&o.MutDuration, "mut-duration", 0, "mutations: measured time per kind and concurrency (default 10s; -quick 2s)")
	fs.StringVar(&conc, "mut-concurrency", "1,8,32", "mutations: client counts")
	fs.IntVar(&o.MutMaxOps, "mut-max", 100000, "mutations: cap on requests per kind and concurrency")
	fs.IntVar(&o.ColdRuns, "coldstart-runs", 0, "coldstart: runs each of fresh and warm (default 3; -quick 1)")
	registerSigninFlags(fs, &o.Signin)
	registerDeltaFlags(fs, &o.Delta)
	registerDecideFlags(fs, &o.Decide)
	registerDeviceFlags(fs, &o.Device)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: go run ./bench [flags]   (see bench/README.md)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name != "scenario" && f.Name != "json" && f.Name != "v" && f.Name != "cpuprofile" {
			o.explicit = append(o.explicit, "-"+f.Name+"="+f.Value.String())
		}
	})
	var err error
	if o.SubtreeSizes, err = intList(sizes, o.Quick, "1000,100000", "1000,5000"); err != nil {
		return o, fmt.Errorf("-subtree-sizes: %w", err)
	}
	if o.MutConcurrency, err = intList(conc, o.Quick, "1,8,32", "1,8,32"); err != nil {
		return o, fmt.Errorf("-mut-concurrency: %w", err)
	}
	if o.MutDuration == 0 {
		o.MutDuration = pick(o.Quick, 2*time.Second, 10*time.Second)
	}
	if o.ColdRuns == 0 {
		o.ColdRuns = pick(o.Quick, 1, 3)
	}
	if err := o.Signin.setDefaults(o.Quick); err != nil {
		return o, err
	}
	if err := o.Delta.setDefaults(o.Quick); err != nil {
		return o, err
	}
	if err := o.Decide.setDefaults(o.Quick); err != nil {
		return o, err
	}
	if err := o.Device.setDefaults(o.Quick); err != nil {
		return o, err
	}
	if o.LoadWorkers < 1 || o.MutMaxOps < 1 {
		return o, fmt.Errorf("-load-workers and -mut-max must be positive")
	}
	return o, nil
}

func pick[T any](quick bool, q, full T) T {
	if quick {
		return q
	}
	return full
}

// intList parses "a,b,c" of positive integers; "" takes the default.
func intList(s string, quick bool, def, quickDef string) ([]int, error) {
	if s == "" {
		s = pick(quick, quickDef, def)
	}
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("want positive integers, got %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}
