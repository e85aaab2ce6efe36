// The console sink over the architecture's boot console.
#include "kernel/core/console.h"

#include "kernel/arch/arch.h"

namespace exo {
namespace {
void write_console(void*, const char* text, usize length) { arch::console_write(text, length); }
}  // namespace

FormatSink console_sink() { return FormatSink{&write_console, nullptr}; }

}  // namespace exo
