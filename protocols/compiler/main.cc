// exo-protoc: compiles one .exo protocol file into a C++ header (usage: exo-protoc IN -o OUT).
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "protocols/compiler/checker.h"
#include "protocols/compiler/cpp_writer.h"
#include "protocols/compiler/diagnostics.h"

namespace {

int usage() {
  std::cerr << "usage: exo-protoc INPUT.exo -o OUTPUT.h\n";
  return 2;
}

std::string base_name(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

int main(int argc, char** argv) {
  std::string input, output;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-o" && i + 1 < argc) {
      output = argv[++i];
    } else if (!arg.empty() && arg[0] != '-' && input.empty()) {
      input = arg;
    } else {
      return usage();
    }
  }
  if (input.empty() || output.empty()) return usage();

  std::ifstream in(input, std::ios::binary);
  if (!in) {
    std::cerr << input << ": error: cannot read the file\n";
    return 1;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string source = buffer.str();

  exo::protoc::Diagnostics diagnostics(input);
  auto library = exo::protoc::compile_front_end(source, diagnostics);
  if (!library) {
    std::cerr << diagnostics.format();
    // A stale header from an earlier, valid version must not survive an invalid edit.
    std::remove(output.c_str());
    return 1;
  }
  std::string text = exo::protoc::write_cpp(*library, base_name(input));

  // Write to a temporary and rename, so a failed write never leaves half a header behind.
  std::string temporary = output + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) {
      std::cerr << output << ": error: cannot write the file\n";
      std::remove(temporary.c_str());
      return 1;
    }
  }
  if (std::rename(temporary.c_str(), output.c_str()) != 0) {
    std::cerr << output << ": error: cannot write the file\n";
    std::remove(temporary.c_str());
    return 1;
  }
  return 0;
}
