// Formatting of exo-protoc diagnostics in the file:line:col form editors understand.
#include "protocols/compiler/diagnostics.h"

#include <algorithm>

namespace exo::protoc {

std::string Diagnostics::format() const {
  std::vector<Diagnostic> sorted = errors_;
  std::stable_sort(sorted.begin(), sorted.end(), [](const Diagnostic& a, const Diagnostic& b) {
    if (a.location.line != b.location.line) return a.location.line < b.location.line;
    return a.location.column < b.location.column;
  });
  std::string out;
  for (const Diagnostic& d : sorted) {
    out += file_name_ + ":" + std::to_string(d.location.line) + ":" +
           std::to_string(d.location.column) + ": error: " + d.message + "\n";
  }
  return out;
}

}  // namespace exo::protoc
