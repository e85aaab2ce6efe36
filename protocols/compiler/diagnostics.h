// Source positions and the error list every stage of exo-protoc reports into.
#pragma once

#include <string>
#include <vector>

namespace exo::protoc {

// 1-based line and column (columns count bytes).
struct Location {
  int line = 0;
  int column = 0;
};

struct Diagnostic {
  Location location;
  std::string message;
};

// Collects errors for one source file. Stages keep going after an error where they can, so a
// user sees every independent mistake at once; nothing is generated unless empty() holds.
class Diagnostics {
 public:
  explicit Diagnostics(std::string file_name) : file_name_(std::move(file_name)) {}

  void error(Location location, std::string message) {
    errors_.push_back({location, std::move(message)});
  }
  bool empty() const { return errors_.empty(); }
  const std::vector<Diagnostic>& errors() const { return errors_; }
  const std::string& file_name() const { return file_name_; }

  // "file:line:col: error: message" lines, sorted by position, one per error.
  std::string format() const;

 private:
  std::string file_name_;
  std::vector<Diagnostic> errors_;
};

}  // namespace exo::protoc
