// The results folder: written in a temporary sibling directory and renamed into place at
// the end, so a failed or interrupted run never leaves a half-written results folder.
#pragma once

#include <filesystem>

namespace bench {

class ResultsDir {
 public:
  // Creates the temporary sibling of `final_path`; a path that cannot be written exits
  // with status 2 and a message, leaving nothing behind.
  explicit ResultsDir(std::filesystem::path final_path);
  ~ResultsDir();  // removes the temporary folder unless committed
  ResultsDir(const ResultsDir&) = delete;
  ResultsDir& operator=(const ResultsDir&) = delete;

  const std::filesystem::path& path() const { return tmp_; }
  const std::filesystem::path& final_path() const { return final_; }

  // Replaces the final folder (if any) with the temporary one.
  void commit();

  // On SIGINT or SIGTERM, removes the temporary folder before dying of the signal.
  void remove_on_signal() const;

 private:
  [[noreturn]] static void fail(const std::string& message);

  std::filesystem::path final_, tmp_;
  bool committed_ = false;
};

}  // namespace bench
