// Timing-cache files: loading, and atomic saving under an advisory lock so that several builds
// (threads or processes) saving the same file never leave it torn and, with kMerge, keep each
// other's entries.
#include <kiln/logger.h>
#include <kiln/timing_cache.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>

namespace kiln {

namespace {

// Larger files are refused before reading (a cache of a large model is a few MiB).
constexpr uint64_t kMaxCacheFileBytes = uint64_t{1} << 30;

std::string errno_text() {
  return std::strerror(errno);
}

Result<std::vector<uint8_t>> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) return io_error("cannot open timing cache '" + path + "'");
  const std::streamoff size = f.tellg();
  if (size < 0) return io_error("cannot read timing cache '" + path + "'");
  if (static_cast<uint64_t>(size) > kMaxCacheFileBytes) {
    return corrupt_data("timing cache '" + path + "' is " + std::to_string(size) +
                        " bytes, more than a timing cache can be (" +
                        std::to_string(kMaxCacheFileBytes) + ")");
  }
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  f.seekg(0);
  if (size > 0 && !f.read(reinterpret_cast<char*>(bytes.data()), size)) {
    return io_error("cannot read timing cache '" + path + "'");
  }
  return bytes;
}

// Exclusive advisory lock on "<path>.lock". flock locks belong to open file descriptions, and
// every acquire opens its own, so threads of one process exclude each other as processes do;
// the lock is released when the descriptor is closed, also if the process dies.
class FileLock {
 public:
  static Result<std::unique_ptr<FileLock>> acquire(const std::string& path) {
    auto lock = std::unique_ptr<FileLock>(new FileLock);
    const std::string lock_path = path + ".lock";
    lock->fd_ = ::open(lock_path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (lock->fd_ < 0)
      return io_error("cannot open lock file '" + lock_path + "': " + errno_text());
    while (::flock(lock->fd_, LOCK_EX) != 0) {
      if (errno != EINTR) return io_error("cannot lock '" + lock_path + "': " + errno_text());
    }
    return lock;
  }
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the flock
  }

 private:
  FileLock() = default;
  int fd_ = -1;
};

Status write_atomically(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::string tmp = path + ".tmp.XXXXXX";
  std::vector<char> name(tmp.begin(), tmp.end());
  name.push_back('\0');
  int fd = ::mkstemp(name.data());
  if (fd < 0)
    return io_error("cannot create a temporary file next to '" + path + "': " + errno_text());
  tmp.assign(name.data());
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      Status s = io_error("cannot write '" + tmp + "': " + errno_text());
      ::close(fd);
      ::unlink(tmp.c_str());
      return s;
    }
    done += static_cast<size_t>(w);
  }
  ::fchmod(fd, 0644);
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    Status s = io_error("cannot write '" + tmp + "': " + errno_text());
    ::unlink(tmp.c_str());
    return s;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status s = io_error("cannot rename '" + tmp + "' to '" + path + "': " + errno_text());
    ::unlink(tmp.c_str());
    return s;
  }
  return Status::ok();
}

bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

Result<std::shared_ptr<TimingCache>> TimingCache::load(const std::string& path) {
  KILN_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, read_file(path));
  auto cache = deserialize(bytes);
  if (!cache.is_ok()) return cache.status().with_context("timing cache '" + path + "'");
  return cache;
}

Result<std::shared_ptr<TimingCache>> TimingCache::load_or_create(const std::string& path) {
  if (!file_exists(path)) return create();
  return load(path);
}

Status TimingCache::save(const std::string& path, SaveMode mode) const {
  KILN_ASSIGN_OR_RETURN(auto lock, FileLock::acquire(path));
  std::vector<uint8_t> bytes;
  if (mode == SaveMode::kMerge && file_exists(path)) {
    auto on_disk = load(path);
    auto merged = create();
    KILN_RETURN_IF_ERROR(merged->combine(*this));
    if (!on_disk.is_ok()) {
      default_logger().log(Severity::kWarning,
                           "replacing an unreadable timing cache: " + on_disk.status().to_string());
    } else {
      Status s = merged->combine(**on_disk);
      if (!s.is_ok()) {
        default_logger().log(Severity::kWarning, "replacing timing cache '" + path +
                                                     "' of another device: " + s.to_string());
      }
    }
    KILN_ASSIGN_OR_RETURN(bytes, merged->serialize());
  } else {
    KILN_ASSIGN_OR_RETURN(bytes, serialize());
  }
  return write_atomically(path, bytes).with_context("saving timing cache");
}

}  // namespace kiln
