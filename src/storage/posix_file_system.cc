// The POSIX implementation of the FileSystem seam.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "storage/private_region.h"
#include "tagindex/file_system.h"
#include "util/error_info.h"

namespace tagindex {
namespace {

// The one errno -> status mapping of the library (documented in
// tagindex/index.h "Errors" and tagindex/file_system.h): an I/O failure is
// never Internal, which would mean a bug in tagindex.
absl::Status Errno(const std::string& what, const std::string& path, int err) {
  std::string msg = absl::StrCat("storage: ", what, " ", path, ": ", std::strerror(err));
  absl::StatusCode code = absl::StatusCode::kUnavailable;
  if (err == ENOENT) {
    code = absl::StatusCode::kNotFound;
  } else if (err == ENOSPC || err == EDQUOT || err == ENOMEM) {
    code = absl::StatusCode::kResourceExhausted;
  } else if (err == EACCES || err == EPERM || err == EROFS) {
    code = absl::StatusCode::kPermissionDenied;
  }
  ErrorInfo info = util::Info(err == ENOENT ? ErrorKind::kNotFound : ErrorKind::kIo, path);
  info.path = path;
  info.detail = std::strerror(err);
  return util::Error(code, msg, info);
}

class PosixWritableFile : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd, dev_t dev, ino_t ino)
      : path_(std::move(path)), fd_(fd), dev_(dev), ino_(ino) {}
  ~PosixWritableFile() override { (void)Close(); }

  absl::Status Append(std::string_view data) override {
    const char* p = data.data();
    size_t left = data.size();
    while (left > 0) {
      ssize_t n = ::write(fd_, p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        return Errno("cannot write", path_, errno);
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
    return absl::OkStatus();
  }
  absl::Status Sync() override {
    if (::fdatasync(fd_) != 0) return Errno("cannot sync", path_, errno);
    return absl::OkStatus();
  }
  absl::Status Truncate(uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) {
      return Errno("cannot truncate", path_, errno);
    }
    return absl::OkStatus();
  }
  // One stat of the path: if it names this file's inode (device and inode
  // number of the open file, fixed at open), the file is still linked there,
  // so a removed file (no links left), a replaced one and a moved or removed
  // directory all fail it. The inode cannot be reused while the file is open.
  // Only a failed check asks fstat, to say which of these happened. It used
  // to be fstat then stat on every commit: the fstat answers nothing the
  // matching stat does not (one system call saved per kNone commit).
  absl::Status CheckLinked() override {
    if (fd_ < 0)
      return absl::FailedPreconditionError(absl::StrCat("storage: ", path_, " is closed"));
    struct stat path_st;
    const bool reachable = ::stat(path_.c_str(), &path_st) == 0;
    const int path_err = reachable ? 0 : errno;
    if (reachable && path_st.st_dev == dev_ && path_st.st_ino == ino_) return absl::OkStatus();
    struct stat open_st;
    if (::fstat(fd_, &open_st) != 0) return Errno("cannot stat", path_, errno);
    if (open_st.st_nlink == 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("storage: ", path_, " was removed while the index was open"));
    }
    if (!reachable) {
      return absl::FailedPreconditionError(
          absl::StrCat("storage: ", path_, " is no longer reachable by its path (",
                       std::strerror(path_err), "): it or its directory was moved or removed"));
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "storage: ", path_, " was replaced by another file (or its directory by another one)"));
  }
  absl::Status Close() override {
    if (fd_ < 0) return absl::OkStatus();
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) return Errno("cannot close", path_, errno);
    return absl::OkStatus();
  }

 private:
  std::string path_;
  int fd_;
  dev_t dev_;
  ino_t ino_;
};

class MappedRegion : public ReadableRegion {
 public:
  MappedRegion(void* base, size_t size) : base_(base), size_(size) {}
  ~MappedRegion() override {
    if (base_ != nullptr) ::munmap(base_, size_);
  }
  std::span<const char> data() const override { return {static_cast<const char*>(base_), size_}; }

 private:
  void* base_;
  size_t size_;
};

class PosixLock : public FileLock {
 public:
  explicit PosixLock(int fd) : fd_(fd) {}
  ~PosixLock() override {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }

 private:
  int fd_;
};

class PosixFileSystem : public FileSystem {
 public:
  absl::Status CreateDir(const std::string& dir) override {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      ErrorInfo info = util::Info(ErrorKind::kIo, dir);
      info.path = dir;
      info.detail = ec.message();
      return util::Error(absl::StatusCode::kUnavailable,
                         absl::StrCat("storage: cannot create directory ", dir, ": ", ec.message()),
                         info);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return Errno("cannot list directory", dir, errno);
    std::vector<std::string> names;
    while (struct dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") names.push_back(std::move(name));
    }
    ::closedir(d);
    return names;
  }

  absl::StatusOr<bool> Exists(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) == 0) return true;
    if (errno == ENOENT) return false;
    return Errno("cannot stat", path, errno);
  }

  absl::StatusOr<std::unique_ptr<WritableFile>> OpenWritable(const std::string& path,
                                                             bool truncate) override {
    int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0);
    int fd = ::open(path.c_str(), flags, 0644);
    if (fd < 0) return Errno("cannot open", path, errno);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      const int err = errno;
      ::close(fd);
      return Errno("cannot stat", path, err);
    }
    return std::unique_ptr<WritableFile>(new PosixWritableFile(path, fd, st.st_dev, st.st_ino));
  }

  absl::StatusOr<std::unique_ptr<ReadableRegion>> ReadFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Errno("cannot open", path, errno);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      int err = errno;
      ::close(fd);
      return Errno("cannot stat", path, err);
    }
    const size_t size = static_cast<size_t>(st.st_size);
    void* base = nullptr;
    if (size > 0) {
      base = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
      if (base == MAP_FAILED) {
        int err = errno;
        ::close(fd);
        return Errno("cannot map", path, err);
      }
    }
    ::close(fd);
    return std::unique_ptr<ReadableRegion>(new MappedRegion(base, size));
  }

  absl::StatusOr<std::unique_ptr<ReadableRegion>> ReadFileCopy(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Errno("cannot open", path, errno);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      const int err = errno;
      ::close(fd);
      return Errno("cannot stat", path, err);
    }
    // Read to end of file, whatever its size does meanwhile: one byte more
    // than the size seen tells a file that grew (read on into a larger
    // buffer) from one that did not; a file cut short meanwhile simply ends
    // sooner (the parser then reports it truncated). No mapping: nothing
    // done to the file later can fault these bytes.
    auto region = std::make_unique<storage::PrivateRegion>();
    size_t size = 0;
    size_t want = static_cast<size_t>(st.st_size) + 1;
    while (true) {
      if (size == region->capacity()) {
        if (!region->Reserve(std::max(want, region->capacity() * 2))) {
          ::close(fd);
          return util::Error(absl::StatusCode::kResourceExhausted, ErrorKind::kOutOfMemory, path,
                             absl::StrCat("storage: out of memory reading ", path));
        }
      }
      const ssize_t n = ::read(fd, region->mutable_data() + size, region->capacity() - size);
      if (n < 0) {
        if (errno == EINTR) continue;
        const int err = errno;
        ::close(fd);
        return Errno("cannot read", path, err);
      }
      if (n == 0) break;
      size += static_cast<size_t>(n);
    }
    ::close(fd);
    region->set_size(size);
    return std::unique_ptr<ReadableRegion>(std::move(region));
  }

  absl::Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return Errno("cannot rename", from, errno);
    return absl::OkStatus();
  }

  absl::Status Remove(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return Errno("cannot remove", path, errno);
    return absl::OkStatus();
  }

  absl::Status SyncDir(const std::string& dir) override {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Errno("cannot open directory", dir, errno);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return Errno("cannot sync directory", dir, err);
    return absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Errno("cannot open lock file", path, errno);
    // flock locks belong to the open file description, so a second open in
    // this process conflicts just like another process does.
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK) {
        ErrorInfo info = util::Info(ErrorKind::kBusy, path);
        info.path = path;
        return util::Error(absl::StatusCode::kFailedPrecondition,
                           absl::StrCat("storage: index is locked by another writer (", path,
                                        " is held); open it read-only or close the other writer"),
                           info);
      }
      return Errno("cannot lock", path, err);
    }
    return std::unique_ptr<FileLock>(new PosixLock(fd));
  }
};

}  // namespace

std::shared_ptr<FileSystem> FileSystem::Default() {
  static const std::shared_ptr<FileSystem> fs = std::make_shared<PosixFileSystem>();
  return fs;
}

}  // namespace tagindex
