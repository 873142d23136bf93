// tagindex's side of the interop tests (tests/interop/run.sh): writes
// portable Roaring files of random sets with tagindex, and reads files that
// another Roaring implementation wrote, checking them against the set each
// file came with. Public API only (Index::ExportRows, ParsePortableRows).
//
//   interop_tool write DIR PREFIX SEED   DIR/PREFIX_NN.bin + DIR/PREFIX_NN.txt
//   interop_tool read  DIR PREFIX        checks every DIR/PREFIX_NN.bin
//
// A .txt file is the oracle: a header line "# shape=NAME runs=0|1" then one
// value per line, ascending. runs=1 says the writer stored run containers,
// which the reader checks in the file's cookie (12347: a run bitmap follows).
// Exit 0 when everything matches; 1 with the seed, file and first difference.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tagindex/tagindex.h"

namespace {

using tagindex::RowId;

struct Shape {
  std::string name;
  bool runs;  // the portable file must hold run containers
  std::vector<RowId> rows;
};

// Random sets of every container kind and at the edges of the 32-bit range.
std::vector<Shape> MakeShapes(uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto below = [&](uint64_t n) { return static_cast<uint32_t>(rng() % n); };
  std::vector<Shape> shapes;
  auto add = [&](std::string name, bool runs, std::set<RowId> values) {
    shapes.push_back({std::move(name), runs, {values.begin(), values.end()}});
  };
  add("empty", false, {});
  add("zero", false, {0});
  add("max", false, {UINT32_MAX});
  {
    std::set<RowId> s;  // array containers spread over the whole range
    while (s.size() < 1000 + below(1000)) s.insert(static_cast<RowId>(rng()));
    add("sparse", false, std::move(s));
  }
  {
    std::set<RowId> s;  // one bitmap container (more than 4096 values, no runs)
    const uint32_t base = below(60000) << 16;
    while (s.size() < 20000 + below(10000)) s.insert(base + below(65536));
    add("dense", false, std::move(s));
  }
  {
    std::set<RowId> s;  // exactly 4096 and 4097 values: the array/bitmap edge
    const uint32_t base = below(60000) << 16;
    for (uint32_t v = 0; v < 4096; ++v) s.insert(base + 2 * v);
    add("edge4096", false, s);
    s.insert(base + 2 * 4096);
    add("edge4097", false, std::move(s));
  }
  {
    std::set<RowId> s;  // full containers, one at the top of the range
    const uint32_t base = (1 + below(1000)) << 16;
    for (uint32_t v = 0; v < 65536; ++v) s.insert(base + v);
    for (uint32_t v = 0; v < 65536; ++v) s.insert(0xFFFF0000u + v);
    add("full", true, std::move(s));
  }
  {
    std::set<RowId> s;  // long runs across container boundaries
    for (int r = 0; r < 40; ++r) {
      const uint32_t start = static_cast<uint32_t>(rng());
      const uint32_t length = 100 + below(5000);
      for (uint32_t v = 0; v < length && start + v >= start; ++v) s.insert(start + v);
    }
    add("runs", true, std::move(s));
  }
  {
    std::set<RowId> s;  // runs, sparse values and a dense block in a few containers
    const uint32_t base = below(1000) << 16;
    for (uint32_t v = 0; v < 30000; ++v) s.insert(base + 1000 + v);
    for (int i = 0; i < 300; ++i) s.insert(base + (1 << 16) + below(65536));
    for (int i = 0; i < 9000; ++i) s.insert(base + (2 << 16) + below(65536));
    for (uint32_t v = 0; v < 2000; ++v) s.insert(UINT32_MAX - v);
    add("mixed", true, std::move(s));
  }
  return shapes;
}

std::string Name(const std::string& dir, const std::string& prefix, size_t i, const char* suffix) {
  char number[16];
  std::snprintf(number, sizeof number, "%02zu", i);
  return dir + "/" + prefix + "_" + number + suffix;
}

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

bool CookieSaysRuns(const std::string& blob) {
  if (blob.size() < 4) return false;
  uint32_t cookie;
  std::memcpy(&cookie, blob.data(), 4);  // little endian, as the format is
  return (cookie & 0xFFFF) == 12347;
}

int Write(const std::string& dir, const std::string& prefix, uint64_t seed) {
  std::vector<Shape> shapes = MakeShapes(seed);
  for (size_t i = 0; i < shapes.size(); ++i) {
    const Shape& shape = shapes[i];
    const std::string blob = tagindex::Index::ExportRows(shape.rows);
    std::ofstream bin(Name(dir, prefix, i, ".bin"), std::ios::binary);
    bin.write(blob.data(), static_cast<std::streamsize>(blob.size()));
    std::ofstream txt(Name(dir, prefix, i, ".txt"));
    txt << "# shape=" << shape.name << " runs=" << (shape.runs ? 1 : 0) << "\n";
    for (RowId r : shape.rows) txt << r << "\n";
    if (!bin || !txt) {
      std::fprintf(stderr, "interop_tool: cannot write %s\n", Name(dir, prefix, i, "").c_str());
      return 1;
    }
  }
  std::printf("tagindex wrote %zu portable files (seed %llu)\n", shapes.size(),
              static_cast<unsigned long long>(seed));
  return 0;
}

int Read(const std::string& dir, const std::string& prefix) {
  size_t files = 0, values = 0, with_runs = 0;
  for (size_t i = 0;; ++i) {
    std::string blob, text;
    if (!ReadFile(Name(dir, prefix, i, ".bin"), &blob)) break;
    const std::string txt_name = Name(dir, prefix, i, ".txt");
    if (!ReadFile(txt_name, &text)) {
      std::fprintf(stderr, "interop_tool: %s is missing\n", txt_name.c_str());
      return 1;
    }
    std::istringstream in(text);
    std::string header;
    std::getline(in, header);
    std::vector<RowId> expected{std::istream_iterator<RowId>(in), std::istream_iterator<RowId>()};
    const std::string where = Name(dir, prefix, i, ".bin") + " (" + header + ")";
    auto rows = tagindex::Index::ParsePortableRows({blob.data(), blob.size()});
    if (!rows.ok()) {
      std::fprintf(stderr, "interop_tool: %s: %s\n", where.c_str(),
                   rows.status().ToString().c_str());
      return 1;
    }
    if (*rows != expected) {
      auto [a, b] = std::mismatch(rows->begin(), rows->end(), expected.begin(), expected.end());
      std::fprintf(stderr,
                   "interop_tool: %s: %zu values read, %zu expected; first difference "
                   "at index %zu\n",
                   where.c_str(), rows->size(), expected.size(),
                   static_cast<size_t>(a - rows->begin()));
      return 1;
    }
    const bool runs = header.find("runs=1") != std::string::npos;
    if (runs != CookieSaysRuns(blob)) {
      std::fprintf(stderr, "interop_tool: %s: the file %s run containers\n", where.c_str(),
                   runs ? "lacks the expected" : "unexpectedly has");
      return 1;
    }
    ++files;
    values += expected.size();
    with_runs += runs ? 1 : 0;
  }
  if (files == 0) {
    std::fprintf(stderr, "interop_tool: no %s/%s_NN.bin files to read\n", dir.c_str(),
                 prefix.c_str());
    return 1;
  }
  std::printf("tagindex read %zu files (%zu values, %zu with run containers) as written\n", files,
              values, with_runs);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 5 && std::strcmp(argv[1], "write") == 0) {
    return Write(argv[2], argv[3], std::strtoull(argv[4], nullptr, 10));
  }
  if (argc == 4 && std::strcmp(argv[1], "read") == 0) return Read(argv[2], argv[3]);
  std::fprintf(stderr, "usage: interop_tool write DIR PREFIX SEED | read DIR PREFIX\n");
  return 2;
}
