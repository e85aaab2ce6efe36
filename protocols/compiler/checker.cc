// Semantic analysis for exo-protoc: name resolution, layout and every rule a protocol must obey.
#include "protocols/compiler/checker.h"

#include <algorithm>
#include <map>
#include <set>

#include "protocols/compiler/parser.h"

namespace exo::protoc {
namespace {

// The limits of one message (libsys/include/exo/proto/message.h; the generated code
// static_asserts that the two agree).
constexpr uint64_t kMaxBodyBytes = 48 + 4096;
constexpr uint64_t kMaxHandles = 4;
constexpr uint64_t kMinQueue = 2;
constexpr uint64_t kMaxQueue = 65536;

const std::set<std::string>& cpp_keywords() {
  static const std::set<std::string> kKeywords = {
      "alignas", "alignof", "and", "and_eq", "asm", "auto", "bitand", "bitor", "bool", "break",
      "case", "catch", "char", "char8_t", "char16_t", "char32_t", "class", "compl", "concept",
      "const", "consteval", "constexpr", "constinit", "const_cast", "continue", "co_await",
      "co_return", "co_yield", "decltype", "default", "delete", "do", "double", "dynamic_cast",
      "else", "enum", "explicit", "export", "extern", "false", "float", "for", "friend", "goto",
      "if", "inline", "int", "long", "mutable", "namespace", "new", "noexcept", "not", "not_eq",
      "nullptr", "operator", "or", "or_eq", "private", "protected", "public", "register",
      "reinterpret_cast", "requires", "return", "short", "signed", "sizeof", "static",
      "static_assert", "static_cast", "struct", "switch", "template", "this", "thread_local",
      "throw", "true", "try", "typedef", "typeid", "typename", "union", "unsigned", "using",
      "virtual", "void", "volatile", "wchar_t", "while", "xor", "xor_eq",
      // Names the generated classes use for themselves.
      "dispatch", "size_t", "uint8_t", "uint16_t", "uint32_t", "uint64_t", "int8_t", "int16_t",
      "int32_t", "int64_t", "exo"};
  return kKeywords;
}

const std::map<std::string, ir::IntKind>& int_types() {
  static const std::map<std::string, ir::IntKind> kInts = {
      {"u8", ir::IntKind::kU8},   {"u16", ir::IntKind::kU16}, {"u32", ir::IntKind::kU32},
      {"u64", ir::IntKind::kU64}, {"i8", ir::IntKind::kI8},   {"i16", ir::IntKind::kI16},
      {"i32", ir::IntKind::kI32}, {"i64", ir::IntKind::kI64}};
  return kInts;
}

const std::map<std::string, std::string>& object_types() {
  static const std::map<std::string, std::string> kTypes = {{"any", "kAny"},
                                                            {"vmo", "kVmo"},
                                                            {"channel", "kChannel"},
                                                            {"notification", "kNotification"},
                                                            {"interrupt", "kInterrupt"},
                                                            {"io_ports", "kIoPorts"},
                                                            {"thread", "kThread"},
                                                            {"process", "kProcess"},
                                                            {"address_space", "kAddressSpace"},
                                                            {"endpoint", "kEndpoint"}};
  return kTypes;
}

const std::map<std::string, std::string>& rights() {
  static const std::map<std::string, std::string> kRights = {{"read", "kRightRead"},
                                                             {"write", "kRightWrite"},
                                                             {"map", "kRightMap"},
                                                             {"execute", "kRightExecute"},
                                                             {"transfer", "kRightTransfer"},
                                                             {"duplicate", "kRightDuplicate"},
                                                             {"signal", "kRightSignal"},
                                                             {"wait", "kRightWait"},
                                                             {"ack", "kRightAck"}};
  return kRights;
}

std::string join_keys(const std::map<std::string, std::string>& map) {
  std::string out;
  for (const auto& [key, value] : map) {
    if (!out.empty()) out += ", ";
    out += key;
  }
  return out;
}

std::string camel(const std::string& snake) {
  std::string out;
  bool upper = true;
  for (char c : snake) {
    if (c == '_') {
      upper = true;
    } else {
      out += upper && c >= 'a' && c <= 'z' ? char(c - 'a' + 'A') : c;
      upper = false;
    }
  }
  return out;
}

uint64_t sat_add(uint64_t a, uint64_t b) {
  return std::min(a + b, ir::kHugeSize);
}
uint64_t sat_mul(uint64_t a, uint64_t b) {
  if (a == 0 || b == 0) return 0;
  if (a > ir::kHugeSize / b) return ir::kHugeSize;
  return std::min(a * b, ir::kHugeSize);
}

std::string where(Location l) {
  return std::to_string(l.line) + ":" + std::to_string(l.column);
}

class Checker {
 public:
  explicit Checker(Diagnostics& diagnostics) : d_(diagnostics) {}

  std::unique_ptr<ir::Library> run(const ast::File& file) {
    auto lib = std::make_unique<ir::Library>();
    lib->doc = file.doc;
    lib->package = file.package.text;
    snake_name(file.package, "package name");
    lib->cpp_namespace = "exo::protocols::" + file.package.text;

    // Declared in source order, so a duplicate is reported where it is written second.
    std::vector<std::pair<ast::Name, Decl>> decls;
    for (const ast::Enum& e : file.enums) decls.push_back({e.name, Decl::kEnum});
    for (const ast::Struct& s : file.structs) decls.push_back({s.name, Decl::kStruct});
    for (const ast::Protocol& p : file.protocols) decls.push_back({p.name, Decl::kProtocol});
    std::stable_sort(decls.begin(), decls.end(), [](const auto& a, const auto& b) {
      const Location& x = a.first.location;
      const Location& y = b.first.location;
      return x.line != y.line ? x.line < y.line : x.column < y.column;
    });
    for (const auto& [name, kind] : decls) {
      declare(name, kind);
      if (kind == Decl::kProtocol) {
        declare({name.text + "Client", name.location}, Decl::kGenerated);
        declare({name.text + "Server", name.location}, Decl::kGenerated);
      }
    }

    for (const ast::Enum& e : file.enums) {
      auto checked = check_enum(e);
      if (!enums_.count(e.name.text)) enums_[e.name.text] = checked.get();
      lib->enums.push_back(std::move(checked));
    }

    // Structs: create all first so fields can point at any of them, then order and lay out.
    std::vector<std::unique_ptr<ir::Struct>> unordered;
    for (const ast::Struct& s : file.structs) {
      auto st = std::make_unique<ir::Struct>();
      st->name = s.name.text;
      st->doc = s.doc;
      if (!structs_.count(s.name.text)) {
        structs_[s.name.text] = {st.get(), &s};
      }
      unordered.push_back(std::move(st));
    }
    for (size_t i = 0; i < file.structs.size(); ++i) {
      unordered[i]->fields =
          fields(file.structs[i].fields, "field", "struct '" + file.structs[i].name.text + "'");
    }
    for (auto& st : unordered) visit(st.get());
    if (!d_.empty()) return nullptr;
    for (const ir::Struct* st : order_) {
      for (auto& owned : unordered) {
        if (owned.get() == st) lib->structs.push_back(std::move(owned));
      }
    }
    for (const auto& st : lib->structs) {
      check_message_bound(*st, "struct '" + st->name + "'", structs_[st->name].decl->name.location);
    }

    for (const ast::Protocol& p : file.protocols) lib->protocols.push_back(check_protocol(p));
    if (!d_.empty()) return nullptr;
    return lib;
  }

 private:
  enum class Decl { kEnum, kStruct, kProtocol, kGenerated };

  void declare(const ast::Name& name, Decl kind) {
    if (kind != Decl::kGenerated)
      camel_name(name, kind == Decl::kProtocol ? "protocol name" : "type name");
    auto [it, inserted] = decls_.emplace(name.text, std::make_pair(kind, name.location));
    if (!inserted) {
      if (it->second.first == Decl::kGenerated || kind == Decl::kGenerated) {
        d_.error(name.location, "'" + name.text + "' clashes with a name generated for a protocol");
      } else {
        d_.error(name.location,
                 "'" + name.text + "' is already declared at " + where(it->second.second));
      }
    }
  }

  // Type and protocol names are CamelCase; everything else is snake_case. Keeping the two apart
  // means a field can never hide a type in the generated C++.
  void camel_name(const ast::Name& name, const char* what) {
    const std::string& s = name.text;
    bool ok =
        !s.empty() && s[0] >= 'A' && s[0] <= 'Z' && std::all_of(s.begin(), s.end(), [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        });
    if (!ok) d_.error(name.location, std::string(what) + " '" + s + "' must be CamelCase");
  }
  void snake_name(const ast::Name& name, const char* what) {
    const std::string& s = name.text;
    bool ok = !s.empty() && s[0] >= 'a' && s[0] <= 'z' && s.back() != '_' &&
              s.find("__") == std::string::npos && std::all_of(s.begin(), s.end(), [](char c) {
                return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
              });
    if (!ok) {
      d_.error(name.location, std::string(what) + " '" + s +
                                  "' must be snake_case (lower-case letters, digits, single '_')");
    } else if (cpp_keywords().count(s)) {
      d_.error(name.location, std::string(what) + " '" + s + "' is reserved in C++");
    }
  }

  std::unique_ptr<ir::Enum> check_enum(const ast::Enum& e) {
    auto out = std::make_unique<ir::Enum>();
    out->doc = e.doc;
    out->name = e.name.text;
    auto it = int_types().find(e.underlying.text);
    if (it == int_types().end()) {
      d_.error(e.underlying.location, "enum '" + e.name.text +
                                          "' must have an integer underlying type, not '" +
                                          e.underlying.text + "'");
    } else {
      out->underlying = it->second;
    }
    if (e.members.empty()) d_.error(e.name.location, "enum '" + e.name.text + "' has no members");
    std::map<std::string, Location> names;
    std::map<std::pair<bool, uint64_t>, std::string> values;
    uint64_t bits = ir::int_size(out->underlying) * 8;
    bool is_signed = ir::int_signed(out->underlying);
    for (const ast::EnumMember& m : e.members) {
      snake_name(m.name, "enum member");
      auto [nit, fresh] = names.emplace(m.name.text, m.name.location);
      if (!fresh) {
        d_.error(m.name.location,
                 "enum member '" + m.name.text + "' is already declared at " + where(nit->second));
      }
      bool negative = m.negative && m.magnitude != 0;
      bool in_range;
      if (is_signed) {
        uint64_t limit = uint64_t{1} << (bits - 1);
        in_range = negative ? m.magnitude <= limit : m.magnitude < limit;
      } else {
        in_range = !negative && (bits == 64 || m.magnitude < (uint64_t{1} << bits));
      }
      if (!in_range) {
        d_.error(m.value_location,
                 "value of '" + m.name.text + "' does not fit in " + e.underlying.text);
      }
      auto [vit, unique] = values.emplace(std::make_pair(negative, m.magnitude), m.name.text);
      if (!unique) {
        d_.error(m.value_location, "enum '" + e.name.text + "' gives '" + m.name.text +
                                       "' the same value as '" + vit->second + "'");
      }
      out->members.push_back({m.doc, m.name.text, "k" + camel(m.name.text), m.magnitude, negative});
    }
    return out;
  }

  std::unique_ptr<ir::Type> resolve_ptr(const ast::TypeRef& ref) {
    return std::make_unique<ir::Type>(resolve(ref));
  }

  // Resolves a type reference; struct layouts are filled in later by layout().
  ir::Type resolve(const ast::TypeRef& ref) {
    ir::Type t;
    using K = ast::TypeRef::Kind;
    switch (ref.kind) {
      case K::kNamed: {
        if (auto it = int_types().find(ref.name); it != int_types().end()) {
          t.kind = ir::Type::Kind::kInt;
          t.int_kind = it->second;
        } else if (ref.name == "bool") {
          t.kind = ir::Type::Kind::kBool;
        } else if (auto e = enums_.find(ref.name); e != enums_.end()) {
          t.kind = ir::Type::Kind::kEnum;
          t.enum_type = e->second;
        } else if (auto s = structs_.find(ref.name); s != structs_.end()) {
          t.kind = ir::Type::Kind::kStruct;
          t.struct_type = s->second.ir;
        } else if (auto d = decls_.find(ref.name);
                   d != decls_.end() && d->second.first == Decl::kProtocol) {
          d_.error(ref.location,
                   "'" + ref.name + "' is a protocol, not a type (pass a handle<channel>)");
        } else if (ref.name == "handle") {
          d_.error(ref.location, "handle needs an object type: handle<vmo, read | write>");
        } else {
          d_.error(ref.location, "unknown type '" + ref.name + "'");
        }
        break;
      }
      case K::kArray:
        t.kind = ir::Type::Kind::kArray;
        t.count = ref.count;
        t.element = resolve_ptr(*ref.element);
        if (ref.count == 0) d_.error(ref.count_location, "array length must be at least 1");
        break;
      case K::kBytes:
      case K::kString:
        t.kind = ref.kind == K::kBytes ? ir::Type::Kind::kBytes : ir::Type::Kind::kString;
        t.count = ref.count;
        if (ref.count == 0) {
          d_.error(ref.count_location, "length bound must be at least 1");
        } else if (ref.count > kMaxBodyBytes) {
          d_.error(ref.count_location, "length bound " + std::to_string(ref.count) +
                                           " is larger than a message body (" +
                                           std::to_string(kMaxBodyBytes) + " bytes)");
        }
        break;
      case K::kOptional:
        t.kind = ir::Type::Kind::kOptional;
        t.element = resolve_ptr(*ref.element);
        break;
      case K::kHandle: {
        t.kind = ir::Type::Kind::kHandle;
        auto it = object_types().find(ref.name);
        if (it == object_types().end()) {
          d_.error(ref.location, "unknown handle object type '" + ref.name + "' (one of " +
                                     join_keys(object_types()) + ")");
        } else {
          t.object_type = it->second;
        }
        std::set<std::string> seen;
        for (const ast::Name& right : ref.rights) {
          auto r = rights().find(right.text);
          if (r == rights().end()) {
            d_.error(right.location,
                     "unknown right '" + right.text + "' (one of " + join_keys(rights()) + ")");
          } else if (seen.insert(right.text).second) {
            t.rights.push_back(r->second);
          }
        }
        break;
      }
    }
    return t;
  }

  std::vector<ir::Field> fields(const std::vector<ast::Field>& in, const char* what,
                                const std::string& owner) {
    std::vector<ir::Field> out;
    std::map<std::string, Location> seen;
    for (const ast::Field& f : in) {
      snake_name(f.name, what);
      auto [it, fresh] = seen.emplace(f.name.text, f.name.location);
      if (!fresh) {
        d_.error(f.name.location, std::string(what) + " '" + f.name.text + "' of " + owner +
                                      " is already declared at " + where(it->second));
      }
      if (std::string(what) == "parameter" &&
          (f.name.text == "response" || f.name.text == "send_mode")) {
        d_.error(f.name.location, "parameter name '" + f.name.text +
                                      "' is reserved for the generated client and server");
      }
      out.push_back({f.doc, f.name.text, resolve(f.type), 0});
    }
    return out;
  }

  // Collects the structs `t` contains by value (arrays and optionals included).
  static void struct_deps(const ir::Type& t, std::vector<const ir::Struct*>* out) {
    if (t.kind == ir::Type::Kind::kStruct && t.struct_type) out->push_back(t.struct_type);
    if (t.element) struct_deps(*t.element, out);
  }

  // Depth-first walk: reports cycles and emits structs dependencies-first with layouts done.
  void visit(ir::Struct* st) {
    if (done_.count(st)) return;
    if (auto it = std::find(stack_.begin(), stack_.end(), st); it != stack_.end()) {
      std::string path;
      for (auto p = it; p != stack_.end(); ++p) path += (*p)->name + " -> ";
      path += st->name;
      const ast::Struct* decl = structs_[st->name].decl;
      if (reported_cycles_.insert(st).second) {
        d_.error(
            decl->name.location,
            "struct '" + st->name + "' contains itself and would be infinitely large: " + path);
      }
      return;
    }
    stack_.push_back(st);
    for (const ir::Field& f : st->fields) {
      std::vector<const ir::Struct*> deps;
      struct_deps(f.type, &deps);
      for (const ir::Struct* dep : deps) visit(const_cast<ir::Struct*>(dep));
    }
    stack_.pop_back();
    done_.insert(st);
    layout_struct(*st);
    order_.push_back(st);
  }

  static void layout(ir::Type& t) {
    using K = ir::Type::Kind;
    switch (t.kind) {
      case K::kInt:
        t.inline_size = ir::int_size(t.int_kind);
        break;
      case K::kBool:
        t.inline_size = 1;
        break;
      case K::kEnum:
        t.inline_size = t.enum_type ? ir::int_size(t.enum_type->underlying) : 1;
        break;
      case K::kStruct:
        if (t.struct_type) {
          t.inline_size = t.struct_type->inline_size;
          t.max_out_of_line = t.struct_type->max_size - t.struct_type->inline_size;
          t.max_handles = t.struct_type->max_handles;
        }
        break;
      case K::kArray:
        layout(*t.element);
        t.inline_size = sat_mul(t.count, t.element->inline_size);
        t.max_out_of_line = sat_mul(t.count, t.element->max_out_of_line);
        t.max_handles = sat_mul(t.count, t.element->max_handles);
        break;
      case K::kBytes:
      case K::kString:
        t.inline_size = 2;
        t.max_out_of_line = t.count;
        break;
      case K::kOptional:
        layout(*t.element);
        t.inline_size = sat_add(1, t.element->inline_size);
        t.max_out_of_line = t.element->max_out_of_line;
        t.max_handles = t.element->max_handles;
        break;
      case K::kHandle:
        t.max_handles = 1;
        break;
    }
  }

  static void layout_struct(ir::Struct& st) {
    uint64_t offset = 0, ool = 0, handles = 0;
    for (ir::Field& f : st.fields) {
      layout(f.type);
      f.offset = offset;
      offset = sat_add(offset, f.type.inline_size);
      ool = sat_add(ool, f.type.max_out_of_line);
      handles = sat_add(handles, f.type.max_handles);
    }
    st.inline_size = offset;
    st.max_size = sat_add(offset, ool);
    st.max_handles = handles;
  }

  void check_message_bound(const ir::Struct& st, const std::string& what, Location at) {
    if (st.max_size > kMaxBodyBytes) {
      std::string size = st.max_size >= ir::kHugeSize ? "over 2^48" : std::to_string(st.max_size);
      d_.error(at, what + " may take " + size + " bytes, more than the " +
                       std::to_string(kMaxBodyBytes) + " a message can carry");
    }
    if (st.max_handles > kMaxHandles) {
      d_.error(at, what + " may carry " + std::to_string(st.max_handles) +
                       " handles, more than the " + std::to_string(kMaxHandles) +
                       " a message can carry");
    }
  }

  ir::Protocol check_protocol(const ast::Protocol& p) {
    ir::Protocol out;
    out.doc = p.doc;
    out.name = p.name.text;
    std::map<std::string, Location> names;
    std::map<uint64_t, std::string> ordinals;
    bool has_send = false;
    for (const ast::Method& m : p.methods) {
      ir::Method method;
      method.doc = m.doc;
      method.name = m.name.text;
      method.cpp_name = camel(m.name.text);
      method.idempotent = m.idempotent;
      method.is_call = m.is_call;
      snake_name(m.name, "method name");
      auto [nit, fresh] = names.emplace(m.name.text, m.name.location);
      if (!fresh) {
        d_.error(m.name.location,
                 "method '" + m.name.text + "' is already declared at " + where(nit->second));
      }
      if (m.ordinal == 0 || m.ordinal > 0xffffffffu) {
        d_.error(m.ordinal_location,
                 "ordinal of '" + m.name.text + "' must be between 1 and 4294967295");
      } else if (auto [oit, unique] = ordinals.emplace(m.ordinal, m.name.text); !unique) {
        d_.error(m.ordinal_location, "ordinal " + std::to_string(m.ordinal) + " of '" +
                                         m.name.text + "' is already used by '" + oit->second +
                                         "'");
      }
      method.ordinal = uint32_t(m.ordinal);
      method.request.name = method.cpp_name + "Request";
      method.request.fields = fields(m.params, "parameter", "'" + m.name.text + "'");
      layout_struct(method.request);
      check_message_bound(method.request, "request of '" + m.name.text + "'", m.name.location);
      if (m.is_call) {
        method.response.name = method.cpp_name + "Response";
        method.response.fields = fields(m.results, "result", "'" + m.name.text + "'");
        layout_struct(method.response);
        check_message_bound(method.response, "response of '" + m.name.text + "'", m.name.location);
        if (m.error) {
          if (auto e = enums_.find(m.error->text); e != enums_.end()) {
            method.error = e->second;
          } else if (decls_.count(m.error->text)) {
            d_.error(m.error->location, "error type '" + m.error->text + "' is not an enum");
          } else {
            d_.error(m.error->location, "unknown type '" + m.error->text + "'");
          }
        }
      } else {
        has_send = true;
        if (method.request.max_handles != 0) {
          d_.error(m.name.location, "one-way method '" + m.name.text +
                                        "' cannot carry handles: sends travel through shared "
                                        "memory; make it a call");
        }
        out.max_send_bytes = std::max(out.max_send_bytes, method.request.max_size);
      }
      out.methods.push_back(std::move(method));
    }
    if (p.queue_capacity) {
      uint64_t q = *p.queue_capacity;
      if (q < kMinQueue || q > kMaxQueue || (q & (q - 1)) != 0) {
        d_.error(p.queue_location, "queue capacity must be a power of two between " +
                                       std::to_string(kMinQueue) + " and " +
                                       std::to_string(kMaxQueue));
      } else {
        out.queue_capacity = uint32_t(q);
      }
    } else if (has_send) {
      d_.error(p.name.location,
               "protocol '" + p.name.text + "' has one-way methods but declares no 'queue N;'");
    }
    return out;
  }

  Diagnostics& d_;
  struct StructEntry {
    ir::Struct* ir = nullptr;
    const ast::Struct* decl = nullptr;
  };
  std::map<std::string, std::pair<Decl, Location>> decls_;
  std::map<std::string, const ir::Enum*> enums_;
  std::map<std::string, StructEntry> structs_;
  std::set<const ir::Struct*> done_;
  std::set<const ir::Struct*> reported_cycles_;
  std::vector<ir::Struct*> stack_;
  std::vector<const ir::Struct*> order_;
};

}  // namespace

std::unique_ptr<ir::Library> check(const ast::File& file, Diagnostics& diagnostics) {
  return Checker(diagnostics).run(file);
}

std::unique_ptr<ir::Library> compile_front_end(std::string_view source, Diagnostics& diagnostics) {
  std::optional<ast::File> file = parse(source, diagnostics);
  if (!file) return nullptr;
  return check(*file, diagnostics);
}

}  // namespace exo::protoc
