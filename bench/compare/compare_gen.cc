// Writes the data every system of bench/compare.sh loads, once, so that all
// of them see exactly the same tag memberships:
//
//   compare_gen synth OUT_DIR CUSTOMERS TAGS LAYOUT SEED
//       Zipf tags from bench/workload.h (LAYOUT uniform | cohort | mixed).
//   compare_gen attrs OUT_DIR CUSTOMERS SEED
//       The attribute columns (attrs.bin, attrs.csv; see WriteAttrsSide).
//   compare_gen real OUT_DIR DATASET_DIR
//       The Roaring papers' real datasets: DATASET_DIR holds
//       <name>.csv<N>.txt files, one bitmap each (comma-separated ascending
//       ids); they become tags 0.. in the order of N.
//
// Writes OUT_DIR/tags.bin (see compare_data.h), OUT_DIR/pairs.csv
// ("tag,customer" lines sorted by tag then customer, for the SQL loaders)
// and OUT_DIR/tags.tsv (tag, cardinality, density).
#include <dirent.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "compare_data.h"
#include "workload.h"

namespace {

using compare::Data;
using compare::Die;

void WriteSide(const std::string& out, const Data& data) {
  compare::WriteData(out + "/tags.bin", data);
  std::FILE* csv = std::fopen((out + "/pairs.csv").c_str(), "wb");
  std::FILE* tsv = std::fopen((out + "/tags.tsv").c_str(), "wb");
  if (csv == nullptr || tsv == nullptr) Die("cannot write into " + out);
  std::vector<char> buf(1 << 20);
  std::setvbuf(csv, buf.data(), _IOFBF, buf.size());
  for (size_t t = 0; t < data.tags.size(); ++t) {
    for (uint32_t row : data.tags[t]) std::fprintf(csv, "%zu,%u\n", t, row);
    std::fprintf(tsv, "%zu\t%zu\t%.6f\n", t, data.tags[t].size(),
                 static_cast<double>(data.tags[t].size()) / data.customers);
  }
  if (std::fclose(csv) != 0 || std::fclose(tsv) != 0) Die("short write into " + out);
}

Data Synth(uint32_t customers, uint32_t tags, const std::string& layout, uint64_t seed) {
  tagindex::bench::WorkloadOptions options;
  options.customers = customers;
  options.tags = tags;
  options.seed = seed;
  if (layout == "uniform") {
    options.layout = tagindex::bench::Layout::kUniform;
  } else if (layout == "cohort") {
    options.layout = tagindex::bench::Layout::kCohort;
  } else if (layout == "mixed") {
    options.layout = tagindex::bench::Layout::kMixed;
  } else {
    Die("unknown layout '" + layout + "' (uniform, cohort, mixed)");
  }
  Data data;
  data.customers = customers;
  data.tags.resize(tags);
  for (uint32_t r = 0; r < tags; ++r) data.tags[r] = tagindex::bench::TagRows(options, r);
  return data;
}

Data Real(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) Die("cannot list " + dir);
  const std::regex name(R"(.*\.csv(\d+)\.txt)");
  std::vector<std::pair<int, std::string>> files;
  while (dirent* e = readdir(d)) {
    std::smatch m;
    const std::string file = e->d_name;
    if (std::regex_match(file, m, name)) files.emplace_back(std::stoi(m[1]), dir + "/" + file);
  }
  closedir(d);
  if (files.empty()) Die(dir + ": no <name>.csv<N>.txt files");
  std::sort(files.begin(), files.end());
  Data data;
  uint64_t max_id = 0;
  for (const auto& [n, path] : files) {
    std::ifstream in(path);
    std::vector<uint32_t> rows;
    std::string item;
    while (std::getline(in, item, ',')) {
      char* end = nullptr;
      const unsigned long long v = std::strtoull(item.c_str(), &end, 10);
      if (item.empty() || (*end != '\0' && *end != '\n' && *end != '\r') || v > 0xFFFFFFFEull ||
          (!rows.empty() && v <= rows.back())) {
        Die(path + ": bad or unsorted value '" + item + "' at position " +
            std::to_string(rows.size()));
      }
      rows.push_back(static_cast<uint32_t>(v));
    }
    if (!rows.empty()) max_id = std::max<uint64_t>(max_id, rows.back());
    data.tags.push_back(std::move(rows));
  }
  data.customers = static_cast<uint32_t>(max_id + 1);
  return data;
}

// Three columns of PERFORMANCE.md's attribute workload, 5 % NULL each:
// age (7 bits, uniform 18..97), spend (20 bits, skewed towards small
// amounts: (2^20 - 1) * u^3) and ts (32 bits, uniform). Writes attrs.bin
// and attrs.csv ("id,age,spend,ts", an empty field for NULL).
void WriteAttrsSide(const std::string& out, uint32_t customers, uint64_t seed) {
  compare::Attrs attrs;
  attrs.customers = customers;
  attrs.columns = {{"age", 7, {}, {}}, {"spend", 20, {}, {}}, {"ts", 32, {}, {}}};
  std::mt19937_64 rng(seed ^ 0xA77u);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (compare::Column& c : attrs.columns) {
    c.values.resize(customers);
    c.present.resize(customers);
  }
  for (uint32_t r = 0; r < customers; ++r) {
    const double x = u(rng);
    attrs.columns[0].values[r] = 18 + static_cast<int64_t>(rng() % 80);
    attrs.columns[1].values[r] = static_cast<int64_t>(((1 << 20) - 1) * x * x * x);
    attrs.columns[2].values[r] = static_cast<int64_t>(rng() & 0xFFFFFFFFu);
    for (compare::Column& c : attrs.columns) c.present[r] = rng() % 20 != 0;
  }
  compare::WriteAttrs(out + "/attrs.bin", attrs);
  std::FILE* csv = std::fopen((out + "/attrs.csv").c_str(), "wb");
  if (csv == nullptr) Die("cannot write into " + out);
  std::vector<char> buf(1 << 20);
  std::setvbuf(csv, buf.data(), _IOFBF, buf.size());
  for (uint32_t r = 0; r < customers; ++r) {
    std::fprintf(csv, "%u", r);
    for (const compare::Column& c : attrs.columns) {
      if (c.present[r]) {
        std::fprintf(csv, ",%lld", static_cast<long long>(c.values[r]));
      } else {
        std::fputc(',', csv);
      }
    }
    std::fputc('\n', csv);
  }
  if (std::fclose(csv) != 0) Die("short write into " + out);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "synth" && argc == 7) {
    const long long customers = std::atoll(argv[3]), tags = std::atoll(argv[4]);
    if (customers < 1 || customers > 2'000'000'000LL || tags < 1 || tags > 1'000'000) {
      Die("customers must be in [1, 2e9] and tags in [1, 1e6]");
    }
    WriteSide(argv[2], Synth(static_cast<uint32_t>(customers), static_cast<uint32_t>(tags), argv[5],
                             std::strtoull(argv[6], nullptr, 10)));
  } else if (mode == "attrs" && argc == 5) {
    const long long customers = std::atoll(argv[3]);
    if (customers < 1 || customers > 2'000'000'000LL) Die("customers must be in [1, 2e9]");
    WriteAttrsSide(argv[2], static_cast<uint32_t>(customers), std::strtoull(argv[4], nullptr, 10));
  } else if (mode == "real" && argc == 4) {
    WriteSide(argv[2], Real(argv[3]));
  } else {
    Die("usage: compare_gen synth OUT CUSTOMERS TAGS LAYOUT SEED | compare_gen attrs OUT CUSTOMERS "
        "SEED | compare_gen real OUT DIR");
  }
  return 0;
}
