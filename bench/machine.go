package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

// Machine describes where the benchmark ran.
type Machine struct {
	NumCPU     int    `json:"nproc"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	CPUModel   string `json:"cpu_model"`
	MemTotal   string `json:"mem_total"`
	Kernel     string `json:"kernel"`
	GoVersion  string `json:"go_version"`
	OSArch     string `json:"os_arch"`
	Postgres   string `json:"postgres"`
}

// DescribeMachine gathers the machine facts; missing ones are left empty.
func DescribeMachine() Machine {
	m := Machine{
		NumCPU:     runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		GoVersion:  runtime.Version(),
		OSArch:     runtime.GOOS + "/" + runtime.GOARCH,
		CPUModel:   procField("/proc/cpuinfo", "model name"),
		MemTotal:   procField("/proc/meminfo", "MemTotal"),
		Postgres:   postgresVersion(),
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

// procField returns the value of the first "key: value" line of a /proc file.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// postgresVersion asks the server binary pgcluster would pick (same search
// order: IAM_PG_BINDIR, the newest /usr/lib/postgresql/*/bin, PATH).
func postgresVersion() string {
	dirs := []string{os.Getenv("IAM_PG_BINDIR")}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(found, func(a, b string) int { return pgMajor(b) - pgMajor(a) })
	dirs = append(dirs, found...)
	for _, d := range dirs {
		if d == "" {
			continue
		}
		if out, err := exec.Command(filepath.Join(d, "postgres"), "--version").Output(); err == nil {
			return strings.TrimSpace(string(out))
		}
	}
	if out, err := exec.Command("postgres", "--version").Output(); err == nil {
		return strings.TrimSpace(string(out))
	}
	return "unknown"
}

func pgMajor(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}
