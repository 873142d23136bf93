// The files every runner of bench/compare.sh reads, and the timing and
// output helpers they share. Header-only and dependency-free: it is
// included by the generator and the tagindex runner (CMake), the peers
// runner (SQLite, PostgreSQL, Redis; CMake) and the CRoaring runner (built
// by compare.sh from the npm package's CRoaring sources, never linked with
// tagindex).
//
// tags.bin:    "TGCMP01\n", u32 customers, u32 tags, then per tag
//              u32 count and `count` ascending u32 row ids (little endian).
// queries.tsv: one query a line: name \t shape \t bucket \t tag,tag,...
//              shapes: and2 (A AND B), andnot3 (A AND B AND NOT C),
//              mat3 (materialise A AND B AND NOT C and iterate the ids),
//              andor (A AND (B1 OR ... OR Bk)), andall (A AND B AND ...),
//              and the real-data shapes pairs_and, pairs_or,
//              pairs_andcount (over successive tags i, i+1) and wide_or.
// attrs.bin:   "TGATR01\n", u32 customers, u32 columns, then per column
//              u8 name length, the name, u8 bits, `customers` i64 values and
//              `customers` u8 presence flags (0 = NULL).
// attr_queries.tsv: name \t shape \t bucket \t tag (or empty) \t column
//              \t lo \t hi; shapes range (count lo <= column <= hi),
//              range_tag (the same AND the tag) and sum_tag (count and sum
//              of the column over the tag's customers; checksum = the sum).
// Runners print one JSON object a line on stdout.
#ifndef TAGINDEX_BENCH_COMPARE_COMPARE_DATA_H_
#define TAGINDEX_BENCH_COMPARE_COMPARE_DATA_H_

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace compare {

inline constexpr char kMagic[8] = {'T', 'G', 'C', 'M', 'P', '0', '1', '\n'};

struct Data {
  uint32_t customers = 0;
  std::vector<std::vector<uint32_t>> tags;
  uint64_t Assignments() const {
    uint64_t n = 0;
    for (const auto& t : tags) n += t.size();
    return n;
  }
};

[[noreturn]] inline void Die(const std::string& message) {
  std::fprintf(stderr, "compare: %s\n", message.c_str());
  std::exit(2);
}

inline void WriteData(const std::string& path, const Data& data) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) Die("cannot write " + path);
  const uint32_t header[2] = {data.customers, static_cast<uint32_t>(data.tags.size())};
  bool ok = std::fwrite(kMagic, 1, 8, f) == 8 && std::fwrite(header, 4, 2, f) == 2;
  for (const auto& t : data.tags) {
    const uint32_t n = static_cast<uint32_t>(t.size());
    ok = ok && std::fwrite(&n, 4, 1, f) == 1 && std::fwrite(t.data(), 4, n, f) == n;
  }
  if (std::fclose(f) != 0 || !ok) Die("short write to " + path);
}

// Reads and validates tags.bin (ascending ids below `customers`).
inline Data ReadData(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) Die("cannot open " + path);
  char magic[8];
  uint32_t header[2];
  if (std::fread(magic, 1, 8, f) != 8 || std::memcmp(magic, kMagic, 8) != 0 ||
      std::fread(header, 4, 2, f) != 2) {
    Die(path + ": not a compare data file (bad magic or header)");
  }
  Data data;
  data.customers = header[0];
  data.tags.resize(header[1]);
  for (uint32_t t = 0; t < header[1]; ++t) {
    uint32_t n = 0;
    if (std::fread(&n, 4, 1, f) != 1 || n > data.customers) {
      Die(path + ": tag " + std::to_string(t) + ": bad count");
    }
    auto& rows = data.tags[t];
    rows.resize(n);
    if (std::fread(rows.data(), 4, n, f) != n)
      Die(path + ": truncated in tag " + std::to_string(t));
    for (uint32_t i = 0; i < n; ++i) {
      if (rows[i] >= data.customers || (i > 0 && rows[i] <= rows[i - 1])) {
        Die(path + ": tag " + std::to_string(t) + ": ids not ascending below customers at " +
            std::to_string(i));
      }
    }
  }
  std::fclose(f);
  return data;
}

struct Query {
  std::string name, shape, bucket;
  std::vector<uint32_t> tags;
  // Attribute shapes (attr_queries.tsv) only.
  int column = -1;
  int64_t lo = 0, hi = 0;
};

inline constexpr char kAttrMagic[8] = {'T', 'G', 'A', 'T', 'R', '0', '1', '\n'};

struct Column {
  std::string name;
  int bits = 0;
  std::vector<int64_t> values;
  std::vector<uint8_t> present;
};

struct Attrs {
  uint32_t customers = 0;
  std::vector<Column> columns;
};

inline void WriteAttrs(const std::string& path, const Attrs& attrs) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) Die("cannot write " + path);
  const uint32_t header[2] = {attrs.customers, static_cast<uint32_t>(attrs.columns.size())};
  bool ok = std::fwrite(kAttrMagic, 1, 8, f) == 8 && std::fwrite(header, 4, 2, f) == 2;
  for (const Column& c : attrs.columns) {
    const uint8_t len = static_cast<uint8_t>(c.name.size()), bits = static_cast<uint8_t>(c.bits);
    ok = ok && std::fwrite(&len, 1, 1, f) == 1 && std::fwrite(c.name.data(), 1, len, f) == len &&
         std::fwrite(&bits, 1, 1, f) == 1 &&
         std::fwrite(c.values.data(), 8, attrs.customers, f) == attrs.customers &&
         std::fwrite(c.present.data(), 1, attrs.customers, f) == attrs.customers;
  }
  if (std::fclose(f) != 0 || !ok) Die("short write to " + path);
}

inline Attrs ReadAttrs(const std::string& path, uint32_t customers) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) Die("cannot open " + path);
  char magic[8];
  uint32_t header[2];
  if (std::fread(magic, 1, 8, f) != 8 || std::memcmp(magic, kAttrMagic, 8) != 0 ||
      std::fread(header, 4, 2, f) != 2 || header[0] != customers || header[1] > 16) {
    Die(path + ": not an attribute file for " + std::to_string(customers) + " customers");
  }
  Attrs attrs;
  attrs.customers = header[0];
  attrs.columns.resize(header[1]);
  for (Column& c : attrs.columns) {
    uint8_t len = 0, bits = 0;
    c.name.resize(255);
    if (std::fread(&len, 1, 1, f) != 1 || std::fread(c.name.data(), 1, len, f) != len ||
        std::fread(&bits, 1, 1, f) != 1 || bits == 0 || bits > 63) {
      Die(path + ": bad column header");
    }
    c.name.resize(len);
    c.bits = bits;
    c.values.resize(customers);
    c.present.resize(customers);
    if (std::fread(c.values.data(), 8, customers, f) != customers ||
        std::fread(c.present.data(), 1, customers, f) != customers) {
      Die(path + ": truncated in column " + c.name);
    }
  }
  std::fclose(f);
  return attrs;
}

inline std::vector<Query> ReadAttrQueries(const std::string& path, uint32_t tag_count,
                                          const Attrs& attrs) {
  std::ifstream in(path);
  if (!in) Die("cannot open " + path);
  std::vector<Query> out;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    Query q;
    std::string tag, column, lo, hi;
    if (!std::getline(fields, q.name, '\t') || !std::getline(fields, q.shape, '\t') ||
        !std::getline(fields, q.bucket, '\t') || !std::getline(fields, tag, '\t') ||
        !std::getline(fields, column, '\t') || !std::getline(fields, lo, '\t') ||
        !std::getline(fields, hi)) {
      Die(path + ":" + std::to_string(line_no) + ": expected 7 tab-separated fields");
    }
    const std::string where = path + ":" + std::to_string(line_no) + ": ";
    if (q.shape != "range" && q.shape != "range_tag" && q.shape != "sum_tag") {
      Die(where + "unknown attribute shape " + q.shape);
    }
    if (q.shape != "range") {
      const unsigned long t = std::strtoul(tag.c_str(), nullptr, 10);
      if (tag.empty() || t >= tag_count) Die(where + "bad tag '" + tag + "'");
      q.tags.push_back(static_cast<uint32_t>(t));
    }
    for (size_t i = 0; i < attrs.columns.size(); ++i) {
      if (attrs.columns[i].name == column) q.column = static_cast<int>(i);
    }
    if (q.column < 0) Die(where + "unknown column " + column);
    q.lo = std::strtoll(lo.c_str(), nullptr, 10);
    q.hi = std::strtoll(hi.c_str(), nullptr, 10);
    out.push_back(std::move(q));
  }
  return out;
}

// The attribute side of a run (--attrs ATTRS.bin --attr-queries FILE; see
// ReadAttrWorkload below).
struct AttrWorkload {
  Attrs attrs;
  std::vector<Query> queries;
};

// The SQL text of an attribute query over ct(tag, customer) and
// ca(id, <columns>), in the forms a competent user would try: `form` 0 joins
// from the tag's rows, 1 drives from the range through EXISTS (range_tag
// only; the other shapes have one form). Result: count [, sum].
inline std::vector<std::string> AttrSql(const Query& q, const Attrs& attrs) {
  const std::string col = "ca." + attrs.columns[q.column].name;
  const std::string range =
      col + " BETWEEN " + std::to_string(q.lo) + " AND " + std::to_string(q.hi);
  if (q.shape == "range") return {"SELECT count(*) FROM ca WHERE " + range};
  const std::string tag = std::to_string(q.tags[0]);
  if (q.shape == "range_tag") {
    return {"SELECT count(*) FROM ct JOIN ca ON ca.id = ct.customer WHERE ct.tag = " + tag +
                " AND " + range,
            "SELECT count(*) FROM ca WHERE " + range +
                " AND EXISTS (SELECT 1 FROM ct WHERE ct.tag = " + tag +
                " AND ct.customer = ca.id)"};
  }
  return {"SELECT count(" + col + "), coalesce(sum(" + col +
          "), 0) FROM ct JOIN ca ON ca.id = ct.customer WHERE ct.tag = " + tag};
}

inline std::vector<Query> ReadQueries(const std::string& path, uint32_t tag_count) {
  std::ifstream in(path);
  if (!in) Die("cannot open " + path);
  std::vector<Query> out;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    Query q;
    std::string tags;
    if (!std::getline(fields, q.name, '\t') || !std::getline(fields, q.shape, '\t') ||
        !std::getline(fields, q.bucket, '\t') || !std::getline(fields, tags)) {
      Die(path + ":" + std::to_string(line_no) + ": expected 4 tab-separated fields");
    }
    std::istringstream list(tags);
    std::string item;
    while (std::getline(list, item, ',')) {
      char* end = nullptr;
      const unsigned long v = std::strtoul(item.c_str(), &end, 10);
      if (item.empty() || *end != '\0' || v >= tag_count) {
        Die(path + ":" + std::to_string(line_no) + ": bad tag '" + item + "'");
      }
      q.tags.push_back(static_cast<uint32_t>(v));
    }
    static const char* const kShapes[] = {"and2",     "andnot3",        "mat3",
                                          "andor",    "andall",         "pairs_and",
                                          "pairs_or", "pairs_andcount", "wide_or"};
    if (std::find(std::begin(kShapes), std::end(kShapes), q.shape) == std::end(kShapes)) {
      Die(path + ":" + std::to_string(line_no) + ": unknown shape " + q.shape);
    }
    const size_t exact = q.shape == "and2"                             ? 2
                         : (q.shape == "andnot3" || q.shape == "mat3") ? 3
                                                                       : 0;
    if ((exact != 0 && q.tags.size() != exact) || q.tags.size() < 2) {
      Die(path + ":" + std::to_string(line_no) + ": wrong number of tags for " + q.shape);
    }
    out.push_back(std::move(q));
  }
  return out;
}

// The result a runner reports for a query: the count and, for the
// materialising shapes, a checksum of the ids (their sum).
struct Result {
  uint64_t count = 0;
  uint64_t checksum = 0;
};

struct Timing {
  double median_us = 0, min_us = 0;
  int reps = 0;
};

// Runs `fn` once to warm up, then at least `min_reps` times (at most 3 when
// the warm-up took over 0.2 s) and until `budget_s` seconds have passed (at
// most `max_reps`); median and min.
inline Timing Time(const std::function<void()>& fn, int min_reps, double budget_s,
                   int max_reps = 1000) {
  using Clock = std::chrono::steady_clock;
  const auto warm = Clock::now();
  fn();
  // Slow queries (SQL over large segments): three timed runs are enough.
  if (std::chrono::duration<double>(Clock::now() - warm).count() > 0.2) {
    min_reps = std::min(min_reps, 3);
  }
  std::vector<double> us;
  const auto start = Clock::now();
  while (static_cast<int>(us.size()) < min_reps ||
         (std::chrono::duration<double>(Clock::now() - start).count() < budget_s &&
          static_cast<int>(us.size()) < max_reps)) {
    const auto t0 = Clock::now();
    fn();
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  std::sort(us.begin(), us.end());
  Timing t;
  t.reps = static_cast<int>(us.size());
  t.min_us = us.front();
  t.median_us = us.size() % 2 ? us[us.size() / 2] : (us[us.size() / 2 - 1] + us[us.size() / 2]) / 2;
  return t;
}

inline double Seconds(const std::function<void()>& fn) {
  const auto t0 = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

inline std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    out += c;
  }
  return out + "\"";
}

inline void PrintQuery(const std::string& system, const Query& q, const Result& r, const Timing& t,
                       const std::string& variant = "") {
  std::printf(
      "{\"type\":\"query\",\"system\":%s,\"query\":%s,\"variant\":%s,\"count\":%llu,"
      "\"checksum\":%llu,\"median_us\":%.3f,\"min_us\":%.3f,\"reps\":%d}\n",
      JsonString(system).c_str(), JsonString(q.name).c_str(), JsonString(variant).c_str(),
      static_cast<unsigned long long>(r.count), static_cast<unsigned long long>(r.checksum),
      t.median_us, t.min_us, t.reps);
  std::fflush(stdout);
}

// One JSON object of numbers (and string fields already encoded).
inline void PrintFacts(const std::string& system, const std::string& type,
                       const std::vector<std::pair<std::string, double>>& numbers,
                       const std::vector<std::pair<std::string, std::string>>& strings = {}) {
  std::string line = "{\"type\":" + JsonString(type) + ",\"system\":" + JsonString(system);
  for (const auto& [k, v] : numbers) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    line += "," + JsonString(k) + ":" + buf;
  }
  for (const auto& [k, v] : strings) line += "," + JsonString(k) + ":" + JsonString(v);
  std::printf("%s}\n", line.c_str());
  std::fflush(stdout);
}

// Common command line: runner DATA QUERIES [--reps N] [--budget S].
struct Args {
  std::string data, queries, work;
  int reps = 5;
  double budget = 0.5;
  std::vector<std::string> rest;
};

inline Args ParseArgs(int argc, char** argv, int first = 1) {
  Args a;
  std::vector<std::string> pos;
  for (int i = first; i < argc; ++i) {
    const std::string s = argv[i];
    if (s == "--reps" && i + 1 < argc) {
      a.reps = std::atoi(argv[++i]);
    } else if (s == "--budget" && i + 1 < argc) {
      a.budget = std::atof(argv[++i]);
    } else if (s == "--work" && i + 1 < argc) {
      a.work = argv[++i];
    } else if (s.rfind("--", 0) == 0) {
      a.rest.push_back(s);
      if (i + 1 < argc) a.rest.push_back(argv[++i]);
    } else {
      pos.push_back(s);
    }
  }
  if (pos.size() != 2) Die("usage: runner DATA QUERIES [--reps N] [--budget S] [--work DIR]");
  a.data = pos[0];
  a.queries = pos[1];
  if (a.reps < 1) a.reps = 1;
  return a;
}

inline std::string Option(const Args& a, const std::string& name, const std::string& def) {
  for (size_t i = 0; i + 1 < a.rest.size(); i += 2) {
    if (a.rest[i] == name) return a.rest[i + 1];
  }
  return def;
}

inline std::optional<AttrWorkload> ReadAttrWorkload(const Args& a, uint32_t customers,
                                                    uint32_t tag_count) {
  const std::string path = Option(a, "--attrs", "");
  if (path.empty()) return std::nullopt;
  AttrWorkload w;
  w.attrs = ReadAttrs(path, customers);
  w.queries = ReadAttrQueries(Option(a, "--attr-queries", ""), tag_count, w.attrs);
  return w;
}

// Times every SQL form of each attribute query with `run` (one
// "join"/"exists" variant line each).
inline void TimeAttrForms(const std::string& system, const AttrWorkload& w, const Args& a,
                          const std::function<Result(const std::string&)>& run) {
  for (const Query& q : w.queries) {
    const std::vector<std::string> forms = AttrSql(q, w.attrs);
    for (size_t f = 0; f < forms.size(); ++f) {
      Result r;
      const Timing t = Time([&] { r = run(forms[f]); }, a.reps, a.budget);
      PrintQuery(system, q, r, t, f == 0 ? "join" : "exists");
    }
  }
}

}  // namespace compare

#endif  // TAGINDEX_BENCH_COMPARE_COMPARE_DATA_H_
