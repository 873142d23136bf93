// tagindex side of bench/compare.sh, through the public C++ API only:
// identity keys (the row id is the customer key), tags named t<N>, queries
// compiled once and run many times.
//
//   compare_tagindex DATA QUERIES --work DIR [--reps N] [--budget S]
//                    [--attrs ATTRS.bin --attr-queries ATTR_QUERIES.tsv]
//
// Load time is an in-memory index: AddCustomers(0..N-1), then TagMany per
// tag. Storage is a persistent index in DIR/tagindex built the same way
// and checkpointed (the size of its files), plus the portable Roaring size
// of every tag (ExportTag) for bits per value.
#include <dirent.h>
#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "compare_data.h"
#include "tagindex/tagindex.h"

namespace {

using compare::Die;

template <typename T>
T Must(absl::StatusOr<T> v, const std::string& what) {
  if (!v.ok()) Die(what + ": " + v.status().ToString());
  return *std::move(v);
}

void Must(const absl::Status& s, const std::string& what) {
  if (!s.ok()) Die(what + ": " + s.ToString());
}

std::string Name(uint32_t tag) { return "t" + std::to_string(tag); }

void Load(tagindex::Index& index, const compare::Data& data) {
  std::vector<int64_t> keys(data.customers);
  std::iota(keys.begin(), keys.end(), int64_t{0});
  Must(index.AddCustomers(keys), "AddCustomers");
  for (size_t t = 0; t < data.tags.size(); ++t) {
    const tagindex::TagId id = Must(index.CreateTag({.name = Name(t)}), "CreateTag");
    keys.assign(data.tags[t].begin(), data.tags[t].end());
    Must(index.TagMany(id, keys), "TagMany " + Name(t));
  }
}

uint64_t DirBytes(const std::string& dir) {
  uint64_t total = 0;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return 0;
  while (dirent* e = readdir(d)) {
    struct stat st;
    const std::string path = dir + "/" + e->d_name;
    if (e->d_name[0] != '.' && stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      total += static_cast<uint64_t>(st.st_size);
    }
  }
  closedir(d);
  return total;
}

std::string Join(const std::vector<uint32_t>& tags, size_t from, const std::string& op) {
  std::string text;
  for (size_t i = from; i < tags.size(); ++i)
    text += (i > from ? " " + op + " " : "") + Name(tags[i]);
  return text;
}

// The query text of a synthetic shape.
std::string Text(const compare::Query& q) {
  const auto& t = q.tags;
  if (q.shape == "and2" || q.shape == "andall") return Join(t, 0, "AND");
  if (q.shape == "andnot3" || q.shape == "mat3") {
    return Name(t[0]) + " AND " + Name(t[1]) + " AND NOT " + Name(t[2]);
  }
  if (q.shape == "andor") return Name(t[0]) + " AND (" + Join(t, 1, "OR") + ")";
  if (q.shape == "wide_or") return Join(t, 0, "OR");
  Die("no text for shape " + q.shape);
}

// The attribute shapes (attr_queries.tsv): tagindex's bit-sliced columns,
// and "scan", the plain column scan of PERFORMANCE.md's R3 (a
// std::vector<int64_t> plus a presence vector; the tag as its sorted row
// list, gathered), measured in the same run.
void RunAttributes(tagindex::Index& index, const compare::Data& data, const compare::Args& args) {
  const std::optional<compare::AttrWorkload> w =
      compare::ReadAttrWorkload(args, data.customers, data.tags.size());
  if (!w) return;
  const compare::Attrs& attrs = w->attrs;
  const std::vector<compare::Query>& queries = w->queries;
  const double load_s = compare::Seconds([&] {
    for (const compare::Column& c : attrs.columns) {
      Must(index.CreateAttribute({.name = c.name}), "CreateAttribute " + c.name);
      std::vector<tagindex::RowId> rows;
      std::vector<int64_t> values;
      for (uint32_t r = 0; r < attrs.customers; ++r) {
        if (!c.present[r]) continue;
        rows.push_back(r);
        values.push_back(c.values[r]);
      }
      Must(index.SetAttributeRows(c.name, rows, values), "SetAttributeRows " + c.name);
    }
  });
  compare::PrintFacts("tagindex", "attr_load",
                      {{"load_s", load_s}, {"columns", static_cast<double>(attrs.columns.size())}});
  for (const compare::Query& q : queries) {
    const compare::Column& col = attrs.columns[q.column];
    const std::string range =
        col.name + " BETWEEN " + std::to_string(q.lo) + " AND " + std::to_string(q.hi);
    compare::Result r;
    std::function<void()> fn;
    const std::string text = q.shape == "sum_tag" ? Name(q.tags[0])
                             : q.shape == "range" ? range
                                                  : Name(q.tags[0]) + " AND " + range;
    const tagindex::CompiledQuery cq = Must(index.Compile(text), "Compile " + text);
    if (q.shape == "sum_tag") {
      fn = [&] {
        const tagindex::Segment seg = Must(cq.Run(), "Run");
        const tagindex::AttributeSummary sum =
            Must(index.SummarizeAttribute(col.name, &seg), "SummarizeAttribute");
        r.count = sum.count;
        r.checksum = static_cast<uint64_t>(sum.sum);
      };
    } else {
      fn = [&] { r.count = Must(cq.Count(), "Count"); };
    }
    compare::PrintQuery("tagindex", q, r, compare::Time(fn, args.reps, args.budget));

    // The scan baseline.
    compare::Result s;
    const int64_t lo = q.lo, hi = q.hi;
    const int64_t* v = col.values.data();
    const uint8_t* p = col.present.data();
    std::function<void()> scan;
    if (q.shape == "range") {
      scan = [&, lo, hi, v, p] {
        uint64_t n = 0;
        for (uint32_t i = 0; i < attrs.customers; ++i) n += p[i] & (v[i] >= lo) & (v[i] <= hi);
        s.count = n;
      };
    } else {
      const std::vector<uint32_t>& rows = data.tags[q.tags[0]];
      const bool sum = q.shape == "sum_tag";
      scan = [&, lo, hi, v, p, sum] {
        uint64_t n = 0, total = 0;
        for (uint32_t row : rows) {
          if (sum) {
            n += p[row];
            total += p[row] ? static_cast<uint64_t>(v[row]) : 0;
          } else {
            n += p[row] & (v[row] >= lo) & (v[row] <= hi);
          }
        }
        s.count = n;
        s.checksum = total;
      };
    }
    compare::PrintQuery("scan", q, s, compare::Time(scan, args.reps, args.budget));
  }
}

}  // namespace

int main(int argc, char** argv) {
  const compare::Args args = compare::ParseArgs(argc, argv);
  if (args.work.empty()) Die("--work DIR is required");
  const compare::Data data = compare::ReadData(args.data);
  const std::vector<compare::Query> queries = compare::ReadQueries(args.queries, data.tags.size());
  const std::string system = "tagindex";

  tagindex::IndexOptions options;
  options.key_kind = tagindex::KeyKind::kIdentity;
  std::unique_ptr<tagindex::Index> index;
  const double load_s = compare::Seconds([&] {
    index = Must(tagindex::Index::Create(options), "Create");
    Load(*index, data);
  });

  // Persistent copy: what the index takes on disk.
  const std::string dir = args.work + "/tagindex_db";
  double persist_s = 0;
  std::filesystem::remove_all(dir);  // a fresh index every run
  {
    tagindex::OpenOptions open;
    open.create_if_missing = true;
    open.index = options;
    open.sync = tagindex::SyncPolicy::kNone;
    persist_s = compare::Seconds([&] {
      auto disk = Must(tagindex::Index::Open(dir, open), "Open " + dir);
      Load(*disk, data);
      Must(disk->Checkpoint(), "Checkpoint");
    });
  }
  uint64_t portable = 0;
  for (size_t t = 0; t < data.tags.size(); ++t) {
    const tagindex::TagId id = Must(index->FindTag(Name(t)), "FindTag");
    portable += Must(index->ExportTag(id), "ExportTag").size();
  }
  const double assignments = static_cast<double>(data.Assignments());
  compare::PrintFacts(system, "load",
                      {{"load_s", load_s},
                       {"persist_s", persist_s},
                       {"storage_bytes", static_cast<double>(DirBytes(dir))},
                       {"portable_bytes", static_cast<double>(portable)},
                       {"assignments", assignments},
                       {"bits_per_value", portable * 8.0 / assignments}});

  for (const compare::Query& q : queries) {
    compare::Result r;
    std::function<void()> fn;
    std::vector<tagindex::CompiledQuery> pairs;
    if (q.shape.rfind("pairs_", 0) == 0) {
      const std::string op = q.shape == "pairs_or" ? " OR " : " AND ";
      for (size_t i = 0; i + 1 < q.tags.size(); ++i) {
        pairs.push_back(
            Must(index->Compile(Name(q.tags[i]) + op + Name(q.tags[i + 1])), "Compile"));
      }
      const bool count_only = q.shape == "pairs_andcount";
      fn = [&] {
        uint64_t total = 0;
        for (const auto& p : pairs) {
          total += count_only ? Must(p.Count(), "Count") : Must(p.Run(), "Run").Count();
        }
        r.count = total;
      };
    } else {
      pairs.push_back(Must(index->Compile(Text(q)), "Compile " + Text(q)));
      const tagindex::CompiledQuery& cq = pairs[0];
      if (q.shape == "mat3") {
        fn = [&] {
          const tagindex::Segment seg = Must(cq.Run(), "Run");
          uint64_t n = 0, sum = 0;
          for (tagindex::Segment::Iterator it(seg); it.Valid(); it.Next()) {
            ++n;
            sum += it.Value();
          }
          r.count = n;
          r.checksum = sum;
        };
      } else {
        fn = [&] { r.count = Must(cq.Count(), "Count"); };
      }
    }
    const compare::Timing t = compare::Time(fn, args.reps, args.budget);
    compare::PrintQuery(system, q, r, t);
  }
  RunAttributes(*index, data, args);
  return 0;
}
