// PrivateRegion: a file's bytes read (read(2), not mapped) into anonymous
// memory this process owns, so that nothing a host does to the file later —
// truncating it, rewriting it in place — can fault (SIGBUS) or change them.
// The posix file system's ReadFileCopy returns one; Open reads the snapshot
// with it (docs/hardening.md, "Truncation during Open"). Not part of the
// public API.
#ifndef TAGINDEX_STORAGE_PRIVATE_REGION_H_
#define TAGINDEX_STORAGE_PRIVATE_REGION_H_

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>

#include "tagindex/file_system.h"

namespace tagindex::storage {

class PrivateRegion : public ReadableRegion {
 public:
  PrivateRegion() = default;
  ~PrivateRegion() override {
    if (base_ != nullptr) ::munmap(base_, capacity_);
  }
  PrivateRegion(const PrivateRegion&) = delete;
  PrivateRegion& operator=(const PrivateRegion&) = delete;

  // Makes room for `capacity` bytes (keeping the first size()); false when
  // the memory cannot be had. Pages of 2 MiB where the kernel allows them:
  // a 500 MB file read into 4 KiB pages pays ~120,000 page faults.
  bool Reserve(size_t capacity) {
    if (capacity <= capacity_) return true;
    void* p = base_ == nullptr ? ::mmap(nullptr, capacity, PROT_READ | PROT_WRITE,
                                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
                               : ::mremap(base_, capacity_, capacity, MREMAP_MAYMOVE);
    if (p == MAP_FAILED) return false;
    if (capacity >= (size_t{2} << 20)) (void)::madvise(p, capacity, MADV_HUGEPAGE);
    base_ = static_cast<char*>(p);
    capacity_ = capacity;
    return true;
  }
  char* mutable_data() { return base_; }
  size_t capacity() const { return capacity_; }
  void set_size(size_t size) { size_ = size; }

  std::span<const char> data() const override { return {base_, size_}; }

  // Gives the pages that overlap none of `keep` back to the kernel (they
  // read as zeros afterwards): after Open only the key sections are read,
  // so the rest of the file's bytes need not stay resident. Returns the
  // bytes released.
  size_t ReleaseOutside(std::initializer_list<std::span<const char>> keep) const {
    if (base_ == nullptr) return 0;
    const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    const uintptr_t begin = reinterpret_cast<uintptr_t>(base_);
    const uintptr_t end = begin + capacity_;
    // Kept ranges widened to whole pages, in address order.
    std::pair<uintptr_t, uintptr_t> kept[4];
    size_t n = 0;
    for (std::span<const char> k : keep) {
      if (k.empty() || n == 4) continue;
      const uintptr_t a = reinterpret_cast<uintptr_t>(k.data());
      kept[n++] = {a & ~(page - 1), (a + k.size() + page - 1) & ~(page - 1)};
    }
    std::sort(kept, kept + n);
    size_t released = 0;
    uintptr_t at = begin;
    auto drop = [&](uintptr_t to) {
      to = std::min(to, end);
      if (to > at) {
        if (::madvise(reinterpret_cast<void*>(at), to - at, MADV_DONTNEED) == 0) {
          released += to - at;
        }
      }
    };
    for (size_t i = 0; i < n; ++i) {
      drop(kept[i].first);
      at = std::max(at, kept[i].second);
    }
    drop(end);
    return released;
  }

 private:
  char* base_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace tagindex::storage

#endif  // TAGINDEX_STORAGE_PRIVATE_REGION_H_
