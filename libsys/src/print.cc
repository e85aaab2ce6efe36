// The debug-log sink behind exo::sys::print.
#include "exo/print.h"

#include "exo/string.h"
#include "exo/syscall.h"

namespace exo::sys {

void LogSink::flush() {
  if (length_ != 0) (void)debug_log(buffer_, length_);
  length_ = 0;
}

void LogSink::append(void* context, const char* text, usize length) {
  auto* self = static_cast<LogSink*>(context);
  while (length > 0) {
    if (self->length_ == kCapacity) self->flush();
    usize n = min(length, kCapacity - self->length_);
    memcpy(self->buffer_ + self->length_, text, n);
    self->length_ += n;
    text += n;
    length -= n;
  }
}

void puts(const char* text) {
  (void)debug_log(text, strlen(text));
}

}  // namespace exo::sys
