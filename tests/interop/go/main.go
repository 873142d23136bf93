// The Go Roaring side of the interop tests (tests/interop/run.sh), built at
// test time against Debian's golang-github-roaringbitmap-roaring-dev:
//
//	go_interop write DIR PREFIX SEED   DIR/PREFIX_NN.bin + DIR/PREFIX_NN.txt
//	go_interop read  DIR PREFIX        checks every DIR/PREFIX_NN.bin
//
// A .txt file is the oracle: "# shape=NAME runs=0|1", then one value per
// line, ascending. runs=1: the file holds run containers (cookie 12347).
package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/RoaringBitmap/roaring"
)

type shape struct {
	name   string
	runs   bool // RunOptimize before writing: the file must hold runs
	values map[uint32]bool
}

// Sets of every container kind, drawn by Go's own generator.
func makeShapes(seed int64) []shape {
	rng := rand.New(rand.NewSource(seed))
	var shapes []shape
	add := func(name string, runs bool, values map[uint32]bool) {
		shapes = append(shapes, shape{name, runs, values})
	}
	add("empty", false, map[uint32]bool{})
	add("top", false, map[uint32]bool{0xFFFFFFFF: true, 0: true})
	sparse := map[uint32]bool{}
	for len(sparse) < 500+rng.Intn(2000) {
		sparse[rng.Uint32()] = true
	}
	add("sparse", false, sparse)
	dense := map[uint32]bool{} // bitmap containers, written as they are
	for c := 0; c < 3; c++ {
		base := uint32(rng.Intn(65536)) << 16
		for len(dense) < (c+1)*(5000+rng.Intn(20000)) {
			dense[base+uint32(rng.Intn(65536))] = true
		}
	}
	add("dense", false, dense)
	runs := map[uint32]bool{}
	for r := 0; r < 60; r++ {
		start := rng.Uint32()
		length := 50 + rng.Intn(8000)
		for v := 0; v < length && start+uint32(v) >= start; v++ {
			runs[start+uint32(v)] = true
		}
	}
	add("runs", true, runs)
	full := map[uint32]bool{}
	base := uint32(1+rng.Intn(60000)) << 16
	for v := uint32(0); v < 65536; v++ {
		full[base+v] = true
		full[0xFFFF0000+v] = true
	}
	add("full", true, full)
	mixed := map[uint32]bool{} // a run container beside array and bitmap ones
	base = uint32(rng.Intn(60000)) << 16
	for v := uint32(0); v < 20000; v++ {
		mixed[base+500+v] = true
	}
	for i := 0; i < 200; i++ {
		mixed[base+1<<16+uint32(rng.Intn(65536))] = true
	}
	for i := 0; i < 10000; i++ {
		mixed[base+2<<16+uint32(rng.Intn(65536))] = true
	}
	add("mixed", true, mixed)
	return shapes
}

func name(dir, prefix string, i int, suffix string) string {
	return fmt.Sprintf("%s/%s_%02d%s", dir, prefix, i, suffix)
}

func sorted(values map[uint32]bool) []uint32 {
	out := make([]uint32, 0, len(values))
	for v := range values {
		out = append(out, v)
	}
	sort.Slice(out, func(a, b int) bool { return out[a] < out[b] })
	return out
}

func cookieSaysRuns(blob []byte) bool {
	return len(blob) >= 4 && binary.LittleEndian.Uint32(blob)&0xFFFF == 12347
}

func write(dir, prefix string, seed int64) error {
	shapes := makeShapes(seed)
	for i, s := range shapes {
		values := sorted(s.values)
		rb := roaring.BitmapOf(values...)
		if s.runs {
			rb.RunOptimize()
		}
		var blob bytes.Buffer
		if _, err := rb.WriteTo(&blob); err != nil {
			return err
		}
		if err := os.WriteFile(name(dir, prefix, i, ".bin"), blob.Bytes(), 0o644); err != nil {
			return err
		}
		var text strings.Builder
		runs := 0
		if s.runs {
			runs = 1
		}
		fmt.Fprintf(&text, "# shape=%s runs=%d\n", s.name, runs)
		for _, v := range values {
			text.WriteString(strconv.FormatUint(uint64(v), 10))
			text.WriteByte('\n')
		}
		if err := os.WriteFile(name(dir, prefix, i, ".txt"), []byte(text.String()), 0o644); err != nil {
			return err
		}
	}
	fmt.Printf("Go Roaring wrote %d portable files (seed %d)\n", len(shapes), seed)
	return nil
}

func read(dir, prefix string) error {
	files, total, withRuns := 0, 0, 0
	for i := 0; ; i++ {
		blob, err := os.ReadFile(name(dir, prefix, i, ".bin"))
		if err != nil {
			break
		}
		text, err := os.Open(name(dir, prefix, i, ".txt"))
		if err != nil {
			return err
		}
		scanner := bufio.NewScanner(text)
		scanner.Scan()
		header := scanner.Text()
		var expected []uint32
		for scanner.Scan() {
			v, err := strconv.ParseUint(scanner.Text(), 10, 32)
			if err != nil {
				return err
			}
			expected = append(expected, uint32(v))
		}
		text.Close()
		where := fmt.Sprintf("%s (%s)", name(dir, prefix, i, ".bin"), header)
		rb := roaring.New()
		if _, err := rb.FromBuffer(blob); err != nil {
			return fmt.Errorf("%s: Go Roaring cannot read it: %v", where, err)
		}
		got := rb.ToArray()
		if len(got) != len(expected) {
			return fmt.Errorf("%s: %d values read, %d expected", where, len(got), len(expected))
		}
		for k := range got {
			if got[k] != expected[k] {
				return fmt.Errorf("%s: value %d is %d, expected %d", where, k, got[k], expected[k])
			}
		}
		runs := strings.Contains(header, "runs=1")
		if runs != cookieSaysRuns(blob) || runs != rb.HasRunCompression() {
			return fmt.Errorf("%s: run containers expected %v, cookie says %v, Go sees %v",
				where, runs, cookieSaysRuns(blob), rb.HasRunCompression())
		}
		files++
		total += len(expected)
		if runs {
			withRuns++
		}
	}
	if files == 0 {
		return fmt.Errorf("no %s/%s_NN.bin files to read", dir, prefix)
	}
	fmt.Printf("Go Roaring read %d files (%d values, %d with run containers) as written\n",
		files, total, withRuns)
	return nil
}

func main() {
	var err error
	switch {
	case len(os.Args) == 5 && os.Args[1] == "write":
		var seed int64
		seed, err = strconv.ParseInt(os.Args[4], 10, 64)
		if err == nil {
			err = write(os.Args[2], os.Args[3], seed)
		}
	case len(os.Args) == 4 && os.Args[1] == "read":
		err = read(os.Args[2], os.Args[3])
	default:
		err = fmt.Errorf("usage: go_interop write DIR PREFIX SEED | read DIR PREFIX")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "go_interop:", err)
		os.Exit(1)
	}
}
