#pragma once
// Scratch files for the integration and interop tests: a temporary
// directory removed with its owner, and whole-file reads and writes.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace test_support {

namespace fs = std::filesystem;

// /tmp/chorus-TAG-XXXXXX, removed (with everything in it) by the destructor
// unless keep() was called (to look at logs after a failure). A test may
// have made it read-only: its owner's rights come back before the removal.
class temp_dir {
 public:
  explicit temp_dir(const std::string& tag) {
    std::string tmpl = "/tmp/chorus-" + tag + "-XXXXXX";
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp");
    path_ = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    if (keep_) return;
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::string& path() const { return path_; }
  void keep() { keep_ = true; }

 private:
  std::string path_;
  bool keep_ = false;
};

// The whole file; empty if it cannot be read.
inline std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// Write then rename: a process reloading the file never reads half of it.
inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path + ".tmp", std::ios::trunc) << text;
  fs::rename(path + ".tmp", path);
}

inline std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

}  // namespace test_support
