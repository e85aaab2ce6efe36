// Back end of exo-protoc: writes the C++ header for one checked protocol library.
#pragma once

#include <string>

#include "protocols/compiler/ir.h"

namespace exo::protoc {

// Returns the text of the generated header: message types with encode/decode, a typed client
// and a server base class per protocol. `source_name` (the .exo file's base name) goes into the
// header's first line. Deterministic: the same library always yields the same bytes.
std::string write_cpp(const ir::Library& library, const std::string& source_name);

}  // namespace exo::protoc
