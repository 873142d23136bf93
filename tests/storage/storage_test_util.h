// Shared helpers of the storage tests: an in-memory FileSystem that injects
// faults and simulates power loss, a canonical dump of an index's state, and
// a deterministic random mutation script.
#ifndef TAGINDEX_TESTS_STORAGE_STORAGE_TEST_UTIL_H_
#define TAGINDEX_TESTS_STORAGE_STORAGE_TEST_UTIL_H_

#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tagindex/tagindex.h"

namespace tagindex::testing {

// True under TAGINDEX_FULL=1: the long suites (more seeds, more iterations).
inline bool Full() {
  const char* f = std::getenv("TAGINDEX_FULL");
  return f != nullptr && std::string(f) == "1";
}

// In-memory file system. Content becomes durable on WritableFile::Sync and
// directory entries on SyncDir; Crash() forgets everything else, as a power
// loss would. Set `fail_kind`/`fail_at` to make the n-th operation of a kind
// fail (a failing Append first writes half of its data, like a full disk).
class MemFileSystem : public FileSystem {
 public:
  enum class Op { kWrite, kSync, kRename };

  struct Node {
    std::string data;
    std::string durable;
  };

  void FailAt(Op kind, int n) {
    std::lock_guard<std::mutex> l(mu_);
    fail_kind_ = kind;
    fail_at_ = n;
    counts_.clear();
  }
  void ClearFault() {
    std::lock_guard<std::mutex> l(mu_);
    fail_at_ = 0;
  }
  int faults_fired() const {
    std::lock_guard<std::mutex> l(mu_);
    return fired_;
  }
  int count(Op kind) const {
    std::lock_guard<std::mutex> l(mu_);
    auto it = counts_.find(kind);
    return it == counts_.end() ? 0 : it->second;
  }

  // Called (outside the file system's lock) at the start of every file
  // Sync with the file's path, from the syncing thread: a test's way to act
  // in the middle of an operation (a write during a checkpoint).
  void SetBeforeSync(std::function<void(const std::string& path)> hook) {
    std::lock_guard<std::mutex> l(mu_);
    before_sync_ = std::move(hook);
  }

  // Power loss: unsynced data and directory changes vanish, every handle
  // opened before becomes dead, locks are released.
  void Crash() {
    std::lock_guard<std::mutex> l(mu_);
    ++epoch_;
    files_ = durable_names_;
    for (auto& [name, node] : files_) node->data = node->durable;
    locks_.clear();
  }

  // Direct access for corruption tests.
  std::string Get(const std::string& path) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = files_.find(path);
    return it == files_.end() ? std::string() : it->second->data;
  }
  void Put(const std::string& path, const std::string& data) {
    std::lock_guard<std::mutex> l(mu_);
    auto node = std::make_shared<Node>();
    node->data = node->durable = data;
    files_[path] = node;
    durable_names_[path] = node;
  }
  std::vector<std::string> Names() {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<std::string> out;
    for (auto& [name, node] : files_) out.push_back(name);
    return out;
  }

  absl::Status CreateDir(const std::string& dir) override {
    std::lock_guard<std::mutex> l(mu_);
    dirs_.insert(dir);
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& dir) override {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<std::string> out;
    const std::string prefix = dir + "/";
    for (auto& [name, node] : files_) {
      if (name.rfind(prefix, 0) == 0) out.push_back(name.substr(prefix.size()));
    }
    return out;
  }
  absl::StatusOr<bool> Exists(const std::string& path) override {
    std::lock_guard<std::mutex> l(mu_);
    return files_.count(path) > 0 || dirs_.count(path) > 0;
  }
  absl::StatusOr<std::unique_ptr<WritableFile>> OpenWritable(const std::string& path,
                                                             bool truncate) override;
  absl::StatusOr<std::unique_ptr<ReadableRegion>> ReadFile(const std::string& path) override;
  absl::Status Rename(const std::string& from, const std::string& to) override {
    std::lock_guard<std::mutex> l(mu_);
    if (Fire(Op::kRename)) return Injected("rename", from);
    auto it = files_.find(from);
    if (it == files_.end()) return absl::NotFoundError("mem: rename of a missing file");
    files_[to] = it->second;
    files_.erase(from);
    return absl::OkStatus();
  }
  absl::Status Remove(const std::string& path) override {
    std::lock_guard<std::mutex> l(mu_);
    if (files_.erase(path) == 0) return absl::NotFoundError("mem: remove of a missing file");
    return absl::OkStatus();
  }
  absl::Status SyncDir(const std::string& dir) override {
    std::lock_guard<std::mutex> l(mu_);
    if (Fire(Op::kSync)) return Injected("sync directory", dir);
    durable_names_ = files_;
    return absl::OkStatus();
  }
  absl::StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path) override;

 private:
  friend class MemWritable;
  friend class MemLock;
  bool Fire(Op kind) {
    const int n = ++counts_[kind];
    if (fail_at_ > 0 && kind == fail_kind_ && n == fail_at_) {
      ++fired_;
      return true;
    }
    return false;
  }
  static absl::Status Injected(const std::string& what, const std::string& path) {
    // As the POSIX file system reports EIO (tagindex/file_system.h).
    absl::Status failure(absl::StatusCode::kUnavailable,
                         absl::StrCat("mem: injected failure: ", what, " ", path));
    ErrorInfo info;
    info.kind = ErrorKind::kIo;
    info.subject = path;
    info.path = path;
    info.detail = "injected failure";
    SetErrorInfo(failure, info);
    return failure;
  }

  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Node>> files_;
  std::map<std::string, std::shared_ptr<Node>> durable_names_;
  std::set<std::string> dirs_;
  std::set<std::string> locks_;
  std::map<Op, int> counts_;
  Op fail_kind_ = Op::kWrite;
  int fail_at_ = 0;
  int fired_ = 0;
  int epoch_ = 0;
  std::function<void(const std::string& path)> before_sync_;
};

class MemWritable : public WritableFile {
 public:
  MemWritable(MemFileSystem* fs, std::shared_ptr<MemFileSystem::Node> node, std::string path,
              int epoch)
      : fs_(fs), node_(std::move(node)), path_(std::move(path)), epoch_(epoch) {}
  absl::Status Append(std::string_view data) override {
    std::lock_guard<std::mutex> l(fs_->mu_);
    if (epoch_ != fs_->epoch_) return absl::InternalError("mem: dead handle");
    if (fs_->Fire(MemFileSystem::Op::kWrite)) {
      node_->data.append(data.substr(0, data.size() / 2));
      return MemFileSystem::Injected("write", path_);
    }
    node_->data.append(data);
    return absl::OkStatus();
  }
  absl::Status Sync() override {
    std::function<void(const std::string&)> hook;
    {
      std::lock_guard<std::mutex> l(fs_->mu_);
      hook = fs_->before_sync_;
    }
    if (hook) hook(path_);
    std::lock_guard<std::mutex> l(fs_->mu_);
    if (epoch_ != fs_->epoch_) return absl::InternalError("mem: dead handle");
    if (fs_->Fire(MemFileSystem::Op::kSync)) return MemFileSystem::Injected("sync", path_);
    node_->durable = node_->data;
    return absl::OkStatus();
  }
  absl::Status Truncate(uint64_t size) override {
    std::lock_guard<std::mutex> l(fs_->mu_);
    if (epoch_ != fs_->epoch_) return absl::InternalError("mem: dead handle");
    node_->data.resize(size);
    return absl::OkStatus();
  }
  absl::Status Close() override { return absl::OkStatus(); }
  absl::Status CheckLinked() override {
    std::lock_guard<std::mutex> l(fs_->mu_);
    auto it = fs_->files_.find(path_);
    if (it == fs_->files_.end() || it->second != node_) {
      return absl::FailedPreconditionError(
          absl::StrCat("mem: ", path_, " was removed or replaced"));
    }
    return absl::OkStatus();
  }

 private:
  MemFileSystem* fs_;
  std::shared_ptr<MemFileSystem::Node> node_;
  std::string path_;
  int epoch_;
};

class MemRegion : public ReadableRegion {
 public:
  explicit MemRegion(std::string data) : data_(std::move(data)) {}
  std::span<const char> data() const override { return {data_.data(), data_.size()}; }

 private:
  std::string data_;
};

class MemLock : public FileLock {
 public:
  MemLock(MemFileSystem* fs, std::string path, int epoch)
      : fs_(fs), path_(std::move(path)), epoch_(epoch) {}
  ~MemLock() override {
    std::lock_guard<std::mutex> l(fs_->mu_);
    if (epoch_ == fs_->epoch_) fs_->locks_.erase(path_);
  }

 private:
  MemFileSystem* fs_;
  std::string path_;
  int epoch_;
};

inline absl::StatusOr<std::unique_ptr<WritableFile>> MemFileSystem::OpenWritable(
    const std::string& path, bool truncate) {
  std::lock_guard<std::mutex> l(mu_);
  auto& node = files_[path];
  if (node == nullptr) node = std::make_shared<Node>();
  if (truncate) node->data.clear();
  return std::unique_ptr<WritableFile>(new MemWritable(this, node, path, epoch_));
}

inline absl::StatusOr<std::unique_ptr<ReadableRegion>> MemFileSystem::ReadFile(
    const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = files_.find(path);
  if (it == files_.end()) return absl::NotFoundError(absl::StrCat("mem: no file ", path));
  return std::unique_ptr<ReadableRegion>(new MemRegion(it->second->data));
}

inline absl::StatusOr<std::unique_ptr<FileLock>> MemFileSystem::LockFile(const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  if (!locks_.insert(path).second) {
    return absl::FailedPreconditionError(absl::StrCat("mem: ", path, " is locked"));
  }
  return std::unique_ptr<FileLock>(new MemLock(this, path, epoch_));
}

// Canonical text of everything observable in an index.
inline std::string Dump(const Index& index) {
  std::string out = absl::StrCat("rows<", index.RowIdLimit(), "\n");
  const auto listed3 = index.ListCategories().value();
  for (const CategoryInfo& c : listed3) {
    absl::StrAppend(&out, "cat ", c.name, " excl=", c.exclusive, " desc=", c.description,
                    " tags=", c.tag_count, "\n");
  }
  const auto listed4 = index.ListTags().value();
  for (const TagInfo& t : listed4) {
    absl::StrAppend(&out, "tag ", t.id.value, " ", t.category, ":", t.name,
                    " kind=", static_cast<int>(t.kind), " desc=", t.description, " [");
    const std::vector<RowId> rows = index.RowsWithTag(t.id).value();
    for (RowId r : rows) absl::StrAppend(&out, r, ",");
    absl::StrAppend(&out, "]\n");
  }
  const std::vector<AttributeInfo> attributes = index.ListAttributes().value();
  for (const AttributeInfo& a : attributes) {
    absl::StrAppend(&out, "attr ", a.id.value, " ", a.name, " type=", static_cast<int>(a.type),
                    " scale=", a.scale, " desc=", a.description, " count=", a.count, "\n");
  }
  const std::vector<RowId> live_rows = index.LiveRows().value();
  for (RowId r : live_rows) {
    for (const AttributeInfo& a : attributes) {
      std::optional<int64_t> v = index.GetAttributeValue(a.name, r).value();
      if (v) absl::StrAppend(&out, "value ", a.name, "[", r, "]=", *v, "\n");
    }
    CustomerKey k = index.KeyOf(r).value();
    // The forward map agrees with the reverse one (a loaded or rebased key
    // table that lost an entry shows up here).
    absl::StatusOr<RowId> found = std::holds_alternative<int64_t>(k)
                                      ? index.FindCustomer(std::get<int64_t>(k))
                                      : index.FindCustomer(std::get<std::string>(k));
    if (!found.ok() || *found != r) absl::StrAppend(&out, "FIND MISMATCH ");
    absl::StrAppend(&out, "row ", r, "=",
                    std::holds_alternative<int64_t>(k) ? absl::StrCat(std::get<int64_t>(k))
                                                       : std::get<std::string>(k),
                    "\n");
  }
  return out;
}

// One step of a deterministic random mutation script over an int64-keyed
// index. The op is chosen from `rng` alone (never from the index's state),
// so applying the same seed to two indexes performs the same calls.
// Returns the status of the call; `checkpoint` ops return OK on in-memory
// indexes (they are skipped there).
inline absl::Status RandomOp(std::mt19937_64& rng, Index& index, bool allow_checkpoint) {
  auto pick = [&](uint64_t n) { return static_cast<uint64_t>(rng() % n); };
  const uint64_t kind = pick(100);
  const int64_t key = static_cast<int64_t>(pick(60));
  const TagId tag{static_cast<uint32_t>(pick(12))};
  static const char* kCategories[] = {"", "兴趣", "购买频率"};
  if (kind < 4) {
    CategoryOptions o;
    o.exclusive = pick(2) == 0;
    return index.CreateCategory(kCategories[1 + pick(2)], o);
  }
  if (kind < 12) {
    TagSpec spec;
    spec.name = absl::StrCat("标签", pick(15));
    spec.category = kCategories[pick(3)];
    spec.description = pick(3) == 0 ? "desc" : "";
    return index.CreateTag(spec).status();
  }
  if (kind < 14) return index.RenameTag(tag, absl::StrCat("改名", pick(10)));
  if (kind < 16) return index.SetTagDescription(tag, absl::StrCat("说明", pick(10)));
  if (kind < 18) return index.DeleteTag(tag);
  if (kind < 24) return index.AddCustomer(key).status();
  if (kind < 30) return index.RemoveCustomer(key);
  if (kind < 50) return index.Tag(tag, key);
  if (kind < 60) return index.Untag(tag, key);
  if (kind < 75) {
    std::vector<int64_t> keys;
    for (uint64_t i = 0, n = 1 + pick(8); i < n; ++i)
      keys.push_back(static_cast<int64_t>(pick(60)));
    return index.TagMany(tag, keys);
  }
  if (kind < 82) {
    std::vector<RowId> rows;
    for (uint64_t i = 0, n = 1 + pick(4); i < n; ++i) rows.push_back(static_cast<RowId>(pick(40)));
    return pick(2) == 0 ? index.TagRows(tag, rows) : index.UntagRows(tag, rows);
  }
  if (kind < 86) {
    std::vector<int64_t> keys;
    for (uint64_t i = 0, n = 1 + pick(5); i < n; ++i)
      keys.push_back(static_cast<int64_t>(pick(60)));
    return index.UntagMany(tag, keys);
  }
  if (kind < 90) {
    std::vector<RowId> rows;
    for (uint64_t i = 0, n = pick(5); i < n; ++i) rows.push_back(static_cast<RowId>(pick(30)));
    TagSpec spec;
    spec.name = absl::StrCat("导入", pick(10));
    spec.category = kCategories[pick(3)];
    std::string blob = Index::ExportRows(rows);
    return index.ImportTag(spec, std::span<const char>(blob.data(), blob.size())).status();
  }
  if (kind < 92 && allow_checkpoint && index.persistent()) return index.Checkpoint();
  if (kind < 92) return absl::OkStatus();
  // Attribute columns (kinds 16-22 of the log): create, drop, set, clear.
  const std::string attribute = absl::StrCat("属性", pick(3));
  if (kind < 93) {
    AttributeSpec spec;
    spec.name = attribute;
    if (pick(2) == 0) {
      spec.type = AttributeType::kDecimal;
      spec.scale = 2;
    }
    return index.CreateAttribute(spec).status();
  }
  if (kind < 94) return pick(2) == 0 ? index.DropAttribute(attribute) : index.Tag(tag, key);
  std::vector<int64_t> values;
  std::vector<RowId> rows;
  for (uint64_t i = 0, n = 1 + pick(4); i < n; ++i) {
    rows.push_back(static_cast<RowId>(pick(40)));
    values.push_back(static_cast<int64_t>(pick(2000)) - 1000);
  }
  if (kind < 97) return index.SetAttribute(attribute, key, values[0]);
  if (kind < 98) return index.SetAttributeRows(attribute, rows, values);
  if (kind < 99) return index.ClearAttribute(attribute, key);
  return index.ClearAttributeRows(attribute, rows);
}

// The name of the live attribute with id `id`, or the error a batch item
// naming that id gets (the oracle of attribute items, which name ids).
inline absl::StatusOr<std::string> AttributeNameOf(const Index& index, AttributeId id) {
  const auto listed5 = index.ListAttributes().value();
  for (const AttributeInfo& a : listed5) {
    if (a.id == id) return a.name;
  }
  return absl::NotFoundError(
      absl::StrCat("index: attribute id ", id.value, " not found (dropped or never created)"));
}

// A random WriteBatch of 1..`max_items` items of every kind over the same
// keys, tags and names as RandomOp (int64 keys), so that some batches are
// rejected (an unknown tag or customer, a repeated name) and some items
// depend on earlier ones (a customer added, then tagged by key); and the
// same items as single Index calls (`calls[i]` is item i), the oracle of a
// batch. Chosen from `rng` alone.
struct RandomBatchOps {
  WriteBatch batch;
  std::vector<std::function<absl::Status(Index&)>> calls;
};

inline RandomBatchOps RandomBatch(std::mt19937_64& rng, int max_items) {
  auto pick = [&](uint64_t n) { return static_cast<uint64_t>(rng() % n); };
  static const char* kCategories[] = {"", "兴趣", "购买频率"};
  RandomBatchOps out;
  WriteBatch& b = out.batch;
  auto& calls = out.calls;
  const uint64_t items = 1 + pick(static_cast<uint64_t>(max_items));
  for (uint64_t i = 0; i < items; ++i) {
    const uint64_t kind = pick(100);
    const TagId tag{static_cast<uint32_t>(pick(12))};
    std::vector<int64_t> keys;
    for (uint64_t j = 0, n = 1 + pick(6); j < n; ++j)
      keys.push_back(static_cast<int64_t>(pick(60)));
    std::vector<RowId> rows;
    for (uint64_t j = 0, n = 1 + pick(4); j < n; ++j) rows.push_back(static_cast<RowId>(pick(40)));
    const std::string name = absl::StrCat(kind < 22 ? "标签" : "导入", pick(15));
    const std::string category = kCategories[pick(3)];
    const std::string text = absl::StrCat("改名", pick(10));
    if (kind < 5) {
      const CategoryOptions o{.exclusive = pick(2) == 0};
      const std::string c = kCategories[1 + pick(2)];
      b.CreateCategory(c, o);
      calls.push_back([=](Index& x) { return x.CreateCategory(c, o); });
    } else if (kind < 14) {
      const TagSpec spec{.name = name, .category = category};
      b.CreateTag(spec);
      calls.push_back([=](Index& x) { return x.CreateTag(spec).status(); });
    } else if (kind < 17) {
      b.RenameTag(tag, text);
      calls.push_back([=](Index& x) { return x.RenameTag(tag, text); });
    } else if (kind < 20) {
      b.SetTagDescription(tag, text);
      calls.push_back([=](Index& x) { return x.SetTagDescription(tag, text); });
    } else if (kind < 22) {
      b.DeleteTag(tag);
      calls.push_back([=](Index& x) { return x.DeleteTag(tag); });
    } else if (kind < 35) {
      b.AddCustomers(keys);
      calls.push_back([=](Index& x) { return x.AddCustomers(keys); });
    } else if (kind < 40) {
      b.RemoveCustomers(std::span<const int64_t>(keys).first(1));
      calls.push_back([=](Index& x) { return x.RemoveCustomer(keys[0]); });
    } else if (kind < 43) {
      b.RemoveRows(std::span<const RowId>(rows).first(1));
      calls.push_back([=](Index& x) { return x.RemoveRow(rows[0]); });
    } else if (kind < 65) {
      b.Tag(tag, keys);
      calls.push_back([=](Index& x) { return x.TagMany(tag, keys); });
    } else if (kind < 75) {
      b.Untag(tag, keys);
      calls.push_back([=](Index& x) { return x.UntagMany(tag, keys); });
    } else if (kind < 82) {
      b.TagRows(tag, rows);
      calls.push_back([=](Index& x) { return x.TagRows(tag, rows); });
    } else if (kind < 88) {
      b.UntagRows(tag, rows);
      calls.push_back([=](Index& x) { return x.UntagRows(tag, rows); });
    } else if (kind < 95) {
      // Attribute values (ids 0..2: RandomOp's columns, when created).
      const AttributeId attribute{static_cast<uint32_t>(pick(3))};
      std::vector<int64_t> values;
      const size_t n = kind < 91 ? keys.size() : rows.size();
      for (size_t j = 0; j < n; ++j) values.push_back(static_cast<int64_t>(pick(2000)) - 1000);
      if (kind < 91) {
        // Registers the keys first (one more item), so the values' item
        // depends on an earlier one and is accepted more often.
        b.AddCustomers(keys);
        calls.push_back([=](Index& x) { return x.AddCustomers(keys); });
        b.SetAttribute(attribute, keys, values);
        calls.push_back([=](Index& x) -> absl::Status {
          absl::StatusOr<std::string> a = AttributeNameOf(x, attribute);
          if (!a.ok()) return a.status();
          return x.SetAttributeMany(*a, keys, values);
        });
      } else if (kind < 93) {
        b.SetAttributeRows(attribute, rows, values);
        calls.push_back([=](Index& x) -> absl::Status {
          absl::StatusOr<std::string> a = AttributeNameOf(x, attribute);
          if (!a.ok()) return a.status();
          return x.SetAttributeRows(*a, rows, values);
        });
      } else if (kind < 94) {
        b.ClearAttributeRows(attribute, rows);
        calls.push_back([=](Index& x) -> absl::Status {
          absl::StatusOr<std::string> a = AttributeNameOf(x, attribute);
          if (!a.ok()) return a.status();
          return x.ClearAttributeRows(*a, rows);
        });
      } else {
        b.ClearAttribute(attribute, keys);
        calls.push_back([=](Index& x) -> absl::Status {
          absl::StatusOr<std::string> a = AttributeNameOf(x, attribute);
          if (!a.ok()) return a.status();
          return x.ClearAttributeMany(*a, keys);
        });
      }
    } else {
      const std::string blob = Index::ExportRows(rows);
      const TagSpec spec{.name = name, .category = category};
      b.ImportTag(spec, std::span<const char>(blob.data(), blob.size()));
      calls.push_back([=](Index& x) {
        return x.ImportTag(spec, std::span<const char>(blob.data(), blob.size())).status();
      });
    }
  }
  return out;
}

// Options of an index whose files live in `fs`, created if missing (most
// tests start from nothing; OpenOptions defaults to false).
inline OpenOptions MemOptions(std::shared_ptr<MemFileSystem> fs) {
  OpenOptions o;
  o.create_if_missing = true;
  o.file_system = std::move(fs);
  return o;
}

}  // namespace tagindex::testing

#endif  // TAGINDEX_TESTS_STORAGE_STORAGE_TEST_UTIL_H_
