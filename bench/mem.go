package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// MemSample is the memory of this process (Go runtime view and kernel view).
type MemSample struct {
	HeapAlloc  uint64 `json:"heap_alloc_bytes"`
	HeapSys    uint64 `json:"heap_sys_bytes"`
	Sys        uint64 `json:"sys_bytes"`
	TotalAlloc uint64 `json:"total_alloc_bytes"`
	NumGC      uint32 `json:"num_gc"`
	RSS        uint64 `json:"rss_bytes"`
	PeakRSS    uint64 `json:"peak_rss_bytes"`
}

// SampleSelf reads runtime.MemStats (a brief stop-the-world) and /proc/self.
func SampleSelf() MemSample {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss, peak, _ := ProcRSS(os.Getpid())
	return MemSample{HeapAlloc: ms.HeapAlloc, HeapSys: ms.HeapSys, Sys: ms.Sys,
		TotalAlloc: ms.TotalAlloc, NumGC: ms.NumGC, RSS: rss, PeakRSS: peak}
}

// ProcRSS returns the resident set size and its high-water mark of process
// pid from /proc/<pid>/status (VmRSS, VmHWM). Linux only.
func ProcRSS(pid int) (rss, peak uint64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch k {
		case "VmRSS":
			rss = parseKB(v)
		case "VmHWM":
			peak = parseKB(v)
		}
	}
	return rss, peak, nil
}

func parseKB(v string) uint64 {
	n, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
	return n * 1024
}

// MiB formats a byte count in mebibytes.
func MiB(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// memFacts describes the change between two samples of this process.
func memFacts(before, after MemSample) []Param {
	return []Param{
		{"bench process RSS (after / peak)", MiB(after.RSS) + " / " + MiB(after.PeakRSS)},
		{"Go heap in use (before → after)", MiB(before.HeapAlloc) + " → " + MiB(after.HeapAlloc)},
		{"Go allocated during scenario", MiB(after.TotalAlloc - before.TotalAlloc)},
		{"GC cycles during scenario", strconv.Itoa(int(after.NumGC - before.NumGC))},
	}
}
