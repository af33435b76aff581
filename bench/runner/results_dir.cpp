// The results folder, replaced as a whole (see results_dir.hpp).
#include "runner/results_dir.hpp"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

namespace bench {

namespace fs = std::filesystem;

ResultsDir::ResultsDir(fs::path final_path) : final_(std::move(final_path)) {
  std::error_code ec;
  final_ = fs::absolute(final_, ec);
  if (fs::exists(final_, ec) && !fs::is_directory(final_, ec)) {
    fail(final_.string() + " exists and is not a folder");
  }
  const fs::path parent = final_.parent_path();
  fs::create_directories(parent, ec);
  if (ec) fail("cannot create " + parent.string() + ": " + ec.message());
  std::string pattern = (parent / ("." + final_.filename().string() + ".tmp-XXXXXX")).string();
  if (!::mkdtemp(pattern.data())) {
    fail("cannot write the results folder " + final_.string() + " (" + std::strerror(errno) + ")");
  }
  tmp_ = pattern;
  // The folder itself must also be replaceable: its parent must be writable.
  if (::access(parent.c_str(), W_OK) != 0) {
    fs::remove_all(tmp_, ec);
    fail("cannot replace " + final_.string() + ": its parent folder is not writable");
  }
}

ResultsDir::~ResultsDir() {
  if (!committed_) {
    std::error_code ec;
    fs::remove_all(tmp_, ec);
  }
}

void ResultsDir::commit() {
  std::error_code ec;
  fs::path old;
  if (fs::exists(final_, ec)) {
    std::string pattern =
        (final_.parent_path() / ("." + final_.filename().string() + ".old-XXXXXX")).string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("cannot set aside the old results");
    old = fs::path(pattern) / "results";
    fs::rename(final_, old);
  }
  fs::rename(tmp_, final_);
  committed_ = true;
  if (!old.empty()) fs::remove_all(old.parent_path(), ec);
}

void ResultsDir::fail(const std::string& message) {
  std::fprintf(stderr, "cf_experiments: error: %s; nothing was written\n", message.c_str());
  std::exit(2);
}

namespace {

// The folder a signal must remove, in a plain array: the handler may only make
// async-signal-safe calls, so it forks a child that runs `rm -rf`.
char g_tmp_for_signal[4096];

void on_signal(int sig) {
  if (g_tmp_for_signal[0] != '\0') {
    const pid_t pid = ::fork();
    if (pid == 0) {
      const char* argv[] = {"rm", "-rf", g_tmp_for_signal, nullptr};
      ::execvp("rm", const_cast<char* const*>(argv));
      ::_exit(127);
    }
    if (pid > 0) ::waitpid(pid, nullptr, 0);
  }
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

}  // namespace

void ResultsDir::remove_on_signal() const {
  std::snprintf(g_tmp_for_signal, sizeof g_tmp_for_signal, "%s", tmp_.c_str());
  ::signal(SIGINT, on_signal);
  ::signal(SIGTERM, on_signal);
}

}  // namespace bench
